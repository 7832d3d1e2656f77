#include "bulwark/actors/protocol/call_messages.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include <iterator>
#include <tuple>

namespace bulwark {

static_assert(std::size(all_preliminary_reasons)
                == detail::preliminary_reason_count,
              "a new preliminary_reason must be loadable from the wire");

namespace {

auto tie(const call_request& x) {
  return std::tie(x.id, x.operation, x.payload, x.idempotency_key, x.crit,
                  x.deadline_ns, x.journey_id, x.upstream_attempts, x.trace,
                  x.upstream_span, x.progressive, x.soft_deadline_ns);
}

auto tie(const call_reply& x) {
  return std::tie(x.id, x.ok, x.payload, x.source, x.attempts, x.hedge_won,
                  x.journey_id, x.cls, x.may_retry, x.retry_after_ns, x.message,
                  x.preliminary, x.age_ns, x.reason);
}

} // namespace

caf::error detail::check_trace(const trace_context& x) {
  if (x.trace.empty()) {
    if (x.parent_id != 0 || x.flags != 0 || !x.tracestate.empty())
      return caf::make_error(caf::sec::invalid_argument);
    return caf::none;
  }
  if (!x.tracestate.empty()) {
    std::string canonical;
    if (parse_tracestate(x.tracestate, canonical) || canonical != x.tracestate)
      return caf::make_error(caf::sec::invalid_argument);
  }
  return caf::none;
}

caf::error detail::check_preliminary(const call_reply& x) {
  if (x.preliminary != (x.reason != preliminary_reason::none) || x.age_ns < -1)
    return caf::make_error(caf::sec::invalid_argument);
  return caf::none;
}

bool operator==(const call_request& x, const call_request& y) {
  return tie(x) == tie(y);
}

bool operator==(const call_reply& x, const call_reply& y) {
  return tie(x) == tie(y);
}

} // namespace bulwark
