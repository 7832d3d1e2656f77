#include "bulwark/runtime/metrics/log_linear_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

using hist = log_linear_histogram;

// The nearest-rank quantile of `sorted`: the ceil(q * n)-th smallest sample.
std::int64_t exact_quantile(const std::vector<std::int64_t>& sorted, double q) {
  auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

double relative_error(std::int64_t got, std::int64_t want) {
  if (want == 0)
    return got == 0 ? 0.0 : 1.0;
  return std::fabs(static_cast<double>(got - want)) / static_cast<double>(want);
}

} // namespace

TEST_CASE("values below 2048 ns are counted exactly and every bucket above "
          "is at most 1/1024 of its lower bound wide",
          "[runtime][metrics][log_linear]") {
  for (std::int64_t v : {0, 1, 2, 1000, 2047})
    CHECK(hist::lowest_in(hist::index_of(v)) == v);
  std::size_t previous = 0;
  for (std::size_t i = 1; i < hist::bucket_count(); ++i) {
    auto lo = hist::lowest_in(i);
    auto hi = hist::highest_in(i);
    REQUIRE(lo == hist::highest_in(i - 1) + 1); // contiguous, no gaps
    REQUIRE(hist::index_of(lo) == i);
    REQUIRE(hist::index_of(hi) == i);
    REQUIRE(static_cast<double>(hi - lo + 1)
            <= static_cast<double>(lo) / 1024.0 + 1.0);
    previous = i;
  }
  CHECK(hist::highest_in(previous) == hist::max_value);
}

TEST_CASE("quantiles of a log-normal sample with a slow tail are within "
          "0.05% of the exact sample quantiles from p50 to p99.99",
          "[runtime][metrics][log_linear]") {
  auto seed = GENERATE(1u, 7u, 42u);
  INFO("seed " << seed);
  rng gen{seed};
  latency_config cfg;
  cfg.kind = latency_kind::mixture;
  latency_config body;
  body.kind = latency_kind::log_normal;
  body.median = milliseconds(10);
  body.sigma = 0.6;
  body.weight = 99;
  latency_config tail;
  tail.kind = latency_kind::uniform;
  tail.min = seconds(1);
  tail.max = seconds(2);
  tail.weight = 1;
  cfg.parts = {body, tail};
  hist h;
  std::vector<std::int64_t> samples;
  for (int i = 0; i < 200'000; ++i) {
    auto v = draw_latency(cfg, gen).count();
    samples.push_back(v);
    h.record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.75, 0.9, 0.99, 0.999, 0.9999}) {
    INFO("q " << q);
    CHECK(relative_error(h.value_at_quantile(q), exact_quantile(samples, q))
          <= hist::max_relative_error);
  }
  CHECK(h.min() == samples.front());
  CHECK(h.max() == samples.back());
  CHECK(h.value_at_quantile(0.0) == samples.front());
  CHECK(h.value_at_quantile(1.0) == samples.back());
  CHECK(h.count() == samples.size());
  double sum = 0;
  for (auto v : samples)
    sum += static_cast<double>(v);
  CHECK(h.mean() == Approx(sum / static_cast<double>(samples.size())));
}

TEST_CASE("merging two histograms equals recording everything into one, and "
          "reset forgets everything",
          "[runtime][metrics][log_linear]") {
  hist a;
  hist b;
  hist all;
  rng gen{3};
  for (int i = 0; i < 10'000; ++i) {
    auto v = static_cast<std::int64_t>(gen.below(5'000'000'000));
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  CHECK(a.mean() == Approx(all.mean()));
  for (double q : {0.1, 0.5, 0.99, 0.999})
    CHECK(a.value_at_quantile(q) == all.value_at_quantile(q));
  a.reset();
  CHECK(a.count() == 0);
  CHECK(a.value_at_quantile(0.5) == 0);
  CHECK(a.max() == 0);
}

TEST_CASE("negative values count as zero and values above the range are "
          "clamped and counted",
          "[runtime][metrics][log_linear]") {
  hist h;
  h.record(-5);
  h.record(hist::max_value + 1000, 3);
  CHECK(h.count() == 4);
  CHECK(h.min() == 0);
  CHECK(h.max() == hist::max_value);
  CHECK(h.clamped() == 3);
  CHECK(h.count_at_or_below(0) == 1);
  CHECK(h.count_at_or_below(hist::max_value) == 4);
}

TEST_CASE("an empty histogram answers zero for every statistic",
          "[runtime][metrics][log_linear]") {
  hist h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.value_at_quantile(0.99) == 0);
}
