#include "bulwark/runtime/ledger/ledger_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

ledger_config parse(std::string_view text, error_list& errors) {
  return parse_ledger_config(boost::json::parse(text),
                             json_path{} / "services" / "orders" / "ledger",
                             errors);
}

} // namespace

TEST_CASE("the ledger defaults survive a round trip through JSON",
          "[runtime][ledger][config]") {
  error_list errors;
  auto cfg = parse_ledger_config(to_json(ledger_config{}), json_path{}, errors);
  CHECK(errors.empty());
  ledger_config defaults;
  CHECK(cfg.max_entries == defaults.max_entries);
  CHECK(cfg.retention == defaults.retention);
  CHECK(cfg.in_progress_timeout == defaults.in_progress_timeout);
  CHECK(cfg.max_waiters_per_key == defaults.max_waiters_per_key);
  CHECK(boost::json::serialize(to_json(defaults))
        == R"({"max_entries":100000,"retention":"24h",)"
           R"("in_progress_timeout":"30s","max_waiters_per_key":64})");
}

TEST_CASE("a complete ledger object is read into the config",
          "[runtime][ledger][config]") {
  error_list errors;
  auto cfg = parse(R"({"max_entries": 5000, "retention": "10m",
                       "in_progress_timeout": "1500ms",
                       "max_waiters_per_key": 0})",
                   errors);
  CHECK(errors.empty());
  CHECK(cfg.max_entries == 5000);
  CHECK(cfg.retention == minutes(10));
  CHECK(cfg.in_progress_timeout == milliseconds(1500));
  CHECK(cfg.max_waiters_per_key == 0);
  error_list round_errors;
  auto again = parse_ledger_config(to_json(cfg), json_path{}, round_errors);
  CHECK(round_errors.empty());
  CHECK(again.retention == cfg.retention);
  CHECK(again.in_progress_timeout == cfg.in_progress_timeout);
}

TEST_CASE("an in-progress timeout equal to the retention is accepted",
          "[runtime][ledger][config]") {
  error_list errors;
  auto cfg =
    parse(R"({"retention": "1s", "in_progress_timeout": "1s"})", errors);
  CHECK(errors.empty());
  CHECK(cfg.in_progress_timeout == seconds(1));
}

TEST_CASE("bad ledger documents report every error with its full text",
          "[runtime][ledger][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"({"max_entries": 0})",
     "/services/orders/ledger/max_entries: must be between 1 and 10000000 "
     "(got: 0)\n"},
    {R"({"max_entries": 10000001, "max_waiters_per_key": -1})",
     "/services/orders/ledger/max_entries: must be between 1 and 10000000 "
     "(got: 10000001)\n"
     "/services/orders/ledger/max_waiters_per_key: must be between 0 and "
     "100000 (got: -1)\n"},
    {R"({"retention": "0s"})",
     "/services/orders/ledger/retention: must be between 1ns and 168h (got: "
     "\"0s\")\n"},
    {R"({"retention": "1s", "in_progress_timeout": "2s"})",
     "/services/orders/ledger/in_progress_timeout: must not exceed retention "
     "(1s) (got: \"2s\")\n"},
    {R"({"retention": "1s", "in_progress_timeout": 2})",
     "/services/orders/ledger/in_progress_timeout: must be a duration string "
     "with a unit such as \"250ms\" (got: 2)\n"},
    {R"({"retain": "1h", "max_waiters_per_key": 100001})",
     "/services/orders/ledger/retain: unknown key (allowed: max_entries, "
     "retention, in_progress_timeout, max_waiters_per_key)\n"
     "/services/orders/ledger/max_waiters_per_key: must be between 0 and "
     "100000 (got: 100001)\n"},
    {R"([1])", "/services/orders/ledger: must be an object (got: [1])\n"},
  };
  for (auto& r : rows) {
    CAPTURE(r.doc);
    error_list errors;
    parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
  }
}

TEST_CASE("a bad ledger value keeps its default", "[runtime][ledger][config]") {
  error_list errors;
  auto cfg =
    parse(R"({"max_entries": "many", "retention": "forever"})", errors);
  CHECK(errors.size() == 2);
  CHECK(cfg.max_entries == ledger_config{}.max_entries);
  CHECK(cfg.retention == ledger_config{}.retention);
}
