#include "bulwark/runtime/hedge/hedge_policy.hpp"

#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "tests/support/counting_new.hpp"

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

hedge_config quantile_config() {
  hedge_config cfg;
  cfg.enabled = true;
  cfg.delay_kind = hedge_delay_kind::quantile;
  cfg.delay = milliseconds(10);
  cfg.quantile = 0.95;
  cfg.min_delay = milliseconds(1);
  cfg.max_hedges = 2;
  cfg.min_samples = 100;
  cfg.window = seconds(10);
  return cfg;
}

// Records n latencies spread evenly over [lo, hi] at `now`.
void record_spread(hedge_policy& policy, int n, duration lo, duration hi,
                   time_point now) {
  for (int i = 0; i < n; ++i)
    policy.record_latency(lo + (hi - lo) * i / (n - 1), now);
}

} // namespace

TEST_CASE("a fixed delay spaces hedges evenly", "[runtime][hedge]") {
  auto cfg = quantile_config();
  cfg.delay_kind = hedge_delay_kind::fixed;
  cfg.delay = milliseconds(25);
  hedge_policy policy{cfg};
  record_spread(policy, 1000, milliseconds(1), milliseconds(2), t0);
  CHECK_FALSE(policy.using_quantile(t0));
  CHECK(policy.hedge_delay(0, t0) == duration{0});
  CHECK(policy.hedge_delay(1, t0) == milliseconds(25));
  CHECK(policy.hedge_delay(2, t0) == milliseconds(50));
  CHECK(policy.hedge_delay(4, t0) == milliseconds(100));
}

TEST_CASE("the quantile delay falls back to the fixed delay below min_samples",
          "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  CHECK(policy.hedge_delay(1, t0) == milliseconds(10));
  record_spread(policy, 99, milliseconds(100), milliseconds(200), t0);
  CHECK_FALSE(policy.using_quantile(t0));
  CHECK(policy.hedge_delay(1, t0) == milliseconds(10));
  policy.record_latency(milliseconds(150), t0);
  CHECK(policy.using_quantile(t0));
  // The 95th percentile of 100..200ms is about 195ms.
  auto d = policy.hedge_delay(1, t0);
  CHECK(d >= milliseconds(190));
  CHECK(d <= milliseconds(200));
  CHECK(policy.hedge_delay(2, t0) == 2 * d);
}

TEST_CASE("a measured quantile below min_delay is raised to it",
          "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  record_spread(policy, 500, microseconds(50), microseconds(200), t0);
  CHECK(policy.using_quantile(t0));
  CHECK(policy.hedge_delay(1, t0) == milliseconds(1));
  CHECK(policy.hedge_delay(3, t0) == milliseconds(3));
}

TEST_CASE("the hedge delay follows recent latencies and forgets old ones",
          "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  record_spread(policy, 200, milliseconds(40), milliseconds(60), t0);
  auto slow = policy.hedge_delay(1, t0);
  CHECK(slow >= milliseconds(55));
  // Two windows later only the new, faster latencies remain.
  auto later = t0 + seconds(20);
  record_spread(policy, 200, milliseconds(4), milliseconds(6), later);
  auto fast = policy.hedge_delay(1, later);
  CHECK(fast <= milliseconds(6));
  CHECK(fast >= milliseconds(5));
  // And with no samples at all, back to the configured delay.
  CHECK(policy.hedge_delay(1, later + seconds(30)) == milliseconds(10));
}

TEST_CASE("an unsafe operation is never hedged", "[runtime][hedge]") {
  auto cfg = quantile_config();
  cfg.max_hedges = 4;
  hedge_policy policy{cfg};
  for (std::uint32_t sent = 0; sent < 6; ++sent)
    CHECK_FALSE(policy.should_hedge(sent, idempotency::unsafe));
  CHECK_FALSE(hedge_allowed(cfg, idempotency::unsafe));
  CHECK(hedge_allowed(cfg, idempotency::keyed));
  CHECK(hedge_allowed(cfg, idempotency::idempotent));
  cfg.enabled = false;
  CHECK(hedge_allowed(cfg, idempotency::unsafe));
}

TEST_CASE("hedges stop at max_hedges and when disabled", "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  for (auto op : {idempotency::idempotent, idempotency::keyed}) {
    INFO(to_string(op));
    CHECK(policy.should_hedge(0, op));
    CHECK(policy.should_hedge(1, op));
    CHECK_FALSE(policy.should_hedge(2, op));
  }
  hedge_policy off{hedge_config{}};
  CHECK_FALSE(off.should_hedge(0, idempotency::idempotent));
}

TEST_CASE("a hedge delay too large to represent saturates",
          "[runtime][hedge]") {
  auto cfg = quantile_config();
  cfg.delay_kind = hedge_delay_kind::fixed;
  cfg.delay = hours(1);
  hedge_policy policy{cfg};
  CHECK(policy.hedge_delay(4, t0) == hours(4));
  CHECK(policy.hedge_delay(UINT32_MAX, t0) == duration::max());
}

TEST_CASE("reconfigure keeps latencies unless the window changes",
          "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  record_spread(policy, 200, milliseconds(40), milliseconds(60), t0);
  auto cfg = quantile_config();
  cfg.quantile = 0.5;
  policy.reconfigure(cfg);
  CHECK(policy.latencies().samples(t0) == 200);
  CHECK(policy.hedge_delay(1, t0) <= milliseconds(51));
  cfg.window = seconds(30);
  policy.reconfigure(cfg);
  CHECK(policy.latencies().samples(t0) == 0);
  CHECK(policy.latencies().period() == seconds(30));
  CHECK(policy.config().window == seconds(30));
}

TEST_CASE("recording latencies and computing hedge delays do not allocate",
          "[runtime][hedge]") {
  hedge_policy policy{quantile_config()};
  rng gen{5};
  auto before = bulwark::testing::allocations();
  duration total{0};
  for (int i = 0; i < 10'000; ++i) {
    auto now = t0 + milliseconds(i * 3); // crosses several windows
    policy.record_latency(
      microseconds(static_cast<std::int64_t>(gen.uniform(100.0, 20'000.0))),
      now);
    total += policy.hedge_delay(1 + static_cast<std::uint32_t>(i % 2), now);
  }
  auto after = bulwark::testing::allocations();
  CHECK(after == before);
  CHECK(total > duration{0});
}
