#include "bulwark/runtime/supervise/outlier_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

outlier_config parse(std::string_view text, error_list& errors) {
  return parse_outlier_config(
    boost::json::parse(text),
    json_path{} / "supervisors" / "payments" / "outlier_detection", errors);
}

} // namespace

TEST_CASE("outlier defaults are Envoy's and survive a round trip through JSON",
          "[runtime][supervise][outlier][config]") {
  outlier_config defaults;
  CHECK(defaults.enabled);
  CHECK(defaults.consecutive_errors == 5);
  CHECK(defaults.interval == seconds(10));
  CHECK(defaults.base_ejection_time == seconds(30));
  CHECK(defaults.max_ejection_time == seconds(300));
  CHECK(defaults.max_ejection_percent == 10);
  CHECK(defaults.success_rate_minimum_hosts == 5);
  CHECK(defaults.success_rate_request_volume == 100);
  CHECK(defaults.success_rate_stdev_factor == 1900);
  CHECK(defaults.enforcing_consecutive_errors == 100);
  CHECK(defaults.enforcing_success_rate == 100);
  error_list errors;
  auto json = to_json(defaults);
  auto back =
    parse_outlier_config(json, json_path{} / "outlier_detection", errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
  CHECK(
    boost::json::serialize(json)
    == R"({"enabled":true,"consecutive_errors":5,"interval":"10s",)"
       R"("base_ejection_time":"30s","max_ejection_time":"5m",)"
       R"("max_ejection_percent":10,"success_rate_minimum_hosts":5,)"
       R"("success_rate_request_volume":100,"success_rate_stdev_factor":1900,)"
       R"("enforcing_consecutive_errors":100,"enforcing_success_rate":100})");
}

TEST_CASE("a non-default outlier config survives a round trip through JSON",
          "[runtime][supervise][outlier][config]") {
  outlier_config cfg;
  cfg.enabled = false;
  cfg.consecutive_errors = 3;
  cfg.interval = milliseconds(2500);
  cfg.base_ejection_time = seconds(5);
  cfg.max_ejection_time = seconds(45);
  cfg.max_ejection_percent = 50;
  cfg.success_rate_minimum_hosts = 3;
  cfg.success_rate_request_volume = 20;
  cfg.success_rate_stdev_factor = 1000;
  cfg.enforcing_consecutive_errors = 0;
  cfg.enforcing_success_rate = 25;
  error_list errors;
  auto back = parse_outlier_config(to_json(cfg), json_path{}, errors);
  CHECK(errors.empty());
  CHECK(back == cfg);
}

TEST_CASE("an outlier document fills every field",
          "[runtime][supervise][outlier][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": false, "consecutive_errors": 7,
                       "interval": "1s", "base_ejection_time": "250ms",
                       "max_ejection_time": "2s", "max_ejection_percent": 0,
                       "success_rate_minimum_hosts": 1,
                       "success_rate_request_volume": 1,
                       "success_rate_stdev_factor": 0,
                       "enforcing_consecutive_errors": 50,
                       "enforcing_success_rate": 0})",
                   errors);
  CHECK(errors.to_string() == "");
  CHECK_FALSE(cfg.enabled);
  CHECK(cfg.consecutive_errors == 7);
  CHECK(cfg.interval == seconds(1));
  CHECK(cfg.base_ejection_time == milliseconds(250));
  CHECK(cfg.max_ejection_time == seconds(2));
  CHECK(cfg.max_ejection_percent == 0);
  CHECK(cfg.success_rate_minimum_hosts == 1);
  CHECK(cfg.success_rate_request_volume == 1);
  CHECK(cfg.success_rate_stdev_factor == 0);
  CHECK(cfg.enforcing_consecutive_errors == 50);
  CHECK(cfg.enforcing_success_rate == 0);
  // Absent keys keep their defaults; an empty object is the default config.
  error_list none;
  CHECK(parse("{}", none) == outlier_config{});
  CHECK(none.empty());
}

TEST_CASE("an absent max_ejection_time follows a larger base_ejection_time, as "
          "in Envoy",
          "[runtime][supervise][outlier][config]") {
  error_list errors;
  auto raised = parse(R"({"base_ejection_time": "10m"})", errors);
  CHECK(errors.to_string() == "");
  CHECK(raised.base_ejection_time == minutes(10));
  CHECK(raised.max_ejection_time == minutes(10));
  auto lowered = parse(R"({"base_ejection_time": "1s"})", errors);
  CHECK(lowered.max_ejection_time == seconds(300));
  auto equal =
    parse(R"({"base_ejection_time": "1m", "max_ejection_time": "1m"})", errors);
  CHECK(errors.to_string() == "");
  CHECK(equal.max_ejection_time == minutes(1));
}

TEST_CASE("bad outlier documents report every error with its path",
          "[runtime][supervise][outlier][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"([])", "/supervisors/payments/outlier_detection: must be an object "
              "(got: [])\n"},
    {R"({"consecutive_5xx": 5, "enabled": "yes"})",
     "/supervisors/payments/outlier_detection/consecutive_5xx: unknown key "
     "(allowed: enabled, consecutive_errors, interval, base_ejection_time, "
     "max_ejection_time, max_ejection_percent, success_rate_minimum_hosts, "
     "success_rate_request_volume, success_rate_stdev_factor, "
     "enforcing_consecutive_errors, enforcing_success_rate)\n"
     "/supervisors/payments/outlier_detection/enabled: must be true or false "
     "(got: \"yes\")\n"},
    {R"({"consecutive_errors": 0, "max_ejection_percent": 101,
         "enforcing_consecutive_errors": -1, "enforcing_success_rate": 150})",
     "/supervisors/payments/outlier_detection/consecutive_errors: must be "
     "between 1 and 10000 (got: 0)\n"
     "/supervisors/payments/outlier_detection/max_ejection_percent: must be "
     "between 0 and 100 (got: 101)\n"
     "/supervisors/payments/outlier_detection/enforcing_consecutive_errors: "
     "must be between 0 and 100 (got: -1)\n"
     "/supervisors/payments/outlier_detection/enforcing_success_rate: must be "
     "between 0 and 100 (got: 150)\n"},
    {R"({"consecutive_errors": 2.5, "success_rate_stdev_factor": 1.9,
         "success_rate_minimum_hosts": "5"})",
     "/supervisors/payments/outlier_detection/consecutive_errors: must be an "
     "integer between 1 and 10000 (got: 2.5E0)\n"
     "/supervisors/payments/outlier_detection/success_rate_minimum_hosts: "
     "must be an integer (got: \"5\")\n"
     "/supervisors/payments/outlier_detection/success_rate_stdev_factor: must "
     "be an integer between 0 and 100000 (got: 1.9E0)\n"},
    {R"({"success_rate_minimum_hosts": 0, "success_rate_request_volume": 0,
         "success_rate_stdev_factor": 100001})",
     "/supervisors/payments/outlier_detection/success_rate_minimum_hosts: "
     "must be between 1 and 100000 (got: 0)\n"
     "/supervisors/payments/outlier_detection/success_rate_request_volume: "
     "must be between 1 and 1000000000 (got: 0)\n"
     "/supervisors/payments/outlier_detection/success_rate_stdev_factor: must "
     "be between 0 and 100000 (got: 100001)\n"},
    {R"({"interval": 10, "base_ejection_time": "0s",
         "max_ejection_time": "25h"})",
     "/supervisors/payments/outlier_detection/interval: must be a duration "
     "string with a unit such as \"250ms\" (got: 10)\n"
     "/supervisors/payments/outlier_detection/base_ejection_time: must be "
     "between 1ms and 1h (got: \"0s\")\n"
     "/supervisors/payments/outlier_detection/max_ejection_time: must be "
     "between 1ms and 24h (got: \"25h\")\n"},
    {R"({"interval": "2h", "base_ejection_time": "30 s"})",
     "/supervisors/payments/outlier_detection/interval: must be between 1ms "
     "and 1h (got: \"2h\")\n"
     "/supervisors/payments/outlier_detection/base_ejection_time: must be a "
     "duration with a unit (ns, us, ms, s, m, h) such as \"250ms\" (got: "
     "\"30 s\")\n"},
    {R"({"max_ejection_time": "10s"})",
     "/supervisors/payments/outlier_detection/max_ejection_time: must not be "
     "less than base_ejection_time (30s) (got: \"10s\")\n"},
    {R"({"interval": "-1s", "max_ejection_time": "29999ms"})",
     "/supervisors/payments/outlier_detection/interval: must not be negative "
     "(got: \"-1s\")\n"
     "/supervisors/payments/outlier_detection/max_ejection_time: must not be "
     "less than base_ejection_time (30s) (got: \"29999ms\")\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    auto cfg = parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
    // A bad value never replaces the default.
    CHECK(cfg == outlier_config{});
  }
}

TEST_CASE("a max_ejection_time below an explicit base is rejected and follows "
          "the base",
          "[runtime][supervise][outlier][config]") {
  error_list errors;
  auto cfg = parse(
    R"({"base_ejection_time": "10m", "max_ejection_time": "5m"})", errors);
  CHECK(
    errors.to_string()
    == "/supervisors/payments/outlier_detection/max_ejection_time: must not "
       "be less than base_ejection_time (10m) (got: \"5m\")\n");
  CHECK(cfg.base_ejection_time == minutes(10));
  // What an absent key would give: the larger of 300s and the base.
  CHECK(cfg.max_ejection_time == minutes(10));
}
