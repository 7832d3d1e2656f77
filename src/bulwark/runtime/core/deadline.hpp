// An absolute deadline: the instant after which nobody is waiting for the
// answer any more. A request gets one when it enters (from the caller or the
// dependency's default timeout) and carries it unchanged through every hop,
// retry and hedge, so no layer keeps working for a caller that has given up.
// Absolute time does not survive a process boundary (clocks differ), so on the
// wire it travels as "remaining milliseconds" and is turned back into an
// absolute instant on arrival (the `grpc-timeout` idea). All arithmetic
// saturates: `no_deadline` plus anything is still `no_deadline`, and nothing
// here can overflow, whatever time point or duration it is given.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct deadline {
  /// The instant the deadline passes; `no_deadline` when there is none.
  time_point at = no_deadline;

  /// A deadline that never passes.
  static constexpr deadline none() noexcept {
    return deadline{};
  }

  /// `now + d`, saturating: a sum past the largest time point is "no deadline",
  /// a sum before the smallest is the smallest (already expired). A zero or
  /// negative `d` gives a deadline that has already passed at `now`.
  static constexpr deadline after(time_point now, duration d) noexcept {
    constexpr auto max_rep = std::numeric_limits<duration::rep>::max();
    constexpr auto min_rep = std::numeric_limits<duration::rep>::min();
    auto t = now.time_since_epoch().count();
    auto x = d.count();
    if (x > 0 && t > max_rep - x)
      return deadline{no_deadline};
    if (x < 0 && t < min_rep - x)
      return deadline{time_point::min()};
    return deadline{time_point{duration{t + x}}};
  }

  /// Whether a deadline is set at all.
  constexpr bool is_set() const noexcept {
    return at != no_deadline;
  }

  /// True from the instant `at` on: with nothing remaining there is no time
  /// left to do any work. Never true for `no_deadline`.
  constexpr bool expired(time_point now) const noexcept {
    return is_set() && now >= at;
  }

  /// Time left until `at`; zero once expired, never negative, and
  /// `duration::max()` for no deadline (or a difference too large to hold).
  constexpr duration remaining(time_point now) const noexcept {
    if (!is_set())
      return duration::max();
    if (now >= at)
      return duration{0};
    // at > now, so the true difference is in (0, 2^64): compute it unsigned
    // (well defined modulo 2^64) and saturate instead of overflowing.
    auto diff = static_cast<std::uint64_t>(at.time_since_epoch().count())
                - static_cast<std::uint64_t>(now.time_since_epoch().count());
    constexpr auto max_rep =
      static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max());
    return diff > max_rep ? duration::max()
                          : duration{static_cast<duration::rep>(diff)};
  }

  /// The earlier of the two: a hop never extends the deadline it was given.
  constexpr deadline min(deadline other) const noexcept {
    return other.at < at ? other : *this;
  }

  /// The remaining time in whole milliseconds for the wire, rounded down so
  /// the receiver never believes it has more time than the sender; nullopt
  /// when there is no deadline. An expired deadline gives 0.
  std::optional<std::int64_t> remaining_ms(time_point now) const noexcept {
    if (!is_set())
      return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(remaining(now)).count();
  }

  /// The inverse of `remaining_ms` on the receiving side: nullopt means no
  /// deadline; a negative count is treated as 0 (already expired).
  static deadline from_remaining(time_point now,
                                 std::optional<std::int64_t> ms) noexcept {
    if (!ms)
      return none();
    if (*ms <= 0)
      return after(now, duration{0});
    // Milliseconds to nanoseconds saturates too: anything beyond ~292 years
    // is simply no deadline.
    constexpr auto max_ms = std::numeric_limits<duration::rep>::max() / 1000000;
    if (*ms > max_ms)
      return none();
    return after(now, milliseconds(*ms));
  }

  friend constexpr bool operator==(deadline a, deadline b) noexcept {
    return a.at == b.at;
  }
  friend constexpr bool operator!=(deadline a, deadline b) noexcept {
    return a.at != b.at;
  }
};

} // namespace bulwark
