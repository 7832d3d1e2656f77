#include "bench/model/metastable_setups.hpp"

#include "bench/model/sample_stats.hpp"

#include <algorithm>
#include <cmath>

namespace bulwark::bench::model {

namespace {

time_point at_s(double s) {
  return time_point{} + duration{static_cast<duration::rep>(s * 1e9)};
}

} // namespace

metastable_setup setup_a() {
  metastable_setup x;
  x.name = "A";
  server_config s;
  s.workers = 1;
  s.mean_service = milliseconds(100);
  s.max_queue = 0;
  x.model.servers = {s};
  x.model.phases = {
    {"pre", seconds(20), 9}, {"trigger", seconds(10), 20},
    {"r9", seconds(30), 9},  {"r7", seconds(15), 7},
    {"r5", seconds(15), 5},  {"r3", seconds(10), 3},
  };
  x.model.attempt_timeout = seconds(5);
  x.model.max_attempts = 5;
  x.trigger_start = at_s(20);
  x.trigger_end = at_s(30);
  x.late_start = at_s(40);
  x.late_end = at_s(60);
  return x;
}

metastable_setup setup_b() {
  metastable_setup x;
  x.name = "B";
  server_config s;
  s.workers = 5;
  s.mean_service = milliseconds(100);
  s.max_queue = 10000;
  auto crashed = s;
  crashed.error_start = at_s(5);
  crashed.error_end = at_s(10);
  x.model.servers = {crashed, s};
  x.model.phases = {
    {"pre", seconds(5), 70},
    {"crash", seconds(5), 70},
    {"after", seconds(50), 70},
  };
  x.model.attempt_timeout = seconds(1);
  x.model.max_attempts = 4;
  x.trigger_start = at_s(5);
  x.trigger_end = at_s(10);
  x.late_start = at_s(40);
  x.late_end = at_s(60);
  return x;
}

metastable_setup with_overload_control(metastable_setup setup) {
  for (auto& s : setup.model.servers) {
    s.policy = server_policy::overload_control;
    s.overload =
      model_overload_config(s.mean_service, setup.model.attempt_timeout);
  }
  return setup;
}

run_summary summarize(const metastable_setup& setup, const model_run& run) {
  auto& cfg = setup.model;
  run_summary out;
  std::vector<std::vector<double>> latencies(cfg.phases.size());
  std::vector<std::uint64_t> ok(cfg.phases.size(), 0);
  std::uint64_t succeeded = 0;
  std::uint64_t attempts = 0;
  std::uint64_t post_requests = 0;
  std::uint64_t post_attempts = 0;
  std::uint64_t late_ok = 0;
  for (auto& r : run.requests) {
    attempts += r.attempts;
    if (r.succeeded()) {
      ++succeeded;
      if (r.end >= setup.late_start && r.end < setup.late_end)
        ++late_ok;
    }
    if (r.first_try >= setup.trigger_end) {
      ++post_requests;
      post_attempts += r.attempts;
    }
    auto i = phase_of(cfg, r.first_try);
    if (i >= cfg.phases.size())
      continue;
    latencies[i].push_back(
      std::chrono::duration<double, std::milli>(r.end - r.first_try).count());
    if (r.succeeded())
      ++ok[i];
  }
  for (std::size_t i = 0; i < cfg.phases.size(); ++i) {
    phase_summary p;
    p.name = cfg.phases[i].name;
    p.requests = latencies[i].size();
    p.success = p.requests == 0 ? 1.0
                                : static_cast<double>(ok[i])
                                    / static_cast<double>(p.requests);
    p.p99_ms = nearest_rank(latencies[i], 0.99);
    out.phases.push_back(std::move(p));
  }
  auto n = static_cast<double>(run.requests.size());
  out.success = n > 0 ? static_cast<double>(succeeded) / n : 1.0;
  out.amplification = n > 0 ? static_cast<double>(attempts) / n : 0.0;
  out.mean_amplification_post =
    post_requests > 0
      ? static_cast<double>(post_attempts) / static_cast<double>(post_requests)
      : 0.0;
  auto late_s = to_seconds(setup.late_end - setup.late_start);
  out.late_goodput = late_s > 0 ? static_cast<double>(late_ok) / late_s : 0.0;
  out.late_completions = static_cast<double>(run.late_completions);
  return out;
}

model_run run_setup(const metastable_setup& setup, client_mode mode,
                    std::uint64_t seed) {
  auto cfg = uses_overload_control(mode) ? with_overload_control(setup).model
                                         : setup.model;
  cfg.seed = seed;
  // The mode's jitter gets its own stream, apart from the model's.
  policy_context ctx;
  ctx.attempt_timeout = cfg.attempt_timeout;
  ctx.max_attempts = cfg.max_attempts;
  auto policy =
    make_client_policy(mode, seed * 6364136223846793005ULL + 1, ctx);
  return run_model(cfg, *policy);
}

std::vector<std::uint64_t> median_seeds(std::uint64_t base, int n) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i)
    out.push_back(base * 100 + static_cast<std::uint64_t>(i));
  return out;
}

run_summary median_summary(const metastable_setup& setup, client_mode mode,
                           const std::vector<std::uint64_t>& seeds) {
  std::vector<run_summary> runs;
  for (auto seed : seeds)
    runs.push_back(summarize(setup, run_setup(setup, mode, seed)));
  auto med = [&](auto field) {
    std::vector<double> xs;
    for (auto& r : runs)
      xs.push_back(field(r));
    return median_of(std::move(xs));
  };
  run_summary out;
  for (std::size_t i = 0; i < setup.model.phases.size(); ++i) {
    phase_summary p;
    p.name = setup.model.phases[i].name;
    p.requests = static_cast<std::uint64_t>(
      med([i](const run_summary& r) { return double(r.phases[i].requests); }));
    p.success = med([i](const run_summary& r) { return r.phases[i].success; });
    p.p99_ms = med([i](const run_summary& r) { return r.phases[i].p99_ms; });
    out.phases.push_back(std::move(p));
  }
  out.late_goodput = med([](const run_summary& r) { return r.late_goodput; });
  out.mean_amplification_post =
    med([](const run_summary& r) { return r.mean_amplification_post; });
  out.amplification = med([](const run_summary& r) { return r.amplification; });
  out.success = med([](const run_summary& r) { return r.success; });
  out.late_completions =
    med([](const run_summary& r) { return r.late_completions; });
  return out;
}

run_timeline make_timeline(const metastable_setup& setup,
                           const model_run& run) {
  auto& cfg = setup.model;
  auto end = phase_start(cfg, cfg.phases.size());
  auto buckets = static_cast<std::size_t>((end - time_point{}) / cfg.bucket);
  run_timeline out;
  out.first_tries.assign(buckets, 0);
  out.retries.assign(buckets, 0);
  out.goodput.assign(buckets, 0);
  out.queue_depth.assign(buckets, 0);
  auto index = [&](time_point t) {
    return static_cast<std::size_t>((t - time_point{}) / cfg.bucket);
  };
  for (auto& a : run.attempts) {
    auto i = index(a.sent);
    if (i >= buckets)
      continue;
    (a.number == 1 ? out.first_tries : out.retries)[i] += 1;
  }
  for (auto& r : run.requests)
    if (r.succeeded())
      if (auto i = index(r.end); i < buckets)
        out.goodput[i] += 1;
  for (std::size_t i = 0; i < buckets && i < run.queue_depth.size(); ++i)
    out.queue_depth[i] = run.queue_depth[i];
  for (std::size_t i = 0; i < buckets && i < run.policy_gauge.size(); ++i)
    out.policy_gauge.push_back(run.policy_gauge[i]);
  // Counts per bucket as rates per second.
  auto per_s = 1.0 / to_seconds(cfg.bucket);
  for (auto* v : {&out.first_tries, &out.retries, &out.goodput})
    for (auto& x : *v)
      x *= per_s;
  return out;
}

} // namespace bulwark::bench::model
