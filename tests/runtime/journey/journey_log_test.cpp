#include "bulwark/runtime/journey/journey_log.hpp"

#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/object_reader.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(1);

const json_path at = json_path{} / "dependencies" / "pricing" / "journeys";

journey finished(std::uint64_t id, bool ok) {
  journey j{id, t0 + milliseconds(id)};
  journey_event reply;
  reply.kind = journey_event_kind::replied;
  REQUIRE(
    j.record(t0 + milliseconds(id),
             reply.with_outcome(ok ? outcome::ok()
                                   : outcome::failure(failure_class::timeout),
                                milliseconds(1))));
  return j;
}

std::vector<std::uint64_t> ids(const std::vector<const journey*>& xs) {
  std::vector<std::uint64_t> result;
  for (auto* x : xs)
    result.push_back(x->id());
  return result;
}

} // namespace

TEST_CASE("the journey config survives a round trip through to_json",
          "[runtime][journey]") {
  journey_config defaults;
  error_list errs;
  auto back = parse_journey_config(to_json(defaults), at, errs);
  CHECK(errs.empty());
  CHECK(back == defaults);
  CHECK(defaults.recent == 256);
  CHECK(defaults.failed == 256);
  CHECK(defaults.enabled);

  journey_config custom;
  custom.recent = 0;
  custom.failed = 65536;
  custom.enabled = false;
  CHECK(parse_journey_config(to_json(custom), at, errs) == custom);
  CHECK(errs.empty());
}

TEST_CASE("bad journey configs report every error with its path",
          "[runtime][journey]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
    {R"([])", "/dependencies/pricing/journeys: must be an object (got: [])\n"},
    {R"({"recent": -1, "failed": 65537, "enabled": 1})",
     "/dependencies/pricing/journeys/enabled: must be true or false (got: 1)\n"
     "/dependencies/pricing/journeys/recent: must be between 0 and 65536 "
     "(got: -1)\n"
     "/dependencies/pricing/journeys/failed: must be between 0 and 65536 "
     "(got: 65537)\n"},
    {R"({"recent": 1.5, "keep": 3})",
     "/dependencies/pricing/journeys/keep: unknown key (allowed: enabled, "
     "recent, failed)\n"
     "/dependencies/pricing/journeys/recent: must be an integer between 0 and "
     "65536 (got: 1.5E0)\n"},
  };
  for (auto& [doc, expected] : cases) {
    INFO(doc);
    error_list errs;
    auto cfg = parse_journey_config(boost::json::parse(doc), at, errs);
    CHECK(errs.to_string() == expected);
    CHECK(cfg == journey_config{});
  }
}

TEST_CASE("the log keeps the last N journeys and the last M failed ones",
          "[runtime][journey]") {
  journey_config cfg;
  cfg.recent = 3;
  cfg.failed = 2;
  journey_log log{cfg};
  // Ids 1..10; every third one failed (3, 6, 9).
  for (std::uint64_t id = 1; id <= 10; ++id)
    log.add(finished(id, id % 3 != 0));
  CHECK(log.added() == 10);
  CHECK(log.added_failed() == 3);
  CHECK(log.recent_size() == 3);
  CHECK(log.failed_size() == 2);
  CHECK(ids(log.recent()) == std::vector<std::uint64_t>{10, 9, 8});
  CHECK(ids(log.failed()) == std::vector<std::uint64_t>{9, 6});
  SECTION("lookup finds what is kept in either ring") {
    REQUIRE(log.find(8) != nullptr);
    CHECK(log.find(8)->id() == 8);
    CHECK_FALSE(log.find(8)->failed());
    // 6 left the recent ring but is still among the failed.
    REQUIRE(log.find(6) != nullptr);
    CHECK(log.find(6)->failed());
    CHECK(log.find(6)->started() == t0 + milliseconds(6));
    // Evicted from both.
    CHECK(log.find(7) == nullptr);
    CHECK(log.find(3) == nullptr);
    CHECK(log.find(11) == nullptr);
  }
  SECTION("the rings keep rotating") {
    for (std::uint64_t id = 11; id <= 13; ++id)
      log.add(finished(id, false));
    CHECK(ids(log.recent()) == std::vector<std::uint64_t>{13, 12, 11});
    CHECK(ids(log.failed()) == std::vector<std::uint64_t>{13, 12});
    CHECK(log.recent_size() == 3);
    CHECK(log.find(9) == nullptr);
  }
}

TEST_CASE("a log that is not yet full lists what it has, newest first",
          "[runtime][journey]") {
  journey_log log;
  log.add(finished(1, true));
  log.add(finished(2, false));
  CHECK(ids(log.recent()) == std::vector<std::uint64_t>{2, 1});
  CHECK(ids(log.failed()) == std::vector<std::uint64_t>{2});
}

TEST_CASE("an id kept twice resolves to its newest copy",
          "[runtime][journey]") {
  journey_config cfg;
  cfg.recent = 4;
  journey_log log{cfg};
  log.add(finished(1, true));
  journey second{1, t0 + seconds(5)};
  log.add(second);
  REQUIRE(log.find(1) != nullptr);
  CHECK(log.find(1)->started() == t0 + seconds(5));
}

TEST_CASE("a disabled or zero-sized log keeps nothing", "[runtime][journey]") {
  SECTION("disabled") {
    journey_config cfg;
    cfg.enabled = false;
    journey_log log{cfg};
    log.add(finished(1, false));
    CHECK(log.recent().empty());
    CHECK(log.failed().empty());
    CHECK(log.find(1) == nullptr);
    CHECK(log.added() == 0);
  }
  SECTION("no recent ones, only failures") {
    journey_config cfg;
    cfg.recent = 0;
    cfg.failed = 1;
    journey_log log{cfg};
    log.add(finished(1, true));
    log.add(finished(2, false));
    CHECK(log.recent().empty());
    CHECK(ids(log.failed()) == std::vector<std::uint64_t>{2});
    CHECK(log.find(1) == nullptr);
    CHECK(log.find(2) != nullptr);
  }
}

TEST_CASE("journeys are found by trace, each once, newest first, bounded",
          "[runtime][journey][trace]") {
  journey_log log{journey_config{}};
  const trace_id traced{1, 2};
  for (std::uint64_t id = 1; id <= 6; ++id) {
    auto j = finished(id, id % 2 == 0); // odd ids failed: in both rings
    if (id != 3)
      j.set_trace(journey_trace{traced, 100 + id, 7, 0});
    log.add(j);
  }
  std::vector<const journey*> found;
  CHECK(log.find_trace(traced, 10, found) == 5);
  CHECK(ids(found) == std::vector<std::uint64_t>{6, 5, 4, 2, 1});
  CHECK(found[0]->trace().span == 106);
  found.clear();
  CHECK(log.find_trace(traced, 2, found) == 5); // counts past the bound
  CHECK(found.size() == 2);
  found.clear();
  CHECK(log.find_trace(trace_id{9, 9}, 10, found) == 0);
  CHECK(found.empty());
}
