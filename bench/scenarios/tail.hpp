// The "Tail at Scale" reproduction (research/perf-anchors.md §1.4, anchor A1):
// a request fans out to 100 sub-requests and waits for the slowest, each
// sub-request's latency drawn from a log-normal/uniform/Pareto mixture whose
// rare stragglers make the fan-out's p99.9 about 1.8 s. Every sub-request is
// one call through a real `supervisor_core` over independent replicas, so
// the hedge timer, the choice of the other replica, the budget check, "first
// success wins" and the cancellation of the loser are the runtime's own code,
// driven here by a discrete-event loop in virtual time instead of by the
// supervisor actor's messages. Header-only so a Catch2 test can run a small
// simulation without linking bulwark-bench. The analytic side (exact tail
// probabilities of the same model) sits next to it so the simulation can be
// checked against the closed form, as a simulator of a paper's numbers must.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/supervise/supervisor_core.hpp"

namespace bulwark::bench {

/// Per sub-request latency in ms, a three-part mixture (§1.4): the bulk
/// (log-normal), a band of slow replies (uniform) and rare stragglers with a
/// heavy tail (Pareto, infinite variance at alpha < 2).
struct tail_mixture {
  double p_lognormal = 0.984;
  double lognormal_median_ms = 3.0;
  double lognormal_sigma = 0.45;
  double p_uniform = 0.013;
  double uniform_lo_ms = 10.0;
  double uniform_hi_ms = 64.0;
  /// The Pareto part has probability 1 - p_lognormal - p_uniform.
  double pareto_xm_ms = 64.0;
  double pareto_alpha = 1.71;
};

/// One latency draw (ms). Consumes exactly three uniforms, whatever the part
/// chosen, so streams stay aligned between runs that differ in one part only.
inline double draw_latency_ms(const tail_mixture& m, rng& gen) noexcept {
  auto part = gen.uniform();
  auto u1 = gen.uniform();
  auto u2 = gen.uniform();
  if (part < m.p_lognormal) {
    // Box-Muller: 1 - u1 is in (0, 1], so the log is finite.
    auto z =
      std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(6.283185307179586 * u2);
    return m.lognormal_median_ms * std::exp(m.lognormal_sigma * z);
  }
  if (part < m.p_lognormal + m.p_uniform)
    return m.uniform_lo_ms + (m.uniform_hi_ms - m.uniform_lo_ms) * u1;
  return m.pareto_xm_ms * std::pow(1.0 - u1, -1.0 / m.pareto_alpha);
}

/// P(X > x) for one draw X of the mixture, exactly.
inline double tail_exceedance(const tail_mixture& m, double x_ms) noexcept {
  if (x_ms <= 0)
    return 1.0;
  auto z = std::log(x_ms / m.lognormal_median_ms) / m.lognormal_sigma;
  auto lognormal = 0.5 * std::erfc(z / std::sqrt(2.0));
  double uniform = 1.0;
  if (x_ms >= m.uniform_hi_ms)
    uniform = 0.0;
  else if (x_ms > m.uniform_lo_ms)
    uniform = (m.uniform_hi_ms - x_ms) / (m.uniform_hi_ms - m.uniform_lo_ms);
  auto pareto = x_ms <= m.pareto_xm_ms
                  ? 1.0
                  : std::pow(m.pareto_xm_ms / x_ms, m.pareto_alpha);
  auto p_pareto = 1.0 - m.p_lognormal - m.p_uniform;
  return m.p_lognormal * lognormal + m.p_uniform * uniform + p_pareto * pareto;
}

/// P(sub-request latency > x) with `hedges` hedges, hedge n sent n * delay
/// after the first attempt to an independent replica: the sub-request takes
/// min over n of (n * delay + X_n), so it is slower than x only when every
/// attempt is.
inline double sub_request_exceedance(const tail_mixture& m, double x_ms,
                                     std::uint32_t hedges,
                                     double delay_ms) noexcept {
  double p = 1.0;
  for (std::uint32_t n = 0; n <= hedges; ++n)
    p *= tail_exceedance(m, x_ms - n * delay_ms);
  return p;
}

/// The exact q-quantile (ms) of a fan-out of `fanout` independent
/// sub-requests (the slowest of them), by bisection on
/// P(max <= x) = (1 - P(sub > x))^fanout.
inline double analytic_fanout_quantile_ms(const tail_mixture& m,
                                          std::uint32_t fanout,
                                          std::uint32_t hedges, double delay_ms,
                                          double q) noexcept {
  // P(sub > x) at the quantile; log1p keeps precision near 1.
  auto target = -std::expm1(std::log(q) / fanout);
  double lo = 0.0;
  double hi = 1.0;
  while (sub_request_exceedance(m, hi, hedges, delay_ms) > target && hi < 1e12)
    hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; ++i) {
    auto mid = 0.5 * (lo + hi);
    if (sub_request_exceedance(m, mid, hedges, delay_ms) > target)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/// The nearest-rank q-quantile of `xs` (the ceil(q * n)-th smallest value);
/// 0 when empty. Takes a copy: nth_element reorders.
inline double nearest_rank(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0.0;
  auto rank =
    static_cast<std::size_t>(std::ceil(q * static_cast<double>(xs.size())));
  rank = std::min(std::max<std::size_t>(rank, 1), xs.size());
  auto it = xs.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(xs.begin(), it, xs.end());
  return *it;
}

struct tail_run_config {
  /// Sub-requests per request.
  std::uint32_t fanout = 100;
  /// Fan-out requests, run one after another in virtual time (the model has
  /// no load feedback, so overlapping them would change nothing).
  std::uint64_t requests = 100000;
  /// 0: hedging disabled (the unhedged baseline); 1..4: hedges per
  /// sub-request, over max_hedges + 1 replicas.
  std::uint32_t max_hedges = 1;
  /// Fixed hedge delay d: hedge n goes n * d after the first attempt.
  duration hedge_delay = milliseconds(10);
  /// Seeds the latency draws and the core. Attempt number k of every
  /// sub-request draws from stream k, so the first attempts (and so the
  /// unhedged baseline) are the same draws in every variant of one seed.
  std::uint64_t seed = 1;
  tail_mixture mixture;
};

struct tail_run_result {
  std::uint64_t requests = 0;
  std::uint64_t sub_requests = 0;
  /// Attempts sent (first attempts plus hedges).
  std::uint64_t attempts = 0;
  std::uint64_t hedges = 0;
  std::uint64_t hedges_won = 0;
  std::uint64_t hedges_denied_budget = 0;
  /// Losers cancelled by the core (their completions are never delivered).
  std::uint64_t cancels = 0;
  /// Results the core dropped as late: 0 unless a completion slipped past
  /// its cancellation.
  std::uint64_t late_results = 0;
  /// Sub-requests answered with a failure (none expected: no faults).
  std::uint64_t failed = 0;
  /// Latency of each fan-out request (ms): its slowest sub-request.
  std::vector<double> fanout_ms;
  /// Sub-requests slower than the hedge delay (what a hedge is for).
  std::uint64_t sub_requests_over_delay = 0;

  /// Extra sub-requests sent per sub-request (the paper's "+2%").
  double extra_load() const noexcept {
    return sub_requests == 0
             ? 0.0
             : static_cast<double>(hedges) / static_cast<double>(sub_requests);
  }
};

/// The supervisor of the model as a configuration document, validated by
/// `parse_bulwark_config` like a user's file: `max_hedges` + 1 idempotent
/// replicas (2 when unhedged), round robin, hedge with a fixed delay (off
/// when `max_hedges` is 0), outlier detection off (no replica fails), and
/// the default Finagle budget (20 % of requests plus 10/s over 10 s), which
/// never binds at ~2 % hedges.
inline std::string tail_config_text(std::uint32_t max_hedges,
                                    duration hedge_delay) {
  std::uint32_t replicas = std::max<std::uint32_t>(2, max_hedges + 1);
  std::string deps;
  std::string members;
  for (std::uint32_t i = 0; i < replicas; ++i) {
    auto name = "\"replica" + std::to_string(i) + "\"";
    deps += (i ? ", " : "") + name + R"(: {"idempotency": "idempotent"})";
    members += (i ? ", " : "") + name;
  }
  std::string hedge =
    max_hedges == 0 ? std::string{R"({"enabled": false})"}
                    : R"({"enabled": true, "delay_kind": "fixed", "delay": ")"
                        + format_duration(hedge_delay) + R"(", "max_hedges": )"
                        + std::to_string(max_hedges) + "}";
  return R"({"dependencies": {)" + deps + R"(}, "supervisors": {"replicas": {)"
         + R"("members": [)" + members + R"(], "routing": "round_robin", )"
         + R"("hedge": )" + hedge + ", "
         + R"("outlier_detection": {"enabled": false}, )"
         + R"("budget": {"mode": "finagle", "finagle": {"percent_can_retry": 20}}}}})";
}

/// Parses tail_config_text; a document the runtime rejects is a bug here.
inline supervisor_config tail_supervisor_config(std::uint32_t max_hedges,
                                                duration hedge_delay) {
  auto result = parse_bulwark_config(tail_config_text(max_hedges, hedge_delay));
  if (!result.ok())
    throw std::logic_error("tail: invalid supervisor config:\n"
                           + result.errors.to_string());
  return result.config->supervisors.at(0);
}

/// Runs `cfg.requests` fan-outs through one supervisor_core. `progress`
/// (may be empty) is called with the fraction done every 1,000 requests.
inline tail_run_result
run_tail(const tail_run_config& cfg,
         const std::function<void(double)>& progress = {}) {
  struct event {
    time_point at;
    std::uint64_t attempt;
  };
  // Min-heap on time; ties by attempt id so the order is a function of the
  // seed alone.
  auto later = [](const event& a, const event& b) {
    return a.at > b.at || (a.at == b.at && a.attempt > b.attempt);
  };
  constexpr std::uint32_t streams = supervisor_core::max_attempts;
  auto core_cfg = tail_supervisor_config(cfg.max_hedges, cfg.hedge_delay);
  supervisor_core core{core_cfg, cfg.seed};
  std::vector<rng> gens;
  for (std::uint32_t k = 0; k < streams; ++k)
    gens.emplace_back(cfg.seed + 0x632be59bd9b4e019ULL * k);

  tail_run_result out;
  out.fanout_ms.reserve(cfg.requests);
  std::vector<event> heap;
  heap.reserve(4 * cfg.fanout);
  // Cancelled attempts of the fan-out in flight, by (slot, index in call):
  // attempt ids are not reused before the fan-out ends, when this is cleared.
  std::vector<std::uint8_t> cancelled;
  supervisor_core::action_list actions;
  actions.reserve(4 * cfg.fanout);
  const auto delay_ms = to_seconds(cfg.hedge_delay) * 1000.0;
  time_point now = time_point{} + hours(1);
  std::uint32_t replies = 0;
  time_point started = now;
  double slowest = 0;

  auto handle = [&] {
    for (auto& a : actions) {
      switch (a.kind) {
        case supervisor_action_kind::send: {
          auto& gen = gens[(a.attempt_number - 1) % streams];
          auto ms = draw_latency_ms(cfg.mixture, gen);
          auto ns = static_cast<duration::rep>(std::llround(ms * 1e6));
          heap.push_back(event{now + duration{ns}, a.attempt});
          std::push_heap(heap.begin(), heap.end(), later);
          break;
        }
        case supervisor_action_kind::cancel: {
          auto i = std::size_t{correlation_id::slot(a.attempt)} * streams
                   + correlation_id::index(a.attempt);
          if (i >= cancelled.size())
            cancelled.resize(i + 1, 0);
          cancelled[i] = 1;
          break;
        }
        case supervisor_action_kind::reply: {
          ++replies;
          if (!a.ok)
            ++out.failed;
          auto ms = to_seconds(now - started) * 1000.0;
          if (ms > delay_ms)
            ++out.sub_requests_over_delay;
          slowest = std::max(slowest, ms);
          break;
        }
      }
    }
    actions.clear();
  };

  for (std::uint64_t r = 0; r < cfg.requests; ++r) {
    started = now;
    replies = 0;
    slowest = 0;
    for (std::uint32_t i = 0; i < cfg.fanout; ++i) {
      core.start(idempotency::idempotent, no_deadline, now, actions);
      handle();
    }
    while (replies < cfg.fanout) {
      auto timer = core.next_deadline();
      // A completion at the very instant of a hedge timer wins: the hedge
      // is then not needed (with continuous latencies this never matters).
      if (!heap.empty() && heap.front().at <= timer) {
        std::pop_heap(heap.begin(), heap.end(), later);
        auto e = heap.back();
        heap.pop_back();
        auto i = std::size_t{correlation_id::slot(e.attempt)} * streams
                 + correlation_id::index(e.attempt);
        if (i < cancelled.size() && cancelled[i] != 0)
          continue; // a loser: cancelled, so it never reports
        now = e.at;
        core.on_result(e.attempt, member_result{true, failure_class::transient},
                       now, actions);
      } else if (timer != no_deadline) {
        now = timer;
        core.advance(now, actions);
      } else {
        throw std::logic_error("tail: calls in flight but nothing scheduled");
      }
      handle();
    }
    out.fanout_ms.push_back(slowest);
    // Everything left belongs to cancelled losers of this fan-out.
    heap.clear();
    std::fill(cancelled.begin(), cancelled.end(), std::uint8_t{0});
    if (progress && (r + 1) % 1000 == 0)
      progress(static_cast<double>(r + 1) / static_cast<double>(cfg.requests));
  }
  auto& c = core.counters();
  out.requests = cfg.requests;
  out.sub_requests = c.requests;
  out.attempts = c.attempts;
  out.hedges = c.hedges;
  out.hedges_won = c.hedges_won;
  out.hedges_denied_budget = c.hedges_denied_budget;
  out.cancels = c.cancels;
  out.late_results = c.late_results;
  return out;
}

} // namespace bulwark::bench
