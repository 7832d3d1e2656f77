#include "bulwark/runtime/saga/saga_outcome.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("saga statuses have names that parse back, and only running is "
          "unfinished",
          "[runtime][saga]") {
  for (auto s :
       {saga_status::running, saga_status::completed, saga_status::compensated,
        saga_status::compensation_failed, saga_status::stuck}) {
    saga_status back = saga_status::running;
    REQUIRE(from_string(to_string(s), back));
    CHECK(back == s);
    saga_outcome o;
    o.status = s;
    CHECK(o.finished() == (s != saga_status::running));
  }
  CHECK(to_string(saga_status::compensation_failed) == "compensation_failed");
  saga_status x = saga_status::stuck;
  CHECK_FALSE(from_string("done", x));
  CHECK(to_string(static_cast<saga_status>(saga_status_count)) == "invalid");
}

TEST_CASE("saga outcomes compare every field", "[runtime][saga]") {
  saga_outcome a;
  a.status = saga_status::compensated;
  a.steps = {{"reserve", "r"}};
  auto b = a;
  CHECK(a == b);
  b.compensations = {{"reserve", ""}};
  CHECK(a != b);
  b = a;
  b.failed_compensation = "x";
  CHECK(a != b);
  b = a;
  b.steps[0].data = "other";
  CHECK(a != b);
}
