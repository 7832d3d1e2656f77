#include "bulwark/runtime/admission/throttle_config.hpp"

#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("throttle config: defaults, a round trip and errors with paths",
          "[runtime][admission][throttle][config]") {
  throttle_config defaults;
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.k == 2.0);
  CHECK(defaults.window == seconds(120));
  error_list errors;
  auto back = parse_throttle_config(to_json(defaults), json_path{}, errors);
  CHECK(errors.empty());
  CHECK(back == defaults);
  throttle_config x;
  x.enabled = true;
  x.k = 1.5;
  x.window = seconds(30);
  CHECK(parse_throttle_config(to_json(x), json_path{}, errors) == x);
  CHECK(errors.empty());
  boost::json::value bad =
    boost::json::object{{"k", 0.5}, {"window", "0s"}, {"other", 1}};
  parse_throttle_config(bad, json_path{} / "dependencies" / "db" / "throttle",
                        errors);
  auto text = errors.to_string();
  INFO(text);
  CHECK(errors.size() == 3);
  CHECK(text.find("/dependencies/db/throttle/k: must be between 1 and 100")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/throttle/window:") != std::string::npos);
  CHECK(text.find("/dependencies/db/throttle/other: unknown key")
        != std::string::npos);
}
