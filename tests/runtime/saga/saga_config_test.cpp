#include "bulwark/runtime/saga/saga_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace bulwark;

namespace {

std::vector<std::string> errors_of(std::string_view text) {
  auto result = parse_saga_config(text);
  std::vector<std::string> out;
  for (auto& e : result.errors.errors())
    out.push_back(e.to_string());
  return out;
}

} // namespace

TEST_CASE("a checkout saga is read from JSON with its pivot and defaults",
          "[runtime][saga][config]") {
  auto result = parse_saga_config(R"({
    "steps": [{"name": "reserve"}, {"name": "charge"},
              {"name": "confirm", "compensable": false, "max_tries": 8}],
    "step_timeout": "5s",
    "max_compensation_tries": 20,
    "compensation_backoff": {"base": "50ms", "cap": "1s"},
    "max_running": 64, "retain_finished": 1000})");
  REQUIRE(result.ok());
  auto& cfg = *result.config;
  REQUIRE(cfg.steps.size() == 3);
  CHECK(cfg.steps[0].name == "reserve");
  CHECK(cfg.steps[0].compensable);
  CHECK_FALSE(cfg.steps[2].compensable);
  CHECK(cfg.steps[2].max_tries == 8);
  CHECK(cfg.pivot() == 2);
  CHECK(cfg.find("charge") == 1);
  CHECK(cfg.find("refund") == -1);
  CHECK(cfg.step_timeout == seconds(5));
  CHECK(cfg.max_compensation_tries == 20);
  CHECK(cfg.compensation_backoff.base == milliseconds(50));
  CHECK(cfg.compensation_backoff.cap == seconds(1));
  // Keys not given keep the saga's defaults, not backoff_config's.
  CHECK(cfg.compensation_backoff.jitter == jitter_kind::equal);
  CHECK(cfg.forward_backoff.cap == seconds(2));
  CHECK(cfg.max_running == 64);
  CHECK(cfg.retain_finished == 1000);
  CHECK(cfg.max_id_bytes == 128);
  CHECK(validate_saga_config(cfg).empty());
}

TEST_CASE("a saga config survives a round trip through JSON",
          "[runtime][saga][config]") {
  saga_config cfg;
  cfg.steps = {{"a", true, 5}, {"b", false, 3}, {"c", false, 7}};
  cfg.step_timeout = milliseconds(1500);
  cfg.forward_backoff.jitter = jitter_kind::none;
  cfg.compact_after = 0;
  auto text = boost::json::serialize(to_json(cfg));
  auto back = parse_saga_config(text);
  REQUIRE(back.ok());
  CHECK(boost::json::serialize(to_json(*back.config)) == text);
  CHECK(back.config->steps[2].max_tries == 7);
  CHECK(back.config->forward_backoff.jitter == jitter_kind::none);
}

TEST_CASE("every error of a saga config is reported with its JSON Pointer",
          "[runtime][saga][config]") {
  CHECK(errors_of(R"({})") == std::vector<std::string>{"/steps: is required"});
  CHECK(errors_of(R"({"steps": []})")
        == std::vector<std::string>{
          "/steps: must be a non-empty array of steps (got: [])"});
  CHECK(errors_of(R"({"steps": [{"name": "a"}], "colour": 1})")
        == std::vector<std::string>{
          "/colour: unknown key (allowed: steps, step_timeout, "
          "forward_backoff, max_compensation_tries, compensation_backoff, "
          "max_running, max_id_bytes, max_input_bytes, max_data_bytes, "
          "retain_finished, compact_after)"});
  CHECK(errors_of(R"({"steps": [{"name": "a b"}, {"name": ""},
                                {"compensable": true}]})")
        == std::vector<std::string>{
          "/steps/0/name: must be 1 to 64 characters of A-Z, a-z, 0-9, '_', "
          "'-', '.' (got: \"a b\")",
          "/steps/1/name: must not be empty", "/steps/2/name: is required"});
  CHECK(errors_of(R"({"steps": [{"name": "a"}, {"name": "a"}]})")
        == std::vector<std::string>{
          "/steps/1/name: \"a\" is the name of step 0 already"});
  CHECK(errors_of(R"({"steps": [{"name": "a", "compensable": false},
                                {"name": "b"}]})")
        == std::vector<std::string>{
          "/steps/1/compensable: must be false: a step after a "
          "non-compensable step can no longer be undone (the saga only goes "
          "forward once the pivot may have executed)"});
  CHECK(errors_of(R"({"steps": [{"name": "a", "max_tries": 3},
                                {"name": "b", "compensable": false,
                                 "max_tries": 0}]})")
        == std::vector<std::string>{
          "/steps/0/max_tries: only non-compensable steps are retried "
          "forward (a failed compensable step is compensated)",
          "/steps/1/max_tries: must be between 1 and 1000 (got: 0)"});
  CHECK(errors_of(R"({"steps": [{"name": "a"}], "step_timeout": "0s",
                      "max_compensation_tries": 0, "max_running": 0,
                      "max_id_bytes": 2000,
                      "compensation_backoff": {"base": "5s"},
                      "forward_backoff": {"cap": "10ms", "base": "20ms"}})")
        == std::vector<std::string>{
          "/step_timeout: must be between 1ms and 24h (got: \"0s\")",
          "/forward_backoff/cap: must be at least base (20ms) (got: \"10ms\")",
          "/max_compensation_tries: must be between 1 and 1000 (got: 0)",
          "/compensation_backoff/base: must not exceed cap (2s) (got: \"5s\")",
          "/max_running: must be between 1 and 1000000 (got: 0)",
          "/max_id_bytes: must be between 1 and 1024 (got: 2000)"});
  auto bad = errors_of("[1");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].rfind("(document): invalid JSON at line 1, column 3", 0) == 0);
}

TEST_CASE("a saga config built in C++ is checked by the same rules",
          "[runtime][saga][config]") {
  saga_config cfg;
  CHECK(validate_saga_config(cfg).to_string()
        == "/steps: must list at least one step\n");
  cfg.steps = {{"pay", false, 0}, {"ship", true, 1}, {"pay", false, 2}};
  cfg.max_compensation_tries = 0;
  cfg.compensation_backoff.cap = milliseconds(1);
  auto errors = validate_saga_config(cfg);
  std::vector<std::string> got;
  for (auto& e : errors.errors())
    got.push_back(e.to_string());
  CHECK(got
        == std::vector<std::string>{
          "/steps/0/max_tries: must be between 1 and 1000 (got: 0)",
          "/max_compensation_tries: must be between 1 and 1000 (got: 0)",
          "/compensation_backoff/cap: must be at least base (100ms) (got: "
          "\"1ms\")",
          "/steps/1/compensable: must be false: a step after a "
          "non-compensable step can no longer be undone (the saga only goes "
          "forward once the pivot may have executed)",
          "/steps/2/name: \"pay\" is the name of step 0 already"});
}

TEST_CASE("docs/saga.md documents every key of a saga config",
          "[runtime][saga][config][docs]") {
  std::ifstream in{BULWARK_SOURCE_DIR "/docs/saga.md"};
  std::string doc{std::istreambuf_iterator<char>{in},
                  std::istreambuf_iterator<char>{}};
  REQUIRE_FALSE(doc.empty());
  saga_config cfg;
  cfg.steps = {{"a", false, 5}};
  auto o = to_json(cfg);
  for (auto& kv : o) {
    std::string key = kv.key();
    CAPTURE(key);
    CHECK(doc.find("| `" + key + "` |") != std::string::npos);
  }
  for (auto key : {"name", "compensable", "max_tries"})
    CHECK(doc.find(std::string{"\""} + key + "\"") != std::string::npos);
}
