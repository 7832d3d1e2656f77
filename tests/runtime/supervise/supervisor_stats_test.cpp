// A supervisor's stats for people: every member's status by name in the JSON,
// and the counts by status the metrics read.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "bulwark/runtime/supervise/supervisor_stats.hpp"

using namespace bulwark;

TEST_CASE("every member status has a distinct name", "[runtime][supervise]") {
  CHECK(to_string(member_status::running) == "running");
  CHECK(to_string(member_status::unreachable) == "unreachable");
  CHECK(to_string(member_status::restarting) == "restarting");
  CHECK(to_string(member_status::stopped) == "stopped");
}

TEST_CASE("the stats JSON shows an unreachable member as running with status "
          "unreachable",
          "[runtime][supervise]") {
  supervisor_stats x;
  x.name = "payments";
  x.counters.unreachable_events = 2;
  x.counters.reach_ignored = 1;
  supervisor_member_stats a;
  a.name = "pay-a";
  a.running = true;
  a.status = member_status::unreachable;
  supervisor_member_stats b;
  b.name = "pay-b";
  b.running = true;
  b.status = member_status::running;
  x.members = {a, b};
  CHECK(x.members_in(member_status::unreachable) == 1);
  CHECK(x.members_in(member_status::running) == 1);
  CHECK(x.members_in(member_status::restarting) == 0);
  CHECK(x.running_members() == 2);
  auto o = to_json(x);
  CHECK(o.at("unreachable_events").to_number<std::uint64_t>() == 2);
  CHECK(o.at("reach_ignored").to_number<std::uint64_t>() == 1);
  auto& ms = o.at("members").as_array();
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].at("name").as_string() == "pay-a");
  CHECK(ms[0].at("running").as_bool());
  CHECK(ms[0].at("status").as_string() == "unreachable");
  CHECK(ms[1].at("status").as_string() == "running");
}
