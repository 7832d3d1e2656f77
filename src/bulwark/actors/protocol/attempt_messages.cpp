#include "bulwark/actors/protocol/attempt_messages.hpp"

#include "bulwark/runtime/classify/classifier.hpp"

#include <tuple>

namespace bulwark {

static_assert(static_cast<std::size_t>(transport_error::transport_down) + 1
                == detail::transport_error_count,
              "transport_error changed: update detail::transport_error_count");
static_assert(static_cast<std::size_t>(reply_source::alternate) + 1
                == detail::reply_source_count,
              "reply_source changed: update detail::reply_source_count");
static_assert(static_cast<std::size_t>(criticality::sheddable) + 1
                == detail::criticality_count,
              "criticality changed: update detail::criticality_count");

attempt_result success_result(std::string payload, std::int32_t status) {
  attempt_result result;
  result.ok = true;
  result.payload = std::move(payload);
  result.status = status;
  return result;
}

attempt_result status_result(std::int32_t status, std::string payload) {
  attempt_result result;
  result.status = status;
  result.payload = std::move(payload);
  return result;
}

attempt_result error_result(transport_error error) {
  attempt_result result;
  result.error = static_cast<std::uint8_t>(error);
  return result;
}

attempt_result class_result(failure_class cls, duration retry_after) {
  attempt_result result;
  result.reported_class = static_cast<std::uint8_t>(cls);
  result.retry_after_ns =
    retry_after.count() < 0 ? no_retry_after_ns : to_wire_duration(retry_after);
  return result;
}

transport_observation to_observation(const attempt_result& x) {
  transport_observation obs;
  obs.status = x.status;
  // An unknown error byte (a newer peer?) still means "the attempt failed in
  // transport"; never hand the classifier an enum value it cannot name.
  obs.error = x.error < detail::transport_error_count
                ? static_cast<transport_error>(x.error)
                : transport_error::transport_down;
  obs.latency = from_wire_duration(x.latency_ns);
  obs.retry_after =
    x.retry_after_ns < 0 ? duration{-1} : from_wire_duration(x.retry_after_ns);
  obs.do_not_retry = x.do_not_retry;
  obs.failed = !x.ok;
  if (x.reported_class < failure_class_count)
    obs.reported_class = static_cast<failure_class>(x.reported_class);
  return obs;
}

namespace {

auto tie(const attempt_request& x) {
  return std::tie(x.attempt_id, x.operation, x.payload, x.idempotency_key,
                  x.deadline_ns, x.attempt_number, x.crit, x.trace);
}

auto tie(const attempt_result& x) {
  return std::tie(x.attempt_id, x.ok, x.payload, x.status, x.error,
                  x.latency_ns, x.retry_after_ns, x.do_not_retry,
                  x.reported_class);
}

} // namespace

bool operator==(const attempt_request& x, const attempt_request& y) {
  return tie(x) == tie(y);
}

bool operator==(const attempt_result& x, const attempt_result& y) {
  return tie(x) == tie(y);
}

} // namespace bulwark
