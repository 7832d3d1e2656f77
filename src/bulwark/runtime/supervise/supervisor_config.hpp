// A supervisor: a named group of members (dependencies that are replicas of
// one service, a service and its alternates, or other supervisors) that turns
// member failures into local decisions — route, reroute, hedge, eject,
// restart — before anything reaches the caller (level 3 of the escalation
// ladder in docs/supervision.md). Mounted at /supervisors/<name>. Which
// operations may be repeated is not declared here: it is derived from the
// members (the least safe declaration wins), so hedging a member's `unsafe`
// operation through a supervisor is caught when the document is validated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/budget/budget_config.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/hedge/hedge_config.hpp"
#include "bulwark/runtime/supervise/outlier_config.hpp"
#include "bulwark/runtime/supervise/restart_config.hpp"
#include "bulwark/runtime/supervise/routing.hpp"

namespace bulwark {

struct supervisor_config {
  std::string name;
  /// Names of dependencies or supervisors, in failover order.
  std::vector<std::string> members;
  routing_kind routing = routing_kind::round_robin;
  /// Reroute a failed call to another member (at most `max_failovers` times).
  bool failover = true;
  /// 0-7: the first attempt, failovers and hedges of one call fit in 8.
  std::uint32_t max_failovers = 2;
  /// Failure classes worth another member. `rejected_locally` (the member's
  /// breaker is open, it shed or its queue is full) proves the call never
  /// executed, so even an `unsafe` operation fails over on it.
  failure_class_set failover_on{
    failure_class::transient, failure_class::timeout, failure_class::overloaded,
    failure_class::rejected_locally};
  /// After a member answered `rejected_locally` (its breaker is open, its
  /// queue full) or `overloaded`, route new calls elsewhere for this long
  /// (unless no other member is available). Without it, least-outstanding
  /// routing would send ever more calls to the member that fails fastest.
  /// Zero disables it.
  duration rejection_cooldown = milliseconds(50);
  /// Deadline for calls that arrive without one.
  duration default_timeout = seconds(5);
  /// Hedges go to another member than the attempts still outstanding.
  hedge_config hedge;
  /// Pays for failovers of executed attempts and for hedges.
  budget_config budget;
  outlier_config outlier_detection;
  restart_config restart;

  // -- derived from the members when the whole document is validated --------
  /// How operations not listed in `operations` may be repeated.
  idempotency repeat = idempotency::unsafe;
  std::vector<operation_config> operations;

  idempotency idempotency_of(std::string_view op) const noexcept;
};

/// Parses one supervisor. Member names are checked for syntax only; that they
/// exist, form no cycle and may be hedged is checked by the document
/// (`parse_bulwark_config`), which also fills `repeat` and `operations`.
supervisor_config parse_supervisor_config(const boost::json::value& v,
                                          const json_path& at, std::string name,
                                          error_list& errors);

/// The keys the user wrote (derived fields are not written).
boost::json::object to_json(const supervisor_config& cfg);

/// The less safe of two idempotency declarations (unsafe < keyed < idempotent).
constexpr idempotency least_safe(idempotency a, idempotency b) noexcept {
  auto rank = [](idempotency x) {
    return x == idempotency::unsafe ? 0 : x == idempotency::keyed ? 1 : 2;
  };
  return rank(a) <= rank(b) ? a : b;
}

} // namespace bulwark
