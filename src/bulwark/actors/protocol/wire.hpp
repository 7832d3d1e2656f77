// Time and enums on the wire: how bulwark's messages carry what CAF 0.17 has
// no portable form for. Times travel as std::int64_t nanoseconds since the
// steady clock's epoch (CAF's actor_clock is steady_clock-based, so under the
// test scheduler these are virtual nanoseconds); enums travel as their uint8
// value and are checked on load. Deadlines are absolute steady-clock times:
// steady clocks of different machines do not share an epoch, so a remote hop
// must turn a deadline into a remaining budget before it crosses nodes.
#pragma once

#include "bulwark/runtime/core/time.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace bulwark {

// -- time on the wire ---------------------------------------------------------

/// `deadline_ns` value meaning "no deadline".
inline constexpr std::int64_t no_deadline_ns =
  std::numeric_limits<std::int64_t>::max();

/// `retry_after_ns` value meaning "the transport gave no retry-after hint".
inline constexpr std::int64_t no_retry_after_ns = -1;

/// A time point as nanoseconds since the steady clock's epoch;
/// `no_deadline` maps to `no_deadline_ns`.
constexpr std::int64_t to_wire_time(time_point t) noexcept {
  return t == no_deadline
           ? no_deadline_ns
           : std::chrono::duration_cast<nanoseconds>(t.time_since_epoch())
               .count();
}

/// Inverse of `to_wire_time`; `no_deadline_ns` maps to `no_deadline`.
constexpr time_point from_wire_time(std::int64_t ns) noexcept {
  return ns == no_deadline_ns
           ? no_deadline
           : time_point{
             std::chrono::duration_cast<time_point::duration>(nanoseconds{ns})};
}

/// A duration as nanoseconds.
constexpr std::int64_t to_wire_duration(duration d) noexcept {
  return std::chrono::duration_cast<nanoseconds>(d).count();
}

/// Inverse of `to_wire_duration`.
constexpr duration from_wire_duration(std::int64_t ns) noexcept {
  return nanoseconds{ns};
}

/// The time left until `deadline_ns` (an absolute wire time) at `now`, as
/// it crosses to another node: `no_deadline_ns` stays "none"; a deadline
/// already past gives 0 or less. Steady clocks of two machines share no
/// epoch, so only the budget is meaningful on the far side.
constexpr std::int64_t budget_from_deadline(std::int64_t deadline_ns,
                                            time_point now) noexcept {
  if (deadline_ns == no_deadline_ns)
    return no_deadline_ns;
  auto now_ns = to_wire_time(now);
  if (deadline_ns < 0
      && now_ns > std::numeric_limits<std::int64_t>::max() + deadline_ns)
    return std::numeric_limits<std::int64_t>::min();
  return deadline_ns - now_ns;
}

/// Inverse of `budget_from_deadline` on the receiving node: the absolute
/// deadline `budget_ns` after `now` (saturating below `no_deadline_ns`);
/// `no_deadline_ns` stays "none".
constexpr std::int64_t deadline_from_budget(std::int64_t budget_ns,
                                            time_point now) noexcept {
  if (budget_ns == no_deadline_ns)
    return no_deadline_ns;
  auto now_ns = to_wire_time(now);
  constexpr auto max = no_deadline_ns - 1;
  if (budget_ns > 0 && now_ns > max - budget_ns)
    return max;
  if (budget_ns < 0
      && now_ns < std::numeric_limits<std::int64_t>::min() - budget_ns)
    return std::numeric_limits<std::int64_t>::min();
  return now_ns + budget_ns;
}

namespace detail {

/// Enums travel as their uint8 value; loading rejects values outside
/// [0, count) instead of producing an enum no switch handles.
template <class Enum>
caf::error load_enum(std::uint8_t raw, Enum& out, std::size_t count) {
  if (raw >= count)
    return caf::make_error(caf::sec::invalid_argument);
  out = static_cast<Enum>(raw);
  return caf::none;
}

inline constexpr std::size_t criticality_count = 3;
inline constexpr std::size_t reply_source_count = 5;
inline constexpr std::size_t preliminary_reason_count = 5;
inline constexpr std::size_t transport_error_count = 8;

} // namespace detail

} // namespace bulwark
