// A count-based sliding window: the outcomes of the last N calls (Resilience4j
// `FixedSizeSlidingWindowMetrics`). A ring of N one-byte slots plus running
// totals: recording a call evicts the oldest one from the totals, so a record
// is O(1) and never allocates; the ring is allocated once, at construction.
#pragma once

#include <cstdint>
#include <memory>

#include "bulwark/runtime/window/window_snapshot.hpp"

namespace bulwark {

class count_window {
 public:
  /// An empty window of size 0; `record` must not be called on it. Exists so
  /// an owner can hold a window it does not use without allocating.
  count_window() noexcept = default;

  /// A window over the last `size` calls (`size` >= 1; 0 is taken as 1).
  explicit count_window(std::uint32_t size);

  count_window(count_window&&) noexcept = default;
  count_window& operator=(count_window&&) noexcept = default;

  /// Adds one call, evicting the oldest when the window is full.
  void record(bool failed, bool slow) noexcept {
    auto& slot = ring_[head_];
    if (calls_ == size_) {
      failures_ -= slot & failed_bit;
      slow_calls_ -= (slot & slow_bit) >> 1;
    } else {
      ++calls_;
    }
    slot = static_cast<std::uint8_t>((failed ? failed_bit : 0u)
                                     | (slow ? slow_bit : 0u));
    failures_ += failed ? 1u : 0u;
    slow_calls_ += slow ? 1u : 0u;
    if (++head_ == size_)
      head_ = 0;
  }

  /// Forgets every call. O(1): slots are only read after being written.
  void clear() noexcept {
    head_ = 0;
    calls_ = 0;
    failures_ = 0;
    slow_calls_ = 0;
  }

  std::uint32_t size() const noexcept {
    return size_;
  }
  std::uint32_t calls() const noexcept {
    return calls_;
  }
  std::uint32_t failures() const noexcept {
    return failures_;
  }
  std::uint32_t slow_calls() const noexcept {
    return slow_calls_;
  }

  window_snapshot snapshot() const noexcept {
    return window_snapshot::of(calls_, failures_, slow_calls_);
  }

 private:
  static constexpr std::uint8_t failed_bit = 1;
  static constexpr std::uint8_t slow_bit = 2;

  std::unique_ptr<std::uint8_t[]> ring_;
  std::uint32_t size_ = 0;
  std::uint32_t head_ = 0; // the slot the next call goes into
  std::uint32_t calls_ = 0;
  std::uint32_t failures_ = 0;
  std::uint32_t slow_calls_ = 0;
};

} // namespace bulwark
