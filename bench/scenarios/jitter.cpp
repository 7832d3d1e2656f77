// Scenario `jitter`: the contention model of the AWS Architecture Blog's
// "Exponential Backoff And Jitter" (research/perf-anchors.md §2.1), run on
// bulwark's own `next_backoff` and `retry_budget` in virtual time: 100
// clients, base 5 ms, cap 2 s, every hop |N(10 ms, 2 ms)|, each client gets
// one OCC write through. Each mode reports the mean over many simulations
// (100 per mode, 20 with --quick, times --runs), as the blog's simulator does;
// every mode starts from the same seed.
#include <cstdint>
#include <string>

#include "bench/runner/scenario.hpp"
#include "bulwark/runtime/chaos/contention_model.hpp"

namespace bulwark::bench {

namespace {

// full_budget: full jitter plus a Finagle retry budget per client (each
// client of the model is its own process): at most 5 retries per second over
// a 1 s window, plus 20% of its one request. A refused retry backs off as
// after one more conflict (see simulate_contention). 5/s was chosen from a
// sweep (4: 660 calls but 1.22x full's time; 6: 767 calls, 1.10x): the most
// calls saved while completion stays within 1.2x of full jitter.
budget_config jitter_budget() {
  budget_config cfg;
  cfg.mode = budget_mode::finagle;
  cfg.ttl = seconds(1);
  cfg.min_retries_per_second = 5.0;
  cfg.percent_can_retry = 0.2;
  return cfg;
}

scenario_result run_jitter(const scenario_options& opts) {
  struct mode {
    const char* name;
    jitter_kind jitter;
    bool budgeted;
  };
  const mode modes[] = {
    {"none", jitter_kind::none, false},
    {"full", jitter_kind::full, false},
    {"equal", jitter_kind::equal, false},
    {"decorrelated", jitter_kind::decorrelated, false},
    {"full_budget", jitter_kind::full, true},
  };
  int simulations = (opts.quick ? 20 : 100) * (opts.runs > 1 ? opts.runs : 1);
  scenario_result result;
  contention_config base;
  result.fields.add("clients", base.clients);
  result.fields.add("simulations_per_mode", simulations);
  for (auto& m : modes) {
    contention_config cfg;
    cfg.backoff = aws_backoff_config(m.jitter);
    cfg.budgeted = m.budgeted;
    cfg.budget = jitter_budget();
    rng gen{opts.seed};
    double calls = 0;
    double completion_ms = 0;
    double denials = 0;
    for (int i = 0; i < simulations; ++i) {
      auto r = simulate_contention(cfg, gen);
      calls += static_cast<double>(r.calls);
      completion_ms += to_seconds(r.completion) * 1000.0;
      denials += static_cast<double>(r.budget_denials);
    }
    auto& fields = result.mode(m.name);
    fields.add("calls", calls / simulations);
    fields.add("completion_ms", completion_ms / simulations);
    if (m.budgeted)
      fields.add("budget_denials", denials / simulations);
  }
  return result;
}

const scenario_registrar jitter_registrar{
  "jitter",
  "AWS backoff-and-jitter OCC contention model (100 clients, virtual time): "
  "calls and completion per jitter mode, and full jitter with a retry budget",
  run_jitter};

} // namespace

} // namespace bulwark::bench
