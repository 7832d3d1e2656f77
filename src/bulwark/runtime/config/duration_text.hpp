// Durations in configuration are strings with a unit: "250ms", "1.5s", "2m".
// Units: ns, us, ms, s, m, h. Parsing is exact (decimal, no floating point), so
// "0.1s" is exactly 100ms. A bare number is rejected: "250" is ambiguous.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class duration_parse_error {
  none,
  syntax, // not "<number><unit>"
  negative, // a leading minus sign
  too_large // does not fit in 64-bit nanoseconds
};

/// @relates duration_parse_error
std::string to_string(duration_parse_error x);

/// Parses `text` into `out`; returns why it failed, or `none`.
duration_parse_error parse_duration(std::string_view text, duration& out);

/// The shortest exact text: 250ms -> "250ms", 90s -> "90s", 2h -> "2h",
/// 1500us -> "1500us", 0 -> "0s".
std::string format_duration(duration d);

} // namespace bulwark
