// An indexed binary min-heap of wake-up times, one entry per slot (a slot is
// an index the owner chooses, e.g. a request's position in its table). It is
// how an actor keeps its own per-request timers: schedule, move and cancel
// are O(log n) with no allocation once the slot table has grown, and nothing
// lingers after a cancel — unlike a delayed message per timer, whose cost
// CAF 0.17 cannot take back.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

class timer_heap {
 public:
  static constexpr std::uint32_t npos =
    std::numeric_limits<std::uint32_t>::max();

  /// Sets (or moves) the wake-up time of `slot`.
  void schedule(std::uint32_t slot, time_point at) {
    if (slot >= pos_.size())
      pos_.resize(slot + 1, npos);
    auto i = pos_[slot];
    if (i == npos) {
      i = static_cast<std::uint32_t>(heap_.size());
      heap_.push_back(entry{at, slot});
      pos_[slot] = i;
      up(i);
      return;
    }
    auto old = heap_[i].at;
    heap_[i].at = at;
    if (at < old)
      up(i);
    else
      down(i);
  }

  /// Removes the timer of `slot`, if any.
  void cancel(std::uint32_t slot) noexcept {
    if (slot >= pos_.size() || pos_[slot] == npos)
      return;
    auto i = pos_[slot];
    pos_[slot] = npos;
    auto last = static_cast<std::uint32_t>(heap_.size() - 1);
    if (i != last) {
      heap_[i] = heap_[last];
      pos_[heap_[i].slot] = i;
      heap_.pop_back();
      up(i);
      down(i);
    } else {
      heap_.pop_back();
    }
  }

  bool scheduled(std::uint32_t slot) const noexcept {
    return slot < pos_.size() && pos_[slot] != npos;
  }

  /// The wake-up time of `slot`; only valid if `scheduled(slot)`.
  time_point at(std::uint32_t slot) const noexcept {
    return heap_[pos_[slot]].at;
  }

  bool empty() const noexcept {
    return heap_.empty();
  }
  std::size_t size() const noexcept {
    return heap_.size();
  }

  /// The earliest wake-up time; only valid if not empty.
  time_point next() const noexcept {
    return heap_.front().at;
  }

  /// The slot with the earliest wake-up time; only valid if not empty.
  std::uint32_t top() const noexcept {
    return heap_.front().slot;
  }

  /// Removes and returns the slot with the earliest time if it is due
  /// (`at <= now`), else `npos`.
  std::uint32_t pop_due(time_point now) noexcept {
    if (heap_.empty() || heap_.front().at > now)
      return npos;
    auto slot = heap_.front().slot;
    cancel(slot);
    return slot;
  }

 private:
  struct entry {
    time_point at;
    std::uint32_t slot;
  };

  void place(std::uint32_t i, entry x) noexcept {
    heap_[i] = x;
    pos_[x.slot] = i;
  }

  void up(std::uint32_t i) noexcept {
    auto x = heap_[i];
    while (i > 0) {
      auto parent = (i - 1) / 2;
      if (!(x.at < heap_[parent].at))
        break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, x);
  }

  void down(std::uint32_t i) noexcept {
    auto n = static_cast<std::uint32_t>(heap_.size());
    auto x = heap_[i];
    for (;;) {
      auto child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && heap_[child + 1].at < heap_[child].at)
        ++child;
      if (!(heap_[child].at < x.at))
        break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, x);
  }

  std::vector<entry> heap_;
  std::vector<std::uint32_t> pos_;
};

} // namespace bulwark
