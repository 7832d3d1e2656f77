#include "bulwark/runtime/core/failure_class.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("every failure class round-trips through its name",
          "[runtime][core]") {
  for (auto x : all_failure_classes) {
    failure_class y = failure_class::cancelled;
    REQUIRE(from_string(to_string(x), y));
    CHECK(x == y);
  }
  failure_class z;
  CHECK_FALSE(from_string("bogus", z));
}

TEST_CASE("failure class sets hold exactly what was inserted",
          "[runtime][core]") {
  failure_class_set s{failure_class::timeout};
  CHECK(s.contains(failure_class::timeout));
  CHECK_FALSE(s.contains(failure_class::transient));
  s.insert(failure_class::transient);
  s.erase(failure_class::timeout);
  CHECK(s == failure_class_set{failure_class::transient});
}
