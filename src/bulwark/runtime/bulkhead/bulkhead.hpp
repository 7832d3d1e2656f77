// The concurrency limit (bulkhead) of one dependency: at most `limit()`
// requests in flight, a bounded FIFO wait queue with a maximum wait, and the
// last `reserved()` slots kept for `critical` requests. It isolates callers
// from a slow dependency (its calls cannot pile up without bound) and decides
// who gets the next free slot, but does no I/O and keeps no timers: the owner
// (one dependency actor) calls `expire` from its own timer (`next_expiry`
// says when) and starts whatever `release` hands back.
//
// Admission rules:
// - critical: runs while in_flight < limit; otherwise waits.
// - standard: runs while in_flight < limit - reserved; otherwise waits.
// - sheddable: runs while in_flight < limit - reserved; otherwise it is shed
//   at once (`rejected_shed`): sheddable work prefers a fallback to a wait.
// - nobody overtakes a live waiting request of the same or a higher class.
// - a full queue (max_queue waiting, all classes together) gives
//   `rejected_full`.
// A freed slot goes to the oldest waiting critical request if the limit
// allows, else to the oldest waiting standard request if the limit minus the
// reserve allows. A waiting request expires once it has waited
// max_queue_wait (at enqueue time + max_queue_wait exactly); an expired
// request is never given a slot, and it is reported by `expire` only, so each
// request ends exactly once: run, rejected, expired or cancelled.
//
// The queue is two fixed-capacity rings (critical and standard) allocated at
// construction (and grown by `resize`, never on the hot path): try_acquire,
// release and expire do not allocate and are O(1) apart from skipping
// entries that expired but were not yet reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"
#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/deadline.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// What `bulkhead::try_acquire` decided.
enum class admission : std::uint8_t {
  /// A slot was taken: send the request now, call `release` when it is done.
  run,
  /// It waits; `release` or `try_dequeue` hands out its id when its turn
  /// comes, or `expire` reports it.
  queued,
  /// No slot and no room in the queue.
  rejected_full,
  /// No slot for a sheddable request (sheddable requests never wait).
  rejected_shed,
};

/// @relates admission
std::string to_string(admission x);

class bulkhead {
 public:
  explicit bulkhead(const bulkhead_config& cfg = {});

  const bulkhead_config& config() const noexcept {
    return cfg_;
  }

  /// Admits request `id` (ids are the caller's, unique among waiting ones).
  admission try_acquire(std::uint64_t id, criticality c,
                        time_point now) noexcept;

  /// A request that ran has finished: frees its slot and, if a waiting
  /// request may take it, returns that request's id (it now holds the slot,
  /// so in_flight is unchanged). Entries that have expired at `now` are
  /// skipped (left for `expire` to report).
  std::optional<std::uint64_t> release(time_point now) noexcept;

  /// `release` for the hot path: true, with the waiting request's id in
  /// `next`, when one takes the freed slot. (An optional return goes through
  /// memory and stalls on the store; this one stays in registers, and a
  /// release with nobody waiting is inline.)
  bool release(time_point now, std::uint64_t& next) noexcept {
    if (in_flight_ > 0)
      --in_flight_;
    if (critical_.empty() && standard_.empty())
      return false;
    return try_dequeue(now, next);
  }

  /// Hands a free slot to the next waiting request, if any may take one.
  /// `release` does this itself; call it in a loop after `resize` raised the
  /// limit, until it returns nullopt.
  std::optional<std::uint64_t> try_dequeue(time_point now) noexcept;

  /// `try_dequeue` without an optional: true, with the id in `next`, when a
  /// waiting request took a free slot.
  bool try_dequeue(time_point now, std::uint64_t& next) noexcept;

  /// Removes every waiting request that has waited max_queue_wait at `now`,
  /// oldest first, calling `on_expired(id)` for each. Returns how many.
  template <class F>
  std::size_t expire(time_point now, F&& on_expired) {
    std::size_t n = 0;
    for (;;) {
      bool c = !critical_.empty() && expired(critical_.front(), now);
      bool s = !standard_.empty() && expired(standard_.front(), now);
      if (!c && !s)
        return n;
      auto& q = c && s ? (critical_.front().since <= standard_.front().since
                            ? critical_
                            : standard_)
                       : (c ? critical_ : standard_);
      auto id = q.front().id;
      q.pop_front();
      ++n;
      on_expired(id);
    }
  }

  /// When the oldest waiting request expires (schedule `expire` then);
  /// nullopt when nobody waits.
  std::optional<time_point> next_expiry() const noexcept;

  /// Removes waiting request `id` (its caller gave up). False if it is not
  /// waiting (already running, expired and reported, or unknown). O(queue).
  bool cancel(std::uint64_t id) noexcept;

  /// Live reconfiguration. Nothing in flight or waiting is dropped: a lower
  /// limit only stops admitting until in_flight is below it; a smaller queue
  /// only stops queueing until it has drained below the new bound; a new
  /// max_queue_wait applies to requests already waiting (measured from when
  /// they were queued, so a longer wait also covers those that passed the
  /// old one but were not yet reported by `expire`). After a higher
  /// limit, call `try_dequeue` until it returns nullopt. May allocate (a
  /// larger queue than ever before).
  void resize(const bulkhead_config& cfg);

  std::uint32_t in_flight() const noexcept {
    return in_flight_;
  }
  /// Waiting requests, including expired ones not yet reported by `expire`.
  std::size_t queued() const noexcept {
    return critical_.size() + standard_.size();
  }
  std::uint32_t limit() const noexcept {
    return cfg_.max_concurrent;
  }
  /// Slots only critical requests may take.
  std::uint32_t reserved() const noexcept {
    return reserved_;
  }

 private:
  struct entry {
    std::uint64_t id;
    time_point since;
  };

  /// A FIFO of entries in a fixed buffer; grows only through `reserve`.
  class ring {
   public:
    void reserve(std::size_t capacity);
    bool empty() const noexcept {
      return size_ == 0;
    }
    std::size_t size() const noexcept {
      return size_;
    }
    const entry& front() const noexcept {
      return buf_[head_];
    }
    const entry& back() const noexcept {
      return at(size_ - 1);
    }
    const entry& at(std::size_t i) const noexcept {
      return buf_[(head_ + i) & mask_];
    }
    /// Precondition: size() < capacity.
    void push_back(entry x) noexcept;
    void pop_front() noexcept;
    /// Removes the i-th oldest entry, shifting the shorter side.
    void erase_at(std::size_t i) noexcept;

   private:
    entry& slot(std::size_t i) noexcept {
      return buf_[(head_ + i) & mask_];
    }

    // A power-of-two buffer, so positions wrap with a mask, not a division.
    std::vector<entry> buf_;
    std::size_t mask_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  bool expired(const entry& x, time_point now) const noexcept {
    return deadline::after(x.since, cfg_.max_queue_wait).expired(now);
  }
  /// Whether a request of this ring is waiting and has not expired (rings
  /// are in enqueue order, so the newest tells).
  bool has_live(const ring& q, time_point now) const noexcept {
    return !q.empty() && !expired(q.back(), now);
  }
  /// Removes the oldest entry that has not expired at `now` and stores its
  /// id in `id`; false if there is none. (A bool and an out parameter rather
  /// than an optional: the optional went through memory and stalled.)
  bool take_live(ring& q, time_point now, std::uint64_t& id) noexcept;

  bulkhead_config cfg_;
  std::uint32_t reserved_ = 0;
  std::uint32_t in_flight_ = 0;
  std::size_t capacity_ = 0; // of each ring
  ring critical_;
  ring standard_;
};

} // namespace bulwark
