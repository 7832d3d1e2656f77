#include "bulwark/actors/transport/echo_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

TEST_CASE_METHOD(deterministic_fixture,
                 "the echo transport answers at once with the payload",
                 "[actors][transport]") {
  auto transport = spawn_echo_transport(sys);
  auto p = make_probe();
  auto t0 = now();
  for (std::uint64_t id = 1; id <= 3; ++id) {
    attempt_request req;
    req.attempt_id = id;
    req.payload = "p" + std::to_string(id);
    p.send(transport, attempt_atom::value, req);
  }
  p.send(transport, cancel_atom::value, std::uint64_t{2});
  run();
  auto results = p.results();
  REQUIRE(results.size() == 3);
  for (std::uint64_t i = 0; i < 3; ++i) {
    CHECK(results[i].ok);
    CHECK(results[i].attempt_id == i + 1);
    CHECK(results[i].payload == "p" + std::to_string(i + 1));
    CHECK(p[i].at == t0);
  }
  CHECK(p.size() == 3);
}
