#include "bulwark/runtime/fallback/fallback_config.hpp"

#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/object_reader.hpp"

using namespace bulwark;

namespace {

const json_path at = json_path{} / "dependencies" / "pricing" / "fallback";

fallback_config parse(std::string_view text, error_list& errs) {
  return parse_fallback_config(boost::json::parse(text), at, errs);
}

std::string seventeen_alternates() {
  std::string result = "[";
  for (int i = 0; i < 17; ++i)
    result += std::string{i == 0 ? "" : ","}
              + R"({"kind": "alternate", "dependency": "a)" + std::to_string(i)
              + "\"}";
  return result + "]";
}

} // namespace

TEST_CASE("every fallback kind round-trips through its JSON name",
          "[runtime][fallback]") {
  for (auto x : all_fallback_kinds) {
    fallback_kind y = fallback_kind::fail_fast;
    REQUIRE(from_string(to_string(x), y));
    CHECK(x == y);
  }
  CHECK(to_string(fallback_kind::static_value) == "static");
  fallback_kind z;
  CHECK_FALSE(from_string("static_value", z));
}

TEST_CASE("a typical chain parses into ordered steps with their fields",
          "[runtime][fallback]") {
  error_list errs;
  auto cfg = parse(R"([
    {"kind": "stale_cache"},
    {"kind": "alternate", "dependency": "pricing-backup", "on": ["timeout", "overloaded"]},
    {"kind": "static", "value": "{\"price\": null}", "on": ["rejected_locally"]},
    {"kind": "fail_fast"}
  ])",
                   errs);
  INFO(errs.to_string());
  REQUIRE(errs.empty());
  REQUIRE(cfg.steps.size() == 4);
  CHECK(cfg.steps[0].kind == fallback_kind::stale_cache);
  CHECK(cfg.steps[0].on == default_fallback_classes);
  CHECK(cfg.steps[1].kind == fallback_kind::alternate);
  CHECK(cfg.steps[1].dependency == "pricing-backup");
  CHECK(
    cfg.steps[1].on
    == failure_class_set{failure_class::timeout, failure_class::overloaded});
  CHECK(cfg.steps[2].kind == fallback_kind::static_value);
  CHECK(cfg.steps[2].value == "{\"price\": null}");
  CHECK(cfg.steps[3].kind == fallback_kind::fail_fast);
}

TEST_CASE("a step handles every failure class except cancelled by default",
          "[runtime][fallback]") {
  for (auto cls : all_failure_classes)
    CHECK(default_fallback_classes.contains(cls)
          == (cls != failure_class::cancelled));
}

TEST_CASE("an empty static value is a valid payload", "[runtime][fallback]") {
  error_list errs;
  auto cfg = parse(R"([{"kind": "static", "value": ""}])", errs);
  CHECK(errs.empty());
  REQUIRE(cfg.steps.size() == 1);
  CHECK(cfg.steps[0].value.empty());
}

TEST_CASE("steps after a fail_fast are allowed for the classes it leaves out",
          "[runtime][fallback]") {
  error_list errs;
  auto cfg = parse(R"([
    {"kind": "fail_fast", "on": ["persistent"]},
    {"kind": "static", "value": "x", "on": ["timeout"]},
    {"kind": "stale_cache"}
  ])",
                   errs);
  INFO(errs.to_string());
  CHECK(errs.empty());
  CHECK(cfg.steps.size() == 3);
}

TEST_CASE("the fallback config survives a round trip through to_json",
          "[runtime][fallback]") {
  SECTION("defaults") {
    fallback_config defaults;
    error_list errs;
    auto back = parse_fallback_config(to_json(defaults), at, errs);
    CHECK(errs.empty());
    CHECK(back == defaults);
    CHECK(boost::json::serialize(to_json(defaults)) == "[]");
  }
  SECTION("a full chain") {
    error_list errs;
    auto cfg = parse(R"([
      {"kind": "stale_cache", "on": ["timeout"]},
      {"kind": "alternate", "dependency": "b"},
      {"kind": "static", "value": "v", "on": ["transient", "persistent"]},
      {"kind": "fail_fast"}
    ])",
                     errs);
    REQUIRE(errs.empty());
    auto json = to_json(cfg);
    CHECK(boost::json::serialize(json)
          == R"([{"kind":"stale_cache","on":["timeout"]},)"
             R"({"kind":"alternate","dependency":"b","on":["transient",)"
             R"("timeout","overloaded","persistent","rejected_locally",)"
             R"("deadline_exceeded"]},)"
             R"({"kind":"static","value":"v","on":["transient","persistent"]},)"
             R"({"kind":"fail_fast","on":["transient","timeout","overloaded",)"
             R"("persistent","rejected_locally","deadline_exceeded"]}])");
    error_list errs2;
    auto back = parse_fallback_config(json, at, errs2);
    CHECK(errs2.empty());
    CHECK(back == cfg);
  }
}

TEST_CASE("bad fallback chains report every error with its path",
          "[runtime][fallback]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
    {R"({"kind": "static"})",
     "/dependencies/pricing/fallback: must be an array of fallback steps "
     "(got: {\"kind\":\"static\"})\n"},
    {R"([{"kind": "cache"}])",
     "/dependencies/pricing/fallback/0/kind: must be one of \"stale_cache\", "
     "\"static\", \"alternate\", \"fail_fast\" (got: \"cache\")\n"},
    {R"([{"on": ["timeout"]}, "fail_fast"])",
     "/dependencies/pricing/fallback/0/kind: is required\n"
     "/dependencies/pricing/fallback/1: must be an object (got: "
     "\"fail_fast\")\n"},
    {R"([{"kind": "stale_cache"}, {"kind": "static"}])",
     "/dependencies/pricing/fallback/1/value: is required when kind is "
     "\"static\"\n"},
    {R"([{"kind": "static", "value": 42}])",
     "/dependencies/pricing/fallback/0/value: must be a string (got: 42)\n"},
    {R"([{"kind": "stale_cache"}, {"kind": "stale_cache", "value": "x"}])",
     "/dependencies/pricing/fallback/1/value: is allowed only when kind is "
     "\"static\"\n"
     "/dependencies/pricing/fallback/1/kind: \"stale_cache\" already appears "
     "at step 0: the cache is looked up once\n"},
    {R"([{"kind": "alternate"}, {"kind": "fail_fast", "dependency": "b"}])",
     "/dependencies/pricing/fallback/0/dependency: is required when kind is "
     "\"alternate\"\n"
     "/dependencies/pricing/fallback/1/dependency: is allowed only when kind "
     "is \"alternate\"\n"},
    {R"([{"kind": "alternate", "dependency": ""}])",
     "/dependencies/pricing/fallback/0/dependency: must not be empty\n"},
    {R"([{"kind": "alternate", "dependency": "b"},
        {"kind": "alternate", "dependency": "b", "on": ["timeout"]}])",
     "/dependencies/pricing/fallback/1/dependency: \"b\" already appears at "
     "step 0\n"},
    {R"([{"kind": "fail_fast"}, {"kind": "stale_cache"}])",
     "/dependencies/pricing/fallback/1: is unreachable: step 0 "
     "(\"fail_fast\") ends the chain before it for every failure class it "
     "handles\n"},
    {R"([{"kind": "static", "value": "a", "on": ["timeout"]},
        {"kind": "fail_fast", "on": ["transient"]},
        {"kind": "alternate", "dependency": "b", "on": ["timeout", "transient"]},
        {"kind": "fail_fast"}])",
     "/dependencies/pricing/fallback/2: is unreachable: steps 0 (\"static\") "
     "and 1 (\"fail_fast\") end the chain before it for every failure class "
     "it handles\n"},
    {R"([{"kind": "static", "value": "a", "on": []},
        {"kind": "fail_fast", "on": ["timeout", "cancelled"]},
        {"kind": "fail_fast", "on": ["bogus"]}])",
     "/dependencies/pricing/fallback/0/on: must name at least one failure "
     "class\n"
     "/dependencies/pricing/fallback/1/on/1: must not be \"cancelled\": "
     "nobody waits for the reply of a cancelled request\n"
     "/dependencies/pricing/fallback/2/on/0: must be one of \"transient\", "
     "\"timeout\", \"overloaded\", \"persistent\", \"rejected_locally\", "
     "\"deadline_exceeded\", \"cancelled\" (got: \"bogus\")\n"},
    {R"([{"kind": "fail_fast", "when": "always"}])",
     "/dependencies/pricing/fallback/0/when: unknown key (allowed: kind, on, "
     "value, dependency)\n"},
    {R"([{"kind": "static", "value": "a", "on": ["timeout"]},
        {"kind": "fail_fast", "on": ["transient"]},
        {"kind": "fail_fast", "on": ["overloaded"]},
        {"kind": "stale_cache", "on": ["overloaded", "timeout", "transient"]}])",
     "/dependencies/pricing/fallback/3: is unreachable: steps 0 (\"static\"), "
     "1 (\"fail_fast\") and 2 (\"fail_fast\") end the chain before it for "
     "every failure class it handles\n"},
    {seventeen_alternates(),
     "/dependencies/pricing/fallback: must have at most 16 steps (got: 17)\n"},
  };
  for (auto& [doc, expected] : cases) {
    INFO(doc);
    error_list errs;
    parse(doc, errs);
    CHECK(errs.to_string() == expected);
  }
}

TEST_CASE("steps with a bad kind are left out of the parsed chain",
          "[runtime][fallback]") {
  error_list errs;
  auto cfg = parse(R"([{"kind": "nope"}, {"kind": "fail_fast"}])", errs);
  CHECK(errs.size() == 1);
  REQUIRE(cfg.steps.size() == 1);
  CHECK(cfg.steps[0].kind == fallback_kind::fail_fast);
}

TEST_CASE("the fallback parser registers its keys for the schema under *",
          "[runtime][fallback]") {
  std::vector<std::string> keys;
  schema_sink() = &keys;
  error_list errs;
  parse("[]", errs);
  schema_sink() = nullptr;
  CHECK(
    keys
    == std::vector<std::string>{"/dependencies/pricing/fallback/*/kind",
                                "/dependencies/pricing/fallback/*/on",
                                "/dependencies/pricing/fallback/*/value",
                                "/dependencies/pricing/fallback/*/dependency"});
}
