// The `tail` benchmark's model and driver (bench/scenarios/tail.hpp): the
// latency mixture against its closed form and the paper's anchors (A1, A3 of
// research/perf-anchors.md), and small runs of fan-outs through the real
// supervisor_core: hedges fire exactly for the sub-requests still out at the
// delay, the p99.9 drops by far more than 5x for about 2% extra load, and
// the same seed gives the same results. Virtual time throughout; this file
// lives here (not under tests/bench/) because only tests/runtime and
// tests/actors are globbed into test executables.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "bench/scenarios/tail.hpp"

using namespace bulwark;
using namespace bulwark::bench;

namespace {

tail_run_config quick(std::uint32_t max_hedges, std::uint64_t seed = 1) {
  tail_run_config cfg;
  cfg.requests = 2000;
  cfg.max_hedges = max_hedges;
  cfg.seed = seed;
  return cfg;
}

} // namespace

TEST_CASE("the latency mixture's closed form gives the anchors of the Tail at "
          "Scale model",
          "[runtime][supervise][tail]") {
  tail_mixture m;
  // A hedge at 10 ms goes for the sub-requests slower than 10 ms: ~1.97%.
  CHECK(tail_exceedance(m, 10.0) == Approx(0.0197).margin(0.0003));
  // Only the Pareto part reaches beyond 64 ms (the log-normal's share there
  // is ~1e-11).
  CHECK(tail_exceedance(m, 64.0) == Approx(0.003).epsilon(1e-6));
  CHECK(tail_exceedance(m, 128.0)
        == Approx(0.003 * std::pow(0.5, 1.71)).epsilon(1e-6));
  // perf-anchors.md §1.4 table: 1,797.5 ms unhedged, 70.2 ms with one hedge
  // at 10 ms, 26.5 ms with two.
  CHECK(analytic_fanout_quantile_ms(m, 100, 0, 10.0, 0.999)
        == Approx(1797.5).epsilon(0.002));
  CHECK(analytic_fanout_quantile_ms(m, 100, 1, 10.0, 0.999)
        == Approx(70.2).epsilon(0.002));
  CHECK(analytic_fanout_quantile_ms(m, 100, 2, 10.0, 0.999)
        == Approx(26.5).epsilon(0.004));
  CHECK(analytic_fanout_quantile_ms(m, 100, 0, 10.0, 0.5)
        == Approx(47.8).epsilon(0.002));
}

TEST_CASE("draws follow the mixture's closed form",
          "[runtime][supervise][tail]") {
  tail_mixture m;
  std::uint64_t seed = 7;
  INFO("seed " << seed);
  rng gen{seed};
  const int n = 400000;
  int over3 = 0, over10 = 0, over64 = 0, over640 = 0;
  double smallest = 1e9;
  for (int i = 0; i < n; ++i) {
    auto x = draw_latency_ms(m, gen);
    smallest = std::min(smallest, x);
    over3 += x > 3.0;
    over10 += x > 10.0;
    over64 += x > 64.0;
    over640 += x > 640.0;
  }
  CHECK(smallest > 0);
  auto frac = [n](int k) { return static_cast<double>(k) / n; };
  // Tolerances are about 4 standard errors.
  CHECK(frac(over3) == Approx(tail_exceedance(m, 3.0)).margin(0.004));
  CHECK(frac(over10) == Approx(tail_exceedance(m, 10.0)).margin(0.001));
  CHECK(frac(over64) == Approx(tail_exceedance(m, 64.0)).margin(0.00035));
  CHECK(frac(over640) == Approx(tail_exceedance(m, 640.0)).margin(0.00007));
}

TEST_CASE("fan-out math: 1% slow sub-requests make 63% of 100-way fan-outs "
          "slow (anchor A3)",
          "[runtime][supervise][tail]") {
  CHECK(1 - std::pow(0.99, 100) == Approx(0.634).margin(0.0005));
  CHECK(1 - std::pow(0.9999, 2000) == Approx(0.181).margin(0.0005));
  // The same through the simulator: the latency x with P(X > x) = 1% (inside
  // the uniform band, ~34.9 ms), then the share of unhedged fan-outs slower.
  tail_mixture m;
  double lo = 10, hi = 64;
  for (int i = 0; i < 100; ++i) {
    auto mid = (lo + hi) / 2;
    (tail_exceedance(m, mid) > 0.01 ? lo : hi) = mid;
  }
  CHECK(lo == Approx(34.92).margin(0.05));
  auto cfg = quick(0, 3);
  INFO("seed " << cfg.seed);
  auto r = run_tail(cfg);
  std::uint64_t slow = 0;
  for (auto ms : r.fanout_ms)
    slow += ms > lo;
  // 2,000 fan-outs: standard error 0.011.
  CHECK(static_cast<double>(slow) / r.fanout_ms.size()
        == Approx(1 - std::pow(0.99, 100)).margin(0.045));
}

TEST_CASE("hedging through the supervisor core cuts the fan-out p99.9 for "
          "about 2% extra sub-requests",
          "[runtime][supervise][tail]") {
  std::uint64_t seed = GENERATE(1, 2);
  INFO("seed " << seed);
  auto plain = run_tail(quick(0, seed));
  auto hedged = run_tail(quick(1, seed));
  for (auto* r : {&plain, &hedged}) {
    CHECK(r->requests == 2000);
    CHECK(r->fanout_ms.size() == 2000);
    CHECK(r->sub_requests == 200000);
    CHECK(r->failed == 0);
    CHECK(r->late_results == 0);
    CHECK(r->hedges_denied_budget == 0);
    CHECK(r->attempts == r->sub_requests + r->hedges);
  }
  CHECK(plain.hedges == 0);
  CHECK(plain.cancels == 0);
  // A hedge goes exactly for the sub-requests whose first attempt is still
  // out at 10 ms (with one hedge, those and only those end after 10 ms), and
  // every hedge leaves one loser to cancel.
  CHECK(hedged.hedges == hedged.sub_requests_over_delay);
  CHECK(hedged.cancels == hedged.hedges);
  CHECK(hedged.extra_load() == Approx(0.0197).margin(0.0015));
  CHECK(hedged.hedges_won > 0);
  CHECK(hedged.hedges_won < hedged.hedges);
  // The first attempts are the same draws in both runs, so no fan-out gets
  // slower by hedging.
  for (std::size_t i = 0; i < plain.fanout_ms.size(); ++i) {
    INFO("request " << i);
    REQUIRE(hedged.fanout_ms[i] <= plain.fanout_ms[i]);
  }
  auto gain = nearest_rank(plain.fanout_ms, 0.999)
              / nearest_rank(hedged.fanout_ms, 0.999);
  CAPTURE(nearest_rank(plain.fanout_ms, 0.999),
          nearest_rank(hedged.fanout_ms, 0.999));
  CHECK(gain > 5);
  // Medians (tight with 2,000 samples) agree with the closed form.
  tail_mixture m;
  CHECK(
    nearest_rank(plain.fanout_ms, 0.5)
    == Approx(analytic_fanout_quantile_ms(m, 100, 0, 10, 0.5)).epsilon(0.05));
  CHECK(
    nearest_rank(hedged.fanout_ms, 0.5)
    == Approx(analytic_fanout_quantile_ms(m, 100, 1, 10, 0.5)).epsilon(0.05));
}

TEST_CASE("a second hedge to a third replica goes at twice the delay",
          "[runtime][supervise][tail]") {
  std::uint64_t seed = 5;
  INFO("seed " << seed);
  auto two = run_tail(quick(2, seed));
  CHECK(two.failed == 0);
  CHECK(two.late_results == 0);
  CHECK(two.attempts == two.sub_requests + two.hedges);
  // First hedges ~1.97% of sub-requests, second ones P(X1 > 20) P(X2 > 10)
  // ~ 1.5% x 2% on top.
  CHECK(two.extra_load() == Approx(0.0200).margin(0.0015));
  CHECK(two.hedges > two.sub_requests_over_delay);
  tail_mixture m;
  CHECK(
    nearest_rank(two.fanout_ms, 0.5)
    == Approx(analytic_fanout_quantile_ms(m, 100, 2, 10, 0.5)).epsilon(0.05));
  CHECK(nearest_rank(two.fanout_ms, 0.999) < 40);
}

TEST_CASE("the same seed gives the same run and another seed a different one",
          "[runtime][supervise][tail]") {
  auto a = run_tail(quick(1, 11));
  auto b = run_tail(quick(1, 11));
  auto c = run_tail(quick(1, 12));
  CHECK(a.fanout_ms == b.fanout_ms);
  CHECK(a.hedges == b.hedges);
  CHECK(a.hedges_won == b.hedges_won);
  CHECK(a.cancels == b.cancels);
  CHECK(a.fanout_ms != c.fanout_ms);
}

TEST_CASE(
  "the model's supervisor document is accepted by the configuration parser",
  "[runtime][supervise][tail]") {
  for (std::uint32_t hedges : {0u, 1u, 2u}) {
    INFO("max_hedges " << hedges);
    auto cfg = tail_supervisor_config(hedges, milliseconds(10));
    CHECK(cfg.members.size() == std::max<std::size_t>(2, hedges + 1));
    CHECK(cfg.hedge.enabled == (hedges > 0));
    CHECK_FALSE(cfg.outlier_detection.enabled);
    if (hedges > 0) {
      CHECK(cfg.hedge.max_hedges == hedges);
      CHECK(cfg.hedge.delay == milliseconds(10));
      CHECK(cfg.hedge.delay_kind == hedge_delay_kind::fixed);
    }
  }
}
