// Runs a scenario file (bench/runner/scenario_file.hpp) in virtual time, the
// way `outage` runs: open-loop Poisson arrivals at the file's rate against one
// dependency whose downstream is a chaos transport with the file's fault
// schedule, once per mode on the same seed. Latencies are measured from each
// request's intended send time, so a stalled dependency cannot hide behind a
// slowed-down client (no coordinated omission). Deterministic: the same file
// and seed give the same numbers, bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/runner/scenario_file.hpp"
#include "bench/scenarios/modes.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

// Nearest-rank percentile of sorted `xs`; 0 if empty.
double percentile(const std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  auto rank =
    static_cast<std::size_t>(std::ceil(p * static_cast<double>(xs.size())));
  return xs[std::min(xs.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void run_mode(const scenario_file_config& cfg, const scenario_options& sopts,
              bench_mode m, double rate, field_list& out) {
  auto seed = sopts.seed;
  virtual_system vs;
  auto t0 = vs.now();
  auto chaos = chaos_transport::spawn(vs.sys(), cfg.faults, seed);
  dependency_options opts;
  if (m == bench_mode::bulwark && cfg.policies) {
    opts.config = *cfg.policies;
    opts.config.name = "dep";
  } else {
    opts.config = mode_config(m, mode_settings{}, "dep");
  }
  auto drain = opts.config.default_timeout + seconds(1);
  opts.transport = chaos.handle();
  opts.seed = seed;
  auto dep =
    caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(opts)));
  auto log = std::make_shared<std::vector<client_reply>>();
  auto client = spawn_client(vs.sys(), log);
  vs.own(dep);
  vs.own(chaos.handle());
  vs.own(client);
  vs.run();
  rng gen{seed};
  std::vector<time_point> sent; // intended send time per request id
  duration next_report = duration::zero();
  call_request proto;
  proto.operation = "get";
  proto.payload = "x";
  for (auto t = t0 + poisson_gap(gen, rate); t < t0 + cfg.length;
       t += poisson_gap(gen, rate)) {
    vs.advance_to(t);
    if (t - t0 >= next_report) {
      report_progress(sopts, to_string(m),
                      to_seconds(t - t0) / to_seconds(cfg.length));
      next_report += seconds(1);
    }
    auto req = proto;
    req.id = sent.size();
    req.idempotency_key = "k" + std::to_string(req.id);
    sent.push_back(t);
    caf::send_as(client, dep, call_atom::value, std::move(req));
  }
  // Drain: every call ends within its deadline.
  vs.advance_to(t0 + cfg.length + drain);
  std::uint64_t ok = 0;
  std::vector<double> latencies;
  latencies.reserve(log->size());
  for (auto& r : *log) {
    if (r.id >= sent.size())
      continue;
    if (r.ok)
      ++ok;
    latencies.push_back(to_seconds(r.at - sent[r.id]) * 1000.0);
  }
  std::sort(latencies.begin(), latencies.end());
  auto requests = sent.size();
  auto attempts = chaos.stats().attempts();
  auto ratio = [&](double x) {
    return requests == 0 ? 0.0 : x / static_cast<double>(requests);
  };
  out.add("requests", requests);
  out.add("success_ratio", ratio(static_cast<double>(ok)));
  out.add("attempts", attempts);
  out.add("amplification", ratio(static_cast<double>(attempts)));
  out.add("p50_ms", percentile(latencies, 0.50));
  out.add("p99_ms", percentile(latencies, 0.99));
  out.add("unanswered", requests - latencies.size());
}

} // namespace

scenario_result run_scenario_file(const scenario_file_config& cfg,
                                  const scenario_options& opts) {
  // --quick keeps the time shape (fault windows stay where the file put
  // them) and sends a tenth of the requests.
  auto rate =
    opts.quick ? std::max(0.001, cfg.rate_per_s / 10) : cfg.rate_per_s;
  scenario_result result;
  result.fields.add("rate_per_s", rate);
  result.fields.add("duration_s", to_seconds(cfg.length));
  result.fields.add("custom_policies", field_value{cfg.policies.has_value()});
  for (auto m : cfg.modes)
    run_mode(cfg, opts, m, rate, result.mode(to_string(m)));
  return result;
}

} // namespace bulwark::bench
