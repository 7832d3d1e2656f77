#include "bulwark/runtime/hedge/latency_quantile.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

constexpr double pi = 3.14159265358979323846;

// A standard normal variate by Box-Muller, so the samples depend only on the
// seed and not on the standard library's distributions.
double normal(rng& gen) {
  auto u1 = 1.0 - gen.uniform(); // (0, 1]
  auto u2 = gen.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * pi * u2);
}

// The exact nearest-rank quantile of `sorted`, the estimator's definition.
std::int64_t exact_quantile(const std::vector<std::int64_t>& sorted, double q) {
  auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

void check_accuracy(const char* name,
                    const std::function<std::int64_t(rng&)>& draw) {
  for (std::uint64_t seed : {1u, 7u, 42u, 2024u, 99991u}) {
    INFO(name << " seed " << seed);
    rng gen{seed};
    latency_quantile est{seconds(10)};
    std::vector<std::int64_t> samples;
    for (int i = 0; i < 50'000; ++i) {
      auto ns = std::max<std::int64_t>(1, draw(gen));
      samples.push_back(ns);
      est.record(nanoseconds(ns), t0 + microseconds(i));
    }
    std::sort(samples.begin(), samples.end());
    auto now = t0 + seconds(1);
    REQUIRE(est.samples(now) == samples.size());
    for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
      auto truth = static_cast<double>(exact_quantile(samples, q));
      auto got = static_cast<double>(est.quantile(q, now).count());
      INFO("q " << q << " exact " << truth << "ns estimate " << got << "ns");
      CHECK(std::fabs(got - truth) <= 0.03 * truth);
    }
  }
}

} // namespace

TEST_CASE("buckets tile the value range with at most 1/32 relative width",
          "[runtime][hedge]") {
  CHECK(latency_quantile::bucket_of(0) == 0);
  CHECK(latency_quantile::bucket_of(63) == 63);
  CHECK(latency_quantile::bucket_of(64) == 64);
  CHECK(latency_quantile::bucket_of(latency_quantile::max_trackable_ns)
        == latency_quantile::bucket_count - 1);
  // Consecutive buckets are adjacent: each starts where the previous ends.
  for (std::uint32_t i = 1; i < latency_quantile::bucket_count; ++i) {
    INFO("bucket " << i);
    REQUIRE(latency_quantile::bucket_low(i)
            == latency_quantile::bucket_low(i - 1)
                 + latency_quantile::bucket_width(i - 1));
    REQUIRE(latency_quantile::bucket_of(latency_quantile::bucket_low(i)) == i);
    REQUIRE(latency_quantile::bucket_of(latency_quantile::bucket_low(i) - 1)
            == i - 1);
    if (latency_quantile::bucket_low(i) >= 64)
      REQUIRE(latency_quantile::bucket_width(i) * 32
              <= latency_quantile::bucket_low(i));
  }
}

TEST_CASE("the quantile is within 3% of the exact quantile for uniform "
          "latencies",
          "[runtime][hedge]") {
  check_accuracy("uniform 1ms..50ms", [](rng& gen) {
    return static_cast<std::int64_t>(gen.uniform(1e6, 50e6));
  });
}

TEST_CASE("the quantile is within 3% of the exact quantile for log-normal "
          "latencies",
          "[runtime][hedge]") {
  check_accuracy("log-normal median 5ms sigma 1", [](rng& gen) {
    return static_cast<std::int64_t>(std::exp(std::log(5e6) + normal(gen)));
  });
}

TEST_CASE("the quantile is within 3% of the exact quantile for a bimodal "
          "mixture",
          "[runtime][hedge]") {
  // 93% fast replies around 2ms, 7% slow ones around 80ms: the 95th
  // percentile sits in the slow mode, the 90th in the fast one.
  check_accuracy("bimodal 2ms/80ms", [](rng& gen) {
    bool slow = gen.uniform() < 0.07;
    auto mean = slow ? 80e6 : 2e6;
    auto sd = slow ? 10e6 : 0.2e6;
    return static_cast<std::int64_t>(mean + sd * normal(gen));
  });
}

TEST_CASE("the estimate covers the current and the previous period only",
          "[runtime][hedge]") {
  latency_quantile est{seconds(10)};
  auto p0 = time_point{} + seconds(100); // period 10
  for (int i = 0; i < 1000; ++i)
    est.record(milliseconds(100), p0 + milliseconds(i));
  auto p1 = p0 + seconds(10);
  for (int i = 0; i < 1000; ++i)
    est.record(milliseconds(1), p1 + milliseconds(i));
  // Both periods count: half the samples are slow.
  CHECK(est.samples(p1 + seconds(5)) == 2000);
  CHECK(est.quantile(0.95, p1 + seconds(5)) > milliseconds(95));
  // One period later the slow period is forgotten.
  auto p2 = p1 + seconds(10);
  CHECK(est.samples(p2) == 1000);
  CHECK(est.quantile(0.95, p2) < milliseconds(2));
  CHECK(est.quantile(0.95, p2) >= microseconds(980));
  // Another period later nothing is left.
  auto p3 = p2 + seconds(10);
  CHECK(est.samples(p3) == 0);
  CHECK(est.quantile(0.95, p3) == duration{0});
  // The boundary is exact: the last nanosecond of period 2 still sees period 1.
  CHECK(est.samples(p3 - nanoseconds(1)) == 1000);
}

TEST_CASE("recording after a gap of several periods starts from nothing",
          "[runtime][hedge]") {
  latency_quantile est{seconds(1)};
  for (int i = 0; i < 100; ++i)
    est.record(milliseconds(50), t0);
  auto later = t0 + seconds(5);
  est.record(milliseconds(3), later);
  CHECK(est.samples(later) == 1);
  CHECK(est.quantile(0.5, later) >= milliseconds(3) - microseconds(100));
  CHECK(est.quantile(0.5, later) <= milliseconds(3) + microseconds(100));
}

TEST_CASE("a clock that goes backwards does not wipe newer samples",
          "[runtime][hedge]") {
  latency_quantile est{seconds(1)};
  est.record(milliseconds(5), t0 + seconds(3));
  est.record(milliseconds(5), t0 + seconds(2));
  CHECK(est.samples(t0 + seconds(3)) == 2);
}

TEST_CASE("out-of-range latencies are clamped and quantiles are clamped to "
          "0..1",
          "[runtime][hedge]") {
  latency_quantile est{seconds(1)};
  est.record(-milliseconds(5), t0);
  est.record(hours(2), t0);
  CHECK(est.quantile(0.0, t0) == duration{0});
  CHECK(est.quantile(-1.0, t0) == duration{0});
  auto top = est.quantile(1.0, t0);
  CHECK(top == est.quantile(7.0, t0));
  CHECK(top > minutes(17));
  CHECK(top <= nanoseconds(latency_quantile::max_trackable_ns));
  est.reset();
  CHECK(est.samples(t0) == 0);
}

TEST_CASE("small latencies are exact", "[runtime][hedge]") {
  latency_quantile est{seconds(1)};
  for (int ns = 1; ns <= 60; ++ns)
    est.record(nanoseconds(ns), t0);
  CHECK(est.quantile(0.5, t0) == nanoseconds(30));
  CHECK(est.quantile(1.0, t0) == nanoseconds(60));
  CHECK(est.quantile(0.01, t0) == nanoseconds(1));
}

TEST_CASE("quantiles never decrease as q grows across the two scan directions",
          "[runtime][hedge]") {
  std::uint64_t seed = 314;
  INFO("seed " << seed);
  rng gen{seed};
  latency_quantile est{seconds(10)};
  std::vector<std::int64_t> samples;
  for (int i = 0; i < 2001; ++i) {
    auto ns = static_cast<std::int64_t>(std::exp(gen.uniform(5.0, 20.0)));
    samples.push_back(ns);
    est.record(nanoseconds(ns), t0);
  }
  std::sort(samples.begin(), samples.end());
  duration previous{0};
  for (int step = 0; step <= 1000; ++step) {
    auto q = step / 1000.0;
    auto got = est.quantile(q, t0);
    INFO("q " << q);
    CHECK(got >= previous);
    // Every rank lands in the bucket of the exact sample of that rank.
    auto exact = exact_quantile(samples, q);
    auto bucket = latency_quantile::bucket_of(exact);
    CHECK(got.count() >= latency_quantile::bucket_low(bucket));
    CHECK(got.count() < latency_quantile::bucket_low(bucket)
                          + latency_quantile::bucket_width(bucket));
    previous = got;
  }
}
