// How a circuit breaker decides: which window, how many calls before it may
// judge, the failure-rate and slow-call-rate thresholds, how long it stays
// open (with backoff across failed probes), how many probes it lets through
// half-open, and which failure classes count as failures. Names and semantics
// follow Resilience4j's CircuitBreakerConfig in snake_case; the defaults are
// tuned for a service runtime (faster to judge and to recover than
// Resilience4j's) and docs/configuration/breaker.md lists both side by side.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// Who drives the breaker's state: its own thresholds (`automatic`), or the
/// configuration, which holds it `forced_open` or `disabled` (Resilience4j
/// `FORCED_OPEN` / `DISABLED`, reachable here by a config reload).
enum class breaker_mode : std::uint8_t { automatic, forced_open, disabled };

/// @relates breaker_mode
std::string to_string(breaker_mode x);

/// Whether `window_size` counts calls or seconds (Resilience4j
/// `slidingWindowType` COUNT_BASED / TIME_BASED).
enum class window_kind : std::uint8_t { count_based, time_based };

/// @relates window_kind
std::string to_string(window_kind x);

/// Breaker thresholds are compared exactly, in units of 10^-8 (a percentage
/// with six decimals: 66.66666 % is 66,666,660 units). The parser refuses a
/// percentage with more decimals; a config built in code is rounded to the
/// nearest unit.
inline constexpr std::uint64_t breaker_threshold_scale = 100'000'000;

/// `fraction` (0..1] in units of 10^-8, at least 1.
std::uint64_t breaker_threshold_units(double fraction) noexcept;

struct breaker_config {
  /// Largest count-based window, in calls.
  static constexpr std::uint32_t max_count_window = 100'000;
  /// Largest time-based window, in seconds (one bucket per second).
  static constexpr std::uint32_t max_time_window = 3'600;

  breaker_mode mode = breaker_mode::automatic;
  window_kind window = window_kind::count_based;
  /// Calls (count_based) or seconds (time_based).
  std::uint32_t window_size = 100;
  /// Calls the window must hold before the rates may open the breaker.
  std::uint32_t minimum_calls = 20;
  /// Fraction in (0, 1]; the config text is a percentage with at most six
  /// decimals.
  double failure_rate_threshold = 0.5;
  /// Fraction in (0, 1]; the config text is a percentage with at most six
  /// decimals.
  double slow_call_rate_threshold = 1.0;
  /// A call whose latency is at least this long is slow.
  duration slow_call_duration = seconds(2);
  /// How long the breaker stays open the first time it opens.
  duration open_duration = seconds(5);
  /// Each re-open after failed probes multiplies the open duration by this.
  double open_duration_multiplier = 2.0;
  /// Cap for the multiplied open duration.
  duration max_open_duration = seconds(60);
  /// Calls admitted in half_open; their results decide closed or open.
  std::uint32_t half_open_probes = 5;
  /// Probes in flight at once in half_open (0: up to half_open_probes). With
  /// 1, the next probe goes only after the previous one came back, so a
  /// downstream that hangs gets one call, not half_open_probes.
  std::uint32_t half_open_max_in_flight = 0;
  /// The longest the breaker stays half_open without a verdict (0: no
  /// limit); past it, it reopens (Resilience4j
  /// `maxWaitDurationInHalfOpenState`). Checked when a call asks for a
  /// permit and when a probe ends.
  duration max_half_open_duration{0};
  /// Failure classes that count as failures. Other failure classes count as
  /// successes, except `cancelled` and `rejected_locally`, which are never
  /// recorded (a cancelled or locally refused call says nothing about the
  /// downstream) and therefore may not appear here.
  failure_class_set record_failures_on{failure_class::transient,
                                       failure_class::timeout,
                                       failure_class::overloaded};

  friend bool operator==(const breaker_config& a, const breaker_config& b);
  friend bool operator!=(const breaker_config& a, const breaker_config& b) {
    return !(a == b);
  }
};

/// Reads a breaker section. Missing keys keep their defaults; every bad value
/// is reported in `errors` (with its JSON Pointer) and keeps its default.
/// Cross-field rules: `minimum_calls` <= `window_size` for a count_based
/// window, `window_size` <= 3600 for a time_based one, `max_open_duration` >=
/// `open_duration`. When `minimum_calls` (or `max_open_duration`) is absent,
/// its default is lowered (raised) to fit instead of being an error.
/// A config built in code is validated by `parse_breaker_config(to_json(cfg))`.
breaker_config parse_breaker_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// Every key, so `parse_breaker_config(to_json(cfg))` yields `cfg`.
boost::json::object to_json(const breaker_config& cfg);

} // namespace bulwark
