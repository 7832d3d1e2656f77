#include "bulwark/runtime/supervise/restart_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bulwark {

std::string to_string(restart_action x) {
  switch (x) {
    case restart_action::restart:
      return "restart";
    case restart_action::escalate:
      return "escalate";
  }
  return "invalid";
}

restart_tracker::restart_tracker(const restart_config& cfg) noexcept {
  reconfigure(cfg);
}

void restart_tracker::reconfigure(const restart_config& cfg) noexcept {
  cfg_ = cfg;
  cfg_.max_restarts =
    std::min(cfg_.max_restarts, restart_config::max_restarts_limit);
}

void restart_tracker::expire(time_point now) noexcept {
  // OTP's inPeriod: Now =< Then + Period, so a restart exactly `within` ago
  // still counts.
  while (size_ > 0 && now - times_[head_] > cfg_.within) {
    head_ = head_ + 1 == times_.size() ? 0 : head_ + 1;
    --size_;
  }
}

namespace {

// min(max, min * 2^(n-1)) without overflow: the doubling saturates at `max`.
duration capped_backoff(duration min, duration max, std::uint32_t n) noexcept {
  auto lo = std::max(min.count(), duration::rep{0});
  auto hi = std::max(max.count(), duration::rep{0});
  auto shift = std::min<std::uint32_t>(n > 0 ? n - 1 : 0, 62);
  if (lo > (hi >> shift))
    return duration{hi};
  return duration{lo << shift};
}

} // namespace

restart_decision restart_tracker::on_crash(time_point now, rng& gen) noexcept {
  expire(now);
  auto in_window = static_cast<std::uint32_t>(size_);
  if (!cfg_.enabled || size_ >= cfg_.max_restarts)
    return {restart_action::escalate, duration{0}, in_window};
  if (started_known_ && now - started_ >= cfg_.reset_after)
    consecutive_ = 0;
  started_known_ = false; // this uptime is over; the next start begins anew
  if (consecutive_ < std::numeric_limits<std::uint32_t>::max())
    ++consecutive_;
  auto tail = head_ + size_;
  times_[tail >= times_.size() ? tail - times_.size() : tail] = now;
  ++size_;
  ++total_;
  auto delay = capped_backoff(cfg_.min_backoff, cfg_.max_backoff, consecutive_);
  if (cfg_.random_factor > 0) {
    auto factor =
      1.0 + std::min(cfg_.random_factor, 100u) / 100.0 * gen.uniform();
    auto scaled = std::floor(static_cast<double>(delay.count()) * factor);
    // Only a hand-built config with a cap near 292 years could overflow.
    constexpr auto top = std::numeric_limits<duration::rep>::max();
    delay = scaled >= static_cast<double>(top)
              ? duration{top}
              : duration{static_cast<duration::rep>(scaled)};
  }
  return {restart_action::restart, delay, in_window + 1};
}

void restart_tracker::on_started(time_point now) noexcept {
  started_ = now;
  started_known_ = true;
}

} // namespace bulwark
