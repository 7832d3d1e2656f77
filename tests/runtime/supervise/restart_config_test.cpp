#include "bulwark/runtime/supervise/restart_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

restart_config parse(std::string_view text, error_list& errors) {
  return parse_restart_config(
    boost::json::parse(text),
    json_path{} / "supervisors" / "checkout" / "restart", errors);
}

} // namespace

TEST_CASE("restart defaults survive a round trip through JSON",
          "[runtime][supervise][config]") {
  restart_config defaults;
  error_list errors;
  auto json = to_json(defaults);
  auto back = parse_restart_config(json, json_path{} / "restart", errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
  CHECK(boost::json::serialize(json)
        == R"({"enabled":true,"max_restarts":3,"within":"10s",)"
           R"("min_backoff":"100ms","max_backoff":"10s","random_factor":20,)"
           R"("reset_after":"30s"})");
}

TEST_CASE("a non-default restart config survives a round trip through JSON",
          "[runtime][supervise][config]") {
  restart_config cfg;
  cfg.enabled = false;
  cfg.max_restarts = 0;
  cfg.within = milliseconds(1500);
  cfg.min_backoff = duration{0};
  cfg.max_backoff = duration{0};
  cfg.random_factor = 100;
  cfg.reset_after = minutes(5);
  error_list errors;
  auto back = parse_restart_config(to_json(cfg), json_path{}, errors);
  CHECK(errors.to_string() == "");
  CHECK(back == cfg);
}

TEST_CASE("a restart document fills every field",
          "[runtime][supervise][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": false, "max_restarts": 100, "within": "1m",
                       "min_backoff": "1s", "max_backoff": "1s",
                       "random_factor": 0, "reset_after": "0s"})",
                   errors);
  CHECK(errors.to_string() == "");
  CHECK_FALSE(cfg.enabled);
  CHECK(cfg.max_restarts == 100);
  CHECK(cfg.within == minutes(1));
  CHECK(cfg.min_backoff == seconds(1));
  CHECK(cfg.max_backoff == seconds(1));
  CHECK(cfg.random_factor == 0);
  CHECK(cfg.reset_after == duration{0});
  error_list none;
  CHECK(parse("{}", none) == restart_config{});
  CHECK(none.empty());
}

TEST_CASE("bad restart documents report every error with its path",
          "[runtime][supervise][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"([3])", "/supervisors/checkout/restart: must be an object (got: [3])\n"},
    {R"({"enabled": "yes", "max_restarts": 101, "within": "2h",
         "min_backoff": "-1s", "max_backoff": "61m", "random_factor": 101,
         "reset_after": "25h", "intensity": 1})",
     "/supervisors/checkout/restart/intensity: unknown key (allowed: enabled, "
     "max_restarts, within, min_backoff, max_backoff, random_factor, "
     "reset_after)\n"
     "/supervisors/checkout/restart/enabled: must be true or false (got: "
     "\"yes\")\n"
     "/supervisors/checkout/restart/max_restarts: must be between 0 and 100 "
     "(got: 101)\n"
     "/supervisors/checkout/restart/within: must be between 0s and 1h (got: "
     "\"2h\")\n"
     "/supervisors/checkout/restart/min_backoff: must not be negative (got: "
     "\"-1s\")\n"
     "/supervisors/checkout/restart/max_backoff: must be between 0s and 1h "
     "(got: \"61m\")\n"
     "/supervisors/checkout/restart/random_factor: must be between 0 and 100 "
     "(got: 101)\n"
     "/supervisors/checkout/restart/reset_after: must be between 0s and 24h "
     "(got: \"25h\")\n"},
    {R"({"max_restarts": -1, "random_factor": 0.5, "within": 10})",
     "/supervisors/checkout/restart/max_restarts: must be between 0 and 100 "
     "(got: -1)\n"
     "/supervisors/checkout/restart/within: must be a duration string with a "
     "unit such as \"250ms\" (got: 10)\n"
     "/supervisors/checkout/restart/random_factor: must be an integer between "
     "0 and 100 (got: 5E-1)\n"},
    {R"({"within": "0ms"})",
     "/supervisors/checkout/restart/within: must be greater than 0s (got: "
     "\"0ms\")\n"},
    {R"({"min_backoff": "2s", "max_backoff": "1s"})",
     "/supervisors/checkout/restart/min_backoff: must not be greater than "
     "max_backoff (1s) (got: \"2s\")\n"},
    {R"({"min_backoff": "20s"})",
     "/supervisors/checkout/restart/min_backoff: must not be greater than "
     "max_backoff (10s) (got: \"20s\")\n"},
    {R"({"max_backoff": "50ms"})",
     "/supervisors/checkout/restart/max_backoff: must not be less than "
     "min_backoff (100ms) (got: \"50ms\")\n"},
    // A bound that is already wrong is not compared with the other.
    {R"({"min_backoff": "2s", "max_backoff": "10 s", "within": "0s"})",
     "/supervisors/checkout/restart/max_backoff: must be a duration with a "
     "unit (ns, us, ms, s, m, h) such as \"250ms\" (got: \"10 s\")\n"
     "/supervisors/checkout/restart/within: must be greater than 0s (got: "
     "\"0s\")\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    auto cfg = parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
    CHECK(cfg.within == restart_config{}.within);
    CHECK(cfg.max_restarts == restart_config{}.max_restarts);
    CHECK(cfg.random_factor == restart_config{}.random_factor);
    CHECK(cfg.max_backoff == restart_config{}.max_backoff);
    CHECK(cfg.min_backoff <= cfg.max_backoff);
  }
}

TEST_CASE("zero restarts and zero backoff are valid restart settings",
          "[runtime][supervise][config]") {
  error_list errors;
  auto cfg = parse(R"({"max_restarts": 0, "min_backoff": "0s",
                       "max_backoff": "0s"})",
                   errors);
  CHECK(errors.to_string() == "");
  CHECK(cfg.max_restarts == 0);
  CHECK(cfg.min_backoff == duration{0});
  CHECK(cfg.max_backoff == duration{0});
}
