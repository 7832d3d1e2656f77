// The owner of a keyed route's shared ledger: one actor, on one node, with
// the route's journal, that the replicas of the route in every process ask
// whether to execute a key (docs/ledger.md, "Shared ledger"). It only
// translates: messages (bulwark/actors/protocol/ledger_messages.hpp) into
// calls of the pure ledger_owner_core, whose actions become answers and
// journal appends. A client is the sender of a begin or commit, monitored:
// when it goes down its executions are abandoned and its waiters dropped.
// Each start draws a random epoch, so a commit from an earlier incarnation is
// stale. A commit is durable (appended and fdatasynced) before anyone is
// told `committed` or `duplicate_done`; if the append fails the owner quits
// with an error and answers nothing more, because whether the record exists
// is for the restart's replay to say. Timers use the actor's clock, so tests
// run in virtual time.
//
//   (ledger_atom, ledger_begin)  -> (ledger_atom, ledger_reply) to the sender,
//                                   at once or, for a waiter, later
//   (commit_atom, ledger_commit) -> (ledger_atom, ledger_reply) to the sender
//                                   (none for executed == false)
//   (cancel_atom, begin id)      -> none: the sender's waiter is dropped
//   (stats_atom)                 -> ledger_owner_counters (the core's)
// Messages without a sender (anonymous) are ignored: there is no one to
// answer or to monitor.
#pragma once

#include <cstddef>
#include <string>

#include <caf/fwd.hpp>

#include "bulwark/runtime/ledger/ledger_config.hpp"

namespace bulwark {

struct ledger_owner_settings {
  /// The keyed route whose ledger this is; a begin or commit naming another
  /// route is answered `invalid`. Must not be empty.
  std::string route;
  ledger_config ledger;
  /// Bound on a committed response's packed size (content type, headers,
  /// body); a larger one is `invalid` and abandons its key.
  std::size_t max_response_bytes = 1024 * 1024;
  /// The journal (created if missing; locked, so one owner per file).
  /// Empty: in memory only, a restart forgets every key.
  std::string journal_path;
};

/// Opens and replays the journal (on the caller's thread), then spawns the
/// owner, which puts every record in as a committed key (the last record of
/// a key wins; retention restarts at spawn). Throws std::invalid_argument
/// for an empty route and journal_error (ledger_journal.hpp) for a journal
/// that cannot be opened or locked or holds a corrupt record.
caf::actor spawn_ledger_owner(caf::actor_system& sys,
                              ledger_owner_settings settings);

} // namespace bulwark
