// How long to wait before a retry: the growth of the delay (constant, linear,
// exponential), the jitter that spreads retries of many clients apart (the
// formulas of the AWS Architecture Blog's "Exponential Backoff And Jitter"),
// and a cap. The same config drives the breaker's open-duration backoff and
// restart backoff, so it lives in its own header, separate from the retry
// policy that uses it.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// How the un-jittered delay grows with the retry number n (1 = first retry).
enum class backoff_kind : std::uint8_t {
  /// base
  constant,
  /// base * n
  linear,
  /// base * multiplier^(n-1)
  exponential,
};

/// @relates backoff_kind
std::string to_string(backoff_kind x);

/// How randomness is applied to the un-jittered delay d (already capped).
enum class jitter_kind : std::uint8_t {
  /// d
  none,
  /// uniform(0, d) (AWS "Full Jitter")
  full,
  /// d/2 + uniform(0, d/2) (AWS "Equal Jitter")
  equal,
  /// min(cap, uniform(base, previous_delay * 3)), previous_delay = base on the
  /// first retry (AWS "Decorrelated Jitter"). Grows from the previous delay
  /// rather than from n, so it ignores `kind` and `multiplier`.
  decorrelated,
};

/// @relates jitter_kind
std::string to_string(jitter_kind x);

struct backoff_config {
  backoff_kind kind = backoff_kind::exponential;
  jitter_kind jitter = jitter_kind::full;
  /// The first (un-jittered) delay; 100ms like gRPC's usual initialBackoff.
  duration base = milliseconds(100);
  /// Growth factor per retry for `exponential` (gRPC backoffMultiplier).
  double multiplier = 2.0;
  /// No delay exceeds this (gRPC maxBackoff, AWS cap).
  duration cap = seconds(10);
};

/// Reads a backoff object (keys: kind, jitter, base, multiplier, cap).
/// Cross-field rule: cap >= base (error at `cap`).
backoff_config parse_backoff_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// @relates backoff_config
boost::json::object to_json(const backoff_config& cfg);

} // namespace bulwark
