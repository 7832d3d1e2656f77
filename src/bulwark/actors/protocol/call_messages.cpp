#include "bulwark/actors/protocol/call_messages.hpp"

#include <tuple>

namespace bulwark {

namespace {

auto tie(const call_request& x) {
  return std::tie(x.id, x.operation, x.payload, x.idempotency_key, x.crit,
                  x.deadline_ns, x.journey_id, x.upstream_attempts);
}

auto tie(const call_reply& x) {
  return std::tie(x.id, x.ok, x.payload, x.source, x.attempts, x.hedge_won,
                  x.journey_id, x.cls, x.may_retry, x.message);
}

} // namespace

bool operator==(const call_request& x, const call_request& y) {
  return tie(x) == tie(y);
}

bool operator==(const call_reply& x, const call_reply& y) {
  return tie(x) == tie(y);
}

} // namespace bulwark
