// The authoritative retry step of a dependency: after the attempts of a
// round failed, does the call try again, and if not, why not? One function
// that asks, in a fixed order, everything that can say no — the call's
// criticality (a sheddable call takes a fallback before a retry), the pure
// "would retry" of retry_policy.hpp (class, marker from below, idempotency,
// attempt caps, server retry-after, deadline), the operator's feature flag,
// and last the shared retry budget, which it draws from only when everything
// else allows the retry. This is Envoy's split: `decide_retry` is
// wouldRetry (no side effect), `retry_step` is shouldRetry (spends the
// budget). Its status is the one reason the reply message, the journey and
// the counters give.
#pragma once

#include <cstdint>

#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/retry_config.hpp"
#include "bulwark/runtime/retry/retry_policy.hpp"
#include "bulwark/runtime/retry/retry_status.hpp"

namespace bulwark {

/// The status that mirrors a `retry_verdict` of `decide_retry`.
retry_status to_retry_status(retry_verdict x) noexcept;

/// What the step needs to know about the call.
struct retry_step_input {
  idempotency op = idempotency::idempotent;
  /// The failure that ended the round (what the call is answered with if it
  /// does not retry).
  outcome last;
  /// Attempts made so far, hedges included.
  std::uint32_t attempts_made = 0;
  /// The call's own cap on its attempts (what `max_attempts` leaves after
  /// the attempts made upstream).
  std::uint32_t attempt_cap = no_attempt_cap;
  /// How long the last attempt took (a timed-out attempt: its timeout).
  duration last_latency{0};
  /// The delay before the last attempt (decorrelated jitter reads it).
  duration previous_delay{0};
  /// The caller's absolute deadline.
  time_point deadline = no_deadline;
  /// The call is sheddable and a fallback step handles `last`.
  bool sheddable_fallback = false;
  /// The call's feature flags allow retries.
  bool flag_allows = true;
  /// The earliest time any attempt of the call was asked to wait for (a
  /// server retry-after, honoured when `honour_retry_after`): the retry
  /// waits at least until then, even when the last failure gave no hint or
  /// a shorter one. `time_point::min()` for none.
  time_point not_before = time_point::min();
};

struct retry_step_result {
  retry_status status = retry_status::not_retryable;
  /// The wait before the retry; meaningful only for `retry`.
  duration delay{0};

  bool should_retry() const noexcept {
    return status == retry_status::retry;
  }
};

/// Decides the retry after a failed round at `now`:
///   1. in.sheddable_fallback                       -> sheddable_fallback
///   2. decide_retry(cfg, ...) with `last` carrying the pause that
///      `not_before` asks for (when longer than its own retry-after and
///      cfg.honour_retry_after), and unless it says retry, its verdict
///      (`decide_retry` draws from `gen` for jitter)
///   3. !in.flag_allows                             -> disabled_by_flag
///   4. budget.try_withdraw(retry) refuses          -> budget_exhausted
///   5. otherwise                                   -> retry after the delay
/// The budget is only drawn from in step 4, and only when it grants: a call
/// that does not retry costs no token. No allocation, no clock read.
retry_step_result retry_step(const retry_config& cfg,
                             const retry_step_input& in, time_point now,
                             retry_budget& budget, rng& gen) noexcept;

} // namespace bulwark
