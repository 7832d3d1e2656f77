// The messages of bulwark's actor protocols: plain structs with CAF 0.17
// `inspect` overloads, so the same values can cross nodes through
// io::middleman. Times travel as std::int64_t nanoseconds since the steady
// clock's epoch (CAF's actor_clock is steady_clock-based, so under the test
// scheduler these are virtual nanoseconds); use the helpers below to convert.
//
// Protocols
// ---------
// Call protocol (callers -> dependency actor, supervisor or anything that
// stands in for one):
//   request form:  request(dep, timeout, call_atom::value, call_request)
//                    -> call_reply
//   send form:     send(dep, call_atom::value, call_request)
//                    and the dependency answers the SENDER with
//                    (reply_atom, call_reply), call_reply::id == request id.
//   The request form is a convenience. CAF 0.17's request/then machinery is
//   quadratic in the number of requests in flight per actor (see
//   docs/architecture.md), so callers with many calls in flight use the send
//   form and keep their own correlation ids (`call_request::id` is the
//   caller's). Exactly one reply is sent per call.
//
// Transport protocol (dependency actor -> transport actor), send-based only:
//   send(transport, attempt_atom::value, attempt_request)
//     -> the transport answers the SENDER with (result_atom, attempt_result),
//        attempt_result::attempt_id == attempt_request::attempt_id, at most
//        once per attempt. A transport that never answers is the sender's
//        per-attempt-timeout problem.
//   send(transport, cancel_atom::value, attempt_id)
//     -> a hint that the attempt is no longer wanted (a hedge won, the
//        deadline passed). Transports may ignore it; a late result for a
//        cancelled attempt must be dropped by the sender.
//
// Deadlines are absolute steady-clock times: steady clocks of different
// machines do not share an epoch, so a remote hop must turn a deadline into a
// remaining budget before it crosses nodes.
#pragma once

#include "runtime/core/criticality.hpp"
#include "runtime/core/deadline.hpp"
#include "runtime/core/failure_class.hpp"
#include "runtime/core/time.hpp"
#include "runtime/fallback/reply_source.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace bulwark {

enum class transport_error : std::uint8_t; // runtime/classify/classifier.hpp
struct transport_observation; // runtime/classify/classifier.hpp

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

// -- call protocol ------------------------------------------------------------

/// One logical call to a dependency, as the caller sends it.
struct call_request {
  /// The caller's correlation id; the reply carries it back unchanged.
  std::uint64_t id = 0;
  /// Which operation of the dependency (decides idempotency, cache, ...).
  std::string operation;
  std::string payload;
  /// One key per logical request, reused by every retry and hedge so the
  /// downstream (or an idempotency ledger) can deduplicate.
  std::string idempotency_key;
  criticality crit = criticality::standard;
  /// Absolute deadline (see `to_wire_time`), `no_deadline_ns` for none.
  std::int64_t deadline_ns = no_deadline_ns;
  /// Correlates the hops of one user request; 0 lets the receiver pick one.
  std::uint64_t journey_id = 0;
  /// Attempts already made by layers above (they share the attempt cap).
  std::uint32_t upstream_attempts = 0;

  bulwark::deadline deadline() const noexcept {
    return bulwark::deadline{from_wire_time(deadline_ns)};
  }
};

/// The one final answer to a `call_request`.
struct call_reply {
  /// The caller's correlation id from `call_request::id`.
  std::uint64_t id = 0;
  bool ok = false;
  std::string payload;
  /// Where the payload came from (a degraded answer is still `ok`).
  reply_source source = reply_source::live;
  /// Attempts made for this call, hedges included.
  std::uint32_t attempts = 0;
  /// True when a hedged attempt, not the first, produced the answer.
  bool hedge_won = false;
  std::uint64_t journey_id = 0;
  /// Meaningful only when `ok` is false.
  failure_class cls = failure_class::transient;
  /// False tells the caller "already retried here: do not retry", so
  /// attempts do not multiply across layers.
  bool may_retry = false;
  /// Human-readable reason on failure.
  std::string message;
};

// -- transport protocol -------------------------------------------------------

/// One attempt of a call, as the dependency actor hands it to a transport.
struct attempt_request {
  /// The sender's correlation id for this attempt, unique per sender.
  std::uint64_t attempt_id = 0;
  std::string operation;
  std::string payload;
  std::string idempotency_key;
  /// The earlier of the call's deadline and the per-attempt timeout.
  std::int64_t deadline_ns = no_deadline_ns;
  /// 1 for the first attempt; hedges and retries count up.
  std::uint32_t attempt_number = 1;
  /// Unused: keeps the size equal to call_request's (see "malloc size
  /// classes" below). Not serialized, not compared.
  char reserved_[16] = {};

  bulwark::deadline deadline() const noexcept {
    return bulwark::deadline{from_wire_time(deadline_ns)};
  }
};

/// What a transport saw for one attempt. Classification into a
/// `failure_class` happens in the dependency actor, not here:
/// - `ok`: the transport got an answer it considers a success;
/// - `!ok && status != 0`: the downstream answered with a failure status
///   (e.g. an HTTP 503), classified from `status`;
/// - `!ok && status == 0 && error != 0`: the attempt failed in transport
///   (`error` holds a `bulwark::transport_error` as its underlying value);
/// - `!ok && status == 0 && error == 0`: the transport classified the failure
///   itself, `reported_class` holds a `failure_class` (function transports).
struct attempt_result {
  std::uint64_t attempt_id = 0;
  bool ok = false;
  std::string payload;
  /// Status code of the downstream (HTTP status, ...); 0 when there is none.
  std::int32_t status = 0;
  /// A `bulwark::transport_error` value; 0 means none.
  std::uint8_t error = 0;
  /// How long the attempt took as the transport measured it (0 = unknown).
  std::int64_t latency_ns = 0;
  /// Server hint "not before", `no_retry_after_ns` when absent.
  std::int64_t retry_after_ns = no_retry_after_ns;
  /// The downstream (or a bulwark layer there) says: do not retry this.
  bool do_not_retry = false;
  /// A `failure_class` value, used when `!ok && status == 0 && error == 0`.
  std::uint8_t reported_class = 0;
  /// Unused: keeps the size equal to call_reply's (see "malloc size
  /// classes" below). Not serialized, not compared.
  char reserved_[32] = {};
};

// -- malloc size classes -------------------------------------------------------
// CAF 0.17 allocates every message's mailbox element with malloc. For each
// call a dependency actor frees a call_request and an attempt_result and
// allocates an attempt_request and a call_reply. With equal sizes pairwise,
// glibc's per-thread cache hands a freed block straight back to the next
// allocation; with different sizes every message of the hot path goes
// through malloc's locked slow path. Measured with `bulwark-bench
// --scenario=overhead` (protected / bare): 1.34-1.37 unequal, 1.17-1.26 equal.
static_assert(sizeof(attempt_request) == sizeof(call_request),
              "attempt_request must stay as large as call_request: adjust "
              "attempt_request::reserved_");
static_assert(sizeof(attempt_result) == sizeof(call_reply),
              "attempt_result must stay as large as call_reply: adjust "
              "attempt_result::reserved_");

// -- convenience constructors for transports and tests -------------------------

/// A successful attempt carrying `payload`.
attempt_result success_result(std::string payload, std::int32_t status = 0);

/// A failed attempt with a downstream status (e.g. 503), classified later.
attempt_result status_result(std::int32_t status, std::string payload = {});

/// A failed attempt with a transport error.
attempt_result error_result(transport_error error);

/// A failed attempt the transport classified itself.
attempt_result class_result(failure_class cls,
                            duration retry_after = duration{-1});

/// What the classifier needs from a result (include
/// runtime/classify/classifier.hpp to use it). `ok` counts only when there
/// is neither a status nor an error: a status is classified by the status
/// table, an error by its kind.
transport_observation to_observation(const attempt_result& x);

// -- comparison (for tests and round-trip checks) ------------------------------

bool operator==(const call_request& x, const call_request& y);
bool operator==(const call_reply& x, const call_reply& y);
bool operator==(const attempt_request& x, const attempt_request& y);
bool operator==(const attempt_result& x, const attempt_result& y);

inline bool operator!=(const call_request& x, const call_request& y) {
  return !(x == y);
}
inline bool operator!=(const call_reply& x, const call_reply& y) {
  return !(x == y);
}
inline bool operator!=(const attempt_request& x, const attempt_request& y) {
  return !(x == y);
}
inline bool operator!=(const attempt_result& x, const attempt_result& y) {
  return !(x == y);
}

// -- CAF inspection -----------------------------------------------------------

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
inline constexpr std::size_t transport_error_count = 8;

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_request& x) {
  auto crit = static_cast<std::uint8_t>(x.crit);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return detail::load_enum(crit, x.crit, detail::criticality_count);
  });
  return f(caf::meta::type_name("call_request"), x.id, x.operation, x.payload,
           x.idempotency_key, crit, x.deadline_ns, x.journey_id,
           x.upstream_attempts, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_reply& x) {
  auto source = static_cast<std::uint8_t>(x.source);
  auto cls = static_cast<std::uint8_t>(x.cls);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err =
          detail::load_enum(source, x.source, detail::reply_source_count))
      return err;
    return detail::load_enum(cls, x.cls, failure_class_count);
  });
  return f(caf::meta::type_name("call_reply"), x.id, x.ok, x.payload, source,
           x.attempts, x.hedge_won, x.journey_id, cls, x.may_retry, x.message,
           load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_request& x) {
  return f(caf::meta::type_name("attempt_request"), x.attempt_id, x.operation,
           x.payload, x.idempotency_key, x.deadline_ns, x.attempt_number);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_result& x) {
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (x.error >= detail::transport_error_count
        || x.reported_class >= failure_class_count)
      return caf::make_error(caf::sec::invalid_argument);
    return caf::none;
  });
  return f(caf::meta::type_name("attempt_result"), x.attempt_id, x.ok,
           x.payload, x.status, x.error, x.latency_ns, x.retry_after_ns,
           x.do_not_retry, x.reported_class, load);
}

} // namespace bulwark
