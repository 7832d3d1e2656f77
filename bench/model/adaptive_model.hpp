// The `adaptive` model (issue 15 item 5): bulwark's real call engine
// (bulwark/runtime/dependency/dependency_core.hpp) with the adaptive
// concurrency limit on at its defaults (gradient), in front of a simulated
// server, in virtual time. The server has `workers` workers, a FIFO queue
// without bound and lognormal service times fitted to a p90 and a p99;
// work whose caller timed out is not cancelled. Calls arrive open loop
// (Poisson) at a rate given as a multiple of the server's capacity (workers
// / mean service time), so a load of 4 offers a concurrency of 4 x workers
// (Little's law); phases: unloaded, a linear ramp, loaded, a brownout
// (service times x `brownout_slowdown`), after. The engine sends each call
// as one attempt with a 1 s deadline; the bulkhead does not queue (a call
// over the limit is rejected at once, as Netflix's limiter and Envoy's
// adaptive concurrency do), so the latency of the calls served is what the
// limit keeps the server's queue at. Nothing here reimplements the limit:
// the core owns it and sizes its bulkhead with it. One seed fixes the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark::bench::model {

/// A lognormal distribution of durations: ln(x / 1 s) ~ N(mu, sigma^2).
struct lognormal {
  double mu = 0;
  double sigma = 1;

  /// The lognormal whose 90th and 99th percentiles are `p90` and `p99`
  /// (p99 > p90 > 0): sigma = ln(p99 / p90) / (z99 - z90), mu = ln(p90) -
  /// z90 sigma.
  static lognormal fit(duration p90, duration p99);

  duration sample(rng& gen) const noexcept;
  duration mean() const noexcept;
  /// q in (0, 1).
  duration quantile(double q) const noexcept;
};

/// A stretch of the run: the offered load moves linearly from `load_from`
/// to `load_to` (multiples of the server's capacity), service times are
/// multiplied by `slowdown`.
struct adaptive_phase {
  std::string name;
  duration length{0};
  double load_from = 0;
  double load_to = 0;
  double slowdown = 1;
};

struct adaptive_setup {
  std::uint32_t workers = 8;
  duration service_p90 = milliseconds(50);
  duration service_p99 = milliseconds(150);
  /// The caller's deadline and the attempt's timeout.
  duration timeout = seconds(1);
  /// Back to back from t = 0.
  std::vector<adaptive_phase> phases;
  /// The phase the bars judge convergence in, and how long after its start
  /// the converged window begins (it ends with the phase).
  std::string loaded_phase = "loaded";
  duration settle = seconds(60);
  /// The brownout phase, and the phase after it.
  std::string brownout_phase = "brownout";
  /// The limit is sampled this often for the timeline.
  duration sample_every = milliseconds(100);
  std::uint64_t seed = 1;
};

/// The set-up: 8 workers, p90 50 ms, p99 150 ms, 1 s timeout;
/// unloaded (load 0.25: offered concurrency 2) for 60 s, ramp to 4x over
/// 30 s, 4x for 120 s, a brownout at 4x (service x3) for 120 s, 4x for 60 s.
adaptive_setup default_adaptive_setup(std::uint64_t seed = 1);

/// The limit at one instant.
struct limit_sample {
  /// Seconds since the start of the run.
  double t = 0;
  std::uint32_t limit = 0;
  /// A probe holds the limit at half for a window (re-measuring the no-load
  /// latency): not the level the limit learned.
  bool probing = false;
  /// What the limit had learned then (ms): the no-load latency, the healthy
  /// latency the guard compares with, the last window's mean; and whether
  /// the guard held the last window.
  double no_load_ms = 0;
  double healthy_ms = 0;
  double window_ms = 0;
  bool guarded = false;
};

/// What one phase (or window) saw; latencies of the calls served, in ms.
struct adaptive_phase_stats {
  std::string name;
  double start_s = 0;
  double end_s = 0;
  std::uint64_t calls = 0;
  std::uint64_t succeeded = 0;
  /// Rejected at once by the limit (never sent).
  std::uint64_t rejected = 0;
  /// Timed out (1 s) or otherwise failed after being sent.
  std::uint64_t failed = 0;
  /// Successes per second.
  double goodput = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  /// Median of the limit samples.
  double limit_median = 0;
};

struct adaptive_run {
  double capacity_rps = 0;
  double mean_service_ms = 0;
  std::vector<adaptive_phase_stats> phases;
  /// The converged window of the loaded phase.
  adaptive_phase_stats converged;
  std::vector<limit_sample> limit;
  /// Per second: successes (goodput), and calls offered.
  std::vector<double> goodput;
  std::vector<double> offered;
  /// Per 5 s: p99 of the calls served (ms; 0 when none).
  std::vector<double> p99_ms;
  /// Probes the limit made, windows it closed.
  std::uint64_t probes = 0;
  std::uint64_t windows = 0;
  /// Results that came back after their attempt had timed out.
  std::uint64_t late_results = 0;

  // -- the bars' numbers ------------------------------------------------------
  /// Median limit over the converged window.
  double limit_converged = 0;
  /// p99 of the converged window / p99 of the unloaded phase.
  double p99_ratio_at_4x = 0;
  /// Goodput of the converged window / capacity.
  double goodput_ratio = 0;
  /// The lowest limit outside probes during the brownout.
  double brownout_limit_level = 0;
  /// The most the limit rose during the brownout above the lowest level it
  /// had fallen to since the brownout began (outside probes): 1 = never
  /// rose.
  double brownout_limit_max_ratio = 0;
  /// Seconds from the brownout's end until the limit was within
  /// workers +- 2 (0: it never left); -1: never within the run.
  double recovery_s = -1;
};

/// Runs the set-up. Throws std::invalid_argument for a set-up it cannot run
/// (no workers, no phases, a negative load, unknown phase names).
adaptive_run run_adaptive(const adaptive_setup& setup);

/// Start and end (seconds) of phase `name`; {0, 0} when there is none.
std::pair<double, double> phase_bounds(const adaptive_setup& setup,
                                       const std::string& name);

} // namespace bulwark::bench::model
