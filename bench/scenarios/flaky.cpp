// Scenario `flaky`: a closed loop keeps 10,000 calls in flight against one
// dependency whose downstream answers at once but fails 20% of attempts
// (transient), on the real scheduler with 2 workers, in the three modes.
// Because the downstream costs nothing, what is measured is what each mode's
// machinery and retries cost: each mode also runs without faults, and
// `goodput_ratio` is successful requests/s under faults over requests/s of
// that fault-free run (the ceiling with 3 attempts is 1 / 1.24 ~ 0.81, since
// a request then costs 1 + 0.2 + 0.04 attempts on average).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/bench_system.hpp"
#include "bench/runner/load_generator.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/modes.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"

namespace bulwark::bench {

namespace {

fault_schedule flaky_schedule(bool faults) {
  std::string text = R"({"latency": {"kind": "fixed", "value": "0s"}, )"
                     R"("errors": {"transient": )"
                     + std::string{faults ? "20" : "0"} + "}}";
  error_list errors;
  auto schedule =
    parse_fault_schedule(boost::json::parse(text), json_path{}, errors);
  if (!errors.empty())
    throw std::runtime_error("flaky schedule invalid: " + errors.to_string());
  return schedule;
}

// One dependency actor of mode `m` in front of its own chaos transport.
struct flaky_target {
  dependency_actor dep;
  chaos_transport chaos;

  void stop() {
    caf::anon_send_exit(dep, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(chaos.handle(), caf::exit_reason::user_shutdown);
  }
};

flaky_target make_target(caf::actor_system& sys, bench_mode m, bool faults,
                         std::uint32_t inflight, std::uint64_t seed) {
  mode_settings ms;
  ms.max_concurrent = 2 * inflight;
  auto chaos = chaos_transport::spawn(sys, flaky_schedule(faults), seed);
  dependency_options opts;
  opts.config = mode_config(m, ms, "flaky");
  opts.transport = chaos.handle();
  opts.seed = seed;
  // Thousands of backoffs pend at once: let one clock tick serve those due
  // within a millisecond (under load they run on time with the traffic).
  opts.timer_slack = milliseconds(1);
  return {spawn_dependency(sys, std::move(opts)), std::move(chaos)};
}

load_report run_load(caf::actor_system& sys, const flaky_target& t,
                     const load_config& load) {
  auto r = run_closed_loop(sys, caf::actor_cast<caf::actor>(t.dep), load);
  if (!r.complete)
    throw std::runtime_error("flaky: the load generator lost replies");
  return r;
}

double p99_ms(std::vector<std::int64_t> xs) {
  if (xs.empty())
    return 0.0;
  auto k = static_cast<std::size_t>(0.99 * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k),
                   xs.end());
  return static_cast<double>(xs[k]) / 1e6;
}

scenario_result run_flaky(const scenario_options& opts) {
  load_config load;
  load.calls = opts.quick ? 100'000 : 1'500'000;
  load.inflight = opts.quick ? 1'000 : 10'000;
  load.prototype.operation = "get";
  load.prototype.payload = "sku-1";
  load.prototype.idempotency_key = "k";
  bench_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  scenario_result result;
  result.fields.add("calls", load.calls);
  result.fields.add("inflight", load.inflight);
  result.fields.add("error_rate", 0.2);
  result.fields.add("workers", sys.scheduler().num_workers());
  // Per mode, a fault-free and a faulty target run side by side in chunks
  // (clean, faulty, clean, ...) against the same warm actors, so a burst of
  // noise on this shared machine hits both alike; a warm-up chunk of each
  // is not measured. Rates are total calls over total wall time.
  constexpr int chunks = 10;
  auto chunk = load;
  chunk.calls = load.calls / chunks;
  struct tally {
    std::int64_t clean_ns = 0, faulty_ns = 0;
    std::int64_t clean_steady_ns = 0, faulty_steady_ns = 0;
    std::uint64_t clean_steady = 0, faulty_steady_ok = 0;
    /// Goodput ratio of each (clean, faulty) pair of chunks.
    std::vector<double> pair_ratios;
    std::uint64_t ok = 0, calls = 0, attempts = 0;
    std::vector<std::int64_t> latencies;
  };
  std::vector<tally> tallies(std::size(all_bench_modes));
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    auto m = all_bench_modes[i];
    auto& t = tallies[i];
    auto clean = make_target(sys, m, false, load.inflight, opts.seed);
    auto faulty = make_target(sys, m, true, load.inflight, opts.seed);
    // Both sides record latencies, so both pay for the clock reads.
    auto clean_chunk = chunk;
    clean_chunk.record_latency = true;
    auto faulty_chunk = chunk;
    faulty_chunk.record_latency = true;
    run_load(sys, clean, clean_chunk);
    run_load(sys, faulty, clean_chunk);
    auto warm_attempts = faulty.chaos.stats().attempts();
    for (int c = 0; c < chunks; ++c) {
      report_progress(opts, to_string(m), static_cast<double>(c) / chunks);
      auto cr = run_load(sys, clean, clean_chunk);
      t.clean_ns += cr.wall_ns;
      t.clean_steady_ns += cr.steady_ns;
      t.clean_steady += cr.steady_replies;
      auto r = run_load(sys, faulty, faulty_chunk);
      t.faulty_ns += r.wall_ns;
      t.faulty_steady_ns += r.steady_ns;
      t.faulty_steady_ok += r.steady_ok;
      if (cr.steady_ns > 0 && r.steady_ns > 0 && cr.steady_replies > 0)
        t.pair_ratios.push_back(
          (static_cast<double>(r.steady_ok) / static_cast<double>(r.steady_ns))
          / (static_cast<double>(cr.steady_replies)
             / static_cast<double>(cr.steady_ns)));
      t.ok += r.ok;
      t.calls += r.calls;
      t.latencies.insert(t.latencies.end(), r.latencies_ns.begin(),
                         r.latencies_ns.end());
    }
    t.attempts = faulty.chaos.stats().attempts() - warm_attempts;
    clean.stop();
    faulty.stop();
  }
  int rounds = chunks;
  result.fields.add("chunks", rounds);
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    auto& t = tallies[i];
    auto calls = static_cast<double>(t.calls);
    // Steady-state rates (see load_report::steady_ns): with 10,000 calls in
    // flight, ramp-up and drain are a large share of a chunk, and the drain
    // of a faulty chunk waits on its last retries.
    auto clean_rps = static_cast<double>(t.clean_steady)
                     / (static_cast<double>(t.clean_steady_ns) / 1e9);
    auto good_rps = static_cast<double>(t.faulty_steady_ok)
                    / (static_cast<double>(t.faulty_steady_ns) / 1e9);
    auto& f = result.mode(to_string(all_bench_modes[i]));
    f.add("success_ratio", static_cast<double>(t.ok) / calls);
    // The median over chunk pairs: a burst of load from elsewhere on this
    // shared machine spoils a pair, not the result.
    f.add("goodput_ratio", median(t.pair_ratios));
    f.add("goodput_ratio_pooled", good_rps / clean_rps);
    f.add("amplification", static_cast<double>(t.attempts) / calls);
    f.add("p99_ms", p99_ms(std::move(t.latencies)));
    f.add("goodput_ratio_whole_run",
          (static_cast<double>(t.ok) / (static_cast<double>(t.faulty_ns) / 1e9))
            / (calls / (static_cast<double>(t.clean_ns) / 1e9)));
    f.add("requests_per_s_no_faults", clean_rps);
    f.add("good_requests_per_s", good_rps);
  }
  return result;
}

const scenario_registrar flaky_registrar{
  "flaky",
  "closed loop, 10,000 in flight, instant downstream failing 20% (transient), "
  "up to 3 attempts: success, goodput vs no faults, amplification, p99 per "
  "mode",
  run_flaky};

} // namespace

} // namespace bulwark::bench
