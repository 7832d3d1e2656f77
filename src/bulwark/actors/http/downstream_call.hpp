// The call a request handler makes to a dependency, built from the request it
// serves, so the request's context crosses the hop: the downstream call gets
// the inbound absolute deadline (so what is left shrinks by the time already
// spent here), the inbound criticality, the inbound attempt number as
// attempts already made upstream (they share the dependency's attempt cap),
// the inbound trace with this service's server span as parent, and, when the
// handler asks, the inbound idempotency key. The dependency actor and its
// transport carry it on (see docs/http_service.md, "Context across hops").
#pragma once

#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"

#include <cstdint>
#include <string>

namespace bulwark {

/// Whether the downstream call reuses the inbound `Idempotency-Key`.
enum class downstream_key : std::uint8_t {
  /// No key (the dependency actor's calls go without one).
  none,
  /// The inbound key: one side effect per inbound key, however often the
  /// caller retries (use only for one downstream effect per request).
  inbound,
};

/// @relates downstream_key
std::string to_string(downstream_key x);

/// A `call_request` for `operation` with `payload` that inherits `in`'s
/// context (see above). `id` stays 0: the handler sets its own correlation
/// id.
call_request downstream_call(const service_request& in, std::string operation,
                             std::string payload,
                             downstream_key key = downstream_key::none);

} // namespace bulwark
