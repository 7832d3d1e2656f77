#include "bulwark/actors/http/downstream_call.hpp"

#include <utility>

namespace bulwark {

std::string to_string(downstream_key x) {
  switch (x) {
    case downstream_key::none:
      return "none";
    case downstream_key::inbound:
      return "inbound";
  }
  return "invalid";
}

call_request downstream_call(const service_request& in, std::string operation,
                             std::string payload, downstream_key key) {
  call_request out;
  out.operation = std::move(operation);
  out.payload = std::move(payload);
  if (key == downstream_key::inbound)
    out.idempotency_key = in.idempotency_key;
  out.crit = in.crit;
  // Absolute: the dependency actor sees only what is left of the caller's
  // budget, and its transport sends the remainder at write time.
  out.deadline_ns = to_wire_time(in.deadline);
  // Attempt N of the layer above: N - 1 attempts were made before this one,
  // so a first attempt everywhere is numbered 1.
  out.upstream_attempts = in.attempt > 0 ? in.attempt - 1 : 0;
  if (!in.trace.empty()) {
    out.trace.trace = in.trace.trace;
    out.trace.parent_id = in.span_id;
    out.trace.flags = in.trace.flags;
    out.trace.tracestate = in.trace.tracestate;
    out.upstream_span = in.trace.parent_id;
  }
  return out;
}

} // namespace bulwark
