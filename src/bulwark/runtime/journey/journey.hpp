// The record of one logical request's way through a dependency actor: every
// state change with its time, attempt number, initiator, outcome and (for
// escalations) ladder level, so a slow or failed request can be explained
// after the fact and exported as JSON. Recording goes through the transition
// table in journey_state.hpp; an event the table does not allow in the
// current state is refused and leaves no trace. Storage is fixed: entries are
// small trivially-copyable values in an inline array with a hard cap, so
// recording never allocates; past the cap entries are only counted, except the
// final `replied`, whose slot is always kept free.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"
#include "bulwark/runtime/journey/journey_state.hpp"
#include "bulwark/runtime/retry/retry_status.hpp"

namespace bulwark {

/// Who caused a journey event.
enum class initiator : std::uint8_t {
  /// The caller: the request arrived, the caller cancelled.
  caller,
  /// The dependency actor: admission, attempts, retries, fallback steps.
  dependency,
  /// The supervisor: reroute to a replica or alternate, escalation above the
  /// dependency.
  supervisor,
  /// The hedging policy: a speculative duplicate attempt.
  hedger,
  /// A timer: a backoff expired, a per-attempt timeout or deadline fired.
  timer,
};

inline constexpr initiator all_initiators[] = {
  initiator::caller, initiator::dependency, initiator::supervisor,
  initiator::hedger, initiator::timer,
};

/// @relates initiator
std::string to_string(initiator x);

/// What happened, as handed to `journey::record`. Built with the chainable
/// `with_*` helpers:
///   journey_event{journey_event_kind::attempt_ended}
///     .with_attempt(1).with_outcome(outcome::failure(failure_class::timeout),
///                                   milliseconds(250))
struct journey_event {
  journey_event_kind kind = journey_event_kind::admitted;
  initiator who = initiator::dependency;
  /// The attempt this event is about (1 = first try); 0 = none. Required
  /// (>= 1) for attempt_started, hedge_started and attempt_ended.
  std::uint32_t attempt = 0;
  /// `escalated` only: the ladder level reached, 2-4 (2 dependency fallback,
  /// 3 supervisor, 4 upstream), never lower than an earlier one. 0 otherwise.
  std::uint8_t level = 0;
  /// Required for attempt_ended and replied.
  bool has_outcome = false;
  bool success = false;
  /// Meaningful when has_outcome and not success.
  failure_class cls = failure_class::transient;
  /// Meaningful when has_outcome: the attempt's latency for attempt_ended,
  /// the request's for replied.
  duration latency{0};
  bool has_source = false;
  /// Where the served value came from (replied, fallback_used, cache hits).
  reply_source source = reply_source::live;
  bool has_reason = false;
  /// Why the call retried (backoff_scheduled) or stopped retrying (the
  /// escalation after a failed round): the dependency's retry step.
  retry_status reason = retry_status::retry;
  /// attempt_ended: the downstream's status (HTTP status, ...), 0 when
  /// there is none. Kept when it is 1-65535, stored as 0 otherwise.
  std::int32_t status = 0;

  constexpr journey_event with_who(initiator x) const noexcept {
    auto result = *this;
    result.who = x;
    return result;
  }

  constexpr journey_event with_attempt(std::uint32_t n) const noexcept {
    auto result = *this;
    result.attempt = n;
    return result;
  }

  constexpr journey_event with_level(std::uint8_t n) const noexcept {
    auto result = *this;
    result.level = n;
    return result;
  }

  constexpr journey_event with_outcome(const outcome& x,
                                       duration took) const noexcept {
    auto result = *this;
    result.has_outcome = true;
    result.success = x.success;
    result.cls = x.cls;
    result.latency = took;
    return result;
  }

  constexpr journey_event with_source(reply_source x) const noexcept {
    auto result = *this;
    result.has_source = true;
    result.source = x;
    return result;
  }

  constexpr journey_event with_reason(retry_status x) const noexcept {
    auto result = *this;
    result.has_reason = true;
    result.reason = x;
    return result;
  }

  constexpr journey_event with_status(std::int32_t x) const noexcept {
    auto result = *this;
    result.status = x;
    return result;
  }
};

/// One recorded event. Trivial on purpose (no default member initializers):
/// a journey's unused slots then cost nothing to construct.
/// The flags are bit-fields so the downstream status fits in 32 bytes.
struct journey_entry {
  time_point at;
  duration latency; // see journey_event::latency
  std::uint32_t attempt; // 0 = not about an attempt
  std::uint16_t status; // see journey_event::status; 0 = none
  journey_event_kind kind;
  journey_state from;
  journey_state to;
  initiator who;
  std::uint8_t level; // escalation level 2-4; 0 = not an escalation
  failure_class cls;
  reply_source source;
  retry_status reason;
  bool has_outcome : 1;
  bool success : 1;
  bool has_source : 1;
  bool has_reason : 1;
};

static_assert(sizeof(journey_entry) <= 32, "keep journey entries small");

/// A read-only view of a journey's entries (C++17 has no std::span).
class journey_entries {
 public:
  constexpr journey_entries(const journey_entry* data,
                            std::size_t size) noexcept
    : data_(data),
      size_(size) {}
  const journey_entry* begin() const noexcept {
    return data_;
  }
  const journey_entry* end() const noexcept {
    return data_ + size_;
  }
  std::size_t size() const noexcept {
    return size_;
  }
  bool empty() const noexcept {
    return size_ == 0;
  }
  const journey_entry& operator[](std::size_t i) const noexcept {
    return data_[i];
  }
  const journey_entry& back() const noexcept {
    return data_[size_ - 1];
  }

 private:
  const journey_entry* data_;
  std::size_t size_;
};

/// Where a journey sits in a distributed trace (W3C Trace Context). The call
/// is one span; its attempt `n` is span `child_span_id(span, n)` (what the
/// attempt's `traceparent` names as parent-id downstream).
struct journey_trace {
  /// Empty: the call was not traced.
  trace_id trace;
  /// The call's own span.
  std::uint64_t span = 0;
  /// The caller's span (e.g. the HTTP service's server span), 0 for a root.
  std::uint64_t parent = 0;
  /// The span that sent the request the caller served (an upstream
  /// attempt), 0 when unknown: joins processes in an assembled trace.
  std::uint64_t upstream = 0;
};

class journey {
 public:
  /// Entries kept per journey, the final `replied` included.
  static constexpr std::size_t capacity = 64;

  journey() noexcept : journey(0, time_point{}) {}

  journey(std::uint64_t id, time_point started) noexcept;

  // Copies only the used entries (journeys are copied into the log).
  journey(const journey& other) noexcept;
  journey& operator=(const journey& other) noexcept;

  /// Applies `e` at time `now` if the transition table allows it in the
  /// current state and its payload is well-formed (attempt >= 1 on attempt
  /// events, an outcome on attempt_ended and replied, escalation levels 2-4
  /// and never lower than before, level 0 on anything else). Returns false
  /// and records nothing otherwise. A legal event past the cap changes the
  /// state but is only counted in `dropped()`.
  bool record(time_point now, const journey_event& e) noexcept;

  std::uint64_t id() const noexcept {
    return id_;
  }
  time_point started() const noexcept {
    return started_;
  }
  journey_state state() const noexcept {
    return state_;
  }
  bool done() const noexcept {
    return is_terminal(state_);
  }

  /// Replied with a failure.
  bool failed() const noexcept {
    return failed_;
  }

  /// Replied with a success from a fallback (stale, static, alternate).
  bool degraded() const noexcept {
    return degraded_;
  }

  /// The highest escalation level reached; 1 (the attempt level) until the
  /// first `escalated`.
  std::uint8_t level() const noexcept {
    return level_;
  }

  /// The highest attempt number seen.
  std::uint32_t attempts() const noexcept {
    return attempts_;
  }

  /// Legal events that did not fit.
  std::uint32_t dropped() const noexcept {
    return dropped_;
  }

  journey_entries entries() const noexcept {
    return journey_entries{data(), size_};
  }

  const journey_trace& trace() const noexcept {
    return trace_;
  }

  void set_trace(const journey_trace& t) noexcept {
    trace_ = t;
  }

  /// Longer operation names are cut to this many bytes.
  static constexpr std::size_t operation_capacity = 47;

  /// The operation of the call (call_request::operation), cut to
  /// `operation_capacity` bytes; empty when not set.
  std::string_view operation() const noexcept {
    return {operation_.data(), operation_size_};
  }

  void set_operation(std::string_view op) noexcept {
    operation_size_ =
      static_cast<std::uint8_t>(std::min(op.size(), operation_capacity));
    std::copy_n(op.data(), operation_size_, operation_.data());
  }

 private:
  std::uint64_t id_;
  time_point started_;
  std::uint32_t attempts_ = 0;
  std::uint32_t dropped_ = 0;
  std::uint32_t size_ = 0;
  journey_state state_ = journey_state::received;
  std::uint8_t level_ = 1;
  bool failed_ = false;
  bool degraded_ = false;
  std::uint8_t operation_size_ = 0;
  journey_trace trace_;
  // Inline (no allocation when a journey is built or copied into the log);
  // only [0, operation_size_) is ever read.
  std::array<char, operation_capacity> operation_;
  // Raw storage: journey_entry's time_point members would otherwise be
  // zeroed for all `capacity` slots on every construction (once per call).
  union slot {
    slot() noexcept {}
    journey_entry value;
  };
  static_assert(sizeof(slot) == sizeof(journey_entry));
  std::array<slot, capacity> entries_;

  journey_entry* data() noexcept {
    return &entries_[0].value;
  }
  const journey_entry* data() const noexcept {
    return &entries_[0].value;
  }
};

namespace detail {

inline bool journey_well_formed(const journey_event& e,
                                std::uint8_t level) noexcept {
  switch (e.kind) {
    case journey_event_kind::attempt_started:
    case journey_event_kind::hedge_started:
      return e.attempt >= 1 && e.level == 0;
    case journey_event_kind::attempt_ended:
      return e.attempt >= 1 && e.has_outcome && e.level == 0;
    case journey_event_kind::replied:
      return e.has_outcome && e.level == 0;
    case journey_event_kind::escalated:
      // The ladder only goes up: 2 dependency, 3 supervisor, 4 upstream.
      return e.level >= 2 && e.level <= 4 && e.level >= level;
    default:
      return e.level == 0;
  }
}

} // namespace detail

// Inline: it runs several times per call on the dependency actor's hot path.
inline bool journey::record(time_point now, const journey_event& e) noexcept {
  journey_state to;
  if (!journey_next(state_, e.kind, to)
      || !detail::journey_well_formed(e, level_))
    return false;
  auto from = state_;
  state_ = to;
  if (e.kind == journey_event_kind::escalated)
    level_ = e.level;
  attempts_ = std::max(attempts_, e.attempt);
  if (e.kind == journey_event_kind::replied) {
    failed_ = !e.success;
    degraded_ = e.success && e.has_source && is_degraded(e.source);
  }
  // The last slot is reserved for `replied`, which ends every journey, so the
  // final outcome survives however long the journey got.
  if (e.kind != journey_event_kind::replied && size_ + 1 >= capacity) {
    ++dropped_;
    return true;
  }
  auto& entry = data()[size_++];
  entry.at = now;
  entry.latency = e.has_outcome ? e.latency : duration{0};
  entry.attempt = e.attempt;
  entry.kind = e.kind;
  entry.from = from;
  entry.to = to;
  entry.who = e.who;
  entry.level = e.level;
  entry.has_outcome = e.has_outcome;
  entry.success = e.has_outcome && e.success;
  entry.cls = e.cls;
  entry.has_source = e.has_source;
  entry.source = e.source;
  entry.has_reason = e.has_reason;
  entry.reason = e.reason;
  entry.status = e.status > 0 && e.status <= 0xffff
                   ? static_cast<std::uint16_t>(e.status)
                   : std::uint16_t{0};
  return true;
}

/// The journey as JSON: `started_us` is the start relative to `epoch`, every
/// entry's `at_us` is relative to the journey's start, all in whole
/// microseconds; enums appear as their `to_string` names; optional fields
/// (attempt, level, outcome, source, reason) appear only when set.
boost::json::object to_json(const journey& j, time_point epoch);

} // namespace bulwark
