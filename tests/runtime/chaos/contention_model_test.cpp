#include "bulwark/runtime/chaos/contention_model.hpp"

#include <algorithm>
#include <cstdint>

#include <catch2/catch.hpp>

#include "bulwark/runtime/retry/backoff.hpp"

using namespace bulwark;

namespace {

struct mean_result {
  double calls = 0;
  double completion_ms = 0;
};

contention_config make_config(jitter_kind jitter, bool budgeted = false) {
  contention_config cfg;
  cfg.backoff = aws_backoff_config(jitter);
  cfg.budgeted = budgeted;
  // The budget of the `jitter` scenario's full_budget mode.
  cfg.budget.mode = budget_mode::finagle;
  cfg.budget.ttl = seconds(1);
  cfg.budget.min_retries_per_second = 5;
  cfg.budget.percent_can_retry = 0.2;
  return cfg;
}

mean_result run(const contention_config& cfg, std::uint64_t seed, int runs) {
  rng gen{seed};
  mean_result result;
  for (int i = 0; i < runs; ++i) {
    auto r = simulate_contention(cfg, gen);
    result.calls += static_cast<double>(r.calls);
    result.completion_ms += to_seconds(r.completion) * 1000.0;
  }
  result.calls /= runs;
  result.completion_ms /= runs;
  return result;
}

} // namespace

TEST_CASE("the AWS backoff matches the blog's formula",
          "[runtime][chaos][contention]") {
  auto cfg = aws_backoff_config(jitter_kind::none);
  // min(cap, 5ms * 2^n) for n = 1, 2, ... failures.
  for (std::uint32_t n = 1; n <= 12; ++n) {
    INFO("n " << n);
    CHECK(base_delay(cfg, n)
          == std::min<duration>(seconds(2), milliseconds(5) * (1 << n)));
  }
  // Decorrelated jitter starts from, and never goes below, the blog's 5ms.
  CHECK(aws_backoff_config(jitter_kind::decorrelated).base == milliseconds(5));
  CHECK(aws_backoff_config(jitter_kind::full).cap == seconds(2));
}

TEST_CASE("a lone client writes once after four hops",
          "[runtime][chaos][contention]") {
  auto cfg = make_config(jitter_kind::full);
  cfg.clients = 1;
  cfg.network_sd = duration::zero();
  rng gen{1};
  auto r = simulate_contention(cfg, gen);
  CHECK(r.calls == 1);
  CHECK(r.conflicts == 0);
  CHECK(r.completion == milliseconds(40));
}

TEST_CASE("the contention model replays from its seed",
          "[runtime][chaos][contention]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    auto cfg = make_config(jitter_kind::decorrelated, true);
    rng a{seed};
    rng b{seed};
    auto x = simulate_contention(cfg, a);
    auto y = simulate_contention(cfg, b);
    CHECK(x.calls == y.calls);
    CHECK(x.conflicts == y.conflicts);
    CHECK(x.budget_denials == y.budget_denials);
    CHECK(x.completion == y.completion);
    CHECK(x.calls == x.conflicts + cfg.clients);
  }
}

TEST_CASE("the contention model reproduces the blog within 10 percent",
          "[runtime][chaos][contention]") {
  // perf-anchors.md §2.1: 100 clients, 100 runs per cell, independent
  // re-implementation: none 1,841 calls / 62,719 ms, full 795 / 4,915,
  // equal 812 / 6,605, decorrelated 1,003 / 4,586.
  std::uint64_t seed = 1;
  INFO("seed " << seed);
  auto none = run(make_config(jitter_kind::none), seed, 100);
  auto full = run(make_config(jitter_kind::full), seed, 100);
  auto equal = run(make_config(jitter_kind::equal), seed, 100);
  auto decorrelated = run(make_config(jitter_kind::decorrelated), seed, 100);
  CHECK(none.calls == Approx(1841).epsilon(0.1));
  CHECK(none.completion_ms == Approx(62719).epsilon(0.1));
  CHECK(full.calls == Approx(795).epsilon(0.1));
  CHECK(full.completion_ms == Approx(4915).epsilon(0.1));
  CHECK(equal.calls == Approx(812).epsilon(0.1));
  CHECK(equal.completion_ms == Approx(6605).epsilon(0.1));
  CHECK(decorrelated.calls == Approx(1003).epsilon(0.1));
  CHECK(decorrelated.completion_ms == Approx(4586).epsilon(0.1));
  // The blog's claims.
  CHECK(full.calls < none.calls / 2);
  CHECK(full.completion_ms < none.completion_ms);
  CHECK(decorrelated.calls > full.calls);
  CHECK(equal.completion_ms > full.completion_ms);
}

TEST_CASE("a retry budget saves calls at a bounded cost in time",
          "[runtime][chaos][contention]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    auto full = run(make_config(jitter_kind::full), seed, 100);
    auto budgeted = run(make_config(jitter_kind::full, true), seed, 100);
    CHECK(budgeted.calls < full.calls * 0.95);
    CHECK(budgeted.completion_ms <= full.completion_ms * 1.2);
  }
}
