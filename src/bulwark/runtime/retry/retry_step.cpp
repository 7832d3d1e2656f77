#include "bulwark/runtime/retry/retry_step.hpp"

namespace bulwark {

retry_status to_retry_status(retry_verdict x) noexcept {
  switch (x) {
    case retry_verdict::retry:
      return retry_status::retry;
    case retry_verdict::succeeded:
      return retry_status::succeeded;
    case retry_verdict::disabled:
      return retry_status::disabled;
    case retry_verdict::not_retryable:
      return retry_status::not_retryable;
    case retry_verdict::do_not_retry:
      return retry_status::do_not_retry;
    case retry_verdict::unsafe:
      return retry_status::unsafe;
    case retry_verdict::attempts_exhausted:
      return retry_status::attempts_exhausted;
    case retry_verdict::retry_after_too_long:
      return retry_status::retry_after_too_long;
    case retry_verdict::deadline:
      return retry_status::deadline;
  }
  return retry_status::not_retryable;
}

retry_step_result retry_step(const retry_config& cfg,
                             const retry_step_input& in, time_point now,
                             retry_budget& budget, rng& gen) noexcept {
  if (in.sheddable_fallback)
    return {retry_status::sheddable_fallback, duration{0}};
  auto last = in.last;
  if (cfg.honour_retry_after && in.not_before > now) {
    // An earlier attempt's retry-after still holds: the server asked the
    // whole call, not only that attempt, to wait.
    auto hold = in.not_before - now;
    if (!last.has_retry_after() || last.retry_after < hold)
      last.retry_after = hold;
  }
  auto would =
    decide_retry(cfg, in.op, last, in.attempts_made, in.attempt_cap,
                 in.last_latency, in.previous_delay, now, in.deadline, gen);
  if (would.verdict != retry_verdict::retry)
    return {to_retry_status(would.verdict), duration{0}};
  if (!in.flag_allows)
    return {retry_status::disabled_by_flag, duration{0}};
  if (!budget.try_withdraw(budget_use::retry, now))
    return {retry_status::budget_exhausted, duration{0}};
  return {retry_status::retry, would.delay};
}

} // namespace bulwark
