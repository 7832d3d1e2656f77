#include "bulwark/actors/protocol/config_messages.hpp"

#include "tests/support/deterministic_fixture.hpp"

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

TEST_CASE("a document is parsed once into an update or every error",
          "[actors][protocol][config]") {
  auto good = parse_config_update(R"({"dependencies": {"pay": {}}})");
  REQUIRE(good.ok());
  CHECK(good.errors.empty());
  CHECK(good.update.config->find("pay") != nullptr);
  auto bad = parse_config_update(
    R"({"dependencies": {"pay": {"retry": {"max_attempts": 0}}}})");
  CHECK_FALSE(bad.ok());
  CHECK(bad.errors
        == std::vector<std::string>{"/dependencies/pay/retry/max_attempts: "
                                    "must be between 1 and 10 (got: 0)"});
  CHECK(parse_config_update("not json").errors.size() == 1);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an update crosses the wire as its document and arrives "
                 "parsed",
                 "[actors][protocol][config]") {
  auto parsed = parse_config_update(
    R"({"dependencies": {"pay": {"retry": {"max_attempts": 4}}}})");
  REQUIRE(parsed.ok());
  auto msg = caf::make_message(parsed.update);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(copy));
  REQUIRE(copy.match_elements<config_update>());
  auto& got = copy.get_as<config_update>(0);
  REQUIRE(got.config != nullptr);
  CHECK(got.config != parsed.update.config); // a new value on arrival
  CHECK(boost::json::serialize(to_json(*got.config))
        == boost::json::serialize(to_json(*parsed.update.config)));
  CHECK(got.config->find("pay")->retry.max_attempts == 4);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an update whose document does not validate fails to load",
                 "[actors][protocol][config]") {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(std::string{R"({"dependencies": {"pay": {"bogus": 1}}})"}));
  config_update x;
  caf::binary_deserializer source{sys, buf};
  CHECK(source(x) == caf::sec::invalid_argument);
  CHECK(x.config == nullptr);
}
