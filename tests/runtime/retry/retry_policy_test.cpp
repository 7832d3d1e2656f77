#include "bulwark/runtime/retry/retry_policy.hpp"

#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "tests/support/counting_new.hpp"

#include "bulwark/runtime/retry/backoff.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(1000);

outcome failed(failure_class cls, bool never_executed = false) {
  return outcome::failure(cls, never_executed);
}

/// A config without jitter, so delays are predictable: 100ms, 200ms, 400ms...
retry_config plain() {
  retry_config cfg;
  cfg.max_attempts = 5;
  cfg.backoff.jitter = jitter_kind::none;
  return cfg;
}

retry_decision decide(const retry_config& cfg, const outcome& last,
                      std::uint32_t attempts_made = 1,
                      idempotency op = idempotency::idempotent,
                      std::uint32_t cap = no_attempt_cap,
                      time_point deadline = no_deadline,
                      duration latency = milliseconds(50)) {
  rng gen{7};
  return decide_retry(cfg, op, last, attempts_made, cap, latency, duration{0},
                      t0, deadline, gen);
}

} // namespace

TEST_CASE("retry verdicts have names", "[runtime][retry]") {
  CHECK(to_string(retry_verdict::retry) == "retry");
  CHECK(to_string(retry_verdict::succeeded) == "succeeded");
  CHECK(to_string(retry_verdict::disabled) == "disabled");
  CHECK(to_string(retry_verdict::not_retryable) == "not_retryable");
  CHECK(to_string(retry_verdict::do_not_retry) == "do_not_retry");
  CHECK(to_string(retry_verdict::unsafe) == "unsafe");
  CHECK(to_string(retry_verdict::attempts_exhausted) == "attempts_exhausted");
  CHECK(to_string(retry_verdict::retry_after_too_long)
        == "retry_after_too_long");
  CHECK(to_string(retry_verdict::deadline) == "deadline");
}

TEST_CASE("each verdict is reached by the failure that calls for it",
          "[runtime][retry]") {
  auto cfg = plain();
  SECTION("retry, with the backoff delay of the retry number") {
    auto d = decide(cfg, failed(failure_class::transient), 1);
    CHECK(d.verdict == retry_verdict::retry);
    CHECK(d.should_retry());
    CHECK(d.delay == milliseconds(100));
    CHECK(decide(cfg, failed(failure_class::timeout), 2).delay
          == milliseconds(200));
    CHECK(decide(cfg, failed(failure_class::overloaded), 3).delay
          == milliseconds(400));
  }
  SECTION("succeeded") {
    auto d = decide(cfg, outcome::ok());
    CHECK(d.verdict == retry_verdict::succeeded);
    CHECK_FALSE(d.should_retry());
  }
  SECTION("disabled") {
    cfg.enabled = false;
    CHECK(decide(cfg, failed(failure_class::transient)).verdict
          == retry_verdict::disabled);
  }
  SECTION("not_retryable") {
    for (auto cls :
         {failure_class::persistent, failure_class::rejected_locally,
          failure_class::deadline_exceeded, failure_class::cancelled}) {
      CAPTURE(to_string(cls));
      CHECK(decide(cfg, failed(cls)).verdict == retry_verdict::not_retryable);
    }
    cfg.retry_on.erase(failure_class::timeout);
    CHECK(decide(cfg, failed(failure_class::timeout)).verdict
          == retry_verdict::not_retryable);
    cfg.retry_on.insert(failure_class::persistent);
    CHECK(decide(cfg, failed(failure_class::persistent)).verdict
          == retry_verdict::retry);
  }
  SECTION("do_not_retry") {
    auto last = failed(failure_class::transient);
    last.do_not_retry = true;
    CHECK(decide(cfg, last).verdict == retry_verdict::do_not_retry);
  }
  SECTION("unsafe") {
    CHECK(decide(cfg, failed(failure_class::transient), 1, idempotency::unsafe)
            .verdict
          == retry_verdict::unsafe);
  }
  SECTION("attempts_exhausted") {
    CHECK(decide(cfg, failed(failure_class::transient), 4).verdict
          == retry_verdict::retry);
    CHECK(decide(cfg, failed(failure_class::transient), 5).verdict
          == retry_verdict::attempts_exhausted);
    CHECK(decide(cfg, failed(failure_class::transient), 9).verdict
          == retry_verdict::attempts_exhausted);
  }
  SECTION("retry_after_too_long") {
    auto last = outcome::overloaded(seconds(61));
    CHECK(decide(cfg, last).verdict == retry_verdict::retry_after_too_long);
    cfg.max_retry_after = seconds(61);
    CHECK(decide(cfg, last).verdict == retry_verdict::retry);
    CHECK(decide(cfg, last).delay == seconds(61));
  }
  SECTION("deadline") {
    auto d =
      decide(cfg, failed(failure_class::transient), 1, idempotency::idempotent,
             no_attempt_cap, t0 + milliseconds(100));
    CHECK(d.verdict == retry_verdict::deadline);
    CHECK(d.delay == duration{0});
  }
}

TEST_CASE("the order of the checks decides which reason is reported",
          "[runtime][retry]") {
  auto cfg = plain();
  cfg.enabled = false;
  cfg.max_retry_after = seconds(1);
  // Everything is wrong at once: success still wins.
  auto all_bad = outcome::overloaded(seconds(5));
  all_bad.do_not_retry = true;
  auto ok = outcome::ok();
  ok.do_not_retry = true;
  CHECK(decide(cfg, ok, 9, idempotency::unsafe, 1, t0).verdict
        == retry_verdict::succeeded);
  CHECK(decide(cfg, all_bad, 9, idempotency::unsafe, 1, t0).verdict
        == retry_verdict::disabled);
  cfg.enabled = true;
  CHECK(decide(cfg, all_bad, 9, idempotency::unsafe, 1, t0).verdict
        == retry_verdict::do_not_retry);
  all_bad.do_not_retry = false;
  cfg.retry_on.erase(failure_class::overloaded);
  CHECK(decide(cfg, all_bad, 9, idempotency::unsafe, 1, t0).verdict
        == retry_verdict::not_retryable);
  cfg.retry_on.insert(failure_class::overloaded);
  CHECK(decide(cfg, all_bad, 9, idempotency::unsafe, 1, t0).verdict
        == retry_verdict::unsafe);
  CHECK(decide(cfg, all_bad, 9, idempotency::keyed, 1, t0).verdict
        == retry_verdict::attempts_exhausted);
  CHECK(decide(cfg, all_bad, 1, idempotency::keyed, no_attempt_cap, t0).verdict
        == retry_verdict::retry_after_too_long);
  all_bad.retry_after = milliseconds(500);
  CHECK(decide(cfg, all_bad, 1, idempotency::keyed, no_attempt_cap, t0).verdict
        == retry_verdict::deadline);
  CHECK(decide(cfg, all_bad, 1, idempotency::keyed, no_attempt_cap,
               t0 + milliseconds(550))
          .verdict
        == retry_verdict::retry);
}

TEST_CASE("a server retry-after is honoured to the nanosecond",
          "[runtime][retry]") {
  retry_config cfg; // full jitter: a retry-after must not be jittered
  rng values{2024};
  for (int i = 0; i < 10000; ++i) {
    duration ra{static_cast<duration::rep>(values.below(60'000'000'001ULL))};
    if (i < 3)
      ra = duration{i}; // 0ns, 1ns, 2ns
    CAPTURE(ra.count());
    rng gen{static_cast<std::uint64_t>(i)};
    auto before = gen;
    auto d = decide_retry(cfg, idempotency::idempotent, outcome::overloaded(ra),
                          1, no_attempt_cap, milliseconds(10), duration{0}, t0,
                          no_deadline, gen);
    REQUIRE(d.verdict == retry_verdict::retry);
    REQUIRE(d.delay == ra);
    // No random draw was spent on a delay the server fixed.
    REQUIRE(gen() == before());
  }
  // Exactly max_retry_after is still honoured; one nanosecond more is not.
  auto at_max = outcome::overloaded(cfg.max_retry_after);
  CHECK(decide(cfg, at_max).delay == cfg.max_retry_after);
  auto above = outcome::overloaded(cfg.max_retry_after + nanoseconds(1));
  CHECK(decide(cfg, above).verdict == retry_verdict::retry_after_too_long);
  // A retry-after on a transient failure (503 mapped to transient) counts too.
  auto transient = failed(failure_class::transient);
  transient.retry_after = milliseconds(1234);
  CHECK(decide(cfg, transient).delay == milliseconds(1234));
}

TEST_CASE(
  "with honour_retry_after off the backoff applies and no hint is too long",
  "[runtime][retry]") {
  auto cfg = plain();
  cfg.honour_retry_after = false;
  auto d = decide(cfg, outcome::overloaded(hours(1)), 2);
  CHECK(d.verdict == retry_verdict::retry);
  CHECK(d.delay == milliseconds(200));
}

TEST_CASE("a deadline stops retries exactly at the boundary",
          "[runtime][retry]") {
  auto cfg = plain();
  cfg.per_attempt_timeout = milliseconds(300);
  auto last = failed(failure_class::transient);
  // Last attempt took 50ms (< per-attempt timeout): expected time 50ms.
  // Retry 2 waits 200ms: it needs now + 250ms.
  auto boundary = t0 + milliseconds(250);
  CHECK(decide(cfg, last, 2, idempotency::idempotent, no_attempt_cap, boundary)
          .verdict
        == retry_verdict::retry);
  CHECK(decide(cfg, last, 2, idempotency::idempotent, no_attempt_cap,
               boundary + nanoseconds(1))
          .verdict
        == retry_verdict::retry);
  CHECK(decide(cfg, last, 2, idempotency::idempotent, no_attempt_cap,
               boundary - nanoseconds(1))
          .verdict
        == retry_verdict::deadline);
  // A timed-out attempt's latency is capped by the per-attempt timeout.
  auto timed_out = failed(failure_class::timeout);
  auto boundary2 = t0 + milliseconds(100) + milliseconds(300);
  CHECK(decide(cfg, timed_out, 1, idempotency::idempotent, no_attempt_cap,
               boundary2, seconds(5))
          .verdict
        == retry_verdict::retry);
  CHECK(decide(cfg, timed_out, 1, idempotency::idempotent, no_attempt_cap,
               boundary2 - nanoseconds(1), seconds(5))
          .verdict
        == retry_verdict::deadline);
  // With a retry-after the boundary moves with the hint, to the nanosecond.
  auto hinted = outcome::overloaded(nanoseconds(777'777'777));
  auto boundary3 = t0 + nanoseconds(777'777'777) + milliseconds(50);
  CHECK(
    decide(cfg, hinted, 1, idempotency::idempotent, no_attempt_cap, boundary3)
      .verdict
    == retry_verdict::retry);
  CHECK(decide(cfg, hinted, 1, idempotency::idempotent, no_attempt_cap,
               boundary3 - nanoseconds(1))
          .verdict
        == retry_verdict::deadline);
  // A deadline already in the past never retries; no deadline never stops one.
  CHECK(decide(cfg, last, 1, idempotency::idempotent, no_attempt_cap,
               t0 - seconds(1))
          .verdict
        == retry_verdict::deadline);
  CHECK(decide(cfg, last, 1, idempotency::idempotent, no_attempt_cap,
               no_deadline, duration::max())
          .verdict
        == retry_verdict::retry);
}

TEST_CASE("the deadline check uses the jittered delay that was drawn",
          "[runtime][retry]") {
  retry_config cfg; // full jitter on exponential backoff
  auto last = failed(failure_class::transient);
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    CAPTURE(seed);
    rng probe{seed};
    auto delay = next_backoff(cfg.backoff, 2, duration{0}, probe);
    auto boundary = t0 + delay + milliseconds(50);
    rng a{seed}, b{seed};
    auto at =
      decide_retry(cfg, idempotency::idempotent, last, 2, no_attempt_cap,
                   milliseconds(50), duration{0}, t0, boundary, a);
    auto before = decide_retry(cfg, idempotency::idempotent, last, 2,
                               no_attempt_cap, milliseconds(50), duration{0},
                               t0, boundary - nanoseconds(1), b);
    REQUIRE(at.verdict == retry_verdict::retry);
    REQUIRE(at.delay == delay);
    REQUIRE(before.verdict == retry_verdict::deadline);
  }
}

TEST_CASE("the caller's attempt cap wins when it is smaller",
          "[runtime][retry]") {
  auto cfg = plain(); // max_attempts 5
  auto last = failed(failure_class::transient);
  CHECK(decide(cfg, last, 1, idempotency::idempotent, 2).verdict
        == retry_verdict::retry);
  CHECK(decide(cfg, last, 2, idempotency::idempotent, 2).verdict
        == retry_verdict::attempts_exhausted);
  CHECK(decide(cfg, last, 1, idempotency::idempotent, 1).verdict
        == retry_verdict::attempts_exhausted);
  CHECK(decide(cfg, last, 1, idempotency::idempotent, 0).verdict
        == retry_verdict::attempts_exhausted);
  // A larger cap does not raise max_attempts.
  CHECK(decide(cfg, last, 4, idempotency::idempotent, 8).verdict
        == retry_verdict::retry);
  CHECK(decide(cfg, last, 5, idempotency::idempotent, 8).verdict
        == retry_verdict::attempts_exhausted);
  cfg.max_attempts = 1;
  CHECK(decide(cfg, last, 1).verdict == retry_verdict::attempts_exhausted);
}

TEST_CASE("unsafe operations retry only failures that never executed",
          "[runtime][retry]") {
  auto cfg = plain();
  for (auto cls : {failure_class::transient, failure_class::timeout,
                   failure_class::overloaded}) {
    CAPTURE(to_string(cls));
    CHECK(decide(cfg, failed(cls, true), 1, idempotency::unsafe).verdict
          == retry_verdict::retry);
    CHECK(decide(cfg, failed(cls, false), 1, idempotency::unsafe).verdict
          == retry_verdict::unsafe);
    // Keyed and idempotent operations retry either way.
    CHECK(decide(cfg, failed(cls, false), 1, idempotency::keyed).verdict
          == retry_verdict::retry);
    CHECK(decide(cfg, failed(cls, false), 1, idempotency::idempotent).verdict
          == retry_verdict::retry);
  }
}

TEST_CASE("decorrelated jitter in a retry grows from the previous delay",
          "[runtime][retry]") {
  auto cfg = plain();
  cfg.backoff.jitter = jitter_kind::decorrelated;
  cfg.backoff.base = milliseconds(10);
  auto last = failed(failure_class::transient);
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    CAPTURE(seed);
    rng gen{seed};
    auto d =
      decide_retry(cfg, idempotency::idempotent, last, 3, no_attempt_cap,
                   milliseconds(5), milliseconds(20), t0, no_deadline, gen);
    REQUIRE(d.verdict == retry_verdict::retry);
    REQUIRE(d.delay >= milliseconds(10));
    REQUIRE(d.delay <= milliseconds(60));
  }
}

TEST_CASE(
  "the attempt timeout is the per-attempt timeout shortened by the deadline",
  "[runtime][retry]") {
  retry_config cfg;
  cfg.per_attempt_timeout = milliseconds(300);
  CHECK(attempt_timeout(cfg, t0, no_deadline) == milliseconds(300));
  CHECK(attempt_timeout(cfg, t0, t0 + seconds(1)) == milliseconds(300));
  CHECK(attempt_timeout(cfg, t0, t0 + milliseconds(300)) == milliseconds(300));
  CHECK(attempt_timeout(cfg, t0, t0 + milliseconds(120)) == milliseconds(120));
  CHECK(attempt_timeout(cfg, t0, t0 + nanoseconds(1)) == nanoseconds(1));
  CHECK(attempt_timeout(cfg, t0, t0) == duration{0});
  CHECK(attempt_timeout(cfg, t0, t0 - seconds(5)) == duration{0});
  CHECK(attempt_timeout(cfg, time_point::min(), time_point::max())
        == milliseconds(300));
  CHECK(attempt_timeout(cfg, time_point::max(), time_point::min())
        == duration{0});
}

TEST_CASE("deciding a retry allocates nothing", "[runtime][retry]") {
  retry_config cfg;
  cfg.backoff.jitter = jitter_kind::decorrelated;
  rng gen{1};
  const outcome cases[] = {outcome::ok(), failed(failure_class::transient),
                           outcome::overloaded(milliseconds(5)),
                           failed(failure_class::persistent)};
  auto before = bulwark::testing::allocations();
  std::uint32_t retries = 0;
  for (int i = 0; i < 1000; ++i)
    for (auto& last : cases) {
      auto d = decide_retry(cfg, idempotency::keyed, last, 1 + i % 3,
                            no_attempt_cap, milliseconds(20), milliseconds(100),
                            t0, t0 + seconds(2), gen);
      retries += d.should_retry();
      (void)attempt_timeout(cfg, t0, t0 + seconds(2));
    }
  CHECK(bulwark::testing::allocations() == before);
  CHECK(retries > 0);
  // The counter does see allocations (a name longer than the small-string
  // buffer needs the heap).
  static std::string sink;
  sink = to_string(retry_verdict::retry_after_too_long);
  CHECK(bulwark::testing::allocations() > before);
}
