// The saga coordinator's messages: they round-trip through CAF's
// serializers (so they can cross nodes), reject enum values out of range,
// travel inside messages as registered types, and name their refusals.
#include "bulwark/actors/protocol/saga_messages.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <string>
#include <vector>

#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

saga_reply sample_reply() {
  saga_reply x;
  x.saga_id = "order-7";
  x.duplicate = true;
  x.outcome.status = saga_status::compensation_failed;
  x.outcome.steps = {{"reserve", std::string{"\0r\xff", 3}}, {"charge", "c"}};
  x.outcome.compensations = {{"charge", "refunded"}};
  x.outcome.failure = "confirm try 1: not_executed";
  x.outcome.failed_step = "confirm";
  x.outcome.failed_compensation = "reserve";
  return x;
}

template <class T>
T round_trip(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = x;
  REQUIRE(!sink(copy));
  T y;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(y));
  return y;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "saga replies and stats round-trip through CAF's serializers",
                 "[actors][saga][messages]") {
  auto x = sample_reply();
  auto y = round_trip(sys, x);
  CHECK(y.saga_id == x.saga_id);
  CHECK(y.refused == x.refused);
  CHECK(y.duplicate);
  CHECK(y.outcome == x.outcome);
  saga_reply refused;
  refused.refused = saga_refusal::stopped;
  refused.error = "stopped";
  CHECK(round_trip(sys, refused).refused == saga_refusal::stopped);
  saga_stats s;
  s.started = 3;
  s.log_bytes = 1u << 20;
  s.retained = 2;
  auto t = round_trip(sys, s);
  CHECK(t.started == 3);
  CHECK(t.log_bytes == 1u << 20);
  CHECK(t.retained == 2);
  // As registered message types, inside a message.
  auto msg = caf::make_message(saga_atom::value, x);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(back));
  REQUIRE(back.match_elements<saga_atom, saga_reply>());
  CHECK(back.get_as<saga_reply>(1).outcome == x.outcome);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a saga status or refusal outside its range is rejected on "
                 "load",
                 "[actors][saga][messages]") {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  std::string id = "o";
  auto bad = static_cast<std::uint8_t>(saga_refusal_count);
  std::string error;
  bool duplicate = false;
  auto status = static_cast<std::uint8_t>(saga_status::completed);
  std::vector<saga_step_data> none;
  std::string empty;
  REQUIRE(
    !sink(id, bad, error, duplicate, status, none, none, empty, empty, empty));
  saga_reply x;
  caf::binary_deserializer source{sys, buf};
  CHECK(source(x) == caf::sec::invalid_argument);
  buf.clear();
  caf::binary_serializer sink2{sys, buf};
  auto ok = static_cast<std::uint8_t>(saga_refusal::none);
  auto bad_status = static_cast<std::uint8_t>(saga_status_count);
  REQUIRE(!sink2(id, ok, error, duplicate, bad_status, none, none, empty, empty,
                 empty));
  saga_reply y;
  caf::binary_deserializer source2{sys, buf};
  CHECK(source2(y) == caf::sec::invalid_argument);
}

TEST_CASE("saga refusals and replies print with their names",
          "[actors][saga][messages]") {
  CHECK(to_string(saga_refusal::busy) == "busy");
  CHECK(to_string(saga_refusal::invalid_id) == "invalid_id");
  CHECK(to_string(saga_refusal::input_too_large) == "input_too_large");
  CHECK(to_string(saga_refusal::unknown_id) == "unknown_id");
  CHECK(to_string(saga_refusal::stopped) == "stopped");
  CHECK(to_string(saga_refusal::none) == "none");
  auto str = caf::deep_to_string(sample_reply());
  CAPTURE(str);
  CHECK(str.find("saga_reply") != std::string::npos);
  CHECK(str.find("order-7") != std::string::npos);
}
