#include "bulwark/runtime/budget/budget_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

budget_config parse(std::string_view text, error_list& errors) {
  return parse_budget_config(boost::json::parse(text),
                             json_path{} / "dependencies" / "db" / "budget",
                             errors);
}

} // namespace

TEST_CASE("budget defaults survive a round trip through JSON",
          "[runtime][budget][config]") {
  budget_config defaults;
  error_list errors;
  auto json = to_json(defaults);
  auto back = parse_budget_config(json, json_path{} / "budget", errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
  CHECK(
    boost::json::serialize(json)
    == R"({"mode":"finagle","finagle":{"ttl":"10s","min_retries_per_second":10,)"
       R"("percent_can_retry":20},"grpc":{"max_tokens":10,"token_ratio":1E-1}})");
}

TEST_CASE("a non-default budget survives a round trip through JSON",
          "[runtime][budget][config]") {
  budget_config cfg;
  cfg.mode = budget_mode::grpc;
  cfg.ttl = milliseconds(2500);
  cfg.min_retries_per_second = 0.5;
  cfg.percent_can_retry = 0.05;
  cfg.max_tokens = 100;
  cfg.token_ratio = 0.125;
  error_list errors;
  auto back = parse_budget_config(to_json(cfg), json_path{}, errors);
  CHECK(errors.empty());
  CHECK(back == cfg);
}

TEST_CASE("a budget document fills every field", "[runtime][budget][config]") {
  error_list errors;
  auto cfg = parse(R"({"mode": "grpc",
                       "finagle": {"ttl": "30s", "min_retries_per_second": 2,
                                   "percent_can_retry": 10},
                       "grpc": {"max_tokens": 100, "token_ratio": 0.25}})",
                   errors);
  CHECK(errors.empty());
  CHECK(cfg.mode == budget_mode::grpc);
  CHECK(cfg.ttl == seconds(30));
  CHECK(cfg.min_retries_per_second == 2.0);
  CHECK(cfg.percent_can_retry == Approx(0.1));
  CHECK(cfg.max_tokens == 100.0);
  CHECK(cfg.token_ratio == 0.25);
  // Absent keys keep their defaults; an empty object is the default budget.
  error_list none;
  CHECK(parse("{}", none) == budget_config{});
  CHECK(none.empty());
  auto unlimited = parse(R"({"mode": "unlimited"})", none);
  CHECK(unlimited.mode == budget_mode::unlimited);
  CHECK(none.empty());
}

TEST_CASE("bad budget documents report every error with its path",
          "[runtime][budget][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"([])", "/dependencies/db/budget: must be an object (got: [])\n"},
    {R"({"mode": "sre", "extra": 1})",
     "/dependencies/db/budget/extra: unknown key (allowed: mode, finagle, "
     "grpc)\n"
     "/dependencies/db/budget/mode: must be one of \"finagle\", \"grpc\", "
     "\"unlimited\" (got: \"sre\")\n"},
    {R"({"finagle": {"ttl": "500ms", "min_retries_per_second": -1,
                     "percent_can_retry": 120, "percent": 5}})",
     "/dependencies/db/budget/finagle/percent: unknown key (allowed: ttl, "
     "min_retries_per_second, percent_can_retry)\n"
     "/dependencies/db/budget/finagle/ttl: must be between 1s and 1m (got: "
     "\"500ms\")\n"
     "/dependencies/db/budget/finagle/min_retries_per_second: must be between "
     "0 and 100000 (got: -1)\n"
     "/dependencies/db/budget/finagle/percent_can_retry: must be between 0 "
     "and 100 (got: 120)\n"},
    {R"({"finagle": {"ttl": 10, "percent_can_retry": "20%"}})",
     "/dependencies/db/budget/finagle/ttl: must be a duration string with a "
     "unit such as \"250ms\" (got: 10)\n"
     "/dependencies/db/budget/finagle/percent_can_retry: must be a number "
     "(got: \"20%\")\n"},
    {R"({"finagle": {"ttl": "61s"}})",
     "/dependencies/db/budget/finagle/ttl: must be between 1s and 1m (got: "
     "\"61s\")\n"},
    {R"({"grpc": {"max_tokens": 0, "token_ratio": 0}})",
     "/dependencies/db/budget/grpc/max_tokens: must be between 0.001 and 1000 "
     "(got: 0)\n"
     "/dependencies/db/budget/grpc/token_ratio: must be between 0.001 and "
     "1000 (got: 0)\n"},
    {R"({"grpc": {"max_tokens": 1001, "token_ratio": 0.0001}})",
     "/dependencies/db/budget/grpc/max_tokens: must be between 0.001 and 1000 "
     "(got: 1001)\n"
     "/dependencies/db/budget/grpc/token_ratio: must be between 0.001 and "
     "1000 (got: 1E-4)\n"},
    {R"({"grpc": {"max_tokens": 10.5555, "token_ratio": 0.1234}})",
     "/dependencies/db/budget/grpc/max_tokens: must have at most 3 decimal "
     "places (got: 1.05555E1)\n"
     "/dependencies/db/budget/grpc/token_ratio: must have at most 3 decimal "
     "places (got: 1.234E-1)\n"},
    {R"({"mode": 1, "finagle": [], "grpc": "x"})",
     "/dependencies/db/budget/mode: must be one of \"finagle\", \"grpc\", "
     "\"unlimited\" (got: 1)\n"
     "/dependencies/db/budget/finagle: must be an object (got: [])\n"
     "/dependencies/db/budget/grpc: must be an object (got: \"x\")\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    auto cfg = parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
    // A bad value never replaces the default.
    CHECK(cfg == budget_config{});
  }
}

TEST_CASE("gRPC amounts with three decimals are accepted",
          "[runtime][budget][config]") {
  error_list errors;
  auto cfg =
    parse(R"({"grpc": {"max_tokens": 999.999, "token_ratio": 0.001}})", errors);
  CHECK(errors.empty());
  CHECK(cfg.max_tokens == 999.999);
  CHECK(cfg.token_ratio == 0.001);
}
