// The transport protocol's messages: one attempt of a call as the dependency
// actor hands it to a transport (`attempt_request`) and what the transport
// saw (`attempt_result`), with CAF 0.17 `inspect` overloads and the
// constructors transports and tests use. Who sends them and how:
// bulwark/actors/protocol/protocol.hpp.
#pragma once

#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/wire.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace bulwark {

enum class transport_error : std::
  uint8_t; // bulwark/runtime/classify/classifier.hpp
struct transport_observation; // bulwark/runtime/classify/classifier.hpp

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
  /// The call's criticality, for the downstream's admission.
  criticality crit = criticality::standard;
  /// The call's trace with this attempt's own span as `parent_id` (what a
  /// `traceparent` names as parent-id); empty when the call is not traced.
  trace_context trace;
  /// Unused: keeps the size equal to call_request's (see "malloc size
  /// classes" below). Not serialized, not compared.
  char reserved_[32] = {};

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
  char reserved_[48] = {};
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
/// bulwark/runtime/classify/classifier.hpp to use it). `ok` counts only when
/// there is neither a status nor an error: a status is classified by the status
/// table, an error by its kind.
transport_observation to_observation(const attempt_result& x);

// -- comparison (for tests and round-trip checks) ------------------------------

bool operator==(const attempt_request& x, const attempt_request& y);
bool operator==(const attempt_result& x, const attempt_result& y);

inline bool operator!=(const attempt_request& x, const attempt_request& y) {
  return !(x == y);
}
inline bool operator!=(const attempt_result& x, const attempt_result& y) {
  return !(x == y);
}

// -- CAF inspection -----------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_request& x) {
  auto crit = static_cast<std::uint8_t>(x.crit);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = detail::check_trace(x.trace))
      return err;
    return detail::load_enum(crit, x.crit, detail::criticality_count);
  });
  return f(caf::meta::type_name("attempt_request"), x.attempt_id, x.operation,
           x.payload, x.idempotency_key, x.deadline_ns, x.attempt_number, crit,
           x.trace.trace.hi, x.trace.trace.lo, x.trace.parent_id, x.trace.flags,
           x.trace.tracestate, load);
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
