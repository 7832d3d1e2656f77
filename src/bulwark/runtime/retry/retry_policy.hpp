// The retry decision: after a failed attempt, may the request try again, and
// after how long? One pure, allocation-free function that checks, in a fixed
// order, everything that forbids a retry (the class, the caller's marker, the
// operation's idempotency, the attempt caps, the server's retry-after, the
// caller's deadline) and otherwise returns the delay. The actor that owns the
// request only schedules what this function decides, so the whole policy is
// testable with virtual time and a seeded generator.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/retry_config.hpp"

namespace bulwark {

enum class retry_verdict : std::uint8_t {
  /// Try again after `retry_decision::delay`.
  retry,
  /// The last attempt succeeded: nothing to retry.
  succeeded,
  /// Retries are switched off (retry_config::enabled is false).
  disabled,
  /// The failure's class is not in retry_config::retry_on.
  not_retryable,
  /// A layer below already retried (outcome::do_not_retry): retrying here
  /// would multiply attempts across layers.
  do_not_retry,
  /// The operation is `unsafe` and the failed attempt may have executed.
  unsafe,
  /// The request made all the attempts it may make.
  attempts_exhausted,
  /// The server asked for a pause longer than retry_config::max_retry_after.
  retry_after_too_long,
  /// The retry could not finish before the caller's deadline.
  deadline,
};

/// @relates retry_verdict
std::string to_string(retry_verdict x);

struct retry_decision {
  retry_verdict verdict = retry_verdict::not_retryable;
  /// The wait before the next attempt; meaningful only for `retry`.
  duration delay{0};

  bool should_retry() const noexcept {
    return verdict == retry_verdict::retry;
  }
};

/// Pass as `attempt_cap` when the request carries no cap of its own.
inline constexpr std::uint32_t no_attempt_cap =
  std::numeric_limits<std::uint32_t>::max();

/// Decides whether to retry after the attempt whose result is `last`.
///
/// Arguments: `op` is the operation's idempotency; `attempts_made` counts the
/// attempts so far including the one that produced `last` (so 1 after the
/// first attempt; the retry to schedule is retry number `attempts_made`);
/// `attempt_cap` is the request's own limit on total attempts (min with
/// max_attempts; `no_attempt_cap` for none); `last_attempt_latency` is how long
/// the last attempt took (a timed-out attempt took its timeout);
/// `previous_delay` is the delay before the last attempt (0 before the first),
/// read by decorrelated jitter; `now` is when the last attempt ended;
/// `deadline` is the caller's absolute deadline (`no_deadline` for none).
///
/// The checks run in this order, and the first that applies is the verdict
/// (the order is part of the contract: callers and metrics rely on which
/// reason is reported when several apply):
///   1. last.success                                   -> succeeded
///   2. !cfg.enabled                                   -> disabled
///   3. last.do_not_retry                              -> do_not_retry
///   4. last.cls not in cfg.retry_on                   -> not_retryable
///   5. op is unsafe and !last.never_executed          -> unsafe
///   6. attempts_made >= min(cfg.max_attempts, attempt_cap)
///                                                     -> attempts_exhausted
///   7. the delay: when cfg.honour_retry_after and last has a retry-after,
///      it is exactly last.retry_after (not jittered, not capped by the
///      backoff), or retry_after_too_long when it exceeds
///      cfg.max_retry_after; otherwise
///      next_backoff(cfg.backoff, attempts_made, previous_delay, gen)
///      (one draw from `gen` unless jitter is none).
///   8. now + delay + min(cfg.per_attempt_timeout, last_attempt_latency)
///      > deadline                                     -> deadline
///      (the last attempt's latency is the best estimate of the next one's;
///      equal to the deadline still retries)
///   9. otherwise                                      -> retry after delay
/// No allocation, no clock read; `gen` is only touched in step 7.
retry_decision decide_retry(const retry_config& cfg, idempotency op,
                            const outcome& last, std::uint32_t attempts_made,
                            std::uint32_t attempt_cap,
                            duration last_attempt_latency,
                            duration previous_delay, time_point now,
                            time_point deadline, rng& gen) noexcept;

/// The timeout for an attempt starting at `now`: min(per_attempt_timeout,
/// deadline - now), never negative (0 when the deadline has passed), exact
/// and overflow-free for `no_deadline`.
duration attempt_timeout(const retry_config& cfg, time_point now,
                         time_point deadline) noexcept;

} // namespace bulwark
