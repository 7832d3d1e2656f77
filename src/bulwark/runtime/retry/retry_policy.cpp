#include "bulwark/runtime/retry/retry_policy.hpp"

#include <algorithm>

#include "bulwark/runtime/retry/backoff.hpp"

namespace bulwark {

std::string to_string(retry_verdict x) {
  switch (x) {
    case retry_verdict::retry:
      return "retry";
    case retry_verdict::succeeded:
      return "succeeded";
    case retry_verdict::disabled:
      return "disabled";
    case retry_verdict::not_retryable:
      return "not_retryable";
    case retry_verdict::do_not_retry:
      return "do_not_retry";
    case retry_verdict::unsafe:
      return "unsafe";
    case retry_verdict::attempts_exhausted:
      return "attempts_exhausted";
    case retry_verdict::retry_after_too_long:
      return "retry_after_too_long";
    case retry_verdict::deadline:
      return "deadline";
  }
  return "invalid";
}

namespace {

// Exact arithmetic on nanosecond counts: a sum of three 64-bit values cannot
// overflow 128 bits, so `no_deadline` and huge delays need no special case.
__extension__ using i128 = __int128;

i128 ticks(time_point t) noexcept {
  return t.time_since_epoch().count();
}

i128 ticks(duration d) noexcept {
  return d.count();
}

} // namespace

retry_decision decide_retry(const retry_config& cfg, idempotency op,
                            const outcome& last, std::uint32_t attempts_made,
                            std::uint32_t attempt_cap,
                            duration last_attempt_latency,
                            duration previous_delay, time_point now,
                            time_point deadline, rng& gen) noexcept {
  if (last.success)
    return {retry_verdict::succeeded, duration{0}};
  if (!cfg.enabled)
    return {retry_verdict::disabled, duration{0}};
  if (last.do_not_retry)
    return {retry_verdict::do_not_retry, duration{0}};
  if (!cfg.retry_on.contains(last.cls))
    return {retry_verdict::not_retryable, duration{0}};
  if (!may_repeat(op, last.never_executed))
    return {retry_verdict::unsafe, duration{0}};
  if (attempts_made >= std::min(cfg.max_attempts, attempt_cap))
    return {retry_verdict::attempts_exhausted, duration{0}};
  duration delay{0};
  if (cfg.honour_retry_after && last.has_retry_after()) {
    if (last.retry_after > cfg.max_retry_after)
      return {retry_verdict::retry_after_too_long, duration{0}};
    delay = last.retry_after;
  } else {
    delay = next_backoff(cfg.backoff, attempts_made, previous_delay, gen);
  }
  const duration expected =
    std::clamp(last_attempt_latency, duration{0},
               std::max(cfg.per_attempt_timeout, duration{0}));
  if (ticks(now) + ticks(delay) + ticks(expected) > ticks(deadline))
    return {retry_verdict::deadline, duration{0}};
  return {retry_verdict::retry, delay};
}

duration attempt_timeout(const retry_config& cfg, time_point now,
                         time_point deadline) noexcept {
  const i128 left = ticks(deadline) - ticks(now);
  const i128 limit = ticks(cfg.per_attempt_timeout);
  const i128 result = std::max<i128>(0, std::min(left, limit));
  return duration{static_cast<duration::rep>(result)};
}

} // namespace bulwark
