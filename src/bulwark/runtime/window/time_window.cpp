#include "bulwark/runtime/window/time_window.hpp"

#include <algorithm>

namespace bulwark {

time_window::time_window(std::uint32_t seconds)
  : buckets_(new bucket[std::max<std::uint32_t>(seconds, 1)]()),
    size_(std::max<std::uint32_t>(seconds, 1)) {
  // nop
}

void time_window::clear() noexcept {
  std::fill(buckets_.get(), buckets_.get() + size_, bucket{});
  head_ = 0;
  head_second_ = 0;
  started_ = false;
  bucket_end_ = time_point::min();
  calls_ = 0;
  failures_ = 0;
  slow_calls_ = 0;
}

std::int64_t time_window::second_of(time_point t) noexcept {
  // floor, not truncation, so instants before the clock's epoch stay ordered.
  return std::chrono::floor<seconds>(t.time_since_epoch()).count();
}

void time_window::roll_to(time_point now) noexcept {
  auto sec = second_of(now);
  if (started_ && sec > head_second_) {
    auto steps = sec - head_second_;
    if (steps >= static_cast<std::int64_t>(size_)) {
      std::fill(buckets_.get(), buckets_.get() + size_, bucket{});
      head_ = 0;
      calls_ = 0;
      failures_ = 0;
      slow_calls_ = 0;
    } else {
      for (std::int64_t i = 0; i < steps; ++i) {
        if (++head_ == size_)
          head_ = 0;
        auto& b = buckets_[head_];
        calls_ -= b.calls;
        failures_ -= b.failures;
        slow_calls_ -= b.slow_calls;
        b = bucket{};
      }
    }
    head_second_ = sec;
  } else if (!started_) {
    started_ = true;
    head_second_ = sec;
  } else {
    return; // an earlier second than the head: keep counting in the head
  }
  constexpr auto last_second =
    std::chrono::floor<seconds>(time_point::max().time_since_epoch()).count();
  bucket_end_ = head_second_ < last_second
                  ? time_point{seconds(head_second_ + 1)}
                  : time_point::max();
}

window_snapshot time_window::snapshot(time_point now) const noexcept {
  if (!started_)
    return window_snapshot{};
  auto sec = second_of(now);
  if (sec <= head_second_)
    return snapshot();
  auto steps = sec - head_second_;
  if (steps >= static_cast<std::int64_t>(size_))
    return window_snapshot{};
  auto calls = calls_;
  auto failures = failures_;
  auto slow_calls = slow_calls_;
  auto index = head_;
  for (std::int64_t i = 0; i < steps; ++i) {
    if (++index == size_)
      index = 0;
    calls -= buckets_[index].calls;
    failures -= buckets_[index].failures;
    slow_calls -= buckets_[index].slow_calls;
  }
  return window_snapshot::of(calls, failures, slow_calls);
}

} // namespace bulwark
