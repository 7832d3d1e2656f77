#include "bulwark/runtime/metrics/latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"
#include "tests/support/counting_new.hpp"

using namespace bulwark;

namespace {

using hist = latency_histogram;

// The nearest-rank quantile of `sorted`: the ceil(q * n)-th smallest sample.
std::int64_t exact_quantile(const std::vector<std::int64_t>& sorted, double q) {
  auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

} // namespace

TEST_CASE("the buckets run from 50 microseconds to 60 seconds, increasing by "
          "at most a factor of two",
          "[runtime][metrics]") {
  CHECK(hist::bounds_ns.front() == 50'000);
  CHECK(hist::bounds_ns.back() == 60'000'000'000);
  CHECK(hist::bound_seconds(0) == 0.00005);
  CHECK(hist::bound_seconds(hist::bound_count - 1) == 60.0);
  for (std::size_t i = 1; i < hist::bound_count; ++i) {
    INFO("bound " << i);
    CHECK(hist::bounds_ns[i] > hist::bounds_ns[i - 1]);
    CHECK(hist::bounds_ns[i] <= 2 * hist::bounds_ns[i - 1]);
  }
}

TEST_CASE("a value equal to a bound falls in that bound's bucket, one "
          "nanosecond more in the next",
          "[runtime][metrics]") {
  CHECK(hist::bucket_of(0) == 0);
  CHECK(hist::bucket_of(-5) == 0);
  for (std::size_t i = 0; i < hist::bound_count; ++i) {
    INFO("bound " << i);
    CHECK(hist::bucket_of(hist::bounds_ns[i]) == i);
    CHECK(hist::bucket_of(hist::bounds_ns[i] + 1) == i + 1);
    CHECK(hist::bucket_of(hist::bounds_ns[i] - 1) == i);
  }
  CHECK(hist::bucket_of(hist::max_recorded_ns) == hist::bound_count);
  CHECK(hist::bucket_of(INT64_MAX) == hist::bound_count);
}

TEST_CASE("recording counts observations per bucket and sums them in seconds",
          "[runtime][metrics]") {
  hist h;
  CHECK(h.count() == 0);
  CHECK(h.sum() == 0.0);
  h.record(microseconds(40)); // bucket 0 (<= 50us)
  h.record(microseconds(50)); // bucket 0 (le is inclusive)
  h.record(milliseconds(1)); // bucket 5 (<= 1ms)
  h.record(milliseconds(250)); // bucket 15 (<= 300ms)
  h.record(seconds(90)); // overflow
  h.record(nanoseconds(-3)); // counts as 0
  CHECK(h.count() == 6);
  CHECK(h.bucket(0) == 3);
  CHECK(h.bucket(5) == 1);
  CHECK(h.bucket(15) == 1);
  CHECK(h.bucket(hist::bound_count) == 1);
  CHECK(h.cumulative(0) == 3);
  CHECK(h.cumulative(4) == 3);
  CHECK(h.cumulative(5) == 4);
  CHECK(h.cumulative(14) == 4);
  CHECK(h.cumulative(15) == 5);
  CHECK(h.cumulative(hist::bound_count - 1) == 5);
  CHECK(h.cumulative(hist::bound_count) == 6);
  CHECK(h.sum()
        == Approx(0.00004 + 0.00005 + 0.001 + 0.25 + 90.0).epsilon(1e-12));
  h.reset();
  CHECK(h == hist{});
}

TEST_CASE("a huge duration counts as the recording limit and keeps the sum "
          "exact",
          "[runtime][metrics]") {
  hist h;
  h.record(hours(24 * 365));
  CHECK(h.count() == 1);
  CHECK(h.bucket(hist::bound_count) == 1);
  CHECK(h.sum() == Approx(static_cast<double>(hist::max_recorded_ns) / 1e9));
  // Enough of them to pass the fold of the exact sum (1e18 ns) many times;
  // a nanosecond added afterwards is still counted.
  hist big;
  for (int i = 0; i < 2000; ++i)
    big.record(nanoseconds(hist::max_recorded_ns));
  auto before = big.sum();
  CHECK(before
        == Approx(2000.0 * static_cast<double>(hist::max_recorded_ns) / 1e9)
             .epsilon(1e-12));
  hist tiny;
  tiny.record(milliseconds(3));
  big.merge(tiny);
  CHECK(big.sum() - before == Approx(0.003).epsilon(1e-3));
}

TEST_CASE("the quantile interpolates linearly inside its bucket like "
          "histogram_quantile",
          "[runtime][metrics]") {
  hist h;
  CHECK(h.quantile(0.5) == duration{0});
  // 100 values in (1ms, 2ms]: rank 50 is half-way through that bucket.
  for (int i = 0; i < 100; ++i)
    h.record(microseconds(1500));
  CHECK(h.quantile(0.5) == microseconds(1500));
  CHECK(h.quantile(0.25) == microseconds(1250));
  CHECK(h.quantile(1.0) == milliseconds(2));
  CHECK(h.quantile(7.0) == milliseconds(2)); // clamped
  CHECK(h.quantile(0.0) == milliseconds(1)); // lowest non-empty bucket
  // 100 more in the first bucket: its lower bound is 0.
  for (int i = 0; i < 100; ++i)
    h.record(microseconds(10));
  CHECK(h.quantile(0.25) == microseconds(25));
  CHECK(h.quantile(0.75) == microseconds(1500));
  // A rank in the overflow bucket reports the highest bound.
  hist slow;
  slow.record(seconds(100));
  CHECK(slow.quantile(0.99) == seconds(60));
}

TEST_CASE("quantile estimates land in the bucket of the true quantile",
          "[runtime][metrics]") {
  for (std::uint64_t seed : {1u, 7u, 42u, 2024u}) {
    INFO("seed " << seed);
    rng gen{seed};
    hist h;
    std::vector<std::int64_t> samples;
    for (int i = 0; i < 20'000; ++i) {
      // Log-uniform between 20us and 100s: every bucket gets some.
      auto ns = static_cast<std::int64_t>(
        std::exp(gen.uniform(std::log(2e4), std::log(1e11))));
      samples.push_back(ns);
      h.record(nanoseconds(ns));
    }
    std::sort(samples.begin(), samples.end());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
      auto truth = exact_quantile(samples, q);
      auto est = h.quantile(q).count();
      INFO("q " << q << " exact " << truth << "ns estimate " << est << "ns");
      auto b = hist::bucket_of(truth);
      auto lower = b == 0 ? 0 : hist::bounds_ns[b - 1];
      auto upper =
        b < hist::bound_count ? hist::bounds_ns[b] : hist::bounds_ns.back();
      if (b == hist::bound_count)
        CHECK(est == upper);
      else {
        CHECK(est >= lower);
        CHECK(est <= upper);
      }
    }
  }
}

TEST_CASE("merging gives what recording everything into one would",
          "[runtime][metrics]") {
  rng gen{11};
  hist a;
  hist b;
  hist all;
  for (int i = 0; i < 5000; ++i) {
    auto d = nanoseconds(static_cast<std::int64_t>(gen.below(80'000'000'000)));
    (i % 3 == 0 ? a : b).record(d);
    all.record(d);
  }
  auto merged = a;
  merged.merge(b);
  CHECK(merged == all);
  CHECK(merged.count() == 5000);
}

TEST_CASE("recording never allocates", "[runtime][metrics]") {
  hist h;
  auto before = testing::allocations();
  for (int i = 0; i < 10'000; ++i)
    h.record(microseconds(i * 37));
  CHECK(testing::allocations() == before);
  CHECK(h.count() == 10'000);
}

TEST_CASE("the JSON form round-trips through text", "[runtime][metrics]") {
  hist h;
  for (int i = 1; i <= 300; ++i)
    h.record(microseconds(i * i * 7));
  h.record(seconds(75));
  auto text = boost::json::serialize(to_json(h));
  auto doc = boost::json::parse(text);
  CHECK(doc.at("count").to_number<std::uint64_t>() == 301);
  CHECK(doc.at("bounds").as_array().size() == hist::bound_count);
  CHECK(doc.at("cumulative").as_array().back().to_number<std::uint64_t>()
        == 300);
  CHECK(doc.at("quantiles").at("0.5").to_number<double>()
        == Approx(to_seconds(h.quantile(0.5))));
  hist back;
  REQUIRE(from_json(doc, back));
  CHECK(back == h);
  // An empty histogram too.
  hist empty_back;
  empty_back.record(seconds(1));
  REQUIRE(from_json(boost::json::parse(boost::json::serialize(to_json(hist{}))),
                    empty_back));
  CHECK(empty_back == hist{});
}

TEST_CASE("reading a malformed histogram fails and changes nothing",
          "[runtime][metrics]") {
  hist good;
  good.record(milliseconds(5));
  good.record(milliseconds(7));
  auto base = to_json(good);
  auto with = [&](const char* key, boost::json::value v) {
    auto doc = base;
    doc[key] = std::move(v);
    return boost::json::value(std::move(doc));
  };
  auto without = [&](const char* key) {
    auto doc = base;
    doc.erase(key);
    return boost::json::value(std::move(doc));
  };
  auto cumulative = base.at("cumulative").as_array();
  auto decreasing = cumulative;
  decreasing[20] = 0;
  auto too_many = cumulative;
  too_many[24] = 3;
  auto short_bounds = base.at("bounds").as_array();
  short_bounds.pop_back();
  auto other_bounds = base.at("bounds").as_array();
  other_bounds[3] = 0.0004;
  std::vector<std::pair<std::string, boost::json::value>> cases{
    {"not an object", boost::json::value(3)},
    {"no count", without("count")},
    {"no sum", without("sum")},
    {"no bounds", without("bounds")},
    {"no cumulative", without("cumulative")},
    {"negative count", with("count", -1)},
    {"fractional count", with("count", 1.5)},
    {"string count", with("count", "2")},
    {"negative sum", with("sum", -0.5)},
    {"decreasing cumulative", with("cumulative", decreasing)},
    {"cumulative above count", with("cumulative", too_many)},
    {"bounds too short", with("bounds", short_bounds)},
    {"other bounds", with("bounds", other_bounds)},
  };
  for (auto& [name, doc] : cases) {
    INFO(name << ": " << boost::json::serialize(doc));
    hist out;
    out.record(seconds(2));
    auto copy = out;
    CHECK_FALSE(from_json(doc, out));
    CHECK(out == copy);
  }
  hist out;
  CHECK(from_json(base, out));
  CHECK(out == good);
}
