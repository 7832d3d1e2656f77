// The two published metastable set-ups of issue 15 item 4, as configs of the
// metastable model, and what the scenario reports about a run: success ratio
// and p99 per phase, late goodput, attempts per first try after the trigger,
// and per-second timelines for the charts.
//
// A, one server (after happy-simulator's `metastable_state` example): 1
// worker, exponential service mean 100 ms (10 rps), unbounded FIFO; first
// tries at 9 rps for 0-20 s, 20 rps for 20-30 s (the trigger), 9 rps for
// 30-60 s, then 7, 5 and 3 rps for 15, 15 and 10 s; at most 5 attempts, 5 s
// per attempt.
// B, two servers and a crash (after the `metastable-retry` preset of Marc
// Brooker's stability simulator): 70 rps round-robin over 2 servers of 5
// workers, exponential service mean 100 ms, queues of 10,000; 1 s per
// attempt, 3 retries (4 attempts); server A answers every request with an
// error from 5 s to 10 s; 60 s.
#pragma once

#include "bench/model/client_mode.hpp"
#include "bench/model/metastable_model.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::bench::model {

struct metastable_setup {
  /// "A" or "B".
  std::string name;
  /// The model; its seed is set per run.
  model_config model;
  /// The trigger: the 20 rps phase (A) or the error window (B).
  time_point trigger_start{};
  time_point trigger_end{};
  /// `late_goodput` averages successes per second over [late_start,
  /// late_end) (A: the last 20 s of the 9 rps phase after the trigger; B:
  /// the last 20 s).
  time_point late_start{};
  time_point late_end{};
};

metastable_setup setup_a();
metastable_setup setup_b();

/// `setup` with every server under `server_policy::overload_control`, each
/// queue configured by model_overload_config(its mean service time, the
/// attempt timeout): what the `bulwark_server` mode needs on the server
/// side.
metastable_setup with_overload_control(metastable_setup setup);

struct phase_summary {
  std::string name;
  /// Requests whose first try fell in the phase.
  std::uint64_t requests = 0;
  /// Their share that succeeded (1 when the phase had none).
  double success = 1;
  /// Nearest-rank p99 of their latency, first try to the end (success or
  /// final failure), in ms.
  double p99_ms = 0;
};

struct run_summary {
  std::vector<phase_summary> phases;
  /// Successful requests per second, counted when they succeed, over the
  /// setup's late window.
  double late_goodput = 0;
  /// Attempts / first tries over the requests whose first try came at or
  /// after the trigger's end.
  double mean_amplification_post = 0;
  /// Attempts / first tries over the whole run.
  double amplification = 0;
  /// Successful requests / requests over the whole run.
  double success = 0;
  /// Jobs served after their caller had given up.
  double late_completions = 0;
};

run_summary summarize(const metastable_setup& setup, const model_run& run);

/// Runs `setup` once with `mode` and `seed` (which also seeds the mode's
/// jitter); `bulwark_server` runs it with_overload_control.
model_run run_setup(const metastable_setup& setup, client_mode mode,
                    std::uint64_t seed);

/// The seeds of a median: base * 100 + i for i in [0, n).
std::vector<std::uint64_t> median_seeds(std::uint64_t base, int n);

/// Every field of `summarize` as the median over one run per seed (per
/// phase field by field).
run_summary median_summary(const metastable_setup& setup, client_mode mode,
                           const std::vector<std::uint64_t>& seeds);

/// Per-bucket counts of a run for the charts (bucket i covers [i, i+1) x
/// the model's bucket, up to the end of the last phase).
struct run_timeline {
  std::vector<double> first_tries;
  std::vector<double> retries;
  /// Requests that succeeded in the bucket.
  std::vector<double> goodput;
  std::vector<double> queue_depth;
  /// The mode's gauge (tokens, retries the budget allows); empty for modes
  /// without one.
  std::vector<double> policy_gauge;
};

run_timeline make_timeline(const metastable_setup& setup, const model_run& run);

} // namespace bulwark::bench::model
