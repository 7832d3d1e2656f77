// `/dependencies/*/progressive`: defaults, what is accepted, and that every
// bad value is an error naming its JSON Pointer and changes nothing.
#include "bulwark/runtime/progressive/progressive_config.hpp"

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"

using namespace bulwark;

namespace {

progressive_config parse(const std::string& text, error_list& errors) {
  return parse_progressive_config(boost::json::parse(text),
                                  json_path{} / "progressive", errors);
}

} // namespace

TEST_CASE("progressive delivery is off by default and prefers the stale cache",
          "[runtime][progressive]") {
  auto result = parse_bulwark_config(R"({"dependencies": {"dep": {}}})");
  REQUIRE(result.ok());
  auto& cfg = result.config->find("dep")->progressive;
  CHECK_FALSE(cfg.enabled);
  CHECK(cfg.soft_deadline == milliseconds(200));
  REQUIRE(cfg.source_count == 2);
  CHECK(cfg.sources[0] == preliminary_source::stale_cache);
  CHECK(cfg.sources[1] == preliminary_source::static_value);
}

TEST_CASE("a progressive section is read whole and written back the same",
          "[runtime][progressive]") {
  error_list errors;
  auto cfg = parse(
    R"({"enabled": true, "soft_deadline": "50ms", "preliminary": ["static"]})",
    errors);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  CHECK(cfg.enabled);
  CHECK(cfg.soft_deadline == milliseconds(50));
  REQUIRE(cfg.source_count == 1);
  CHECK(cfg.sources[0] == preliminary_source::static_value);
  CHECK(
    boost::json::serialize(to_json(cfg))
    == R"({"enabled":true,"soft_deadline":"50ms","preliminary":["static"]})");
  error_list again;
  auto back = parse(boost::json::serialize(to_json(cfg)), again);
  CHECK(again.empty());
  CHECK(back.source_count == 1);
  CHECK(back.soft_deadline == milliseconds(50));
}

TEST_CASE("a zero soft deadline is accepted and one beyond an hour is not",
          "[runtime][progressive]") {
  error_list ok_errors;
  CHECK(parse(R"({"soft_deadline": "0s"})", ok_errors).soft_deadline
        == duration{0});
  CHECK(ok_errors.empty());
  error_list errors;
  auto cfg = parse(R"({"soft_deadline": "2h"})", errors);
  CHECK(errors.to_string().find("/progressive/soft_deadline")
        != std::string::npos);
  CHECK(cfg.soft_deadline == milliseconds(200));
}

TEST_CASE("bad preliminary lists are errors naming the element",
          "[runtime][progressive]") {
  struct bad {
    const char* text;
    const char* where;
  };
  for (auto& b : {
         bad{R"({"preliminary": []})", "/progressive/preliminary:"},
         bad{R"({"preliminary": "stale_cache"})", "/progressive/preliminary:"},
         bad{R"({"preliminary": ["stale_cache", "static", "static"]})",
             "/progressive/preliminary:"},
         bad{R"({"preliminary": ["stale_cache", "live"]})",
             "/progressive/preliminary/1:"},
         bad{R"({"preliminary": [3]})", "/progressive/preliminary/0:"},
         bad{R"({"preliminary": ["static", "static"]})",
             "/progressive/preliminary/1:"},
         bad{R"({"soft": "1s"})", "/progressive/soft"},
       }) {
    INFO(b.text);
    error_list errors;
    auto cfg = parse(b.text, errors);
    INFO(errors.to_string());
    CHECK(errors.to_string().find(b.where) != std::string::npos);
    // Nothing half-applied: the default sources stay.
    CHECK(cfg.source_count == 2);
  }
}

TEST_CASE("every preliminary source has a name that parses back",
          "[runtime][progressive]") {
  for (auto x :
       {preliminary_source::stale_cache, preliminary_source::static_value}) {
    preliminary_source y{};
    REQUIRE(from_string(to_string(x), y));
    CHECK(y == x);
  }
  preliminary_source z{};
  CHECK_FALSE(from_string("stale", z));
}
