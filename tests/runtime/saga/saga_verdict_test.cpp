#include "bulwark/runtime/saga/saga_verdict.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("saga verdicts have names that parse back", "[runtime][saga]") {
  for (auto v : {saga_verdict::done, saga_verdict::not_executed,
                 saga_verdict::unknown}) {
    saga_verdict back = saga_verdict::done;
    REQUIRE(from_string(to_string(v), back));
    CHECK(back == v);
  }
  CHECK(to_string(saga_verdict::not_executed) == "not_executed");
  saga_verdict x = saga_verdict::unknown;
  CHECK_FALSE(from_string("maybe", x));
  CHECK(x == saga_verdict::unknown);
  CHECK(to_string(static_cast<saga_verdict>(saga_verdict_count)) == "invalid");
}
