// The retry budget of one dependency: a single account that every retry AND
// every hedge draws from, so the extra load a client adds on top of its own
// requests stays bounded when a dependency fails or slows down. A per-request
// attempt cap alone does not do that: with 3 attempts each, a failing
// dependency sees 3x the load exactly when it can least afford it.
//
// Two published algorithms, chosen by `budget_config::mode`:
// - finagle (Finagle's TokenRetryBudget over a leaky bucket): each new
//   logical request deposits 1000 units; a retry or hedge withdraws
//   trunc(1000 / percent_can_retry) units if the balance covers it; a
//   reserve of floor(min_retries_per_second * ttl) retries is always added.
//   Deposits and withdrawals live in a window of `ttl`: a fixed ring of 10
//   slices (slice = ttl / 10, aligned to multiples of the slice length from
//   the clock's epoch), so an entry made at time t drops out at the first
//   slice boundary strictly after t + 0.9 ttl: after more than 0.9 ttl and
//   at most ttl (an entry made on a boundary lives exactly ttl). The window sum
//   can go negative (withdrawals outlive the deposits that paid for them),
//   exactly as in Finagle; the budget then pays that debt back before it allows
//   more.
// - grpc (gRFC A6 retryThrottling): a bucket of milli-tokens that starts
//   full; on_failure takes 1 token, on_success adds token_ratio, clamped to
//   [0, max_tokens]; a retry or hedge may go only while the count is above
//   max_tokens / 2. Asking does not consume: the failure that caused the
//   retry already paid.
// - unlimited: always allows.
//
// The owner (one dependency actor) calls it single-threaded. All operations
// are O(1) and allocation-free; time is an argument, never read.
#pragma once

#include <array>
#include <cstdint>

#include "bulwark/runtime/budget/budget_config.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

class retry_budget {
 public:
  /// Number of slices of Finagle's `ttl` window (Finagle's WindowedAdder
  /// uses 10 as well).
  static constexpr std::size_t slice_count = 10;

  explicit retry_budget(const budget_config& cfg = {}) noexcept;

  const budget_config& config() const noexcept {
    return cfg_;
  }

  /// Applies a new configuration (live reload). Same mode: gRPC rescales the
  /// token count to the same fraction of the new max_tokens (as gRPC does for
  /// a changed service config); Finagle keeps its window unless `ttl` or
  /// `percent_can_retry` changed (the units would no longer match), in which
  /// case it starts afresh with only the reserve, like a new Finagle budget.
  /// A mode change starts the new mode afresh. Denial counters are kept.
  void reconfigure(const budget_config& cfg) noexcept;

  /// A new logical request (not a retry, not a hedge) is about to be sent.
  /// Finagle: deposits. Call once per request.
  void on_request(time_point now) noexcept;

  /// An attempt (first try, retry or hedge) succeeded. gRPC: +token_ratio.
  void on_success(time_point now) noexcept;

  /// An attempt failed in a way that says the dependency is unhealthy: a
  /// class the retry policy treats as retryable (transient, timeout,
  /// overloaded) or an overloaded / do-not-retry pushback. gRPC: -1 token.
  /// Do NOT call it for persistent failures (the dependency answered fine),
  /// rejected_locally (it never got the request), cancelled (e.g. a losing
  /// hedge) or the caller's own deadline_exceeded: those say nothing about
  /// its health. Mirrors gRPC, which counts only retryable statuses.
  void on_failure(time_point now) noexcept;

  /// A retry or a hedge wants to go. True if the budget allows it (Finagle:
  /// and withdraws its cost). A denial is counted per use.
  bool try_withdraw(budget_use use, time_point now) noexcept;

  /// For metrics. Finagle: retries affordable now, (window + reserve) / cost
  /// truncated toward zero (negative while the budget is in debt), as
  /// Finagle's `balance`. gRPC: tokens above the max_tokens / 2 threshold,
  /// never negative (a retry is allowed while it is above 0). Unlimited:
  /// +infinity.
  double balance(time_point now) const noexcept;

  /// The gRPC token count (0..max_tokens); 0 in the other modes.
  double tokens() const noexcept;

  /// How often `try_withdraw(use, ...)` said no / yes since construction.
  std::uint64_t denied(budget_use use) const noexcept {
    return denied_[static_cast<std::size_t>(use)];
  }
  std::uint64_t granted(budget_use use) const noexcept {
    return granted_[static_cast<std::size_t>(use)];
  }

 private:
  void apply_finagle_params() noexcept;
  void clear_window() noexcept;
  /// Finagle: moves the window forward so that `now` falls into the current
  /// slice (O(1) when it already does; at most slice_count steps otherwise).
  void roll(time_point now) noexcept;
  std::int64_t slice_of(time_point now) const noexcept;
  std::int64_t window_sum(time_point now) const noexcept;

  budget_config cfg_;

  // finagle, in Finagle's units (1000 per request)
  std::int64_t deposit_ = 0;
  std::int64_t withdrawal_ = 1;
  std::int64_t reserve_ = 0;
  duration::rep slice_len_ = 1;
  std::array<std::int64_t, slice_count> slices_{};
  std::int64_t total_ = 0; // sum of slices_
  std::int64_t current_ = 0; // absolute index of the current slice
  std::size_t slot_ = 0; // its position in slices_
  time_point current_end_ = time_point::min(); // first instant past it
  bool started_ = false;

  // grpc, in thousandths of a token (gRPC's representation)
  std::int64_t max_milli_ = 0;
  std::int64_t ratio_milli_ = 0;
  std::int64_t milli_tokens_ = 0;

  std::array<std::uint64_t, 2> denied_{};
  std::array<std::uint64_t, 2> granted_{};
};

} // namespace bulwark
