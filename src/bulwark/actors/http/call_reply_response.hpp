// The HTTP answer to a request whose handler called a dependency: one mapping
// from the dependency's `call_reply` to a `service_response`, so every
// service built on bulwark tells its callers the same thing. A success is
// 200 with the payload; a failure gets a status by its failure class and
// `Bulwark-Do-Not-Retry` whenever the reply says the caller must not retry
// (`may_retry` false: this layer already retried, or retrying cannot help),
// so attempts do not multiply across hops.
//
// | reply | status |
// |---|---|
// | ok (live or degraded) | 200, body = payload |
// | timeout, deadline_exceeded | 504 |
// | overloaded, rejected_locally | 503 |
// | transient, persistent, cancelled | 502 |
//
// A failure's body is `{"error": message, "class": "<failure class>"}`; a
// reply's `retry_after_ns` (the downstream's hint) becomes `Retry-After`.
// A progressive call's preliminary reply maps the same way and is marked
// `Bulwark-Preliminary: <reason>; age=<ms>`, so a route actor relays it as
// `(preliminary_atom, to_preliminary_response(reply))` to its requester.
#pragma once

#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"

#include <cstdint>
#include <string>

namespace bulwark {

/// The status of a failed call's answer (see the table above).
std::int32_t failure_status(failure_class cls) noexcept;

/// `reply` as the answer of the request that made the call.
service_response to_service_response(call_reply&& reply);

/// The `Bulwark-Preliminary` value for `reason` and an age in ns (`; age=`
/// in whole ms, left out when negative).
std::string preliminary_header_value(preliminary_reason reason,
                                     std::int64_t age_ns);

/// A preliminary `reply` as a preliminary answer: like to_service_response,
/// plus `Bulwark-Preliminary` with its reason and age.
service_response to_preliminary_response(call_reply&& reply);

} // namespace bulwark
