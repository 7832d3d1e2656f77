#include "bulwark/runtime/breaker/breaker_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

breaker_config parse(std::string_view text, error_list& errors) {
  return parse_breaker_config(boost::json::parse(text),
                              json_path{} / "dependencies" / "db" / "breaker",
                              errors);
}

} // namespace

TEST_CASE(
  "breaker config defaults serialize to every key and parse back unchanged",
  "[runtime][breaker][config]") {
  breaker_config defaults;
  auto json = to_json(defaults);
  CHECK(boost::json::serialize(json)
        == R"({"mode":"automatic","window":"count_based","window_size":100,)"
           R"("minimum_calls":20,"failure_rate_threshold":50,)"
           R"("slow_call_rate_threshold":100,"slow_call_duration":"2s",)"
           R"("open_duration":"5s","open_duration_multiplier":2,)"
           R"("max_open_duration":"1m","half_open_probes":5,)"
           R"("half_open_max_in_flight":0,"max_half_open_duration":"0s",)"
           R"("record_failures_on":["transient","timeout","overloaded"]})");
  error_list errors;
  auto parsed = parse_breaker_config(json, json_path{}, errors);
  CHECK(errors.to_string() == "");
  CHECK(parsed == defaults);
  error_list empty_errors;
  CHECK(parse("{}", empty_errors) == defaults);
  CHECK(empty_errors.empty());
}

TEST_CASE("a breaker config with every key set round-trips through JSON",
          "[runtime][breaker][config]") {
  error_list errors;
  auto cfg = parse(R"({"mode": "forced_open", "window": "time_based",
                      "window_size": 30, "minimum_calls": 200,
                      "failure_rate_threshold": 12.5,
                      "slow_call_rate_threshold": 80,
                      "slow_call_duration": "750ms", "open_duration": "2s",
                      "open_duration_multiplier": 1.5,
                      "max_open_duration": "90s", "half_open_probes": 1,
                      "record_failures_on": ["timeout", "persistent"]})",
                   errors);
  CHECK(errors.to_string() == "");
  CHECK(cfg.mode == breaker_mode::forced_open);
  CHECK(cfg.window == window_kind::time_based);
  CHECK(cfg.window_size == 30);
  // A time window may require more calls than it has seconds.
  CHECK(cfg.minimum_calls == 200);
  CHECK(cfg.failure_rate_threshold == 0.125);
  CHECK(cfg.slow_call_rate_threshold == 0.8);
  CHECK(cfg.slow_call_duration == milliseconds(750));
  CHECK(cfg.open_duration == seconds(2));
  CHECK(cfg.open_duration_multiplier == 1.5);
  CHECK(cfg.max_open_duration == seconds(90));
  CHECK(cfg.half_open_probes == 1);
  CHECK(
    cfg.record_failures_on
    == failure_class_set{failure_class::timeout, failure_class::persistent});
  error_list again;
  CHECK(parse_breaker_config(to_json(cfg), json_path{}, again) == cfg);
  CHECK(again.empty());
}

TEST_CASE(
  "bad breaker configs report every error with its path and keep defaults",
  "[runtime][breaker][config]") {
  struct row {
    const char* doc;
    const char* errors;
    const char* kept = "{}"; // the config the bad document must yield
  };
  const row rows[] = {
    {R"({"windw": 5})",
     "/dependencies/db/breaker/windw: unknown key (allowed: mode, window, "
     "window_size, minimum_calls, failure_rate_threshold, "
     "slow_call_rate_threshold, slow_call_duration, open_duration, "
     "open_duration_multiplier, max_open_duration, half_open_probes, "
     "half_open_max_in_flight, max_half_open_duration, "
     "record_failures_on)\n"},
    {R"({"mode": "off", "window": "sliding"})",
     "/dependencies/db/breaker/mode: must be one of \"automatic\", "
     "\"forced_open\", \"disabled\" (got: \"off\")\n"
     "/dependencies/db/breaker/window: must be one of \"count_based\", "
     "\"time_based\" (got: \"sliding\")\n"},
    {R"({"window_size": 0, "minimum_calls": 100001, "half_open_probes": 0})",
     "/dependencies/db/breaker/window_size: must be between 1 and 100000 "
     "(got: 0)\n"
     "/dependencies/db/breaker/minimum_calls: must be between 1 and 100000 "
     "(got: 100001)\n"
     "/dependencies/db/breaker/half_open_probes: must be between 1 and 1000 "
     "(got: 0)\n"},
    {R"({"failure_rate_threshold": 0, "slow_call_rate_threshold": 101})",
     "/dependencies/db/breaker/failure_rate_threshold: must be greater than 0 "
     "and at most 100 (got: 0)\n"
     "/dependencies/db/breaker/slow_call_rate_threshold: must be between 0 and "
     "100 (got: 101)\n"},
    {R"({"slow_call_duration": "0s", "open_duration": 5,
        "open_duration_multiplier": 0.5, "max_open_duration": "2d"})",
     "/dependencies/db/breaker/slow_call_duration: must be between 1ms and 1h "
     "(got: \"0s\")\n"
     "/dependencies/db/breaker/open_duration: must be a duration string with "
     "a unit such as \"250ms\" (got: 5)\n"
     "/dependencies/db/breaker/open_duration_multiplier: must be between 1 "
     "and 10 (got: 5E-1)\n"
     "/dependencies/db/breaker/max_open_duration: must be a duration with a "
     "unit (ns, us, ms, s, m, h) such as \"250ms\" (got: \"2d\")\n"},
    {R"({"window": "time_based", "window_size": 7200})",
     "/dependencies/db/breaker/window_size: must be between 1 and 3600 "
     "seconds for a time_based window (got: 7200)\n",
     R"({"window": "time_based"})"},
    {R"({"window_size": 10, "minimum_calls": 11})",
     "/dependencies/db/breaker/minimum_calls: must not exceed window_size "
     "(10) for a count_based window (got: 11)\n",
     R"({"window_size": 10, "minimum_calls": 10})"},
    {R"({"open_duration": "30s", "max_open_duration": "10s"})",
     "/dependencies/db/breaker/max_open_duration: must not be shorter than "
     "open_duration (30s) (got: \"10s\")\n",
     R"({"open_duration": "30s"})"},
    {R"({"max_open_duration": "1s"})",
     "/dependencies/db/breaker/max_open_duration: must not be shorter than "
     "open_duration (5s) (got: \"1s\")\n"},
    {R"({"record_failures_on": ["timeout", "cancelled", "rejected_locally"]})",
     "/dependencies/db/breaker/record_failures_on/1: must not be "
     "\"cancelled\": such outcomes say nothing about the downstream and are "
     "never recorded\n"
     "/dependencies/db/breaker/record_failures_on/2: must not be "
     "\"rejected_locally\": such outcomes say nothing about the downstream and "
     "are never recorded\n"},
    {R"({"record_failures_on": "timeout"})",
     "/dependencies/db/breaker/record_failures_on: must be an array of "
     "failure classes (got: \"timeout\")\n"},
    {R"([])", "/dependencies/db/breaker: must be an object (got: [])\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    auto cfg = parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
    // Bad values keep their defaults; the valid values of the row stay.
    error_list none;
    CHECK(cfg == parse(r.kept, none));
    CHECK(none.empty());
  }
}

TEST_CASE("implicit defaults bend to fit explicit values instead of failing",
          "[runtime][breaker][config]") {
  error_list errors;
  auto small = parse(R"({"window_size": 8})", errors);
  CHECK(small.minimum_calls == 8);
  auto long_open = parse(R"({"open_duration": "2m"})", errors);
  CHECK(long_open.open_duration == minutes(2));
  CHECK(long_open.max_open_duration == minutes(2));
  CHECK(errors.to_string() == "");
}

TEST_CASE("breaker modes and window kinds have the names the config uses",
          "[runtime][breaker][config]") {
  CHECK(to_string(breaker_mode::automatic) == "automatic");
  CHECK(to_string(breaker_mode::forced_open) == "forced_open");
  CHECK(to_string(breaker_mode::disabled) == "disabled");
  CHECK(to_string(window_kind::count_based) == "count_based");
  CHECK(to_string(window_kind::time_based) == "time_based");
}

TEST_CASE("a threshold with six decimals is accepted, one with more is refused",
          "[runtime][breaker][config]") {
  error_list errors;
  auto cfg = parse(R"({"failure_rate_threshold": 66.66666,
                       "slow_call_rate_threshold": 0.000001})",
                   errors);
  CHECK(errors.empty());
  CHECK(breaker_threshold_units(cfg.failure_rate_threshold) == 66'666'660);
  CHECK(breaker_threshold_units(cfg.slow_call_rate_threshold) == 1);
  error_list bad;
  cfg = parse(R"({"failure_rate_threshold": 66.6666666,
                  "slow_call_rate_threshold": 50.00000001})",
              bad);
  CHECK(bad.to_string()
        == "/dependencies/db/breaker/failure_rate_threshold: must have at most "
           "6 decimal places, so that it compares exactly (got: 6.66666666E1)\n"
           "/dependencies/db/breaker/slow_call_rate_threshold: must have at "
           "most 6 decimal places, so that it compares exactly (got: "
           "5.000000001E1)\n");
  // Refused values keep their defaults.
  CHECK(cfg.failure_rate_threshold == breaker_config{}.failure_rate_threshold);
  CHECK(cfg.slow_call_rate_threshold
        == breaker_config{}.slow_call_rate_threshold);
}
