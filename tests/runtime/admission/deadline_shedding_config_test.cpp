#include "bulwark/runtime/admission/deadline_shedding_config.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("deadline shedding config: defaults and a round trip",
          "[runtime][admission][config]") {
  deadline_shedding_config defaults;
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.quantile == 0.9);
  CHECK(defaults.min_samples == 20);
  error_list errors;
  CHECK(parse_deadline_shedding_config(to_json(defaults), json_path{}, errors)
        == defaults);
  deadline_shedding_config x;
  x.enabled = true;
  x.quantile = 0.995;
  x.min_samples = 3;
  CHECK(parse_deadline_shedding_config(to_json(x), json_path{}, errors) == x);
  CHECK(errors.empty());
}

TEST_CASE("bad deadline shedding values are reported with their JSON path",
          "[runtime][admission][config]") {
  error_list errors;
  auto cfg = parse_deadline_shedding_config(
    boost::json::parse(R"({"quantile": 0, "min_samples": 0, "on": true})"),
    json_path{} / "dependencies" / "db" / "deadline_shedding", errors);
  auto text = errors.to_string();
  INFO(text);
  CHECK(errors.size() == 3);
  CHECK(text.find("/dependencies/db/deadline_shedding/quantile: must be "
                  "greater than 0 (got: 0)")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/deadline_shedding/min_samples:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/deadline_shedding/on: unknown key")
        != std::string::npos);
  // A bad value keeps its default.
  CHECK(cfg.quantile == 0.9);
  error_list more;
  parse_deadline_shedding_config(boost::json::parse(R"({"quantile": 101})"),
                                 json_path{} / "q", more);
  CHECK(more.size() == 1);
}
