// The in-process ledger route actor of http_service (a route with
// `route_options::ledger`): one actor per route owns the route's
// idempotency_ledger and, optionally, its journal. Internal to
// http_service's translation units (see service_internals.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/http/service_internals.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"

namespace bulwark::service_detail {

// -- ledger routes --------------------------------------------------------------

/// One actor per ledger route owns the route's ledger, so the ledger is only
/// ever touched from one thread at a time and needs no lock.
struct ledger_state {
  std::unique_ptr<idempotency_ledger> ledger;
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  /// When the next `svc_exp` message is due (no_deadline: none scheduled).
  time_point expiry_scheduled = no_deadline;
  /// Callers' deadlines (deadline, request id), earliest on top, served by
  /// ONE pending `svc_late` message for the earliest: a delayed message per
  /// request would sit in CAF's clock (256 bytes measured) until its deadline,
  /// up to `request_timeout`, however early the request was answered; an
  /// entry here is 16 bytes. Answered requests stay until their deadline and
  /// are skipped then (`finish_late` finds nothing).
  late_queue late;
  /// When the pending `svc_late` message is due (no_deadline: none).
  time_point late_scheduled = no_deadline;
  /// The route's journal, or null (in memory only).
  journal_ptr journal;
  /// With a journal: the request of each execution in flight, by ticket,
  /// to be recorded with its answer.
  std::unordered_map<ledger_ticket, journal_record> executing;

  static inline const char* name = "bulwark.service.ledger";
};

using ledger_self = caf::stateful_actor<ledger_state>*;

caf::behavior ledger_actor(ledger_self self, core_ptr core, caf::actor anchor,
                           cell_ptr target, ledger_config cfg,
                           journal_ptr journal,
                           std::vector<journal_record> replayed);

} // namespace bulwark::service_detail
