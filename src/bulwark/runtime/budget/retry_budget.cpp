#include "bulwark/runtime/budget/retry_budget.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bulwark {

namespace {

// Finagle's TokenRetryBudget.ScaleFactor: a deposit is worth 1000 units so
// that a fractional percent_can_retry needs no floating point per call.
constexpr std::int64_t scale_factor = 1000;

constexpr std::int64_t floor_div(std::int64_t x, std::int64_t y) noexcept {
  auto q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

constexpr std::size_t slot_of(std::int64_t index) noexcept {
  constexpr auto n = static_cast<std::int64_t>(retry_budget::slice_count);
  return static_cast<std::size_t>(((index % n) + n) % n);
}

std::int64_t to_milli(double x) noexcept {
  if (!(x > 0))
    return 0;
  return static_cast<std::int64_t>(std::llround(std::min(x, 1.0e12) * 1000.0));
}

} // namespace

retry_budget::retry_budget(const budget_config& cfg) noexcept : cfg_(cfg) {
  apply_finagle_params();
  max_milli_ = to_milli(cfg_.max_tokens);
  ratio_milli_ = to_milli(cfg_.token_ratio);
  milli_tokens_ = max_milli_;
}

void retry_budget::apply_finagle_params() noexcept {
  auto pct = cfg_.percent_can_retry;
  if (pct > 0) {
    // Finagle: (ScaleFactor / percentCanRetry).toInt, which saturates.
    auto w = static_cast<double>(scale_factor) / pct;
    constexpr double int_max = std::numeric_limits<std::int32_t>::max();
    deposit_ = scale_factor;
    withdrawal_ = w >= int_max
                    ? static_cast<std::int64_t>(int_max)
                    : std::max<std::int64_t>(1, static_cast<std::int64_t>(w));
  } else {
    // Only the reserve: a retry costs 1 and requests earn nothing.
    deposit_ = 0;
    withdrawal_ = 1;
  }
  // Finagle: minRetriesPerSec * ttl.inSeconds retries. Rates may be
  // fractional here; the epsilon keeps 0.29 * 100 from flooring to 28.
  auto retries = cfg_.min_retries_per_second * to_seconds(cfg_.ttl);
  retries = std::floor(std::clamp(retries, 0.0, 1.0e9) + 1e-9);
  reserve_ = static_cast<std::int64_t>(retries) * withdrawal_;
  slice_len_ = std::max<duration::rep>(
    1, cfg_.ttl.count() / static_cast<duration::rep>(slice_count));
}

void retry_budget::clear_window() noexcept {
  slices_.fill(0);
  total_ = 0;
  current_ = 0;
  slot_ = 0;
  current_end_ = time_point::min();
  started_ = false;
}

void retry_budget::reconfigure(const budget_config& cfg) noexcept {
  auto old = cfg_;
  cfg_ = cfg;
  apply_finagle_params();
  auto old_max = max_milli_;
  max_milli_ = to_milli(cfg_.max_tokens);
  ratio_milli_ = to_milli(cfg_.token_ratio);
  if (old.mode != cfg_.mode) {
    clear_window();
    milli_tokens_ = max_milli_;
    return;
  }
  if (old.ttl != cfg_.ttl || old.percent_can_retry != cfg_.percent_can_retry)
    clear_window();
  if (old_max != max_milli_) {
    // gRPC keeps throttling as hard as before: same fraction of the bucket.
    auto fraction = old_max > 0 ? static_cast<double>(milli_tokens_)
                                    / static_cast<double>(old_max)
                                : 1.0;
    milli_tokens_ = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(fraction * static_cast<double>(max_milli_)), 0,
      max_milli_);
  }
}

std::int64_t retry_budget::slice_of(time_point now) const noexcept {
  return floor_div(now.time_since_epoch().count(), slice_len_);
}

void retry_budget::roll(time_point now) noexcept {
  // Fast path: still inside the current slice (or the clock went back, which
  // counts as the current slice: the window never moves backwards).
  if (started_ && now < current_end_)
    return;
  auto index = slice_of(now);
  auto steps =
    static_cast<std::uint64_t>(index) - static_cast<std::uint64_t>(current_);
  if (!started_ || steps >= slice_count) {
    slices_.fill(0);
    total_ = 0;
    started_ = true;
  } else {
    // Each slice we enter is the oldest one: its entries expire now.
    for (std::uint64_t i = 1; i <= steps; ++i) {
      auto& s = slices_[slot_of(current_ + static_cast<std::int64_t>(i))];
      total_ -= s;
      s = 0;
    }
  }
  current_ = index;
  slot_ = slot_of(index);
  constexpr auto max_rep = std::numeric_limits<duration::rep>::max();
  current_end_ = index >= max_rep / slice_len_ - 1
                   ? time_point::max()
                   : time_point{duration{(index + 1) * slice_len_}};
}

std::int64_t retry_budget::window_sum(time_point now) const noexcept {
  if (!started_)
    return 0;
  if (now < current_end_)
    return total_;
  auto steps = static_cast<std::uint64_t>(slice_of(now))
               - static_cast<std::uint64_t>(current_);
  if (steps >= slice_count)
    return 0;
  auto sum = total_;
  for (std::uint64_t i = 1; i <= steps; ++i)
    sum -= slices_[slot_of(current_ + static_cast<std::int64_t>(i))];
  return sum;
}

void retry_budget::on_request(time_point now) noexcept {
  if (cfg_.mode != budget_mode::finagle)
    return;
  roll(now);
  slices_[slot_] += deposit_;
  total_ += deposit_;
}

void retry_budget::on_success(time_point) noexcept {
  if (cfg_.mode != budget_mode::grpc)
    return;
  milli_tokens_ = std::min(milli_tokens_ + ratio_milli_, max_milli_);
}

void retry_budget::on_failure(time_point) noexcept {
  if (cfg_.mode != budget_mode::grpc)
    return;
  milli_tokens_ = std::max<std::int64_t>(milli_tokens_ - scale_factor, 0);
}

bool retry_budget::try_withdraw(budget_use use, time_point now) noexcept {
  bool ok = true;
  switch (cfg_.mode) {
    case budget_mode::finagle:
      roll(now);
      ok = total_ + reserve_ >= withdrawal_;
      if (ok) {
        slices_[slot_] -= withdrawal_;
        total_ -= withdrawal_;
      }
      break;
    case budget_mode::grpc:
      // gRPC: retries are allowed while token_count > max_tokens / 2, with
      // the threshold in integer thousandths.
      ok = milli_tokens_ > max_milli_ / 2;
      break;
    case budget_mode::unlimited:
      break;
  }
  auto i = static_cast<std::size_t>(use);
  if (ok)
    ++granted_[i];
  else
    ++denied_[i];
  return ok;
}

double retry_budget::balance(time_point now) const noexcept {
  switch (cfg_.mode) {
    case budget_mode::finagle:
      // Integer division truncates toward zero, like Finagle's Long division.
      return static_cast<double>((window_sum(now) + reserve_) / withdrawal_);
    case budget_mode::grpc:
      return static_cast<double>(
               std::max<std::int64_t>(milli_tokens_ - max_milli_ / 2, 0))
             / 1000.0;
    case budget_mode::unlimited:
      break;
  }
  return std::numeric_limits<double>::infinity();
}

double retry_budget::tokens() const noexcept {
  return cfg_.mode == budget_mode::grpc
           ? static_cast<double>(milli_tokens_) / 1000.0
           : 0.0;
}

} // namespace bulwark
