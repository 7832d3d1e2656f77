#include "bulwark/actors/protocol/ledger_messages.hpp"

#include <tuple>

namespace bulwark {

namespace {

// service_request has no operator== of its own: a commit compares the
// fields that travel.
auto tie(const service_request& x) {
  return std::tie(x.method, x.path, x.query, x.headers, x.body, x.deadline,
                  x.idempotency_key, x.attempt, x.crit, x.trace, x.span_id);
}

} // namespace

bool operator==(const ledger_begin& x, const ledger_begin& y) {
  return std::tie(x.id, x.route, x.key, x.budget_ns)
         == std::tie(y.id, y.route, y.key, y.budget_ns);
}

bool operator==(const ledger_reply& x, const ledger_reply& y) {
  return std::tie(x.id, x.verdict, x.epoch, x.ticket, x.recorded, x.message)
         == std::tie(y.id, y.verdict, y.epoch, y.ticket, y.recorded, y.message);
}

bool operator==(const ledger_commit& x, const ledger_commit& y) {
  return std::tie(x.id, x.route, x.key, x.epoch, x.ticket, x.executed,
                  x.response)
           == std::tie(y.id, y.route, y.key, y.epoch, y.ticket, y.executed,
                       y.response)
         && tie(x.request) == tie(y.request);
}

} // namespace bulwark
