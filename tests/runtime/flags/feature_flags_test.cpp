#include "bulwark/runtime/flags/feature_flags.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <set>

using namespace bulwark;

namespace {

const json_path at = json_path{} / "flags";

feature_flags_config parse_text(std::string_view text, error_list& errs) {
  return parse_feature_flags_config(boost::json::parse(text), at, errs);
}

} // namespace

TEST_CASE("parsing the JSON of the default flags yields the defaults",
          "[runtime][flags]") {
  feature_flags_config defaults;
  error_list errs;
  auto cfg = parse_feature_flags_config(to_json(defaults), at, errs);
  INFO(errs.to_string());
  CHECK(errs.empty());
  CHECK(cfg.defaults == dependency_flags_config{});
  CHECK(cfg.dependencies.empty());
  CHECK(is_default(cfg.defaults));
  error_list errs2;
  auto empty = parse_text("{}", errs2);
  CHECK(errs2.empty());
  CHECK(empty.defaults == dependency_flags_config{});
}

TEST_CASE("every flag key is read and survives a round trip",
          "[runtime][flags]") {
  error_list errs;
  auto cfg = parse_text(R"({
    "*": {"hedging": {"enabled": false}},
    "payments": {"retry": {"enabled": false, "rollout": 50},
                 "hedging": {"enabled": false, "rollout": 25},
                 "breaker": {"mode": "force_open", "rollout": 10}},
    "inventory": {"breaker": {"mode": "disabled"}}
  })",
                        errs);
  INFO(errs.to_string());
  REQUIRE(errs.empty());
  CHECK_FALSE(cfg.defaults.hedging);
  CHECK(cfg.defaults.hedging_rollout == 1.0);
  auto& p = flags_for(cfg, "payments");
  CHECK_FALSE(p.retry);
  CHECK(p.retry_rollout == 0.5);
  CHECK_FALSE(p.hedging);
  CHECK(p.hedging_rollout == 0.25);
  CHECK(p.breaker == breaker_flag::force_open);
  CHECK(p.breaker_rollout == 0.1);
  CHECK(flags_for(cfg, "inventory").breaker == breaker_flag::disabled);
  // An entry replaces the default whole: inventory hedges.
  CHECK(flags_for(cfg, "inventory").hedging);
  CHECK(&flags_for(cfg, "unknown") == &cfg.defaults);
  error_list errs2;
  auto again = parse_feature_flags_config(to_json(cfg), at, errs2);
  CHECK(errs2.empty());
  CHECK(again.defaults == cfg.defaults);
  CHECK(again.dependencies == cfg.dependencies);
}

TEST_CASE("bad flag documents report every error with its path",
          "[runtime][flags]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"([])",
     "/flags: must be an object keyed by dependency name, \"*\" for the "
     "default (got: [])\n"},
    {R"({"": {}})", "/flags/: a dependency name must not be empty\n"},
    {R"({"payments": true})",
     "/flags/payments: must be an object (got: true)\n"},
    {R"({"payments": {"retries": {}}})",
     "/flags/payments/retries: unknown key (allowed: retry, hedging, "
     "breaker)\n"},
    {R"({"payments": {"retry": {"enabled": "no", "rollout": 101}}})",
     "/flags/payments/retry/enabled: must be true or false (got: \"no\")\n"
     "/flags/payments/retry/rollout: must be between 0 and 100 (got: 101)\n"},
    {R"({"*": {"hedging": false}})",
     "/flags/*/hedging: must be an object (got: false)\n"},
    {R"({"a/b": {"breaker": {"mode": "open", "rollout": -1, "x": 1}}})",
     "/flags/a~1b/breaker/x: unknown key (allowed: mode, rollout)\n"
     "/flags/a~1b/breaker/mode: must be one of \"normal\", \"force_open\", "
     "\"disabled\" (got: \"open\")\n"
     "/flags/a~1b/breaker/rollout: must be between 0 and 100 (got: -1)\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errs;
    parse_text(r.doc, errs);
    CHECK(errs.to_string() == r.errors);
  }
}

TEST_CASE("only flags that change something for some call are not default",
          "[runtime][flags]") {
  dependency_flags_config f;
  CHECK(is_default(f));
  f.retry = false;
  CHECK_FALSE(is_default(f));
  f.retry_rollout = 0;
  CHECK(is_default(f));
  f.breaker = breaker_flag::disabled;
  CHECK_FALSE(is_default(f));
  f = {};
  f.hedging = false;
  CHECK_FALSE(is_default(f));
  // A default value with a partial rollout is still the default.
  f = {};
  f.retry_rollout = 0.5;
  CHECK(is_default(f));
}

TEST_CASE("a full rollout applies to every call and none to no call",
          "[runtime][flags]") {
  dependency_flags_config f;
  f.retry = false;
  f.hedging = false;
  f.breaker = breaker_flag::force_open;
  for (std::uint64_t id = 0; id < 1000; ++id) {
    auto d = decide_flags(f, flag_hash({}, id));
    CHECK_FALSE(d.retry);
    CHECK_FALSE(d.hedging);
    CHECK(d.breaker == breaker_flag::force_open);
  }
  f.retry_rollout = f.hedging_rollout = f.breaker_rollout = 0;
  for (std::uint64_t id = 0; id < 1000; ++id) {
    auto d = decide_flags(f, flag_hash({}, id));
    CHECK(d.retry);
    CHECK(d.hedging);
    CHECK(d.breaker == breaker_flag::normal);
  }
}

TEST_CASE("a 50% rollout splits calls by key deterministically and "
          "independently per flag",
          "[runtime][flags]") {
  dependency_flags_config f;
  f.retry = false;
  f.retry_rollout = 0.5;
  f.hedging = false;
  f.hedging_rollout = 0.5;
  int no_retry = 0;
  int both = 0;
  constexpr int n = 10'000;
  for (int i = 0; i < n; ++i) {
    auto key = "order-" + std::to_string(i);
    auto d = decide_flags(f, flag_hash(key, static_cast<std::uint64_t>(i)));
    // The same key decides the same way, whatever the call id.
    auto again = decide_flags(f, flag_hash(key, 999'999));
    CHECK(d.retry == again.retry);
    CHECK(d.hedging == again.hedging);
    no_retry += d.retry ? 0 : 1;
    both += (!d.retry && !d.hedging) ? 1 : 0;
  }
  // Binomial(10000, 0.5): sd 50, so +-300 is 6 sd.
  CHECK(no_retry > n / 2 - 300);
  CHECK(no_retry < n / 2 + 300);
  // Independent flags: about a quarter get both.
  CHECK(both > n / 4 - 300);
  CHECK(both < n / 4 + 300);
}

TEST_CASE("calls without a key are split by id", "[runtime][flags]") {
  CHECK(flag_hash({}, 1) != flag_hash({}, 2));
  CHECK(flag_hash({}, 7) == flag_hash({}, 7));
  CHECK(flag_hash("k", 1) == flag_hash("k", 2));
  std::set<bool> seen;
  for (std::uint64_t id = 0; id < 64; ++id)
    seen.insert(in_rollout(flag_hash({}, id), flag_kind::retry, 0.5));
  CHECK(seen.size() == 2);
}

TEST_CASE("flag enums have names", "[runtime][flags]") {
  CHECK(to_string(breaker_flag::normal) == "normal");
  CHECK(to_string(breaker_flag::force_open) == "force_open");
  CHECK(to_string(breaker_flag::disabled) == "disabled");
  CHECK(to_string(flag_kind::hedging) == "hedging");
}
