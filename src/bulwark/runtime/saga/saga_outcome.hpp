// How a saga ended, as the coordinator answers it to every caller of its id
// and records it in the saga log: the status, the steps that took effect
// with their result data, the compensations that completed, and what went
// wrong. A re-sent id gets this same value, however often it is asked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

enum class saga_status : std::uint8_t {
  /// Not finished yet (only seen in a status query).
  running,
  /// Every step done.
  completed,
  /// A step failed before the pivot took effect; every step that may have
  /// taken effect was compensated.
  compensated,
  /// A compensation failed on each of its tries; the saga stopped there
  /// (needs an operator; `failed_compensation` names it).
  compensation_failed,
  /// A step that can no longer be compensated (the pivot after it may have
  /// executed, or a step after it) did not complete within its tries
  /// (needs an operator; `failed_step` names it). Never compensated.
  stuck,
};

inline constexpr std::size_t saga_status_count = 5;

/// @relates saga_status
std::string to_string(saga_status x);

/// @relates saga_status
bool from_string(std::string_view str, saga_status& x);

/// A step (or compensation) and the result data its action reported.
struct saga_step_data {
  std::string step;
  std::string data;

  friend bool operator==(const saga_step_data& a, const saga_step_data& b) {
    return a.step == b.step && a.data == b.data;
  }
  friend bool operator!=(const saga_step_data& a, const saga_step_data& b) {
    return !(a == b);
  }
};

struct saga_outcome {
  saga_status status = saga_status::running;
  /// Steps done, in order, with their result data.
  std::vector<saga_step_data> steps;
  /// Compensations done, in the order they ran (reverse step order).
  std::vector<saga_step_data> compensations;
  /// Why the saga did not complete: the failed try, and for
  /// compensation_failed the compensation's last failure too. Empty when
  /// completed.
  std::string failure;
  /// The step whose failure started compensation (compensated,
  /// compensation_failed), or the step that did not complete (stuck).
  std::string failed_step;
  /// compensation_failed: the step whose compensation gave up.
  std::string failed_compensation;

  bool finished() const noexcept {
    return status != saga_status::running;
  }
};

bool operator==(const saga_outcome& a, const saga_outcome& b);

inline bool operator!=(const saga_outcome& a, const saga_outcome& b) {
  return !(a == b);
}

} // namespace bulwark
