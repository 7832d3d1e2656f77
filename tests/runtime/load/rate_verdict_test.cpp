#include "bulwark/runtime/load/rate_verdict.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("a run that wrote what was intended held its rate",
          "[runtime][load][verdict]") {
  auto v = judge_rate(5000, 49'990, seconds(10));
  CHECK(v.held);
  CHECK(v.achieved_per_s == Approx(4999));
  CHECK(v.rate_error == Approx(0.0002));
  CHECK(v.message == "held 5,000 req/s (achieved 4,999)");
}

TEST_CASE("a run that fell more than the tolerance behind says the "
          "generator or the target is saturated",
          "[runtime][load][verdict]") {
  auto v = judge_rate(5000, 42'100, seconds(10));
  CHECK_FALSE(v.held);
  CHECK(v.message
        == "achieved 4,210 req/s of 5,000: the generator or the "
           "target is saturated");
  CHECK(format_thousands(1234567.4) == "1,234,567");
  CHECK(format_thousands(-1000) == "-1,000");
  CHECK(format_thousands(12) == "12");
}
