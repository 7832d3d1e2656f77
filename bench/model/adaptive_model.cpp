#include "bench/model/adaptive_model.hpp"

#include "bench/model/sample_stats.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <utility>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/dependency/dependency_core.hpp"

namespace bulwark::bench::model {

namespace {

// Standard normal quantiles of 0.90 and 0.99.
constexpr double z90 = 1.2815515655446004;
constexpr double z99 = 2.3263478740408408;

// The engine as the scenario runs it: one attempt per call (no retries: the
// run measures the limit, not retries), the 1 s timeout, no queue in the
// bulkhead and no critical reserve (every call is standard), the adaptive
// limit on with every other key at its default, journeys off (a bench).
std::string engine_config(duration timeout) {
  auto ms =
    std::to_string(std::chrono::duration_cast<milliseconds>(timeout).count());
  return R"({"dependencies": {"server": {
    "idempotency": "idempotent",
    "retry": {"max_attempts": 1, "per_attempt_timeout": ")"
         + ms + R"(ms"},
    "bulkhead": {"max_queue": 0, "critical_reserve": 0},
    "adaptive_limit": {"enabled": true},
    "journeys": {"enabled": false}}}})";
}

// One finished call, for the statistics.
struct call_record {
  double arrived_s = 0;
  double latency_ms = 0;
  // 0 succeeded, 1 rejected at once (never sent), 2 failed after sending.
  int how = 0;
};

adaptive_phase_stats window_stats(std::string name, double from, double to,
                                  const std::vector<call_record>& calls,
                                  const std::vector<limit_sample>& limit) {
  adaptive_phase_stats out;
  out.name = std::move(name);
  out.start_s = from;
  out.end_s = to;
  std::vector<double> lat;
  for (auto& c : calls) {
    if (c.arrived_s < from || c.arrived_s >= to)
      continue;
    ++out.calls;
    switch (c.how) {
      case 0:
        ++out.succeeded;
        lat.push_back(c.latency_ms);
        break;
      case 1:
        ++out.rejected;
        break;
      default:
        ++out.failed;
    }
  }
  out.goodput =
    to > from ? static_cast<double>(out.succeeded) / (to - from) : 0.0;
  out.p50_ms = nearest_rank(lat, 0.50);
  out.p99_ms = nearest_rank(lat, 0.99);
  std::vector<double> lim;
  for (auto& s : limit)
    if (s.t >= from && s.t < to)
      lim.push_back(s.limit);
  out.limit_median = median_of(std::move(lim));
  return out;
}

} // namespace

// -- lognormal ----------------------------------------------------------------

lognormal lognormal::fit(duration p90, duration p99) {
  if (p90 <= duration{0} || p99 <= p90)
    throw std::invalid_argument("lognormal::fit needs 0 < p90 < p99");
  lognormal d;
  d.sigma = std::log(to_seconds(p99) / to_seconds(p90)) / (z99 - z90);
  d.mu = std::log(to_seconds(p90)) - z90 * d.sigma;
  return d;
}

duration lognormal::sample(rng& gen) const noexcept {
  // Box-Muller (one of the pair): the same numbers on every platform,
  // unlike std::normal_distribution.
  constexpr double two_pi = 6.283185307179586;
  auto u1 = 1.0 - gen.uniform(); // (0, 1]
  auto u2 = gen.uniform();
  auto z = std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
  auto s = std::exp(mu + sigma * z);
  return nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

duration lognormal::mean() const noexcept {
  auto s = std::exp(mu + sigma * sigma / 2);
  return nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

duration lognormal::quantile(double q) const noexcept {
  // Bisection on the normal CDF: exact enough for reporting and tests.
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    auto mid = (lo + hi) / 2;
    auto cdf = 0.5 * std::erfc(-mid / std::sqrt(2.0));
    (cdf < q ? lo : hi) = mid;
  }
  auto s = std::exp(mu + sigma * (lo + hi) / 2);
  return nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

// -- set-up -------------------------------------------------------------------

adaptive_setup default_adaptive_setup(std::uint64_t seed) {
  adaptive_setup s;
  s.seed = seed;
  s.phases = {
    {"unloaded", seconds(60), 0.25, 0.25, 1.0},
    {"ramp", seconds(30), 0.25, 4.0, 1.0},
    {"loaded", seconds(120), 4.0, 4.0, 1.0},
    {"brownout", seconds(120), 4.0, 4.0, 3.0},
    {"after", seconds(60), 4.0, 4.0, 1.0},
  };
  return s;
}

std::pair<double, double> phase_bounds(const adaptive_setup& setup,
                                       const std::string& name) {
  double t = 0;
  for (auto& p : setup.phases) {
    auto end = t + to_seconds(p.length);
    if (p.name == name)
      return {t, end};
    t = end;
  }
  return {0, 0};
}

// -- the run ------------------------------------------------------------------

adaptive_run run_adaptive(const adaptive_setup& setup) {
  if (setup.workers == 0)
    throw std::invalid_argument("adaptive model: no workers");
  if (setup.phases.empty())
    throw std::invalid_argument("adaptive model: no phases");
  for (auto& p : setup.phases)
    if (p.load_from < 0 || p.load_to < 0 || p.slowdown <= 0
        || p.length <= duration{0})
      throw std::invalid_argument("adaptive model: bad phase " + p.name);
  auto [loaded_from, loaded_to] = phase_bounds(setup, setup.loaded_phase);
  auto [brown_from, brown_to] = phase_bounds(setup, setup.brownout_phase);
  if (loaded_to <= 0 || brown_to <= 0)
    throw std::invalid_argument("adaptive model: unknown phase names");

  auto service = lognormal::fit(setup.service_p90, setup.service_p99);
  adaptive_run run;
  run.mean_service_ms = to_seconds(service.mean()) * 1000;
  run.capacity_rps = setup.workers / to_seconds(service.mean());

  // Virtual time starts an hour after the epoch (no policy sees a zero
  // time point as "never").
  const time_point origin = time_point{} + hours(1);
  auto secs = [&](time_point t) { return to_seconds(t - origin); };
  time_point end = origin;
  for (auto& p : setup.phases)
    end += p.length;

  auto parsed = parse_bulwark_config(engine_config(setup.timeout));
  if (!parsed.ok())
    throw std::invalid_argument("adaptive model: engine config: "
                                + parsed.errors.to_string());
  dependency_core_options opts;
  opts.seed = setup.seed;
  dependency_core core{parsed.config->dependencies.at(0), nullptr, opts,
                       origin};
  dependency_core::action_list out;

  rng arrivals{setup.seed * 2 + 1};
  rng work{setup.seed * 2 + 2};

  // The server: FIFO, `workers` at once, service drawn when work starts.
  struct job {
    std::uint64_t attempt;
    time_point sent;
  };
  struct completion {
    time_point at;
    std::uint64_t attempt;
    bool operator>(const completion& o) const {
      return at > o.at || (at == o.at && attempt > o.attempt);
    }
  };
  std::deque<job> waiting;
  std::priority_queue<completion, std::vector<completion>,
                      std::greater<completion>>
    done;
  std::uint32_t busy = 0;

  // Which phase runs at t, and the offered rate there (calls/s).
  auto phase_at = [&](time_point t) -> const adaptive_phase& {
    auto at = t - origin;
    for (auto& p : setup.phases) {
      if (at < p.length)
        return p;
      at -= p.length;
    }
    return setup.phases.back();
  };
  auto rate_at = [&](time_point t) {
    auto at = t - origin;
    for (auto& p : setup.phases) {
      if (at < p.length) {
        auto f = to_seconds(at) / to_seconds(p.length);
        return (p.load_from + (p.load_to - p.load_from) * f) * run.capacity_rps;
      }
      at -= p.length;
    }
    return 0.0;
  };

  std::vector<time_point> arrived; // by call id
  std::vector<call_record> calls;
  auto start_work = [&](time_point now) {
    while (busy < setup.workers && !waiting.empty()) {
      auto j = waiting.front();
      waiting.pop_front();
      ++busy;
      auto slow = phase_at(now).slowdown;
      auto s = service.sample(work);
      auto d = nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(s.count()) * slow));
      done.push(completion{now + d, j.attempt});
    }
  };
  auto handle = [&](time_point now) {
    for (auto& a : out) {
      switch (a.kind) {
        case dependency_action_kind::send_attempt:
          waiting.push_back(job{a.id, now});
          break;
        case dependency_action_kind::reply: {
          auto& r = a.reply;
          call_record c;
          c.arrived_s = secs(arrived[r.id]);
          c.latency_ms = to_seconds(now - arrived[r.id]) * 1000;
          c.how = r.ok ? 0 : r.cls == failure_class::rejected_locally ? 1 : 2;
          calls.push_back(c);
          break;
        }
        case dependency_action_kind::cancel_attempt:
          // The server is not told: timed-out work is not cancelled.
        case dependency_action_kind::call_alternate:
          break;
      }
    }
    out.clear();
    start_work(now);
  };

  auto next_gap = [&](time_point now) {
    auto r = rate_at(now);
    if (r <= 0)
      return end - now + nanoseconds(1);
    auto g = -std::log(1.0 - arrivals.uniform()) / r;
    return nanoseconds(static_cast<std::int64_t>(g * 1e9) + 1);
  };
  time_point next_arrival = origin + next_gap(origin);
  time_point next_sample = origin;
  auto sample_limit = [&](time_point t) {
    auto& a = core.policies().adaptive;
    limit_sample x;
    x.t = secs(t);
    x.limit = core.policies().limit.limit();
    x.probing = a.probing();
    x.no_load_ms = to_seconds(a.no_load_latency()) * 1000;
    x.healthy_ms = to_seconds(a.healthy_latency()) * 1000;
    x.window_ms = to_seconds(a.window_latency()) * 1000;
    x.guarded = a.guarded();
    run.limit.push_back(x);
  };

  transport_observation ok_obs;
  // Runs until the last arrival's call has ended (its 1 s deadline at most).
  auto stop = end + setup.timeout + seconds(1);
  for (;;) {
    auto t_done = done.empty() ? time_point::max() : done.top().at;
    auto t_arr = next_arrival < end ? next_arrival : time_point::max();
    auto t_core = core.next_deadline();
    auto now = std::min({t_done, t_arr, t_core});
    if (now == time_point::max() || now > stop)
      break;
    while (next_sample <= now && next_sample < end) {
      sample_limit(next_sample);
      next_sample += setup.sample_every;
    }
    if (now == t_done) {
      auto c = done.top();
      done.pop();
      --busy;
      ok_obs.latency = duration{0};
      core.on_result(c.attempt, ok_obs, std::string{}, now, out);
    } else if (now == t_arr) {
      auto& req = core.next_request();
      req.id = arrived.size();
      arrived.push_back(now);
      req.operation = "get";
      req.payload.clear();
      req.idempotency_key = "k" + std::to_string(req.id);
      req.crit = criticality::standard;
      req.deadline = now + setup.timeout;
      req.journey_id = 0;
      req.upstream_attempts = 0;
      req.trace = trace_context{};
      req.upstream_span = 0;
      core.on_call(now, out);
      next_arrival = now + next_gap(now);
    } else {
      core.advance(now, out);
    }
    handle(now);
  }
  while (next_sample < end) {
    sample_limit(next_sample);
    next_sample += setup.sample_every;
  }

  auto& pol = core.policies();
  run.probes = pol.adaptive.probes();
  run.windows = pol.adaptive.windows();
  run.late_results = core.stats().late_results;

  // Phases and the converged window.
  for (auto& p : setup.phases) {
    auto [from, to] = phase_bounds(setup, p.name);
    run.phases.push_back(window_stats(p.name, from, to, calls, run.limit));
  }
  auto conv_from = loaded_from + to_seconds(setup.settle);
  run.converged =
    window_stats("converged", conv_from, loaded_to, calls, run.limit);

  // Timelines: goodput and offered per second, p99 per 5 s.
  auto total_s = static_cast<std::size_t>(std::ceil(secs(end)));
  run.goodput.assign(total_s, 0.0);
  run.offered.assign(total_s, 0.0);
  std::vector<std::vector<double>> lat((total_s + 4) / 5);
  for (auto& c : calls) {
    auto i = static_cast<std::size_t>(c.arrived_s);
    if (i >= total_s)
      continue;
    run.offered[i] += 1;
    if (c.how == 0) {
      run.goodput[i] += 1;
      lat[i / 5].push_back(c.latency_ms);
    }
  }
  for (auto& xs : lat)
    run.p99_ms.push_back(nearest_rank(xs, 0.99));

  // The bars.
  const adaptive_phase_stats* unloaded = &run.phases.front();
  run.limit_converged = run.converged.limit_median;
  run.p99_ratio_at_4x =
    unloaded->p99_ms > 0 ? run.converged.p99_ms / unloaded->p99_ms : 0.0;
  run.goodput_ratio = run.converged.goodput / run.capacity_rps;
  double low = std::numeric_limits<double>::max();
  double rise = 1.0;
  for (auto& s : run.limit) {
    if (s.t < brown_from || s.t >= brown_to || s.probing)
      continue;
    low = std::min(low, static_cast<double>(s.limit));
    rise = std::max(rise, s.limit / low);
  }
  run.brownout_limit_level =
    low == std::numeric_limits<double>::max() ? 0.0 : low;
  run.brownout_limit_max_ratio = rise;
  auto lo = static_cast<double>(setup.workers) - 2;
  auto hi = static_cast<double>(setup.workers) + 2;
  for (auto& s : run.limit) {
    if (s.t < brown_to)
      continue;
    if (s.limit >= lo && s.limit <= hi) {
      run.recovery_s = s.t - brown_to;
      break;
    }
  }
  return run;
}

} // namespace bulwark::bench::model
