#include "bulwark/runtime/objective/objective_config.hpp"

#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("objective config: defaults and a round trip keep the percentages",
          "[runtime][objective][config]") {
  objective_config defaults;
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.availability == 0.999);
  CHECK_FALSE(defaults.has_latency());
  error_list errors;
  CHECK(parse_objective_config(to_json(defaults), json_path{}, errors)
        == defaults);
  objective_config x;
  x.enabled = true;
  x.availability = 0.9995;
  x.latency_threshold = milliseconds(300);
  x.latency = 0.99;
  auto json = to_json(x);
  // Read back as written: 99.95, not 99.94999999999999.
  CHECK(json.at("availability").as_double() == 99.95);
  CHECK(json.at("latency").as_double() == 99.0);
  auto back = parse_objective_config(json, json_path{}, errors);
  CHECK(errors.empty());
  CHECK(back.enabled);
  CHECK(back.latency_threshold == milliseconds(300));
  CHECK(back.availability == Approx(0.9995).epsilon(1e-12));
}

TEST_CASE("objective config: a target of 100% or below 50% is refused with "
          "its path",
          "[runtime][objective][config]") {
  error_list errors;
  boost::json::value bad = boost::json::object{{"availability", 100},
                                               {"latency", 20},
                                               {"latency_threshold", "2h"},
                                               {"window", "1d"}};
  auto cfg = parse_objective_config(
    bad, json_path{} / "dependencies" / "db" / "objective", errors);
  auto text = errors.to_string();
  INFO(text);
  CHECK(errors.size() == 4);
  CHECK(text.find("/dependencies/db/objective/availability: must be between "
                  "50 and 99.999")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/objective/latency:") != std::string::npos);
  CHECK(text.find("/dependencies/db/objective/latency_threshold:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/objective/window: unknown key")
        != std::string::npos);
  // Nothing bad was taken.
  CHECK(cfg.availability == 0.999);
  CHECK(cfg.latency == 0.99);
}
