// The three ways the fault scenarios (`flaky`, `outage`, `storm`) call a
// failing dependency, run side by side on the same seed:
//   - bulwark: the dependency actor with production policies (full-jitter
//     exponential retries, a Finagle retry budget, the circuit breaker,
//     do-not-retry propagation);
//   - naive: what a hand-written client does — immediate retries up to the
//     same attempt cap, no budget, no breaker;
//   - none: no protection at all — one attempt, no breaker.
// Each mode's dependency config is built from a JSON text and validated by
// parse_bulwark_config, exactly as a user's config file would be, so the
// benchmark cannot run a policy combination the runtime would reject.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/config/dependency_config.hpp"

namespace bulwark::bench {

enum class bench_mode : std::uint8_t { bulwark, naive, none };

/// @relates bench_mode
std::string to_string(bench_mode x);

/// Every mode, in report order.
inline constexpr bench_mode all_bench_modes[] = {
  bench_mode::bulwark, bench_mode::naive, bench_mode::none};

/// What a scenario may change about the modes; the rest is fixed (see
/// docs/benchmarks.md, "Modes").
struct mode_settings {
  /// Total attempts per call for bulwark and naive (none always makes 1).
  std::uint32_t max_attempts = 3;
  /// bulwark: first un-jittered backoff (then x2, full jitter, cap 100x).
  std::string backoff_base = "100us";
  /// bulwark: Finagle `percent_can_retry` of the retry budget.
  int percent_can_retry = 30;
  /// bulwark: how long the breaker stays open (fixed, no doubling).
  std::string open_duration = "1s";
  /// Bulkhead size for every mode (large: the scenarios measure retries and
  /// breakers, not queueing).
  std::uint32_t max_concurrent = 20000;
  /// Deadline of calls that arrive without one.
  std::string default_timeout = "5s";
  /// Per-attempt timeout for every mode.
  std::string per_attempt_timeout = "1s";
};

/// The JSON document (one dependency named `name`) of mode `m`.
std::string mode_config_text(bench_mode m, const mode_settings& s,
                             const std::string& name = "dep");

/// The validated dependency config of mode `m`; throws std::runtime_error
/// with every config error if the document does not validate.
dependency_config mode_config(bench_mode m, const mode_settings& s,
                              const std::string& name = "dep");

} // namespace bulwark::bench
