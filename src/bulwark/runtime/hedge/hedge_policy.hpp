// Decides when a logical request gets a hedge (a speculative duplicate of its
// first attempt) and how many: hedge n is sent n * d after the first attempt,
// where d is a fixed delay or a quantile of recent attempt latencies ("The
// Tail at Scale": wait until the first attempt is slower than, say, 95% of
// attempts, which bounds the extra load near 5%). Whether the extra attempt is
// affordable is asked of the shared retry budget by the caller; an `unsafe`
// operation is never hedged.
#pragma once

#include <cstdint>

#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/hedge/hedge_config.hpp"
#include "bulwark/runtime/hedge/latency_quantile.hpp"

namespace bulwark {

class hedge_policy {
 public:
  explicit hedge_policy(const hedge_config& cfg = hedge_config{}) noexcept;

  /// Applies a new configuration; recorded latencies are kept unless the
  /// window length changed.
  void reconfigure(const hedge_config& cfg) noexcept;

  /// Records the latency of one attempt, measured from its send. Record every
  /// attempt that finished (success or failure from the downstream); for an
  /// attempt cancelled because another won, record its time until the
  /// cancellation (a lower bound), or slow attempts would vanish from the
  /// estimate exactly when hedging hides them.
  void record_latency(duration latency, time_point now) noexcept;

  /// The delay d between the first send and the first hedge: `delay` for the
  /// fixed kind and while fewer than `min_samples` latencies are in the
  /// window, else max(min_delay, quantile of the window).
  duration base_delay(time_point now) const noexcept;

  /// Delay after the first send at which hedge number `n` (1-based) is sent:
  /// n * base_delay(now), so hedges are spaced evenly (saturates instead of
  /// overflowing). n == 0 is the first attempt itself: zero.
  duration hedge_delay(std::uint32_t n, time_point now) const noexcept;

  /// Whether one more hedge may be sent after `hedges_sent` hedges for an
  /// operation of kind `op`: enabled, `op` is not `unsafe`, and fewer than
  /// max_hedges were sent. The retry budget is checked by the caller.
  bool should_hedge(std::uint32_t hedges_sent, idempotency op) const noexcept;

  /// Whether base_delay currently comes from measured latencies.
  bool using_quantile(time_point now) const noexcept;

  const hedge_config& config() const noexcept {
    return cfg_;
  }

  const latency_quantile& latencies() const noexcept {
    return latencies_;
  }

 private:
  hedge_config cfg_;
  latency_quantile latencies_;
};

} // namespace bulwark
