#include "bench/model/bulwark_policy.hpp"

#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"
#include "bulwark/runtime/retry/retry_step.hpp"

#include <algorithm>

namespace bulwark::bench::model {

bulwark_policy_config make_bulwark_policy_config(const policy_context& ctx) {
  bulwark_policy_config cfg;
  // The set-up's attempt cap (the runtime's default is 3; the model caps
  // every mode the same way) and its per-attempt timeout.
  cfg.retry.max_attempts = std::clamp<std::uint32_t>(ctx.max_attempts, 1, 10);
  cfg.retry.per_attempt_timeout = ctx.attempt_timeout;
  // Off by default in the runtime; the mode is these features switched on.
  cfg.throttle.enabled = true;
  cfg.shedding.enabled = true;
  cfg.limit.enabled = true;
  // The runtime resolves initial_limit 0 to the bulkhead's max_concurrent;
  // the model has no bulkhead, so its default (64) is given here.
  cfg.limit.initial_limit = bulkhead_config{}.max_concurrent;
  // Queueing shorter than a fifth of the attempt timeout is not overload
  // (the runtime's 1 ms suits a dependency answering in milliseconds; these
  // servers run at 70-90 % load with 100 ms jobs, where seconds of queueing
  // are normal and harmless under a 5 s timeout). The same fifth the
  // model's server-side target uses (model_overload_config).
  cfg.limit.min_queueing = ctx.attempt_timeout / 5;
  return cfg;
}

bulwark_policy::bulwark_policy(const policy_context& ctx, std::uint64_t seed)
  : bulwark_policy(make_bulwark_policy_config(ctx), seed) {
  // nop
}

bulwark_policy::bulwark_policy(const bulwark_policy_config& cfg,
                               std::uint64_t seed)
  : cfg_(cfg),
    gen_(seed),
    budget_(cfg.budget),
    throttle_(cfg.throttle),
    limit_(cfg.limit),
    latencies_(cfg.latency_period) {
  // nop
}

bool bulwark_policy::cannot_finish(duration timeout,
                                   time_point now) const noexcept {
  // dependency_core's rule: the quantile of successful attempts, once there
  // are min_samples of them, longer than the time the attempt has.
  if (!cfg_.shedding.enabled
      || latencies_.samples(now) < cfg_.shedding.min_samples)
    return false;
  auto expected = latencies_.quantile(cfg_.shedding.quantile, now);
  return expected > duration{0} && timeout < expected;
}

bool bulwark_policy::admit_first_try(time_point now) {
  budget_.on_request(now);
  // As dependency_core: the throttle judges calls, before the breaker, so a
  // call it rejects takes no permit.
  if (cfg_.throttle.enabled && !throttle_.admit(gen_, now)) {
    ++counters_.rejected_throttle;
    return false;
  }
  return true;
}

circuit_breaker& bulwark_policy::breaker_for(std::uint32_t server) {
  while (breakers_.size() <= server)
    breakers_.emplace_back(cfg_.breaker);
  return breakers_[server];
}

std::optional<std::uint32_t>
bulwark_policy::route_attempt(time_point now, const attempt_info& info) {
  if (cannot_finish(info.timeout, now)) {
    ++counters_.shed_deadline;
    return std::nullopt;
  }
  // A first try starts at round robin's pick, a retry at the server after
  // the one that failed it; the first whose breaker admits it takes it.
  auto n = std::max<std::uint32_t>(info.servers, 1);
  auto start = info.previous_server == attempt_info::no_server
                 ? info.server
                 : (info.previous_server + 1) % n;
  std::optional<std::uint32_t> pick;
  for (std::uint32_t i = 0; i < n && !pick; ++i) {
    auto srv = (start + i) % n;
    if (breaker_for(srv).try_acquire(now))
      pick = srv;
  }
  if (!pick) {
    ++counters_.rejected_breaker;
    return std::nullopt;
  }
  // The limit admits new work only; a retry was admitted with its request
  // (dependency_core holds a call's slot across its retries).
  if (info.attempt == 1 && cfg_.limit.enabled && in_flight_ >= limit_.limit()) {
    breaker_for(*pick).release(now);
    ++counters_.rejected_limit;
    return std::nullopt;
  }
  ++in_flight_;
  return pick;
}

std::optional<duration> bulwark_policy::decide_retry(time_point now,
                                                     std::uint32_t made) {
  retry_step_input in;
  in.op = idempotency::idempotent;
  in.last = last_;
  in.attempts_made = made;
  in.last_latency = last_latency_;
  // Only decorrelated jitter reads the previous delay; the default is full.
  in.previous_delay = duration{0};
  auto step = retry_step(cfg_.retry, in, now, budget_, gen_);
  if (step.status == retry_status::budget_exhausted)
    ++counters_.retries_denied_budget;
  if (!step.should_retry())
    return std::nullopt;
  ++counters_.retries;
  return step.delay;
}

void bulwark_policy::observe(time_point now, const attempt_report& report) {
  auto before = in_flight_;
  if (in_flight_ > 0)
    --in_flight_;
  switch (report.outcome) {
    case attempt_outcome::success:
      last_ = outcome::ok();
      break;
    case attempt_outcome::timeout:
      last_ = outcome::failure(failure_class::timeout);
      break;
    case attempt_outcome::error:
      last_ = outcome::failure(report.overloaded ? failure_class::overloaded
                                                 : failure_class::transient);
      break;
  }
  last_latency_ = report.latency;
  breaker_for(report.server).record(last_, report.latency, now);
  // Successes give latency, overload and timeouts are drops; other
  // failures (a crashed server's instant error) say nothing about capacity.
  bool drop = !last_.success
              && (last_.cls == failure_class::overloaded
                  || last_.cls == failure_class::timeout);
  if (cfg_.limit.enabled && (last_.success || drop))
    limit_.on_sample(report.latency, before, drop, now);
  if (last_.success) {
    // As dependency_core feeds the estimate shedding reads: successful
    // attempts only. (Recording timed-out attempts at their timeout, a lower
    // bound, made the p90 reach the timeout after a trigger and shed every
    // attempt until the window forgot: 10-20 s of nothing sent, measured
    // worse in A.)
    latencies_.record(report.latency, now);
    budget_.on_success(now);
    // The request ends with its success: the call's one accept.
    throttle_.on_accept(now);
  } else {
    budget_.on_failure(now); // transient, timeout, overloaded: all retryable
  }
}

std::optional<double> bulwark_policy::gauge(time_point) const {
  return static_cast<double>(limit_.limit());
}

} // namespace bulwark::bench::model
