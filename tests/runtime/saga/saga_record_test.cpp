#include "bulwark/runtime/saga/saga_record.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("saga record kinds have names that parse back, as the log writes "
          "them",
          "[runtime][saga]") {
  for (auto k :
       {saga_record_kind::started, saga_record_kind::step_started,
        saga_record_kind::step_result, saga_record_kind::compensation_started,
        saga_record_kind::compensation_result, saga_record_kind::finished}) {
    saga_record_kind back = saga_record_kind::started;
    REQUIRE(from_string(to_string(k), back));
    CHECK(back == k);
  }
  saga_record_kind x = saga_record_kind::finished;
  CHECK_FALSE(from_string("ended", x));
  CHECK(to_string(static_cast<saga_record_kind>(saga_record_kind_count))
        == "invalid");
}

TEST_CASE("saga records compare every field", "[runtime][saga]") {
  saga_record a;
  a.kind = saga_record_kind::step_result;
  a.step = 1;
  a.attempt = 2;
  a.verdict = saga_verdict::unknown;
  a.data = "d";
  auto b = a;
  CHECK(a == b);
  b.attempt = 3;
  CHECK(a != b);
  b = a;
  b.outcome.failure = "x";
  CHECK(a != b);
}
