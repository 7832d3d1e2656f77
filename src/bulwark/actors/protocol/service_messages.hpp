// The messages between an HTTP service and its route actors: one HTTP
// request as a route actor receives it (`service_request`) and the route's
// answer (`service_response`), with CAF 0.17 `inspect` overloads (times as
// wire nanoseconds, bulwark/actors/protocol/wire.hpp) so a route actor may live
// on another node. The service that sends them:
// bulwark/actors/http/http_service.hpp.
#pragma once

#include "bulwark/actors/protocol/wire.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/trace_context.hpp"

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark {

/// One HTTP request as a route actor receives it: `(service_request)`, to be
/// answered with a `service_response`.
struct service_request {
  /// As sent ("GET", "POST", ...).
  std::string method;
  /// The request target before `?`, not percent-decoded.
  std::string path;
  /// The request target after `?` (without it); empty when there is none.
  std::string query;
  /// Every request header in arrival order, names as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Absolute steady-clock deadline: arrival + `Bulwark-Deadline-Ms`, capped
  /// at arrival + `http_service_options::request_timeout`. Never
  /// `no_deadline`; answers after it are replaced by 504.
  time_point deadline = no_deadline;
  /// `Idempotency-Key`; empty when absent.
  std::string idempotency_key;
  /// `Bulwark-Attempt` (1 when absent): 1 for a first attempt.
  std::uint32_t attempt = 1;
  /// `Bulwark-Criticality` (`standard` when absent).
  criticality crit = criticality::standard;
  /// From a valid `traceparent` (and `tracestate`): the caller's trace with
  /// the caller's span as `parent_id`. None or an invalid one: a new trace
  /// starting here (`parent_id` 0). Never empty from an `http_service`.
  trace_context trace;
  /// This request's own (server) span in `trace`: the parent of the calls
  /// its handler makes (`downstream_call`, bulwark/actors/http/).
  std::uint64_t span_id = 0;

  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

/// A route actor's answer.
struct service_response {
  /// HTTP status code (100..999).
  std::int32_t status = 200;
  std::string content_type = "application/octet-stream";
  std::string body;
  /// Extra response headers, written in this order.
  std::vector<std::pair<std::string, std::string>> headers;
  /// When >= 0: a `Retry-After` header with this delay in whole seconds
  /// (rounded up).
  duration retry_after = duration{-1};
  /// Adds `Bulwark-Do-Not-Retry: 1`: the caller should not retry.
  bool do_not_retry = false;
  /// On a ledger route: the handler did nothing (it shed the request, or
  /// gave up before its side effect), so the ledger forgets the key instead
  /// of recording this answer and a retry executes. Ignored elsewhere.
  bool not_executed = false;
};

bool operator==(const service_response& x, const service_response& y);

inline bool operator!=(const service_response& x, const service_response& y) {
  return !(x == y);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_request& x) {
  auto deadline_ns = to_wire_time(x.deadline);
  auto crit = static_cast<std::uint8_t>(x.crit);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.deadline = from_wire_time(deadline_ns);
    if (auto err = detail::check_trace(x.trace))
      return err;
    return detail::load_enum(crit, x.crit, detail::criticality_count);
  });
  return f(caf::meta::type_name("service_request"), x.method, x.path, x.query,
           x.headers, x.body, deadline_ns, x.idempotency_key, x.attempt, crit,
           x.trace.trace.hi, x.trace.trace.lo, x.trace.parent_id, x.trace.flags,
           x.trace.tracestate, x.span_id, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_response& x) {
  auto retry_after_ns = to_wire_duration(x.retry_after);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.retry_after = from_wire_duration(retry_after_ns);
    return caf::none;
  });
  return f(caf::meta::type_name("service_response"), x.status, x.content_type,
           x.body, x.headers, retry_after_ns, x.do_not_retry, x.not_executed,
           load);
}

} // namespace bulwark
