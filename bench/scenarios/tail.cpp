// Scenario `tail`: "The Tail at Scale" reproduction (issue #4 item 7,
// research/perf-anchors.md §1.4 and anchor A1). 100,000 fan-out requests
// (10,000 with --quick, times --runs) of 100 sub-requests each, every
// sub-request one call through a real supervisor_core over independent
// replicas, run three times on the same seed: unhedged, one hedge at 10 ms
// (2 replicas) and two hedges at 10 and 20 ms (3 replicas). The model and the
// event loop are in tail.hpp; this file only reports. Everything runs in
// virtual time, so the JSON is a function of the seed.
#include <cstdint>
#include <string>

#include "bench/runner/scenario.hpp"
#include "bench/scenarios/tail.hpp"

namespace bulwark::bench {

namespace {

struct variant {
  const char* mode; // progress label and field suffix
  std::uint32_t max_hedges;
};

scenario_result run_tail_scenario(const scenario_options& opts) {
  const variant variants[] = {
    {"unhedged", 0},
    {"hedged", 1},
    {"two_hedges", 2},
  };
  tail_run_config base;
  base.seed = opts.seed;
  base.requests = static_cast<std::uint64_t>(opts.quick ? 10000 : 100000)
                  * static_cast<std::uint64_t>(opts.runs > 1 ? opts.runs : 1);
  const double delay_ms = to_seconds(base.hedge_delay) * 1000.0;

  tail_run_result runs[3];
  for (int i = 0; i < 3; ++i) {
    auto cfg = base;
    cfg.max_hedges = variants[i].max_hedges;
    const std::string mode = variants[i].mode;
    runs[i] = run_tail(cfg, [&](double f) { report_progress(opts, mode, f); });
    report_progress(opts, mode, 1.0);
  }
  auto& plain = runs[0];
  auto& one = runs[1];
  auto& two = runs[2];
  double p999[3];
  for (int i = 0; i < 3; ++i)
    p999[i] = nearest_rank(runs[i].fanout_ms, 0.999);

  scenario_result result;
  auto& f = result.fields;
  f.add("fanout", base.fanout);
  f.add("requests", base.requests);
  f.add("sub_requests", plain.sub_requests);
  f.add("hedge_delay_ms", delay_ms);
  f.add("p999_unhedged_ms", p999[0]);
  f.add("p999_hedged_ms", p999[1]);
  f.add("tail_gain", p999[1] > 0 ? p999[0] / p999[1] : 0.0);
  f.add("extra_load", one.extra_load());
  f.add("p999_two_hedges_ms", p999[2]);
  f.add("extra_load_two_hedges", two.extra_load());
  f.add("tail_gain_two_hedges", p999[2] > 0 ? p999[0] / p999[2] : 0.0);
  // The targets: gain >= 20 at <= 3% extra; two hedges <= 30 ms at
  // <= 3% extra.
  f.add("targets_met", p999[1] > 0 && p999[0] / p999[1] >= 20
                         && one.extra_load() <= 0.03 && p999[2] <= 30
                         && two.extra_load() <= 0.03);
  for (int i = 0; i < 3; ++i) {
    std::string suffix = variants[i].mode;
    f.add("p50_" + suffix + "_ms", nearest_rank(runs[i].fanout_ms, 0.5));
    f.add("p99_" + suffix + "_ms", nearest_rank(runs[i].fanout_ms, 0.99));
  }
  // The same quantities from the closed form of the model (exact, no
  // sampling noise): the simulation should land near them.
  for (int i = 0; i < 3; ++i)
    f.add(std::string{"analytic_p999_"} + variants[i].mode + "_ms",
          analytic_fanout_quantile_ms(base.mixture, base.fanout,
                                      variants[i].max_hedges, delay_ms, 0.999));
  f.add("analytic_extra_load", tail_exceedance(base.mixture, delay_ms));
  // Sanity of the driving: hedges that won, hedges the budget refused (0:
  // the budget must not bind at ~2%), losers cancelled, late results
  // delivered to the core (0: cancelled losers never report), failures (0).
  f.add("hedges_won", one.hedges_won);
  f.add("hedges_won_two_hedges", two.hedges_won);
  f.add("hedges_denied_budget",
        one.hedges_denied_budget + two.hedges_denied_budget);
  f.add("cancels", one.cancels);
  f.add("late_results",
        plain.late_results + one.late_results + two.late_results);
  f.add("failed", plain.failed + one.failed + two.failed);
  return result;
}

const scenario_registrar tail_registrar{
  "tail",
  "The Tail at Scale (virtual time): 100-way fan-outs through supervisor_core, "
  "p99.9 unhedged vs a hedge at 10 ms vs two hedges, and the extra load",
  run_tail_scenario};

} // namespace

} // namespace bulwark::bench
