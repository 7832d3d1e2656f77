// What one try of a saga step or compensation came to, as its action reports
// it. The distinction that matters is whether the try may have taken effect:
// `not_executed` is a promise that it did not (refused locally before
// anything was sent), `unknown` admits that it may have (a timeout, a lost
// answer, a crash while it ran). The saga's rules
// (bulwark/runtime/saga/saga_core.hpp) compensate or go forward on exactly that
// difference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark {

enum class saga_verdict : std::uint8_t {
  /// It took effect; its result data is kept for later steps and the outcome.
  done,
  /// It definitely had no effect (e.g. rejected locally before sending).
  not_executed,
  /// It may have had an effect.
  unknown,
};

inline constexpr std::size_t saga_verdict_count = 3;

/// @relates saga_verdict
std::string to_string(saga_verdict x);

/// @relates saga_verdict
bool from_string(std::string_view str, saga_verdict& x);

} // namespace bulwark
