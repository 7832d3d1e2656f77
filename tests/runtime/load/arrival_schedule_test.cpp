#include "bulwark/runtime/load/arrival_schedule.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("a constant schedule sends the i-th request at exactly i / rate "
          "without drifting",
          "[runtime][load][arrival]") {
  arrival_schedule s{arrival_kind::constant, 3000.0, 1};
  CHECK(s.peek() == duration{0});
  CHECK(s.next() == duration{0});
  CHECK(s.next() == duration{333'333});
  CHECK(s.next() == duration{666'667});
  for (int i = 3; i < 3'000'000; ++i)
    s.next();
  // One virtual second of 3,000/s is exactly 1,000 seconds later.
  CHECK(s.next() == seconds(1000));
  CHECK(s.issued() == 3'000'001);
}

TEST_CASE("a Poisson schedule has exponential gaps with the asked mean and "
          "is the same for the same seed",
          "[runtime][load][arrival]") {
  auto seed = GENERATE(1u, 99u);
  INFO("seed " << seed);
  arrival_schedule s{arrival_kind::poisson, 1000.0, seed};
  arrival_schedule again{arrival_kind::poisson, 1000.0, seed};
  const int n = 200'000;
  duration last{0};
  double sum = 0, sum_sq = 0;
  int below_mean = 0;
  for (int i = 0; i < n; ++i) {
    auto t = s.next();
    REQUIRE(t == again.next());
    REQUIRE(t >= last);
    auto gap = static_cast<double>((t - last).count()) / 1e6; // ms
    if (i > 0) {
      sum += gap;
      sum_sq += gap * gap;
      below_mean += gap < 1.0 ? 1 : 0;
    }
    last = t;
  }
  auto mean = sum / (n - 1);
  auto sd = std::sqrt(sum_sq / (n - 1) - mean * mean);
  CHECK(mean == Approx(1.0).epsilon(0.01));
  CHECK(sd == Approx(1.0).epsilon(0.02)); // exponential: sd == mean
  // P(gap < mean) = 1 - 1/e for an exponential.
  CHECK(static_cast<double>(below_mean) / (n - 1)
        == Approx(1.0 - std::exp(-1.0)).epsilon(0.01));
  arrival_schedule other{arrival_kind::poisson, 1000.0, seed + 1};
  other.next();
  arrival_schedule fresh{arrival_kind::poisson, 1000.0, seed};
  fresh.next();
  CHECK(other.next() != fresh.next());
}

TEST_CASE("a non-positive or non-finite rate counts as one per second and "
          "kinds have names",
          "[runtime][load][arrival]") {
  arrival_schedule s{arrival_kind::constant, 0.0, 1};
  s.next();
  CHECK(s.next() == seconds(1));
  arrival_schedule inf{arrival_kind::constant, HUGE_VAL, 1};
  CHECK(inf.rate_per_s() == 1.0);
  CHECK(to_string(arrival_kind::poisson) == "poisson");
  arrival_kind k = arrival_kind::constant;
  CHECK(from_string("poisson", k));
  CHECK(k == arrival_kind::poisson);
  CHECK_FALSE(from_string("burst", k));
}
