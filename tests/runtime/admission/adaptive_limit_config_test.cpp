#include "bulwark/runtime/admission/adaptive_limit_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

adaptive_limit_config parse(std::string_view text, error_list& errors) {
  return parse_adaptive_limit_config(
    boost::json::parse(text),
    json_path{} / "dependencies" / "db" / "adaptive_limit", errors);
}

} // namespace

TEST_CASE("adaptive limit defaults survive a round trip through JSON",
          "[runtime][admission][config]") {
  adaptive_limit_config defaults;
  error_list errors;
  auto json = to_json(defaults);
  auto back = parse_adaptive_limit_config(json, json_path{}, errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
  CHECK_FALSE(defaults.enabled);
  CHECK(json.size() == 14);
  CHECK(json.at("kind") == "gradient");
  CHECK(json.at("window") == "1s");
  CHECK(json.at("healthy_window") == "10m");
  CHECK(json.at("probe_interval") == "30s");
}

TEST_CASE("a non-default adaptive limit survives a round trip through JSON",
          "[runtime][admission][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": true, "kind": "aimd", "initial_limit": 5,
                       "min_limit": 5, "max_limit": 50, "window": "250ms",
                       "min_samples": 3, "tolerance": 2, "smoothing": 0.5,
                       "backoff_ratio": 0.7, "healthy_latency_ratio": 3,
                       "healthy_window": "30s"})",
                   errors);
  REQUIRE(errors.to_string() == "");
  CHECK(cfg.enabled);
  CHECK(cfg.kind == adaptive_limit_kind::aimd);
  CHECK(cfg.window == milliseconds(250));
  CHECK(cfg.healthy_window == seconds(30));
  error_list again;
  CHECK(parse_adaptive_limit_config(to_json(cfg), json_path{}, again) == cfg);
  CHECK(again.to_string() == "");
}

TEST_CASE("bad adaptive limit values are reported with their JSON path",
          "[runtime][admission][config]") {
  error_list errors;
  parse(R"({"kind": "vegas", "min_limit": 0, "smoothing": 0,
            "backoff_ratio": 1, "window": "0s", "bogus": 1})",
        errors);
  auto text = errors.to_string();
  INFO(text);
  CHECK(errors.size() == 6);
  CHECK(text.find("/dependencies/db/adaptive_limit/kind: must be one of "
                  "\"gradient\", \"aimd\" (got: \"vegas\")")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/adaptive_limit/min_limit:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/adaptive_limit/smoothing:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/adaptive_limit/backoff_ratio:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/adaptive_limit/window:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/adaptive_limit/bogus:")
        != std::string::npos);
}

TEST_CASE("the adaptive limit's bounds must be ordered",
          "[runtime][admission][config]") {
  {
    error_list errors;
    parse(R"({"min_limit": 10, "max_limit": 5, "initial_limit": 7})", errors);
    CHECK(errors.to_string()
          == "/dependencies/db/adaptive_limit/min_limit: must not be greater "
             "than max_limit (5) (got: 10)\n");
  }
  {
    error_list errors;
    parse(R"({"min_limit": 10, "max_limit": 50, "initial_limit": 7})", errors);
    CHECK(errors.to_string()
          == "/dependencies/db/adaptive_limit/initial_limit: must be between "
             "min_limit (10) and max_limit (50) (got: 7)\n");
  }
}
