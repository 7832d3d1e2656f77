#include "bulwark/runtime/budget/retry_budget.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

// A slice boundary for every ttl used here (a multiple of 10s).
const time_point t0 = time_point{} + seconds(1000);

budget_config grpc_config(double max_tokens = 10, double ratio = 0.1) {
  budget_config cfg;
  cfg.mode = budget_mode::grpc;
  cfg.max_tokens = max_tokens;
  cfg.token_ratio = ratio;
  return cfg;
}

budget_config finagle_config(double min_per_second, double percent,
                             duration ttl = seconds(10)) {
  budget_config cfg;
  cfg.mode = budget_mode::finagle;
  cfg.min_retries_per_second = min_per_second;
  cfg.percent_can_retry = percent;
  cfg.ttl = ttl;
  return cfg;
}

int withdraw_all(retry_budget& b, time_point now,
                 budget_use use = budget_use::retry, int limit = 100000) {
  int n = 0;
  while (n < limit && b.try_withdraw(use, now))
    ++n;
  return n;
}

} // namespace

TEST_CASE("the enums print their config names", "[runtime][budget]") {
  CHECK(to_string(budget_mode::finagle) == "finagle");
  CHECK(to_string(budget_mode::grpc) == "grpc");
  CHECK(to_string(budget_mode::unlimited) == "unlimited");
  CHECK(to_string(budget_use::retry) == "retry");
  CHECK(to_string(budget_use::hedge) == "hedge");
}

// -- gRPC retryThrottling --------------------------------------------------------

TEST_CASE("grpc: retries stop once failures bring the tokens down to half",
          "[runtime][budget][grpc]") {
  // gRFC A6 example: maxTokens 10, tokenRatio 0.1.
  retry_budget b{grpc_config()};
  CHECK(b.tokens() == 10.0);
  CHECK(b.try_withdraw(budget_use::retry, t0));
  for (int i = 0; i < 4; ++i)
    b.on_failure(t0);
  CHECK(b.tokens() == 6.0);
  CHECK(b.try_withdraw(budget_use::retry, t0));
  b.on_failure(t0);
  CHECK(b.tokens() == 5.0);
  // 5 is not > 5.
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  CHECK_FALSE(b.try_withdraw(budget_use::hedge, t0));
  CHECK(b.balance(t0) == 0.0);
  b.on_success(t0);
  CHECK(b.tokens() == Approx(5.1));
  CHECK(b.balance(t0) == Approx(0.1));
  CHECK(b.try_withdraw(budget_use::retry, t0));
  CHECK(b.denied(budget_use::retry) == 1);
  CHECK(b.denied(budget_use::hedge) == 1);
  CHECK(b.granted(budget_use::retry) == 3);
}

TEST_CASE("grpc: asking does not consume tokens", "[runtime][budget][grpc]") {
  retry_budget b{grpc_config()};
  CHECK(withdraw_all(b, t0, budget_use::retry, 1000) == 1000);
  CHECK(b.tokens() == 10.0);
}

TEST_CASE("grpc: the token count is clamped to 0 and max_tokens",
          "[runtime][budget][grpc]") {
  retry_budget b{grpc_config()};
  for (int i = 0; i < 100; ++i)
    b.on_success(t0);
  CHECK(b.tokens() == 10.0);
  for (int i = 0; i < 100; ++i)
    b.on_failure(t0);
  CHECK(b.tokens() == 0.0);
  // Counted in exact thousandths: 50 successes make exactly 5.0 (still
  // throttled), the 51st makes 5.1.
  for (int i = 0; i < 50; ++i)
    b.on_success(t0);
  CHECK(b.tokens() == 5.0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  b.on_success(t0);
  CHECK(b.try_withdraw(budget_use::retry, t0));
  b.on_failure(t0);
  CHECK(b.tokens() == Approx(4.1));
}

TEST_CASE("grpc: requests alone change nothing", "[runtime][budget][grpc]") {
  retry_budget b{grpc_config(4, 1)};
  for (int i = 0; i < 10; ++i)
    b.on_request(t0);
  CHECK(b.tokens() == 4.0);
  b.on_failure(t0);
  CHECK(b.try_withdraw(budget_use::retry, t0)); // 3 > 2
  b.on_failure(t0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0)); // 2 is not > 2
}

// -- Finagle RetryBudget -----------------------------------------------------------

TEST_CASE("finagle: 100 requests pay for exactly 20 retries at 20 percent",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 0.2)};
  CHECK(b.balance(t0) == 0.0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  for (int i = 0; i < 100; ++i)
    b.on_request(t0 + milliseconds(i));
  CHECK(b.balance(t0 + seconds(1)) == 20.0);
  CHECK(withdraw_all(b, t0 + seconds(1)) == 20);
  CHECK(b.denied(budget_use::retry) == 2);
  CHECK(b.granted(budget_use::retry) == 20);
  CHECK(b.balance(t0 + seconds(1)) == 0.0);
}

TEST_CASE("finagle: success and failure reports change nothing",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 0.5)};
  for (int i = 0; i < 4; ++i)
    b.on_request(t0);
  for (int i = 0; i < 10; ++i) {
    b.on_failure(t0);
    b.on_success(t0);
  }
  CHECK(b.balance(t0) == 2.0);
  CHECK(b.tokens() == 0.0);
}

TEST_CASE("finagle: deposits expire after ttl", "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 0.2)};
  for (int i = 0; i < 100; ++i)
    b.on_request(t0);
  // Made on a slice boundary: lives exactly ttl.
  CHECK(b.balance(t0 + seconds(10) - nanoseconds(1)) == 20.0);
  CHECK(b.balance(t0 + seconds(10)) == 0.0);
  // The const query and the rolling withdrawal agree.
  CHECK(b.try_withdraw(budget_use::retry, t0 + seconds(10) - nanoseconds(1)));
  CHECK(withdraw_all(b, t0 + seconds(10)) == 0);
}

TEST_CASE(
  "finagle: a deposit made inside a slice expires at the slice boundary",
  "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 1.0)};
  // Slices are 1s long. A deposit at 0.5s into slice 0 drops out at 10s,
  // after 9.5s (more than 0.9 ttl, at most ttl).
  b.on_request(t0 + milliseconds(500));
  CHECK(b.balance(t0 + seconds(10) - nanoseconds(1)) == 1.0);
  CHECK(b.balance(t0 + seconds(10)) == 0.0);
  // Deposits spread over the window leave one slice at a time.
  retry_budget c{finagle_config(0, 1.0)};
  for (int s = 0; s < 10; ++s)
    c.on_request(t0 + seconds(s));
  for (int s = 10; s < 20; ++s) {
    auto now = t0 + seconds(s);
    CHECK(c.balance(now - nanoseconds(1)) == 20.0 - s);
    CHECK(c.balance(now) == 19.0 - s);
  }
  // Rolling forward one slice at a time (rather than asking from afar)
  // gives the same answers.
  for (int s = 10; s < 20; ++s) {
    auto now = t0 + seconds(s);
    c.on_request(now);
    CHECK(c.try_withdraw(budget_use::retry, now));
    CHECK(c.balance(now) == 19.0 - s);
  }
}

TEST_CASE("finagle: the reserve allows min_retries_per_second * ttl retries "
          "without requests",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(10, 0.2)};
  CHECK(b.balance(t0) == 100.0);
  CHECK(withdraw_all(b, t0) == 100);
  CHECK(b.balance(t0 + seconds(5)) == 0.0);
  // The withdrawals expire with the window, so the reserve is back.
  CHECK(b.balance(t0 + seconds(10) - nanoseconds(1)) == 0.0);
  CHECK(b.balance(t0 + seconds(10)) == 100.0);
  CHECK(withdraw_all(b, t0 + seconds(10)) == 100);
  // A fractional rate: 0.5/s over 10s is 5 retries.
  retry_budget half{finagle_config(0.5, 0.2)};
  CHECK(withdraw_all(half, t0) == 5);
  // 2.05/s over 60s is 123 retries, although 2.05 * 60.0 computes to
  // 122.99999999999999 in binary floating point.
  retry_budget odd{finagle_config(2.05, 0.2, seconds(60))};
  CHECK(odd.balance(t0) == 123.0);
  retry_budget odd2{finagle_config(0.29, 0.2, seconds(60))};
  CHECK(odd2.balance(t0) == 17.0);
}

TEST_CASE("finagle: requests add to the reserve",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(1, 0.1)};
  for (int i = 0; i < 50; ++i)
    b.on_request(t0);
  // 10 from the reserve (1/s * 10s) + 5 from 50 requests at 10%.
  CHECK(b.balance(t0) == 15.0);
  CHECK(withdraw_all(b, t0) == 15);
}

TEST_CASE("finagle: withdrawals outlive the deposits that paid for them",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 0.2)};
  for (int i = 0; i < 10; ++i)
    b.on_request(t0);
  CHECK(withdraw_all(b, t0 + seconds(5)) == 2);
  // The deposits are gone, the withdrawals stay until t0 + 15s: debt.
  CHECK(b.balance(t0 + seconds(10)) == -2.0);
  for (int i = 0; i < 10; ++i)
    b.on_request(t0 + seconds(10));
  CHECK(b.balance(t0 + seconds(10)) == 0.0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0 + seconds(10)));
  CHECK(b.balance(t0 + seconds(15)) == 2.0);
  CHECK(withdraw_all(b, t0 + seconds(15)) == 2);
}

TEST_CASE("finagle: percent and reserve both zero never allows anything",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 0)};
  for (int i = 0; i < 1000; ++i)
    b.on_request(t0);
  CHECK(b.balance(t0) == 0.0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  CHECK_FALSE(b.try_withdraw(budget_use::hedge, t0));
}

TEST_CASE("finagle: the withdrawal cost truncates like Finagle",
          "[runtime][budget][finagle]") {
  // 1000 / 0.3 = 3333.33 -> a retry costs 3333 units: 10 requests (10000
  // units) pay for 3 retries with 1 unit left.
  retry_budget b{finagle_config(0, 0.3)};
  for (int i = 0; i < 10; ++i)
    b.on_request(t0);
  CHECK(b.balance(t0) == 3.0);
  CHECK(withdraw_all(b, t0) == 3);
  // 2 more requests (2000 units, 2001 total) still do not cover 3333.
  b.on_request(t0);
  b.on_request(t0);
  CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  b.on_request(t0);
  b.on_request(t0);
  CHECK(b.try_withdraw(budget_use::retry, t0));
}

TEST_CASE("finagle: a clock that goes back does not move the window back",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(0, 1.0)};
  b.on_request(t0 + seconds(5));
  b.on_request(t0 + seconds(2)); // earlier: counted in the current slice
  CHECK(b.balance(t0 + seconds(14) + milliseconds(999)) == 2.0);
  CHECK(b.balance(t0 + seconds(15)) == 0.0);
}

TEST_CASE("finagle: long idle gaps and extreme time points are handled",
          "[runtime][budget][finagle]") {
  retry_budget b{finagle_config(1, 0.5)};
  b.on_request(t0);
  b.on_request(t0);
  CHECK(b.balance(t0) == 11.0);
  CHECK(b.balance(t0 + hours(24 * 365)) == 10.0);
  CHECK(withdraw_all(b, t0 + hours(24 * 365)) == 10);
  auto far = time_point::max() - nanoseconds(1);
  b.on_request(far);
  b.on_request(far);
  CHECK(b.balance(far) == 11.0);
  CHECK(b.balance(time_point::max()) == 11.0);
  b.on_request(time_point::max());
  CHECK(b.try_withdraw(budget_use::retry, time_point::max()));
  retry_budget early{finagle_config(0, 1.0)};
  early.on_request(time_point::min());
  CHECK(early.balance(time_point::min()) == 1.0);
  CHECK(early.balance(time_point::min() + seconds(10)) == 0.0);
  retry_budget negative{finagle_config(0, 1.0)};
  negative.on_request(time_point{} - milliseconds(1500));
  CHECK(negative.balance(time_point{} + seconds(8) - nanoseconds(1)) == 1.0);
  CHECK(negative.balance(time_point{} + seconds(8)) == 0.0);
}

TEST_CASE("retries and hedges draw from the same pool", "[runtime][budget]") {
  SECTION("finagle") {
    retry_budget b{finagle_config(0, 0.2)};
    for (int i = 0; i < 50; ++i)
      b.on_request(t0);
    CHECK(withdraw_all(b, t0, budget_use::retry, 5) == 5);
    CHECK(withdraw_all(b, t0, budget_use::hedge) == 5);
    CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
    CHECK(b.granted(budget_use::retry) == 5);
    CHECK(b.granted(budget_use::hedge) == 5);
    CHECK(b.denied(budget_use::retry) == 1);
    CHECK(b.denied(budget_use::hedge) == 1);
  }
  SECTION("grpc") {
    retry_budget b{grpc_config()};
    for (int i = 0; i < 5; ++i)
      b.on_failure(t0); // failures of hedges and retries alike
    CHECK_FALSE(b.try_withdraw(budget_use::hedge, t0));
    CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
  }
}

TEST_CASE("an unlimited budget always allows", "[runtime][budget]") {
  budget_config cfg;
  cfg.mode = budget_mode::unlimited;
  retry_budget b{cfg};
  b.on_failure(t0);
  CHECK(withdraw_all(b, t0, budget_use::hedge, 10000) == 10000);
  CHECK(b.denied(budget_use::hedge) == 0);
  CHECK(std::isinf(b.balance(t0)));
}

TEST_CASE("the default budget is Finagle's default", "[runtime][budget]") {
  retry_budget b;
  CHECK(b.config().mode == budget_mode::finagle);
  CHECK(b.balance(t0) == 100.0); // 10/s * 10s
  for (int i = 0; i < 100; ++i)
    b.on_request(t0);
  CHECK(b.balance(t0) == 120.0);
}

TEST_CASE("reconfiguring keeps what still makes sense", "[runtime][budget]") {
  SECTION("grpc keeps the same fraction of a new bucket size") {
    retry_budget b{grpc_config(4, 1)};
    b.on_failure(t0); // 3 of 4
    b.reconfigure(grpc_config(10, 3));
    CHECK(b.tokens() == 7.5);
    b.on_success(t0);
    CHECK(b.tokens() == 10.0);
  }
  SECTION("grpc with the same size keeps the count") {
    retry_budget b{grpc_config(10, 0.1)};
    b.on_failure(t0);
    b.reconfigure(grpc_config(10, 0.5));
    CHECK(b.tokens() == 9.0);
    b.on_success(t0);
    CHECK(b.tokens() == 9.5);
  }
  SECTION("finagle keeps its window when only the reserve changes") {
    retry_budget b{finagle_config(0, 0.2)};
    for (int i = 0; i < 100; ++i)
      b.on_request(t0);
    b.reconfigure(finagle_config(1, 0.2));
    CHECK(b.balance(t0) == 30.0);
  }
  SECTION("finagle starts afresh when ttl or percent changes") {
    retry_budget b{finagle_config(1, 0.2)};
    for (int i = 0; i < 100; ++i)
      b.on_request(t0);
    b.reconfigure(finagle_config(1, 0.2, seconds(20)));
    CHECK(b.balance(t0) == 20.0);
    for (int i = 0; i < 100; ++i)
      b.on_request(t0);
    b.reconfigure(finagle_config(1, 0.5, seconds(20)));
    CHECK(b.balance(t0) == 20.0);
  }
  SECTION("a mode change starts the new mode afresh") {
    retry_budget b{grpc_config()};
    for (int i = 0; i < 10; ++i)
      b.on_failure(t0);
    CHECK_FALSE(b.try_withdraw(budget_use::retry, t0));
    b.reconfigure(finagle_config(0, 0.2));
    CHECK(b.balance(t0) == 0.0);
    b.reconfigure(grpc_config());
    CHECK(b.tokens() == 10.0);
    CHECK(b.denied(budget_use::retry) == 1);
  }
}

TEST_CASE("finagle: random operations agree with a brute-force window model",
          "[runtime][budget][finagle]") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    duration ttl = seconds(1 + static_cast<int>(gen.below(60)));
    auto percent = gen.below(4) == 0 ? 0.0 : gen.uniform(0.01, 1.0);
    auto min_rate = gen.below(3) == 0 ? 0.0 : gen.uniform(0.0, 5.0);
    retry_budget b{finagle_config(min_rate, percent, ttl)};
    CAPTURE(to_seconds(ttl), percent, min_rate);

    // The model: every entry with the slice it was made in; the window is
    // the newest slice seen and the 9 before it.
    const auto slice = ttl.count() / 10;
    const std::int64_t deposit = percent > 0 ? 1000 : 0;
    const std::int64_t cost =
      percent > 0 ? static_cast<std::int64_t>(1000.0 / percent) : 1;
    const std::int64_t reserve =
      static_cast<std::int64_t>(std::floor(min_rate * to_seconds(ttl) + 1e-9))
      * cost;
    struct entry {
      std::int64_t slice;
      std::int64_t amount;
    };
    std::vector<entry> entries;
    std::int64_t newest = INT64_MIN;
    auto index = [&](time_point t) {
      return (t - time_point{}).count() / slice;
    };
    auto model_count = [&](std::int64_t at) {
      std::int64_t sum = reserve;
      for (auto& e : entries)
        if (e.slice > at - 10)
          sum += e.amount;
      return sum;
    };

    auto now = t0;
    for (int step = 0; step < 2000; ++step) {
      CAPTURE(step);
      switch (gen.below(8)) {
        case 0:
          now += duration{static_cast<duration::rep>(
            gen.below(static_cast<std::uint64_t>(ttl.count())))};
          break;
        case 1:
          now += duration{static_cast<duration::rep>(
            gen.below(static_cast<std::uint64_t>(slice)))};
          break;
        default:
          break;
      }
      newest = std::max(newest, index(now));
      auto op = gen.below(3);
      if (op == 0) {
        b.on_request(now);
        entries.push_back({newest, deposit});
      } else if (op == 1) {
        auto use = gen.below(2) == 0 ? budget_use::retry : budget_use::hedge;
        bool expected = model_count(newest) >= cost;
        REQUIRE(b.try_withdraw(use, now) == expected);
        if (expected)
          entries.push_back({newest, -cost});
      } else {
        auto later = now
                     + duration{static_cast<duration::rep>(
                       gen.below(static_cast<std::uint64_t>(ttl.count()) * 2))};
        auto at = std::max(newest, index(later));
        REQUIRE(b.balance(later)
                == static_cast<double>(model_count(at) / cost));
      }
    }
  }
}
