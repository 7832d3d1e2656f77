// A time-based sliding window: the outcomes of the calls made in the last N
// seconds (Resilience4j `SlidingTimeWindowMetrics`). One bucket per second in
// a ring plus running totals; `now` rolls the ring forward, evicting the
// buckets that fell out of the window. A record in the current second is O(1)
// with no division; moving to a later second costs one step per elapsed
// second, and a jump longer than the window clears it in O(N) at most. The
// ring is allocated once, at construction.
//
// Granularity is one second: the window covers the current (partial) second
// and the N - 1 seconds before it, so a call stops counting between N - 1 and
// N seconds after it was recorded, depending on where in its second it fell.
#pragma once

#include <cstdint>
#include <memory>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/window/window_snapshot.hpp"

namespace bulwark {

class time_window {
 public:
  /// An empty window of size 0; `record` must not be called on it.
  time_window() noexcept = default;

  /// A window over the last `seconds` seconds (>= 1; 0 is taken as 1).
  explicit time_window(std::uint32_t seconds);

  time_window(time_window&&) noexcept = default;
  time_window& operator=(time_window&&) noexcept = default;

  /// Adds one call made at `now`. A `now` earlier than the current bucket
  /// (time never runs backwards on a steady clock, but be safe) counts in the
  /// current bucket.
  void record(bool failed, bool slow, time_point now) noexcept {
    if (__builtin_expect(now >= bucket_end_, 0))
      roll_to(now);
    auto& b = buckets_[head_];
    ++b.calls;
    ++calls_;
    if (failed) {
      ++b.failures;
      ++failures_;
    }
    if (slow) {
      ++b.slow_calls;
      ++slow_calls_;
    }
  }

  /// Evicts what fell out of the window by `now` without recording a call.
  void advance(time_point now) noexcept {
    if (now >= bucket_end_)
      roll_to(now);
  }

  /// Forgets every call. O(N).
  void clear() noexcept;

  std::uint32_t size() const noexcept {
    return size_;
  }

  /// Totals as of the last `record` or `advance`.
  std::uint64_t calls() const noexcept {
    return calls_;
  }
  std::uint64_t failures() const noexcept {
    return failures_;
  }
  std::uint64_t slow_calls() const noexcept {
    return slow_calls_;
  }

  /// The window as of the last `record` or `advance`.
  window_snapshot snapshot() const noexcept {
    return window_snapshot::of(calls_, failures_, slow_calls_);
  }

  /// The window as it would be after `advance(now)`, without changing it.
  window_snapshot snapshot(time_point now) const noexcept;

 private:
  struct bucket {
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
    std::uint32_t slow_calls = 0;
  };

  static std::int64_t second_of(time_point t) noexcept;

  void roll_to(time_point now) noexcept;

  std::unique_ptr<bucket[]> buckets_;
  std::uint32_t size_ = 0;
  std::uint32_t head_ = 0; // the bucket of `head_second_`
  std::int64_t head_second_ = 0; // meaningful only when `started_`
  bool started_ = false; // false until the first call after a clear
  time_point bucket_end_ = time_point::min(); // end of the head bucket
  std::uint64_t calls_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t slow_calls_ = 0;
};

} // namespace bulwark
