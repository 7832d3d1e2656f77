#include "bulwark/actors/http/call_reply_response.hpp"

#include "bulwark/actors/http/http_service.hpp"

#include <boost/json/object.hpp>

#include <utility>

namespace bulwark {

std::int32_t failure_status(failure_class cls) noexcept {
  switch (cls) {
    case failure_class::timeout:
    case failure_class::deadline_exceeded:
      // gRPC's DEADLINE_EXCEEDED; the caller's budget ran out here.
      return 504;
    case failure_class::overloaded:
    case failure_class::rejected_locally:
      // Shed, breaker open or the downstream overloaded: try later or
      // elsewhere.
      return 503;
    case failure_class::transient:
    case failure_class::persistent:
    case failure_class::cancelled:
      break;
  }
  return 502;
}

service_response to_service_response(call_reply&& reply) {
  if (reply.ok) {
    service_response res;
    res.status = 200;
    res.body = std::move(reply.payload);
    return res;
  }
  boost::json::object body;
  body["error"] = reply.message;
  body["class"] = to_string(reply.cls);
  auto res = json_reply(body, failure_status(reply.cls));
  res.do_not_retry = !reply.may_retry;
  if (reply.retry_after_ns >= 0)
    res.retry_after = from_wire_duration(reply.retry_after_ns);
  return res;
}

} // namespace bulwark
