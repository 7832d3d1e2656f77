#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

bulkhead_config parse(std::string_view text, error_list& errors) {
  return parse_bulkhead_config(boost::json::parse(text),
                               json_path{} / "dependencies" / "db" / "bulkhead",
                               errors);
}

} // namespace

TEST_CASE("bulkhead defaults survive a round trip through JSON",
          "[runtime][bulkhead][config]") {
  bulkhead_config defaults;
  error_list errors;
  auto json = to_json(defaults);
  auto back = parse_bulkhead_config(json, json_path{} / "bulkhead", errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
  CHECK(boost::json::serialize(json)
        == R"({"max_concurrent":64,"max_queue":128,"max_queue_wait":"100ms",)"
           R"("critical_reserve":10})");
}

TEST_CASE("a non-default bulkhead survives a round trip through JSON",
          "[runtime][bulkhead][config]") {
  bulkhead_config cfg;
  cfg.max_concurrent = 7;
  cfg.max_queue = 0;
  cfg.max_queue_wait = duration{0};
  cfg.critical_reserve = 0.125;
  error_list errors;
  auto back = parse_bulkhead_config(to_json(cfg), json_path{}, errors);
  CHECK(errors.empty());
  CHECK(back == cfg);
}

TEST_CASE("a bulkhead document fills every field",
          "[runtime][bulkhead][config]") {
  error_list errors;
  auto cfg = parse(R"({"max_concurrent": 25, "max_queue": 0,
                       "max_queue_wait": "0s", "critical_reserve": 20})",
                   errors);
  CHECK(errors.empty());
  CHECK(cfg.max_concurrent == 25);
  CHECK(cfg.max_queue == 0);
  CHECK(cfg.max_queue_wait == duration{0});
  CHECK(cfg.critical_reserve == Approx(0.2));
  CHECK(cfg.reserved_slots() == 5);
  error_list none;
  CHECK(parse("{}", none) == bulkhead_config{});
  CHECK(none.empty());
}

TEST_CASE("the critical reserve rounds down to whole slots",
          "[runtime][bulkhead][config]") {
  bulkhead_config cfg;
  CHECK(cfg.reserved_slots() == 6); // 64 * 10% = 6.4
  cfg.max_concurrent = 5;
  CHECK(cfg.reserved_slots() == 0); // 0.5: small limits lose no capacity
  cfg.max_concurrent = 100;
  cfg.critical_reserve = 0.29; // 28.999... in binary
  CHECK(cfg.reserved_slots() == 29);
  cfg.critical_reserve = 1.0;
  CHECK(cfg.reserved_slots() == 100);
}

TEST_CASE("bad bulkhead documents report every error with its path",
          "[runtime][bulkhead][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"("64")", "/dependencies/db/bulkhead: must be an object (got: \"64\")\n"},
    {R"({"max_concurrent": 0, "max_queue": -1, "max_queue_wait": "2m",
         "critical_reserve": 101, "queue": 5})",
     "/dependencies/db/bulkhead/queue: unknown key (allowed: max_concurrent, "
     "max_queue, max_queue_wait, critical_reserve)\n"
     "/dependencies/db/bulkhead/max_concurrent: must be between 1 and 100000 "
     "(got: 0)\n"
     "/dependencies/db/bulkhead/max_queue: must be between 0 and 100000 (got: "
     "-1)\n"
     "/dependencies/db/bulkhead/max_queue_wait: must be between 0s and 1m "
     "(got: \"2m\")\n"
     "/dependencies/db/bulkhead/critical_reserve: must be between 0 and 100 "
     "(got: 101)\n"},
    {R"({"max_concurrent": 2.5, "max_queue": "10", "max_queue_wait": 100})",
     "/dependencies/db/bulkhead/max_concurrent: must be an integer between 1 "
     "and 100000 (got: 2.5E0)\n"
     "/dependencies/db/bulkhead/max_queue: must be an integer (got: \"10\")\n"
     "/dependencies/db/bulkhead/max_queue_wait: must be a duration string "
     "with a unit such as \"250ms\" (got: 100)\n"},
    {R"({"max_queue_wait": "0ms"})",
     "/dependencies/db/bulkhead/max_queue_wait: must be greater than 0s when "
     "max_queue is greater than 0 (got: \"0ms\")\n"},
    {R"({"max_queue": 4, "max_queue_wait": "0s"})",
     "/dependencies/db/bulkhead/max_queue_wait: must be greater than 0s when "
     "max_queue is greater than 0 (got: \"0s\")\n"},
    {R"({"max_concurrent": 3, "critical_reserve": 100})",
     "/dependencies/db/bulkhead/critical_reserve: must leave at least one of "
     "the 3 slots to standard and sheddable requests (got: 100)\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    auto cfg = parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
    CHECK(cfg.max_queue_wait == bulkhead_config{}.max_queue_wait);
    CHECK(cfg.critical_reserve == bulkhead_config{}.critical_reserve);
  }
}

TEST_CASE("one slot with any reserve below 100 percent is valid",
          "[runtime][bulkhead][config]") {
  error_list errors;
  auto cfg = parse(R"({"max_concurrent": 1, "critical_reserve": 99})", errors);
  CHECK(errors.empty());
  CHECK(cfg.reserved_slots() == 0);
}
