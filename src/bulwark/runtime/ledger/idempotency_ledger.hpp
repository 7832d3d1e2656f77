// The serving side of "hedging without duplicate side effects": a bounded
// table of idempotency keys that lets a service execute each key once. The
// first request of a key is told to execute; a duplicate arriving while that
// execution runs is recorded as a waiter and answered with the same result
// when it completes; a duplicate arriving later gets the recorded result
// (status + body, byte-identical to the original reply). A key is never
// executed twice while it is remembered: in-progress keys are never evicted,
// and a full ledger rejects new keys rather than forgetting one that runs.
// Completed keys are forgotten after `retention` or, when the ledger is full,
// oldest completion first; in-progress keys are released after
// `in_progress_timeout` so a crashed executor cannot block a key forever.
// Pure: time is an argument and must not go backwards between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/ledger/ledger_config.hpp"

namespace bulwark {

/// A service's reply to one key: what a duplicate receives, byte for byte.
struct ledger_result {
  int status = 0;
  std::string body;
};

inline bool operator==(const ledger_result& x, const ledger_result& y) {
  return x.status == y.status && x.body == y.body;
}

inline bool operator!=(const ledger_result& x, const ledger_result& y) {
  return !(x == y);
}

/// What `begin` tells the caller to do with a request.
enum class ledger_verdict : std::uint8_t {
  /// First of its key: run the side effect now, then `complete` or `abandon`
  /// with the returned ticket.
  execute,
  /// The key completed earlier: reply with `begin_outcome::result`.
  duplicate_done,
  /// The key is executing: the waiter id was recorded and will be returned by
  /// exactly one of `complete`, `abandon` or `expire`.
  wait,
  /// No room (every entry in progress, or the key's waiters are at the
  /// bound): answer 503 with retry-after, never execute.
  rejected_full,
};

/// @relates ledger_verdict
std::string to_string(ledger_verdict x);

/// Identifies one execution of a key, so a slow executor whose key was
/// released by `expire` cannot complete a later execution of the same key.
using ledger_ticket = std::uint64_t;

/// The result of `idempotency_ledger::begin`.
struct begin_outcome {
  ledger_verdict verdict = ledger_verdict::rejected_full;
  /// For duplicate_done: the recorded result. Valid until the next call of a
  /// non-const member function of the ledger.
  const ledger_result* result = nullptr;
  /// For execute: the ticket to pass to `complete` / `abandon` (never 0).
  ledger_ticket ticket = 0;
};

/// Monotonic counters for metrics.
struct ledger_counters {
  /// `execute` verdicts.
  std::uint64_t executed = 0;
  /// `duplicate_done` verdicts.
  std::uint64_t duplicates_answered = 0;
  /// `wait` verdicts.
  std::uint64_t waits = 0;
  /// `rejected_full` verdicts.
  std::uint64_t rejections = 0;
  /// Completed keys forgotten early to make room for a new key.
  std::uint64_t evictions = 0;
  /// Completed keys forgotten because their retention ended.
  std::uint64_t expirations = 0;
  /// In-progress keys released by `expire` after in_progress_timeout.
  std::uint64_t timeouts = 0;
  /// Executions released by `abandon`.
  std::uint64_t abandoned = 0;
  /// `complete`/`abandon` calls whose ticket no longer held its key (ignored).
  std::uint64_t stale_reports = 0;
};

class idempotency_ledger {
 public:
  // -- constructors, destructors, and assignment operators --------------------

  explicit idempotency_ledger(const ledger_config& cfg = ledger_config{});

  // The FIFO links point into this object's map nodes; a copy would share
  // them. Services keep one ledger in place (or behind a unique_ptr).
  idempotency_ledger(const idempotency_ledger&) = delete;
  idempotency_ledger& operator=(const idempotency_ledger&) = delete;

  ~idempotency_ledger() = default;

  // -- hot path ---------------------------------------------------------------

  /// Admits one request of `key`. A completed key whose retention ended at
  /// `now` (now - completed_at >= retention) is forgotten here and the request
  /// executes. A new key on a full ledger evicts the oldest completed key, or
  /// is rejected when all entries are in progress. A duplicate of a completed
  /// key is one hash lookup and does not allocate; a waiter allocates only
  /// when its key's waiter list grows.
  begin_outcome begin(const std::string& key, std::uint64_t waiter_id,
                      time_point now);

  // -- modifiers --------------------------------------------------------------

  /// Records the result of the execution `ticket` of `key`; the result is
  /// remembered until now + retention. Returns the waiters to answer with the
  /// same result (a buffer reused by the next call). A ticket that no longer
  /// holds its key (released by `expire` or `abandon`) is ignored and returns
  /// no waiters: its key may have been executed again meanwhile.
  const std::vector<std::uint64_t>& complete(const std::string& key,
                                             ledger_ticket ticket,
                                             ledger_result result,
                                             time_point now);

  /// The execution `ticket` of `key` failed in a way that proves nothing
  /// happened: the key is forgotten and its waiters are returned so the
  /// caller tells each to retry (the first retry to arrive executes). No
  /// waiter is promoted to executor here, because the ledger cannot run its
  /// request. Stale tickets are ignored, as in `complete`.
  const std::vector<std::uint64_t>&
  abandon(const std::string& key, ledger_ticket ticket, time_point now);

  /// Forgets completed keys with now - completed_at >= retention and releases
  /// in-progress keys with now - started_at >= in_progress_timeout. Returns
  /// the waiters of released keys, to be told to retry. O(expired).
  const std::vector<std::uint64_t>& expire(time_point now);

  /// The execution `ticket` of `key` reported its result and the owner is
  /// making it durable: from now on `expire` never releases the key (its
  /// record may already be on disk, so a timeout must not let it run again);
  /// only `complete` or `abandon` end it. Returns false for a stale ticket.
  bool seal(const std::string& key, ledger_ticket ticket);

  /// Removes `waiter_id` from the waiters of in-progress `key` (its request
  /// gave up), so it frees its place under max_waiters_per_key. Returns
  /// whether it was there. O(waiters of the key).
  bool drop_waiter(const std::string& key, std::uint64_t waiter_id);

  /// Puts `key` in as completed at `now` with `result`, without executing:
  /// rebuilding from a journal. A completed key's result is replaced (the
  /// last record wins); an in-progress key is left alone and false returned.
  /// A full ledger evicts the oldest completed key first, and returns false
  /// when every entry is in progress.
  bool record(const std::string& key, ledger_result result, time_point now);

  // -- observers --------------------------------------------------------------

  /// The keys (with their tickets) the last `expire` released because their
  /// execution exceeded in_progress_timeout. A buffer reused by `expire`.
  const std::vector<std::pair<std::string, ledger_ticket>>&
  timed_out() const noexcept {
    return timed_out_;
  }

  const ledger_config& config() const noexcept {
    return cfg_;
  }

  /// Remembered keys (in progress + completed); never above max_entries.
  std::size_t size() const noexcept {
    return entries_.size();
  }

  /// Keys currently in progress.
  std::size_t in_progress() const noexcept {
    return in_progress_count_;
  }

  /// Waiters currently recorded over all keys (at most max_entries *
  /// max_waiters_per_key).
  std::size_t waiting() const noexcept {
    return waiting_count_;
  }

  const ledger_counters& counters() const noexcept {
    return counters_;
  }

  /// The earliest time at which `expire` has something to do, or no_deadline.
  time_point next_expiry() const noexcept;

 private:
  struct entry {
    /// The map node's own key (stable while the node exists).
    const std::string* key = nullptr;
    /// Started (in progress) or completed time: the list's sort key.
    time_point since;
    ledger_ticket ticket = 0;
    bool done = false;
    /// In progress but out of `running_`: `expire` leaves it alone.
    bool sealed = false;
    ledger_result result;
    std::vector<std::uint64_t> waiters;
    entry* prev = nullptr;
    entry* next = nullptr;
  };

  /// A FIFO of entries ordered by `since` (time never goes backwards).
  struct fifo {
    entry* head = nullptr;
    entry* tail = nullptr;
    void push_back(entry* e) noexcept;
    void unlink(entry* e) noexcept;
  };

  using map_type = std::unordered_map<std::string, entry>;

  entry* find_running(const std::string& key, ledger_ticket ticket);
  void release(entry* e);
  void remove(entry* e);

  ledger_config cfg_;
  map_type entries_;
  fifo running_;
  fifo done_;
  std::size_t in_progress_count_ = 0;
  std::size_t waiting_count_ = 0;
  ledger_ticket next_ticket_ = 1;
  std::vector<std::uint64_t> released_;
  std::vector<std::pair<std::string, ledger_ticket>> timed_out_;
  ledger_counters counters_;
};

} // namespace bulwark
