// When to send a speculative duplicate of a slow request (a hedge): after a
// fixed delay, or — the choice of "The Tail at Scale" and Finagle's backup
// requests — once the first attempt has been outstanding longer than a high
// quantile (95th percentile by default) of recent attempt latencies, and how
// many duplicates at most. Parsed from `/dependencies/<name>/hedge`. Whether
// the extra load is affordable is the shared retry budget's decision, and
// whether the operation may be duplicated at all is its idempotency's.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// Where the hedge delay comes from.
enum class hedge_delay_kind : std::uint8_t {
  /// Always `delay` (gRPC hedgingDelay, failsafe-go NewWithDelay, Polly Delay).
  fixed,
  /// The `quantile` of recent attempt latencies, at least `min_delay`; `delay`
  /// until `min_samples` latencies were seen (Finagle backup requests).
  quantile,
};

/// @relates hedge_delay_kind
std::string to_string(hedge_delay_kind x);

struct hedge_config {
  /// Off by default: hedging adds load and needs an operation safe to repeat.
  bool enabled = false;
  hedge_delay_kind delay_kind = hedge_delay_kind::quantile;
  /// The fixed delay, and the quantile kind's delay while samples are few.
  /// 10ms is the delay of the Tail at Scale BigTable experiment.
  duration delay = milliseconds(10);
  /// Which latency quantile to wait for, as a fraction (configured in percent:
  /// 95 = "hedge after the 95th percentile", the Tail at Scale advice that
  /// bounds the extra load near 5%).
  double quantile = 0.95;
  /// Floor of a measured quantile delay (Finagle's 1 ms minimum), so a very
  /// fast dependency is not hedged at once.
  duration min_delay = milliseconds(1);
  /// Extra attempts beyond the first (1..4; gRPC allows maxAttempts <= 5).
  std::uint32_t max_hedges = 1;
  /// Latencies needed in the window before the quantile is trusted.
  std::uint32_t min_samples = 100;
  /// Length of one latency window; the estimate covers the current and the
  /// previous window, so between `window` and 2 * `window` of history.
  duration window = seconds(10);
};

/// Bounds accepted by the parser.
inline constexpr std::uint32_t hedge_max_hedges_limit = 4;
inline constexpr std::uint32_t hedge_min_samples_limit = 1'000'000;

/// Reads a hedge object (keys: enabled, delay_kind, delay, quantile,
/// min_delay, max_hedges, min_samples, window). The quantile is a percentage
/// strictly between 0 and 100.
hedge_config parse_hedge_config(const boost::json::value& v,
                                const json_path& at, error_list& errors);

/// @relates hedge_config
boost::json::object to_json(const hedge_config& cfg);

/// Whether this configuration may be used for an operation of kind `op`:
/// false exactly for enabled hedging of an `unsafe` operation, the combination
/// the dependency-level parser rejects (a hedge would run the side effect
/// twice).
constexpr bool hedge_allowed(const hedge_config& cfg, idempotency op) noexcept {
  return !cfg.enabled || may_hedge(op);
}

} // namespace bulwark
