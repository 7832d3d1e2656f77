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

std::string preliminary_header_value(preliminary_reason reason,
                                     std::int64_t age_ns) {
  auto text = to_string(reason);
  if (age_ns >= 0)
    text += "; age=" + std::to_string(age_ns / 1'000'000);
  return text;
}

service_response to_preliminary_response(call_reply&& reply) {
  auto reason = reply.reason;
  auto age = reply.age_ns;
  auto res = to_service_response(std::move(reply));
  res.headers.emplace_back(std::string{preliminary_header},
                           preliminary_header_value(reason, age));
  return res;
}

} // namespace bulwark
