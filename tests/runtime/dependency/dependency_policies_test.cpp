#include "bulwark/runtime/dependency/dependency_policies.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

dependency_config make_config(const std::string& settings) {
  auto result =
    parse_bulwark_config(R"({"dependencies": {"dep": )" + settings + "}}");
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->dependencies.at(0);
}

} // namespace

TEST_CASE("the policies count breaker transitions and know the breaker's state",
          "[runtime][dependency]") {
  dependency_policies pol{
    make_config(R"({"breaker": {"mode": "forced_open"}})")};
  CHECK(pol.stats.breaker == breaker_state::forced_open);
  CHECK(pol.stats.breaker_transitions == 0);
  pol.breaker.reset(t0);
  CHECK(pol.stats.breaker == breaker_state::closed);
  CHECK(pol.stats.breaker_transitions == 1);
  CHECK(pol.last_breaker_event.to == breaker_state::closed);
}

TEST_CASE("a new incarnation gives back the old one's permits and slots, and "
          "keeps the rest",
          "[runtime][dependency]") {
  dependency_policies pol{make_config(
    R"({"bulkhead": {"max_concurrent": 4}, "cache": {"enabled": true}})")};
  REQUIRE(pol.breaker.try_acquire(t0));
  REQUIRE(pol.breaker.try_acquire(t0));
  REQUIRE(pol.limit.try_acquire(1, criticality::standard, t0)
          == admission::run);
  pol.stats.in_flight = 2;
  pol.cache.store("k", "v", t0);
  dependency_flags_config no_retries;
  no_retries.retry = false;
  pol.set_flags(no_retries);
  pol.adopt(t0);
  CHECK(pol.breaker.calls_in_flight() == 0);
  CHECK(pol.limit.in_flight() == 0);
  CHECK(pol.stats.in_flight == 0);
  CHECK(pol.cache.size() == 1);
  CHECK(pol.flags_active);
  CHECK_FALSE(pol.flags.retry);
}

TEST_CASE("a reconfigure keeps what fits and the flags stay set",
          "[runtime][dependency]") {
  dependency_policies pol{make_config("{}")};
  dependency_flags_config half_hedging;
  half_hedging.hedging = false;
  half_hedging.hedging_rollout = 0.5;
  pol.set_flags(half_hedging);
  pol.cache.store("k", "v", t0);
  pol.reconfigure(make_config(R"({"cache": {"enabled": true}})"), t0);
  CHECK(pol.flags_active);
  CHECK_FALSE(pol.flags.hedging);
  pol.set_flags(dependency_flags_config{});
  CHECK_FALSE(pol.flags_active);
}

TEST_CASE("the stats serialize every counter by name",
          "[runtime][dependency]") {
  dependency_stats st;
  st.requests = 3;
  st.retries_by_class[static_cast<int>(failure_class::timeout)] = 2;
  st.replies_by_source[static_cast<int>(reply_source::stale_cache)] = 1;
  st.breaker = breaker_state::half_open;
  auto json = to_json(st);
  CHECK(json.at("requests").as_uint64() == 3);
  CHECK(json.at("retries_by_class").at("timeout").as_uint64() == 2);
  CHECK(json.at("replies_by_source").at("stale_cache").as_uint64() == 1);
  CHECK(json.at("breaker_state").as_string() == "half_open");
  CHECK(json.contains("request_latency"));
  CHECK(json.contains("attempt_latency"));
}
