#include "bulwark/runtime/core/rng.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("the same seed gives the same sequence", "[runtime][core]") {
  rng a{42}, b{42}, c{43};
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    auto x = a();
    CHECK(x == b());
    differs |= x != c();
  }
  CHECK(differs);
}

TEST_CASE("uniform draws stay in their range", "[runtime][core]") {
  rng gen{7};
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    auto x = gen.uniform();
    REQUIRE(x >= 0.0);
    REQUIRE(x < 1.0);
    sum += x;
    auto y = gen.below(10);
    REQUIRE(y < 10);
  }
  CHECK(sum / 100000 == Approx(0.5).margin(0.01));
}
