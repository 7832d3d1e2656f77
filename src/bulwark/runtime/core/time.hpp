// Time types for pure policy code. bulwark/runtime/ never reads a clock: every
// function that needs the time takes `time_point now`. The types match CAF
// 0.17's actor_clock (steady_clock), so actors pass `self->clock().now()`
// straight in and tests pass virtual time.
#pragma once

#include <chrono>
#include <cstdint>

namespace bulwark {

using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::nanoseconds;

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

/// The largest representable time point: "no deadline".
inline constexpr time_point no_deadline = time_point::max();

/// Seconds as a double, for rates and reports.
inline double to_seconds(duration d) noexcept {
  return std::chrono::duration<double>(d).count();
}

} // namespace bulwark
