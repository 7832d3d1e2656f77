#include "actors/messages.hpp"

#include <tuple>

namespace bulwark {

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

attempt_result error_result(std::uint8_t error) {
  attempt_result result;
  result.error = error;
  return result;
}

attempt_result class_result(failure_class cls, duration retry_after) {
  attempt_result result;
  result.reported_class = static_cast<std::uint8_t>(cls);
  result.retry_after_ns = retry_after.count() < 0 ? no_retry_after_ns
                                                  : to_wire_duration(retry_after);
  return result;
}

namespace {

auto tie(const call_request& x) {
  return std::tie(x.id, x.operation, x.payload, x.idempotency_key, x.crit,
                  x.deadline_ns, x.journey_id, x.upstream_attempts);
}

auto tie(const call_reply& x) {
  return std::tie(x.id, x.ok, x.payload, x.source, x.attempts, x.hedge_won,
                  x.journey_id, x.cls, x.may_retry, x.message);
}

auto tie(const attempt_request& x) {
  return std::tie(x.attempt_id, x.operation, x.payload, x.idempotency_key,
                  x.deadline_ns, x.attempt_number);
}

auto tie(const attempt_result& x) {
  return std::tie(x.attempt_id, x.ok, x.payload, x.status, x.error,
                  x.latency_ns, x.retry_after_ns, x.do_not_retry,
                  x.reported_class);
}

} // namespace

bool operator==(const call_request& x, const call_request& y) {
  return tie(x) == tie(y);
}

bool operator==(const call_reply& x, const call_reply& y) {
  return tie(x) == tie(y);
}

bool operator==(const attempt_request& x, const attempt_request& y) {
  return tie(x) == tie(y);
}

bool operator==(const attempt_result& x, const attempt_result& y) {
  return tie(x) == tie(y);
}

} // namespace bulwark
