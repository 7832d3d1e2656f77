#include "bench/model/client_mode.hpp"

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

namespace {

time_point at_ms(std::int64_t ms) {
  return time_point{} + milliseconds(ms);
}

attempt_report outcome(attempt_outcome x, std::uint32_t attempt = 1) {
  return attempt_report{x, attempt, milliseconds(100)};
}

} // namespace

TEST_CASE("client modes and attempt outcomes have names that parse back",
          "[bench][model]") {
  for (auto mode : all_client_modes) {
    auto name = std::string{to_string(mode)};
    INFO(name);
    CHECK(name != "unknown");
    CHECK(parse_client_mode(name) == mode);
  }
  CHECK(!parse_client_mode("no_such_mode"));
  CHECK(to_string(attempt_outcome::success) == "success");
  CHECK(to_string(attempt_outcome::error) == "error");
  CHECK(to_string(attempt_outcome::timeout) == "timeout");
}

TEST_CASE("none admits every first try and never retries", "[bench][model]") {
  auto p = make_client_policy(client_mode::none, 1);
  CHECK(p->admit_first_try(at_ms(0)));
  p->observe(at_ms(1), outcome(attempt_outcome::timeout));
  CHECK(!p->decide_retry(at_ms(1), 1));
}

TEST_CASE("naive retries at once, every time", "[bench][model]") {
  auto p = make_client_policy(client_mode::naive, 1);
  for (std::uint32_t made = 1; made < 100; ++made) {
    auto d = p->decide_retry(at_ms(made), made);
    REQUIRE(d);
    CHECK(*d == duration{0});
  }
}

TEST_CASE("backoff draws full jitter under 50 ms doubling per retry up to 2 s",
          "[bench][model]") {
  std::uint64_t seed = 42;
  INFO("seed " << seed);
  full_jitter_backoff_policy p{milliseconds(50), seconds(2), seed};
  // Ceiling of retry k: min(2 s, 50 ms * 2^(k-1)); the draws fill it.
  const duration ceilings[] = {
    milliseconds(50),  milliseconds(100),  milliseconds(200), milliseconds(400),
    milliseconds(800), milliseconds(1600), seconds(2),        seconds(2)};
  for (std::uint32_t k = 1; k <= 8; ++k) {
    INFO("retry " << k);
    duration lo = duration::max();
    duration hi{0};
    for (int i = 0; i < 2000; ++i) {
      auto d = p.decide_retry(at_ms(0), k);
      REQUIRE(d);
      lo = std::min(lo, *d);
      hi = std::max(hi, *d);
    }
    auto cap = ceilings[k - 1];
    CHECK(lo >= duration{0});
    CHECK(hi < cap);
    CHECK(lo < cap / 20); // the jitter reaches down near 0 ...
    CHECK(hi > cap * 19 / 20); // ... and up near the ceiling
  }
  // A huge attempt count stays at the cap instead of overflowing.
  auto d = p.decide_retry(at_ms(0), 1000);
  REQUIRE(d);
  CHECK(*d < seconds(2));
}

TEST_CASE("the token bucket grants 10 retries from full, then one per 10 "
          "successes",
          "[bench][model]") {
  token_bucket_policy p{10.0, 0.1, 1.0};
  for (int i = 0; i < 10; ++i) {
    INFO("retry " << i);
    auto d = p.decide_retry(at_ms(i), 1);
    REQUIRE(d);
    CHECK(*d == duration{0});
  }
  CHECK(!p.decide_retry(at_ms(10), 1));
  // Errors and timeouts earn nothing.
  p.observe(at_ms(11), outcome(attempt_outcome::error));
  p.observe(at_ms(11), outcome(attempt_outcome::timeout));
  CHECK(!p.decide_retry(at_ms(11), 1));
  for (int i = 0; i < 9; ++i)
    p.observe(at_ms(12), outcome(attempt_outcome::success));
  CHECK(!p.decide_retry(at_ms(12), 1)); // 0.9 tokens
  p.observe(at_ms(13), outcome(attempt_outcome::success));
  CHECK(p.decide_retry(at_ms(13), 1)); // 1.0 token
  CHECK(!p.decide_retry(at_ms(13), 1));
  // The bucket holds at most 10 tokens however long things go well.
  for (int i = 0; i < 1000; ++i)
    p.observe(at_ms(14), outcome(attempt_outcome::success));
  CHECK(p.tokens() == Approx(10.0));
}

TEST_CASE("budget20 allows 30 retries per 10 s at low traffic",
          "[bench][model]") {
  retry_budget_policy p{0.2, 30, seconds(10)};
  for (int i = 0; i < 10; ++i)
    CHECK(p.admit_first_try(at_ms(i)));
  for (int i = 0; i < 30; ++i) {
    INFO("retry " << i);
    CHECK(p.decide_retry(at_ms(100 + i), 1));
  }
  CHECK(!p.decide_retry(at_ms(200), 1));
  CHECK(p.retries_in_window() == 30);
  // 10 s after the first retry it leaves the window, and one more fits.
  CHECK(!p.decide_retry(at_ms(10'099), 1));
  CHECK(p.decide_retry(at_ms(10'100), 1));
  CHECK(!p.decide_retry(at_ms(10'100), 1));
}

TEST_CASE("budget20 allows retries up to 20% of first tries at high traffic",
          "[bench][model]") {
  retry_budget_policy p{0.2, 30, seconds(10)};
  // 500 first tries in the window: 20% is 100 retries, more than 30.
  for (int i = 0; i < 500; ++i)
    p.admit_first_try(at_ms(i));
  int granted = 0;
  while (p.decide_retry(at_ms(600), 1))
    ++granted;
  CHECK(granted == 100);
  // Once those first tries age out, the floor of 30 rules again: with 100
  // retries still in the window, nothing more is granted.
  CHECK(!p.decide_retry(at_ms(10'550), 1));
  // And after the retries leave too, 30 fit.
  granted = 0;
  while (p.decide_retry(at_ms(20'700), 1))
    ++granted;
  CHECK(granted == 30);
}

TEST_CASE("a policy's gauge shows its state for the charts", "[bench][model]") {
  CHECK(!make_client_policy(client_mode::none, 1)->gauge(at_ms(0)));
  CHECK(!make_client_policy(client_mode::naive, 1)->gauge(at_ms(0)));
  CHECK(!make_client_policy(client_mode::backoff, 1)->gauge(at_ms(0)));

  token_bucket_policy bucket{10.0, 0.1, 1.0};
  CHECK(bucket.gauge(at_ms(0)) == Approx(10.0));
  bucket.decide_retry(at_ms(1), 1);
  bucket.decide_retry(at_ms(1), 1);
  CHECK(bucket.gauge(at_ms(1)) == Approx(8.0));

  retry_budget_policy budget{0.2, 30, seconds(10)};
  CHECK(budget.gauge(at_ms(0)) == Approx(30.0));
  for (int i = 0; i < 200; ++i)
    budget.admit_first_try(at_ms(i));
  CHECK(budget.gauge(at_ms(200)) == Approx(40.0)); // 20% of 200
  for (int i = 0; i < 15; ++i)
    budget.decide_retry(at_ms(300), 1);
  CHECK(budget.gauge(at_ms(300)) == Approx(25.0));
  // The gauge looks at the window without changing it: at 10.25 s every
  // first try (0..199 ms) has left it, the 15 retries (300 ms) have not, so
  // the floor of 30 rules: 30 - 15.
  CHECK(budget.gauge(at_ms(10'250)) == Approx(15.0));
  CHECK(budget.retries_in_window() == 15);
  // Once the retries have left the window, the floor is all there is.
  CHECK(budget.gauge(at_ms(20'300)) == Approx(30.0));
}

TEST_CASE("sre_throttle rejects attempts locally once the servers accept "
          "fewer than half of them, and retries at once",
          "[bench][model]") {
  std::uint64_t seed = 5;
  INFO("seed " << seed);
  sre_throttle_policy p{2.0, seconds(120), seed};
  attempt_info info;
  info.server = 0;
  // Healthy: every attempt accepted, nothing rejected.
  for (int i = 0; i < 100; ++i) {
    REQUIRE(p.route_attempt(at_ms(i * 10), info));
    p.observe(at_ms(i * 10 + 5), outcome(attempt_outcome::success));
  }
  CHECK(*p.gauge(at_ms(1000)) == 0);
  CHECK(p.decide_retry(at_ms(1000), 1) == duration{0});
  // Then nothing is accepted: P(reject) = (requests - 2 accepts) / (requests
  // + 1) rises past 0 after 100 more requests.
  int rejected = 0;
  for (int i = 0; i < 400; ++i) {
    if (!p.route_attempt(at_ms(1000 + i * 10), info))
      ++rejected;
    p.observe(at_ms(1000 + i * 10 + 5), outcome(attempt_outcome::timeout));
  }
  CHECK(rejected > 50);
  CHECK(*p.gauge(at_ms(5000)) > 10); // percent
}
