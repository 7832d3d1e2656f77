// The decisions of the one ledger that all replicas of a keyed route share,
// without actors: the owner (bulwark/actors/ledger/ledger_owner.hpp) maps
// each client (a replica's proxy) to a small index, feeds begins, commits,
// client downs, cancels and timer wake-ups in, and carries out the actions,
// like supervisor_core and its actor: events in, actions out. It wraps an
// idempotency_ledger and adds what several processes need: tickets
// `(epoch, counter)` whose epoch is drawn per owner start, so a commit from an
// older incarnation never matches; the executor (client) of each in-progress
// key, so a commit from another client never matches and a client that goes
// down loses its tickets; waiters per client. Here the journal record IS the
// side effect: a commit whose ticket holds yields `journal_append`, which the
// owner makes durable BEFORE it calls `committed`; a stale commit is refused
// and nothing is journaled, so it did not happen. Time is an input (`now`).
//
// Per begin: exactly one answer (execute, duplicate_done, rejected_full,
// invalid, or for a waiter later duplicate_done or retry), unless the waiter
// was cancelled or its client went down. Per key while remembered: at most
// one `journal_append`. See docs/ledger.md, "Shared ledger".
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bulwark/runtime/core/recycled_list.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"
#include "bulwark/runtime/ledger/ledger_config.hpp"

namespace bulwark {

/// A client of the owner (a replica), as a small index the actor assigns.
using ledger_client = std::uint32_t;

/// One execution of a key at one owner incarnation.
struct owner_ticket {
  /// Drawn at random per owner start; never 0.
  std::uint64_t epoch = 0;
  /// The inner ledger's ticket; never 0.
  std::uint64_t counter = 0;
};

inline bool operator==(const owner_ticket& x, const owner_ticket& y) {
  return x.epoch == y.epoch && x.counter == y.counter;
}

inline bool operator!=(const owner_ticket& x, const owner_ticket& y) {
  return !(x == y);
}

/// What a client is told (the `verdict` of a ledger verdict message).
enum class owner_verdict : std::uint8_t {
  /// Begin: run the request, then commit with `ticket`.
  execute,
  /// Begin (or a waiter, when its key committed): answer `response`.
  duplicate_done,
  /// Begin: no room (the ledger's bound); answer 503, never execute.
  rejected_full,
  /// Begin: the request is malformed (bad key, waiter id already waiting);
  /// commit: the response breaks a bound (the key is abandoned).
  invalid,
  /// A waiter whose executor was abandoned: begin again with the same key.
  retry,
  /// Commit: the record is durable; answer `response`.
  committed,
  /// Commit: the ticket no longer holds its key (released, another epoch,
  /// another client, already committing); nothing was recorded.
  stale,
};

/// @relates owner_verdict
std::string to_string(owner_verdict x);

enum class ledger_owner_action_kind : std::uint8_t {
  /// Send `verdict` to `client` for its message `id` (a begin's waiter id
  /// or a commit's id).
  answer,
  /// Append the record `key` -> `response` to the journal and make it durable,
  /// then call `committed(key, ticket, now)`. If the append fails the owner
  /// must stop: whether the record exists is for the restart's replay to say.
  journal_append,
};

/// @relates ledger_owner_action_kind
std::string to_string(ledger_owner_action_kind x);

struct ledger_owner_action {
  ledger_owner_action_kind kind = ledger_owner_action_kind::answer;
  /// answer: the receiver.
  ledger_client client = 0;
  /// answer: the id of the message answered.
  std::uint64_t id = 0;
  /// answer only.
  owner_verdict verdict = owner_verdict::execute;
  /// execute, committed, journal_append.
  owner_ticket ticket;
  /// journal_append only (already validated).
  std::string key;
  /// duplicate_done, committed, journal_append.
  ledger_result response;
  /// rejected_full, invalid, retry, stale: why, in static text that never
  /// quotes input.
  std::string_view message;
};

/// The actions of one or more events, in order; reused (recycled_list.hpp).
/// A key passed to an event must not refer into the list that event appends
/// to (`committed` excepted).
using ledger_owner_action_list = recycled_list<ledger_owner_action>;

struct ledger_owner_options {
  ledger_config ledger;
  /// This incarnation's epoch (the actor draws it at random); 0 is replaced
  /// by 1.
  std::uint64_t epoch = 1;
  /// Bound on a committed response's body (it is journaled and sent to
  /// every duplicate).
  std::size_t max_response_bytes = 1024 * 1024;
};

/// Monotonic counters for metrics (the inner ledger has its own).
struct ledger_owner_counters {
  /// Begins received (valid or not).
  std::uint64_t begins = 0;
  /// `execute` verdicts.
  std::uint64_t executes = 0;
  /// `duplicate_done` verdicts, to begins and to waiters.
  std::uint64_t duplicates = 0;
  /// Begins that waited.
  std::uint64_t waits = 0;
  /// `rejected_full` verdicts.
  std::uint64_t rejections = 0;
  /// `invalid` verdicts (begins and commits).
  std::uint64_t invalid = 0;
  /// `journal_append` actions (commits whose ticket held).
  std::uint64_t appends = 0;
  /// `committed` calls that completed a key.
  std::uint64_t committed = 0;
  /// Commits refused as stale (nothing journaled).
  std::uint64_t stale_commits = 0;
  /// Executions released without a record: executed=false, client down,
  /// in_progress_timeout, invalid response.
  std::uint64_t abandoned = 0;
  /// Of those, released by in_progress_timeout.
  std::uint64_t timeouts = 0;
  /// `client_down` calls.
  std::uint64_t client_downs = 0;
  /// `retry` verdicts.
  std::uint64_t retries_told = 0;
  /// Waiters dropped by `cancel`.
  std::uint64_t cancels = 0;
  /// Waiters dropped because their client went down.
  std::uint64_t dropped_waiters = 0;
  /// Records put in by `replay`.
  std::uint64_t replayed = 0;
};

class ledger_owner_core {
 public:
  using action_list = ledger_owner_action_list;

  explicit ledger_owner_core(const ledger_owner_options& opts);

  ledger_owner_core(const ledger_owner_core&) = delete;
  ledger_owner_core& operator=(const ledger_owner_core&) = delete;

  // -- start ------------------------------------------------------------------

  /// Puts a journal record in as a committed key (before the first begin;
  /// records in file order, the last of a key wins; retention restarts at
  /// `now`, as the journal keeps no wall-clock time). Returns false when the
  /// key is in progress or the ledger is full of keys in progress.
  bool replay(const std::string& key, ledger_result response, time_point now);

  // -- events -----------------------------------------------------------------

  /// Client `client` asks for `key`; its answer will carry `waiter_id`.
  /// Answers at once execute / duplicate_done / rejected_full / invalid, or
  /// records a waiter (no action now; later duplicate_done or retry). Runs
  /// `advance(now)` first.
  void begin(const std::string& key, ledger_client client,
             std::uint64_t waiter_id, time_point now, action_list& out);

  /// The executor reports. When `ticket` holds `key` for `client` (this
  /// epoch, not released, not already committing): `executed` -> the key is
  /// sealed (no timeout, no client_down can release it any more) and a
  /// `journal_append` is emitted; the answer comes from `committed`.
  /// `!executed` -> the key is abandoned, its waiters told retry, nothing
  /// answered to the executor. Otherwise `stale` (id `commit_id`), nothing
  /// journaled; a stale `!executed` is not answered. A response with a status
  /// outside 100..599 or a body over max_response_bytes is `invalid` and
  /// abandons the key. Runs `advance(now)` first.
  void commit(const std::string& key, owner_ticket ticket, ledger_client client,
              std::uint64_t commit_id, bool executed, ledger_result response,
              time_point now, action_list& out);

  /// The record of a `journal_append` is durable: the key completes, the
  /// executor (unless down) is answered `committed` and every waiter
  /// `duplicate_done`, with the recorded response. False (nothing done) if
  /// no append of this key and ticket is pending.
  bool committed(const std::string& key, owner_ticket ticket, time_point now,
                 action_list& out);

  /// `client` went down: every key it executes and has not committed is
  /// abandoned (its tickets die; waiters of other clients are told retry),
  /// its waiters are dropped unanswered. A pending append stays pending (its
  /// record may be on disk) and completes without answering the executor.
  void client_down(ledger_client client, time_point now, action_list& out);

  /// Drops the waiter (`client`, `waiter_id`) unanswered (its deadline
  /// passed). Returns whether it was waiting.
  bool cancel(ledger_client client, std::uint64_t waiter_id);

  /// Releases keys whose execution reached in_progress_timeout (like a
  /// client_down for that key: the late commit is stale, waiters told retry)
  /// and forgets completed keys whose retention ended. Call it at
  /// `next_expiry()`; begin and commit call it too.
  void advance(time_point now, action_list& out);

  // -- observers --------------------------------------------------------------

  std::uint64_t epoch() const noexcept {
    return epoch_;
  }

  const ledger_owner_counters& counters() const noexcept {
    return counters_;
  }

  /// The inner ledger (its config, size, counters).
  const idempotency_ledger& ledger() const noexcept {
    return ledger_;
  }

  /// The earliest time at which `advance` has something to do.
  time_point next_expiry() const noexcept {
    return ledger_.next_expiry();
  }

  /// Keys executing or committing.
  std::size_t in_progress() const noexcept {
    return running_.size();
  }

  /// Keys whose append is pending.
  std::size_t committing() const noexcept {
    return committing_;
  }

  /// Waiters recorded over all keys.
  std::size_t waiting() const noexcept {
    return waiters_.size();
  }

  /// Clients with an execution or a waiter.
  std::size_t clients() const noexcept {
    return clients_.size();
  }

 private:
  static constexpr ledger_client no_client =
    std::numeric_limits<ledger_client>::max();

  struct running_entry {
    std::uint64_t counter = 0;
    /// `no_client` once the executor went down with an append pending.
    ledger_client client = 0;
    std::uint64_t commit_id = 0;
    bool sealed = false;
    ledger_result response;
  };

  struct waiter_entry {
    ledger_client client = 0;
    std::uint64_t waiter_id = 0;
    std::string key;
  };

  struct client_entry {
    /// Keys this client executes (sealed ones included).
    std::unordered_set<std::string> executing;
    /// The client's waiter id -> the inner ledger's waiter id.
    std::unordered_map<std::uint64_t, std::uint64_t> waiters;
  };

  ledger_owner_action& answer(action_list& out, ledger_client client,
                              std::uint64_t id, owner_verdict v,
                              std::string_view message = {});
  void abandon(const std::string& key, time_point now, action_list& out);
  void tell_retry(const std::vector<std::uint64_t>& waiters, action_list& out);
  void forget_waiter(std::uint64_t inner);
  void forget_execution(ledger_client client, const std::string& key);
  void drop_if_idle(ledger_client client);

  std::uint64_t epoch_;
  std::size_t max_response_bytes_;
  idempotency_ledger ledger_;
  std::unordered_map<std::string, running_entry> running_;
  std::unordered_map<std::uint64_t, waiter_entry> waiters_;
  std::unordered_map<ledger_client, client_entry> clients_;
  std::uint64_t next_waiter_ = 1;
  std::size_t committing_ = 0;
  ledger_owner_counters counters_;
};

} // namespace bulwark
