#include "bulwark/runtime/retry/retry_step.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(1000);

/// Constant 100ms backoff without jitter, 3 attempts.
retry_config plain() {
  retry_config cfg;
  cfg.backoff.kind = backoff_kind::constant;
  cfg.backoff.jitter = jitter_kind::none;
  cfg.backoff.base = milliseconds(100);
  return cfg;
}

retry_step_input failed_once(failure_class cls = failure_class::transient) {
  retry_step_input in;
  in.last = outcome::failure(cls);
  in.attempts_made = 1;
  in.deadline = t0 + seconds(10);
  return in;
}

retry_budget unlimited() {
  budget_config cfg;
  cfg.mode = budget_mode::unlimited;
  return retry_budget{cfg};
}

retry_budget empty_budget() {
  budget_config cfg;
  cfg.mode = budget_mode::finagle;
  cfg.percent_can_retry = 0;
  cfg.min_retries_per_second = 0;
  return retry_budget{cfg};
}

} // namespace

TEST_CASE("the retry step retries after the backoff when everything allows it",
          "[runtime][retry]") {
  auto budget = unlimited();
  rng gen{1};
  auto r = retry_step(plain(), failed_once(), t0, budget, gen);
  CHECK(r.should_retry());
  CHECK(r.status == retry_status::retry);
  CHECK(r.delay == milliseconds(100));
  CHECK(budget.granted(budget_use::retry) == 1);
}

TEST_CASE("the retry step checks in a fixed order and names the first refusal",
          "[runtime][retry]") {
  auto cfg = plain();
  rng gen{1};
  SECTION(
    "sheddable with a fallback wins over everything, even a do-not-retry") {
    auto budget = unlimited();
    auto in = failed_once();
    in.sheddable_fallback = true;
    in.last.do_not_retry = true;
    in.flag_allows = false;
    CHECK(retry_step(cfg, in, t0, budget, gen).status
          == retry_status::sheddable_fallback);
  }
  SECTION(
    "the pure policy's verdicts pass through, the flag and budget come after") {
    auto budget = empty_budget();
    auto in = failed_once(failure_class::persistent);
    in.flag_allows = false;
    CHECK(retry_step(cfg, in, t0, budget, gen).status
          == retry_status::not_retryable);
    in = failed_once();
    in.attempts_made = 3;
    in.flag_allows = false;
    CHECK(retry_step(cfg, in, t0, budget, gen).status
          == retry_status::attempts_exhausted);
    in = failed_once();
    in.deadline = t0 + milliseconds(50);
    CHECK(retry_step(cfg, in, t0, budget, gen).status
          == retry_status::deadline);
    in = failed_once();
    in.op = idempotency::unsafe;
    CHECK(retry_step(cfg, in, t0, budget, gen).status == retry_status::unsafe);
    // None of these touched the budget.
    CHECK(budget.denied(budget_use::retry) == 0);
  }
  SECTION("a flag that switches retries off comes before the budget") {
    auto budget = empty_budget();
    auto in = failed_once();
    in.flag_allows = false;
    CHECK(retry_step(cfg, in, t0, budget, gen).status
          == retry_status::disabled_by_flag);
    CHECK(budget.denied(budget_use::retry) == 0);
  }
  SECTION("an empty budget refuses last, and counts the refusal") {
    auto budget = empty_budget();
    auto r = retry_step(cfg, failed_once(), t0, budget, gen);
    CHECK(r.status == retry_status::budget_exhausted);
    CHECK_FALSE(r.should_retry());
    CHECK(budget.denied(budget_use::retry) == 1);
  }
  SECTION("retries switched off in the config") {
    auto budget = unlimited();
    cfg.enabled = false;
    CHECK(retry_step(cfg, failed_once(), t0, budget, gen).status
          == retry_status::disabled);
  }
}

TEST_CASE("a retry-after an earlier attempt asked for holds the retry",
          "[runtime][retry]") {
  auto budget = unlimited();
  rng gen{1};
  auto in = failed_once();
  SECTION("the hold replaces a shorter backoff") {
    in.not_before = t0 + milliseconds(450);
    auto r = retry_step(plain(), in, t0, budget, gen);
    CHECK(r.status == retry_status::retry);
    CHECK(r.delay == milliseconds(450));
  }
  SECTION("the last failure's own longer retry-after wins") {
    in.not_before = t0 + milliseconds(450);
    in.last.retry_after = milliseconds(700);
    CHECK(retry_step(plain(), in, t0, budget, gen).delay == milliseconds(700));
  }
  SECTION("a hold already over changes nothing") {
    in.not_before = t0;
    CHECK(retry_step(plain(), in, t0, budget, gen).delay == milliseconds(100));
  }
  SECTION("a hold longer than max_retry_after ends the retries") {
    in.not_before = t0 + minutes(2);
    CHECK(retry_step(plain(), in, t0, budget, gen).status
          == retry_status::retry_after_too_long);
  }
  SECTION("a hold past the deadline ends them too") {
    in.not_before = t0 + seconds(11);
    CHECK(retry_step(plain(), in, t0, budget, gen).status
          == retry_status::deadline);
  }
  SECTION("not honoured when the config ignores retry-after") {
    auto cfg = plain();
    cfg.honour_retry_after = false;
    in.not_before = t0 + milliseconds(450);
    CHECK(retry_step(cfg, in, t0, budget, gen).delay == milliseconds(100));
  }
}

TEST_CASE("every retry status has a name and a reply message",
          "[runtime][retry]") {
  struct expected {
    retry_status status;
    const char* name;
    const char* message;
  };
  const expected all[] = {
    {retry_status::retry, "retry", "retry"},
    {retry_status::succeeded, "succeeded", "succeeded"},
    {retry_status::sheddable_fallback, "sheddable_fallback",
     "failed; sheddable request served by fallback"},
    {retry_status::disabled, "disabled", "disabled"},
    {retry_status::do_not_retry, "do_not_retry", "do_not_retry"},
    {retry_status::not_retryable, "not_retryable", "not_retryable"},
    {retry_status::unsafe, "unsafe", "unsafe"},
    {retry_status::attempts_exhausted, "attempts_exhausted",
     "attempts_exhausted"},
    {retry_status::retry_after_too_long, "retry_after_too_long",
     "retry_after_too_long"},
    {retry_status::deadline, "deadline", "deadline"},
    {retry_status::disabled_by_flag, "disabled_by_flag",
     "retries disabled by a feature flag"},
    {retry_status::budget_exhausted, "budget_exhausted",
     "retry budget exhausted"},
  };
  for (auto& x : all) {
    CHECK(to_string(x.status) == x.name);
    CHECK(retry_message(x.status) == x.message);
  }
  CHECK(to_string(static_cast<retry_status>(200)) == "invalid");
  // Every verdict of the pure policy maps to the status of the same name.
  for (auto v :
       {retry_verdict::retry, retry_verdict::succeeded, retry_verdict::disabled,
        retry_verdict::not_retryable, retry_verdict::do_not_retry,
        retry_verdict::unsafe, retry_verdict::attempts_exhausted,
        retry_verdict::retry_after_too_long, retry_verdict::deadline})
    CHECK(to_string(to_retry_status(v)) == to_string(v));
}
