// The replica side of a shared-ledger route of http_service (a route with
// `route_options::shared_ledger`): one actor per route asks the ledger
// owner for every request and answers HTTP from the owner's verdicts.
// Internal to http_service's translation units (see service_internals.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/http/service_internals.hpp"

namespace bulwark::service_detail {

// -- shared ledger routes: the replica side ------------------------------------

/// One request of a shared-ledger route, by the id of its current begin.
struct shared_entry {
  enum class phase : std::uint8_t {
    /// Begin sent: no verdict yet, or a waiter.
    asking,
    /// Ticket held, the route actor runs it.
    executing,
    /// Executed commit sent, waiting for committed or stale.
    committing,
  };
  /// The service's request id (the one `finish` answers).
  std::uint64_t request = 0;
  phase at = phase::asking;
  time_point deadline;
  /// Asking: the request to run; executing and committing: the request to
  /// journal (no headers, the owner keeps method, path, query, body). Its
  /// `idempotency_key` is the key asked for in both.
  service_request req;
  std::uint64_t epoch = 0;
  std::uint64_t ticket = 0;
  /// The owner this entry's begin went to (`owner_gen` then): an execution
  /// whose owner is gone is not committed to another one.
  std::uint64_t owner_gen = 0;
  /// The caller got 504 and the owner a cancel; an `execute` still in
  /// flight is given back (executed = false). Removed at `forget_at`.
  bool cancelled = false;
  time_point forget_at = no_deadline;
};

/// @relates shared_entry::phase
std::string to_string(shared_entry::phase x);

/// One actor per shared-ledger route: asks the owner for every request and
/// answers HTTP from the owner's verdicts. It is the owner's client (the
/// owner answers and monitors the sender), so it must outlive its
/// executions: if it died, the owner would abandon them.
struct shared_client_state {
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  /// Null until located (with `locate`) and after its down message.
  caf::actor owner;
  /// Counts the owners used: 1 for the first.
  std::uint64_t owner_gen = 0;
  /// Finds an owner again (shared_ledger_options::locate); empty: the
  /// first owner is the only one.
  std::function<caf::actor()> locate;
  /// The owner whose down message came last: a locator that still
  /// returns this proxy (its node's link not yet down) is not believed; a
  /// new proxy of the same actor (the link came back) is.
  caf::actor_addr lost_owner;
  std::string route;
  duration exec_timeout{};
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, shared_entry> entries;
  /// (when, begin id): callers' deadlines and the removal of cancelled
  /// entries, earliest first, served by one pending `svc_late`.
  late_queue late;
  time_point late_scheduled = no_deadline;

  static inline const char* name = "bulwark.service.shared_ledger";
};

using shared_self = caf::stateful_actor<shared_client_state>*;

caf::behavior shared_ledger_client(shared_self self, core_ptr core,
                                   caf::actor anchor, cell_ptr target,
                                   shared_ledger_options opts);

} // namespace bulwark::service_detail
