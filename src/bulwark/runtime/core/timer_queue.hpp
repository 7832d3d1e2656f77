// The per-request timers of an actor: set, move and cancel one wake-up time
// per slot (a slot is an index the owner chooses). Most timers an actor sets
// are "now + a fixed delay" (the per-attempt timeout, the hedge delay, the
// queue wait): timers with the same delay expire in the order they were set,
// so each such delay gets a FIFO lane where setting and cancelling are O(1).
// Anything else (backoffs with jitter, deadlines) goes to an indexed heap.
// Timers almost always get cancelled before they fire, which is why cancel
// must be cheap. No allocation once the slot table has grown.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/timer_heap.hpp"

namespace bulwark {

class timer_queue {
 public:
  static constexpr std::uint32_t npos = timer_heap::npos;
  static constexpr std::size_t max_lanes = 8;

  /// Sets (or moves) the wake-up time of `slot` to `at`; `now` is the
  /// current time, which never goes backwards between calls.
  void schedule(std::uint32_t slot, time_point at, time_point now) {
    cancel(slot);
    if (slot >= nodes_.size())
      nodes_.resize(slot + 1);
    auto& x = nodes_[slot];
    x.at = at;
    auto delta = at - now;
    auto l = find_lane(delta, at);
    if (l == no_lane) {
      heap_.schedule(slot, at);
      x.where = in_heap;
      return;
    }
    auto& ln = lanes_[l];
    x.where = static_cast<std::uint8_t>(l);
    x.prev = ln.tail;
    x.next = npos;
    if (ln.tail != npos)
      nodes_[ln.tail].next = slot;
    else
      ln.head = slot;
    ln.tail = slot;
  }

  void cancel(std::uint32_t slot) noexcept {
    if (slot >= nodes_.size())
      return;
    auto& x = nodes_[slot];
    if (x.where == unscheduled)
      return;
    if (x.where == in_heap) {
      heap_.cancel(slot);
    } else {
      auto& ln = lanes_[x.where];
      if (x.prev != npos)
        nodes_[x.prev].next = x.next;
      else
        ln.head = x.next;
      if (x.next != npos)
        nodes_[x.next].prev = x.prev;
      else
        ln.tail = x.prev;
    }
    x.where = unscheduled;
  }

  bool scheduled(std::uint32_t slot) const noexcept {
    return slot < nodes_.size() && nodes_[slot].where != unscheduled;
  }

  bool empty() const noexcept {
    if (!heap_.empty())
      return false;
    for (auto& ln : lanes_)
      if (ln.head != npos)
        return false;
    return true;
  }

  /// The earliest wake-up time; only valid if not empty.
  time_point next() const noexcept {
    auto result = heap_.empty() ? time_point::max() : heap_.next();
    for (auto& ln : lanes_)
      if (ln.head != npos && nodes_[ln.head].at < result)
        result = nodes_[ln.head].at;
    return result;
  }

  /// Removes and returns a slot whose time is due (`at <= now`), earliest
  /// first, or `npos`.
  std::uint32_t pop_due(time_point now) noexcept {
    auto best = npos;
    auto best_at = now;
    if (!heap_.empty() && heap_.next() <= best_at) {
      best_at = heap_.next();
      best = heap_.top();
    }
    for (auto& ln : lanes_) {
      if (ln.head != npos && nodes_[ln.head].at <= best_at
          && (best == npos || nodes_[ln.head].at < best_at)) {
        best_at = nodes_[ln.head].at;
        best = ln.head;
      }
    }
    if (best != npos)
      cancel(best);
    return best;
  }

 private:
  static constexpr std::uint8_t unscheduled = 0xFF;
  static constexpr std::uint8_t in_heap = 0xFE;
  static constexpr std::size_t no_lane = max_lanes;

  struct node {
    time_point at;
    std::uint32_t prev = npos;
    std::uint32_t next = npos;
    std::uint8_t where = unscheduled;
  };

  struct lane {
    duration delta{-1};
    std::uint32_t head = npos;
    std::uint32_t tail = npos;
  };

  // The lane for timers `delta` after now, if appending keeps it sorted; an
  // empty lane is taken over for a new delta.
  std::size_t find_lane(duration delta, time_point at) noexcept {
    std::size_t free_lane = no_lane;
    for (std::size_t i = 0; i < max_lanes; ++i) {
      auto& ln = lanes_[i];
      if (ln.delta == delta)
        return ln.tail == npos || nodes_[ln.tail].at <= at ? i : no_lane;
      if (ln.head == npos && free_lane == no_lane)
        free_lane = i;
    }
    if (free_lane != no_lane)
      lanes_[free_lane].delta = delta;
    return free_lane;
  }

  std::vector<node> nodes_;
  std::array<lane, max_lanes> lanes_;
  timer_heap heap_;
};

} // namespace bulwark
