// The messages of the shared ledger (docs/ledger.md, "Shared ledger"): the
// replicas of a keyed route in several processes ask one owner actor
// (bulwark/actors/ledger/ledger_owner.hpp) whether to execute a key, and
// report the outcome to it. A replica sends `(ledger_atom, ledger_begin)`
// and `(commit_atom, ledger_commit)` and `(cancel_atom, id)` (its request's
// deadline passed); the owner answers the SENDER with
// `(ledger_atom, ledger_reply)`, at most once per begin or commit, a
// waiting begin later. `(stats_atom)` -> `ledger_owner_counters`, the
// core's counters. Times cross nodes as a remaining budget, never as an
// absolute time (steady clocks of two machines share no epoch). CAF 0.17
// `inspect` overloads, so these values cross nodes; the verdict is checked
// on load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "bulwark/actors/protocol/service_messages.hpp"
#include "bulwark/actors/protocol/wire.hpp"
#include "bulwark/runtime/ledger/ledger_owner_core.hpp"

namespace bulwark {

/// A replica asks for a key: `(ledger_atom, ledger_begin)` -> owner.
struct ledger_begin {
  /// The replica's id for this begin; the answer carries it. Unique among
  /// the replica's begins that wait.
  std::uint64_t id = 0;
  /// Must be the owner's route (else `invalid`).
  std::string route;
  /// The idempotency key; checked by the owner (1 to 255 visible ASCII).
  std::string key;
  /// The request's remaining deadline in ns (`no_deadline_ns`: none). The
  /// replica enforces it and sends `(cancel_atom, id)` when it passes.
  std::int64_t budget_ns = no_deadline_ns;
};

/// The owner's answer to a begin or a commit: `(ledger_atom, ledger_reply)`
/// -> replica. The design calls it "ledger_verdict"; that name is the
/// in-process ledger's enum.
struct ledger_reply {
  /// The begin's or the commit's id.
  std::uint64_t id = 0;
  /// execute, duplicate_done, rejected_full, invalid, retry, committed or
  /// stale (a wait is not sent).
  owner_verdict verdict = owner_verdict::invalid;
  /// execute, committed: the ticket to commit with (the owner's epoch and
  /// its counter).
  std::uint64_t epoch = 0;
  std::uint64_t ticket = 0;
  /// duplicate_done, committed: the recorded answer, the same for the
  /// executor and every duplicate.
  service_response recorded;
  /// rejected_full, invalid, retry, stale: why, never quoting input.
  std::string message;
};

/// The executor reports: `(commit_atom, ledger_commit)` -> owner.
/// `executed` false: nothing happened, the key is released (no answer).
struct ledger_commit {
  /// The replica's id for this commit; the answer carries it.
  std::uint64_t id = 0;
  std::string route;
  std::string key;
  /// From the `execute` answer.
  std::uint64_t epoch = 0;
  std::uint64_t ticket = 0;
  bool executed = false;
  /// The request that executed: journaled with the response.
  service_request request;
  /// The answer to record.
  service_response response;
};

namespace detail {

inline constexpr std::size_t owner_verdict_count = 7;

static_assert(static_cast<std::size_t>(owner_verdict::stale) + 1
                == owner_verdict_count,
              "owner_verdict_count must follow owner_verdict");

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_begin& x) {
  return f(caf::meta::type_name("ledger_begin"), x.id, x.route, x.key,
           x.budget_ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_reply& x) {
  auto verdict = static_cast<std::uint8_t>(x.verdict);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return detail::load_enum(verdict, x.verdict, detail::owner_verdict_count);
  });
  return f(caf::meta::type_name("ledger_reply"), x.id, verdict, x.epoch,
           x.ticket, x.recorded, x.message, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        ledger_owner_counters& x) {
  return f(caf::meta::type_name("ledger_owner_counters"), x.begins, x.executes,
           x.duplicates, x.waits, x.rejections, x.invalid, x.appends,
           x.committed, x.stale_commits, x.abandoned, x.timeouts,
           x.client_downs, x.retries_told, x.cancels, x.dropped_waiters,
           x.replayed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_commit& x) {
  return f(caf::meta::type_name("ledger_commit"), x.id, x.route, x.key, x.epoch,
           x.ticket, x.executed, x.request, x.response);
}

bool operator==(const ledger_begin& x, const ledger_begin& y);
bool operator==(const ledger_reply& x, const ledger_reply& y);
/// Every field, the request's too (headers in order).
bool operator==(const ledger_commit& x, const ledger_commit& y);

} // namespace bulwark
