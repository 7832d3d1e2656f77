// A route that answers each HTTP request with one call to a dependency (a
// dependency actor, a supervisor or a host's live alias): the request's
// context crosses the hop (downstream_call: deadline, criticality, attempt,
// trace, optionally the idempotency key), the final reply is mapped by
// to_service_response, and a progressive call's preliminary reply is relayed
// to the service as the route's preliminary answer, so a route streams
// "stale price now, fresh price when it lands" without any code of the
// user's. Given to `http_service::route` as a factory: a route actor that
// dies (a `payload` function that throws) is started again by the service.
// See docs/http_service.md, "Progressive answers".
#pragma once

#include "bulwark/actors/http/downstream_call.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/runtime/core/time.hpp"

#include <functional>
#include <string>
#include <variant>

namespace bulwark {

/// A request's call payload, or the answer to give instead of calling (a
/// request that failed validation: e.g. invalid_body_reply or a 400 from
/// error_reply naming the bad parameter).
using route_payload = std::variant<std::string, service_response>;

struct dependency_route_options {
  /// The call's operation.
  std::string operation;
  /// Validates the request and builds the call's payload from it; empty:
  /// the request's query string (the part after `?`) as it came.
  std::function<route_payload(const service_request&)> payload;
  /// The `Content-Type` of a successful answer (the dependency's payload).
  std::string content_type = "application/octet-stream";
  /// Whether the call carries the request's `Idempotency-Key`.
  downstream_key key = downstream_key::none;
  /// Ask the dependency for progressive delivery (honoured where its
  /// `progressive.enabled` is true). Its preliminary answer reaches the
  /// client only on a route with `route_options::progressive` on.
  bool progressive = false;
  /// The call's own soft deadline; negative: the dependency's.
  duration soft_deadline{-1};
};

/// A factory of route actors calling `dependency` for each request. When
/// the dependency actor is down, requests are answered 503 (`Retry-After`
/// from the service) until it is back: pass a live alias
/// (bulwark/actors/host/live_alias.hpp) to survive its restarts.
route_actor_factory dependency_route(caf::actor dependency,
                                     dependency_route_options opts);

} // namespace bulwark
