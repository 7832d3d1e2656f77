#include "bulwark/runtime/hedge/hedge_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

hedge_config parse(std::string_view text, error_list& errors) {
  return parse_hedge_config(boost::json::parse(text),
                            json_path{} / "dependencies" / "search" / "hedge",
                            errors);
}

} // namespace

TEST_CASE("the hedge defaults survive a round trip through JSON",
          "[runtime][hedge][config]") {
  error_list errors;
  hedge_config defaults;
  auto cfg = parse_hedge_config(to_json(defaults), json_path{}, errors);
  CHECK(errors.empty());
  CHECK(cfg.enabled == defaults.enabled);
  CHECK(cfg.delay_kind == defaults.delay_kind);
  CHECK(cfg.delay == defaults.delay);
  CHECK(cfg.quantile == defaults.quantile);
  CHECK(cfg.min_delay == defaults.min_delay);
  CHECK(cfg.max_hedges == defaults.max_hedges);
  CHECK(cfg.min_samples == defaults.min_samples);
  CHECK(cfg.window == defaults.window);
  CHECK(boost::json::serialize(to_json(defaults))
        == R"({"enabled":false,"delay_kind":"quantile","delay":"10ms",)"
           R"("quantile":95,"min_delay":"1ms","max_hedges":1,)"
           R"("min_samples":100,"window":"10s"})");
}

TEST_CASE("a complete hedge object is read into the config",
          "[runtime][hedge][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": true, "delay_kind": "fixed", "delay": "5ms",
                       "quantile": 99.9, "min_delay": "500us",
                       "max_hedges": 4, "min_samples": 1000,
                       "window": "1m"})",
                   errors);
  CHECK(errors.empty());
  CHECK(cfg.enabled);
  CHECK(cfg.delay_kind == hedge_delay_kind::fixed);
  CHECK(cfg.delay == milliseconds(5));
  CHECK(cfg.quantile == Approx(0.999));
  CHECK(cfg.min_delay == microseconds(500));
  CHECK(cfg.max_hedges == 4);
  CHECK(cfg.min_samples == 1000);
  CHECK(cfg.window == minutes(1));
  error_list round_errors;
  auto again = parse_hedge_config(to_json(cfg), json_path{}, round_errors);
  CHECK(round_errors.empty());
  CHECK(again.quantile == cfg.quantile);
  CHECK(again.min_delay == cfg.min_delay);
}

TEST_CASE("bad hedge documents report every error with its full text",
          "[runtime][hedge][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"({"max_hedges": 0})",
     "/dependencies/search/hedge/max_hedges: must be between 1 and 4 "
     "(got: 0)\n"},
    {R"({"max_hedges": 5, "min_samples": 0})",
     "/dependencies/search/hedge/max_hedges: must be between 1 and 4 "
     "(got: 5)\n"
     "/dependencies/search/hedge/min_samples: must be between 1 and 1000000 "
     "(got: 0)\n"},
    {R"({"quantile": 100})",
     "/dependencies/search/hedge/quantile: must be greater than 0 and less "
     "than 100 (got: 100)\n"},
    {R"({"quantile": 0})",
     "/dependencies/search/hedge/quantile: must be greater than 0 and less "
     "than 100 (got: 0)\n"},
    {R"({"quantile": 0.95})", ""},
    {R"({"quantile": 150, "delay_kind": "p95"})",
     "/dependencies/search/hedge/delay_kind: must be one of \"fixed\", "
     "\"quantile\" (got: \"p95\")\n"
     "/dependencies/search/hedge/quantile: must be between 0 and 100 "
     "(got: 150)\n"},
    {R"({"delay": "2h", "min_delay": "fast", "window": "500ms"})",
     "/dependencies/search/hedge/delay: must be between 0s and 1h "
     "(got: \"2h\")\n"
     "/dependencies/search/hedge/min_delay: must be a duration with a unit "
     "(ns, us, ms, s, m, h) such as \"250ms\" (got: \"fast\")\n"
     "/dependencies/search/hedge/window: must be between 1s and 1h "
     "(got: \"500ms\")\n"},
    {R"({"enabled": "yes", "max_attempts": 3})",
     "/dependencies/search/hedge/max_attempts: unknown key (allowed: enabled, "
     "delay_kind, delay, quantile, min_delay, max_hedges, min_samples, "
     "window)\n"
     "/dependencies/search/hedge/enabled: must be true or false "
     "(got: \"yes\")\n"},
    {R"(null)", "/dependencies/search/hedge: must be an object (got: null)\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
  }
}

TEST_CASE("a bad quantile keeps the default", "[runtime][hedge][config]") {
  error_list errors;
  auto cfg = parse(R"({"quantile": 100})", errors);
  CHECK(cfg.quantile == 0.95);
}

TEST_CASE("hedge delay kind names match their enumerators",
          "[runtime][hedge][config]") {
  CHECK(to_string(hedge_delay_kind::fixed) == "fixed");
  CHECK(to_string(hedge_delay_kind::quantile) == "quantile");
}
