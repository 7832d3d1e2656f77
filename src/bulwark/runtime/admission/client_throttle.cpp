#include "bulwark/runtime/admission/client_throttle.hpp"

#include <algorithm>

namespace bulwark {

client_throttle::client_throttle(const throttle_config& cfg) {
  reconfigure(cfg);
}

void client_throttle::reconfigure(const throttle_config& cfg) noexcept {
  bool same_window = started_ && cfg.window == cfg_.window;
  cfg_ = cfg;
  slice_ = std::max(duration{1}, cfg_.window / static_cast<int>(slice_count));
  if (same_window)
    return;
  requests_.fill(0);
  accepts_.fill(0);
  total_requests_ = total_accepts_ = 0;
  head_ = 0;
  started_ = false;
}

void client_throttle::roll(time_point now) noexcept {
  if (!started_) {
    started_ = true;
    slice_end_ = now + slice_;
    return;
  }
  // At most slice_count steps: after that every slice is empty anyway.
  for (std::size_t i = 0; now >= slice_end_ && i < slice_count; ++i) {
    head_ = (head_ + 1) % slice_count;
    total_requests_ -= requests_[head_];
    total_accepts_ -= accepts_[head_];
    requests_[head_] = accepts_[head_] = 0;
    slice_end_ += slice_;
  }
  if (now >= slice_end_) {
    // Idle for longer than the window: start the ring again at `now`.
    slice_end_ = now + slice_;
  }
}

double client_throttle::reject_probability(time_point now) noexcept {
  roll(now);
  auto requests = static_cast<double>(total_requests_);
  auto excess = requests - cfg_.k * static_cast<double>(total_accepts_);
  return std::max(0.0, excess / (requests + 1.0));
}

bool client_throttle::admit(rng& gen, time_point now) noexcept {
  auto p = reject_probability(now);
  // No draw while P is 0: the generator's sequence (and so every other
  // seeded decision) is the same as without the throttle until it acts.
  if (p <= 0.0 || gen.uniform() >= p)
    return true;
  ++requests_[head_];
  ++total_requests_;
  return false;
}

void client_throttle::on_result(bool accepted, time_point now) noexcept {
  roll(now);
  ++requests_[head_];
  ++total_requests_;
  if (accepted) {
    ++accepts_[head_];
    ++total_accepts_;
  }
}

std::uint64_t client_throttle::requests(time_point now) noexcept {
  roll(now);
  return total_requests_;
}

std::uint64_t client_throttle::accepts(time_point now) noexcept {
  roll(now);
  return total_accepts_;
}

} // namespace bulwark
