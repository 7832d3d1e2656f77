// Why a progressive call's reply is preliminary: what the call was still
// doing when its soft deadline passed, so a caller can say something
// actionable ("prices may be out of date: the pricing service is being
// retried") instead of guessing. A final reply has `none`.
#pragma once

#include <cstdint>
#include <string>

namespace bulwark {

enum class preliminary_reason : std::uint8_t {
  /// Not preliminary: the final reply.
  none,
  /// The first attempt (or its hedges) had not answered yet.
  awaiting_answer,
  /// An attempt failed and the call was being retried.
  retrying,
  /// The call waited for a concurrency slot.
  queued,
  /// The call failed here and an alternate dependency was asked.
  alternate,
};

inline constexpr preliminary_reason all_preliminary_reasons[] = {
  preliminary_reason::none,      preliminary_reason::awaiting_answer,
  preliminary_reason::retrying,  preliminary_reason::queued,
  preliminary_reason::alternate,
};

/// @relates preliminary_reason
inline std::string to_string(preliminary_reason x) {
  switch (x) {
    case preliminary_reason::none:
      return "none";
    case preliminary_reason::awaiting_answer:
      return "awaiting_answer";
    case preliminary_reason::retrying:
      return "retrying";
    case preliminary_reason::queued:
      return "queued";
    case preliminary_reason::alternate:
      return "alternate";
  }
  return "invalid";
}

} // namespace bulwark
