// Scenario `adaptive` (issue 15 item 5): the adaptive concurrency limit at
// its defaults (gradient), driven through bulwark's real call engine, in
// front of an 8-worker server (lognormal service times, p90 50 ms, p99
// 150 ms, FIFO), open-loop Poisson load: unloaded (0.25x capacity), a ramp
// to 4x (offered concurrency 32), 4x, a 120 s brownout (service x3) at 4x,
// 4x again. Virtual time, one run per seed (about a quarter of a second).
// The model is bench/model/adaptive_model (tested, with the bars, in
// tests/bench/model/adaptive_model_test.cpp); this file only reports.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/model/adaptive_model.hpp"
#include "bench/runner/scenario.hpp"

namespace bulwark::bench {

namespace {

using namespace bulwark::bench::model;

scenario_result run_adaptive_scenario(const scenario_options& opts) {
  auto setup = default_adaptive_setup(opts.seed);
  report_progress(opts, "adaptive", 0.0);
  auto run = run_adaptive(setup);
  report_progress(opts, "adaptive", 1.0);
  auto service = lognormal::fit(setup.service_p90, setup.service_p99);

  scenario_result result;
  auto& f = result.fields;
  f.add("workers", setup.workers);
  f.add("service", "lognormal fitted to p90 and p99");
  f.add("service_p90_ms", to_seconds(setup.service_p90) * 1000);
  f.add("service_p99_ms", to_seconds(setup.service_p99) * 1000);
  f.add("service_median_ms", std::exp(service.mu) * 1000);
  f.add("service_ln_s_mu", service.mu);
  f.add("service_ln_s_sigma", service.sigma);
  f.add("mean_service_ms", run.mean_service_ms);
  f.add("capacity_rps", run.capacity_rps);
  f.add("load", "open loop, Poisson; 4x = offered concurrency 32");
  f.add("timeout_s", to_seconds(setup.timeout));
  // The bars (tests/bench/model/adaptive_model_test.cpp).
  f.add("limit_converged", run.limit_converged);
  f.add("p99_ratio_at_4x", run.p99_ratio_at_4x);
  f.add("goodput_ratio", run.goodput_ratio);
  f.add("brownout_limit_level", run.brownout_limit_level);
  f.add("brownout_limit_max_ratio", run.brownout_limit_max_ratio);
  f.add("recovery_s", run.recovery_s);
  f.add("converged.start_s", run.converged.start_s);
  f.add("converged.end_s", run.converged.end_s);
  f.add("converged.goodput_rps", run.converged.goodput);
  f.add("converged.p99_ms", run.converged.p99_ms);
  for (auto& p : run.phases) {
    f.add("phases." + p.name + ".start_s", p.start_s);
    f.add("phases." + p.name + ".end_s", p.end_s);
    f.add("phases." + p.name + ".goodput_rps", p.goodput);
    f.add("phases." + p.name + ".p50_ms", p.p50_ms);
    f.add("phases." + p.name + ".p99_ms", p.p99_ms);
    f.add("phases." + p.name + ".limit_median", p.limit_median);
    f.add("phases." + p.name + ".rejected", p.rejected);
    f.add("phases." + p.name + ".failed", p.failed);
  }
  f.add("probes", run.probes);
  f.add("windows", run.windows);
  // The limit at the start of every second (a probe's halved limit
  // included).
  std::string timeline;
  auto per_s = static_cast<std::size_t>(1.0 / to_seconds(setup.sample_every));
  for (std::size_t i = 0; i < run.limit.size(); i += per_s)
    timeline +=
      (timeline.empty() ? "" : ",") + std::to_string(run.limit[i].limit);
  f.add("limit_timeline_step_s", 1);
  f.add("limit_timeline", timeline);

  auto [b_from, b_to] = phase_bounds(setup, setup.brownout_phase);
  std::vector<shaded_window> shade{{b_from, b_to, "brownout (service x3)"}};
  chart limit{"limit",
              "Learned concurrency limit (8 workers; probes halve it for a "
              "window)",
              "time (s)",
              "limit",
              {},
              shade,
              false};
  series lim{"limit", "", {}};
  for (auto& s : run.limit)
    lim.points.emplace_back(s.t, s.limit);
  limit.lines.push_back(std::move(lim));
  chart goodput{"goodput",
                "Goodput and offered load (capacity "
                  + std::to_string(static_cast<int>(run.capacity_rps))
                  + " rps)",
                "time (s)",
                "calls/s",
                {},
                shade,
                false};
  series gp{"goodput", "", {}};
  series off{"offered", "", {}};
  for (std::size_t i = 0; i < run.goodput.size(); ++i) {
    gp.points.emplace_back(i + 0.5, run.goodput[i]);
    off.points.emplace_back(i + 0.5, run.offered[i]);
  }
  goodput.lines.push_back(std::move(gp));
  goodput.lines.push_back(std::move(off));
  chart p99{"p99",      "p99 latency of the calls served, per 5 s",
            "time (s)", "ms (log scale)",
            {},         shade,
            true};
  series p{"p99", "", {}};
  for (std::size_t i = 0; i < run.p99_ms.size(); ++i)
    p.points.emplace_back(i * 5.0 + 2.5, run.p99_ms[i]);
  p99.lines.push_back(std::move(p));
  result.charts.push_back(std::move(limit));
  result.charts.push_back(std::move(goodput));
  result.charts.push_back(std::move(p99));
  return result;
}

const scenario_registrar adaptive_registrar{
  "adaptive",
  "adaptive concurrency limit (gradient, defaults) through the real call "
  "engine: 8-worker server, load ramped to 4x capacity, a 120 s brownout "
  "(latency x3), virtual time",
  run_adaptive_scenario};

} // namespace

} // namespace bulwark::bench
