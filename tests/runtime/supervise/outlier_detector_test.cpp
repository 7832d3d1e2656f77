#include "bulwark/runtime/supervise/outlier_detector.hpp"

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/counting_new.hpp"

using namespace bulwark;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

/// Feeds `failures` failures in a row; returns the event of the last one.
std::optional<outlier_event> fail(outlier_detector& d, std::size_t member,
                                  int failures, time_point now, rng& gen) {
  std::optional<outlier_event> last;
  for (int i = 0; i < failures; ++i)
    last = d.record(member, false, now, gen);
  return last;
}

/// One interval of traffic: member i gets `requests[i]` requests of which
/// `successes[i]` succeed, interleaved so no failure streak builds up; then
/// the interval ends. Returns the events of that `advance`.
std::vector<outlier_event> run_interval(outlier_detector& d, time_point start,
                                        const std::vector<int>& requests,
                                        const std::vector<int>& successes,
                                        rng& gen) {
  std::vector<outlier_event> events;
  d.advance(start, gen, events); // starts the first interval if need be
  REQUIRE(events.empty());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    int ok = 0;
    for (int r = 0; r < requests[i]; ++r) {
      // Spread the failures evenly among the successes.
      bool success = (r + 1) * successes[i] / requests[i] > ok;
      ok += success ? 1 : 0;
      auto ev = d.record(i, success, start + milliseconds(1), gen);
      REQUIRE_FALSE(ev); // the success-rate rule is what these tests look at
    }
    REQUIRE(ok == successes[i]);
  }
  d.advance(start + d.config().interval, gen, events);
  return events;
}

outlier_config no_streaks() {
  outlier_config cfg;
  cfg.consecutive_errors = 10'000;
  return cfg;
}

} // namespace

TEST_CASE("a member is ejected on the 5th consecutive failure, not the 4th",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  std::vector<outlier_event> events;
  d.advance(at(seconds(0)), gen, events);
  CHECK(fail(d, 3, 4, at(seconds(1)), gen) == std::nullopt);
  CHECK(d.health(3) == member_health::healthy);
  CHECK(d.available(3));
  auto ev = d.record(3, false, at(seconds(2)), gen);
  REQUIRE(ev);
  CHECK(*ev
        == outlier_event{outlier_event::ejected, 3,
                         ejection_reason::consecutive_errors, seconds(30)});
  CHECK(to_string(*ev) == "ejected member 3 for 30s (consecutive_errors)");
  CHECK(d.health(3) == member_health::ejected);
  CHECK_FALSE(d.available(3));
  CHECK(d.ejected_count() == 1);
  CHECK(d.ejections(3) == 1);
  // The others are untouched.
  CHECK(d.available(2));
  CHECK(d.ejections(2) == 0);
}

TEST_CASE("a success resets the failure streak",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  CHECK_FALSE(fail(d, 0, 4, at(seconds(1)), gen));
  CHECK_FALSE(d.record(0, true, at(seconds(1)), gen));
  CHECK_FALSE(fail(d, 0, 4, at(seconds(1)), gen));
  CHECK(d.available(0));
  CHECK(fail(d, 0, 1, at(seconds(1)), gen));
  CHECK_FALSE(d.available(0));
}

TEST_CASE("max_ejection_percent bounds the members out at once",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  SECTION("10 % of 20 members: two may go, not three") {
    outlier_detector d{outlier_config{}, 20};
    CHECK(fail(d, 0, 5, at(seconds(1)), gen));
    CHECK(fail(d, 1, 5, at(seconds(1)), gen));
    CHECK(d.ejected_count() == 2);
    CHECK_FALSE(fail(d, 2, 5, at(seconds(1)), gen));
    CHECK(d.available(2));
    CHECK(d.ejected_count() == 2);
    // Like Envoy, the refused detection restarted the streak: 4 more
    // failures are not a new detection.
    d.resize(40); // now 4 of 40 may go
    CHECK_FALSE(fail(d, 2, 4, at(seconds(1)), gen));
    CHECK(d.available(2));
    CHECK(fail(d, 2, 1, at(seconds(1)), gen));
    CHECK(d.ejected_count() == 3);
  }
  SECTION("one member may always go: 10 % of 5 members") {
    outlier_detector d{outlier_config{}, 5};
    CHECK(fail(d, 4, 5, at(seconds(1)), gen));
    CHECK_FALSE(fail(d, 3, 5, at(seconds(1)), gen));
    CHECK(d.ejected_count() == 1);
  }
  SECTION("one member may always go: even at 0 %") {
    outlier_config cfg;
    cfg.max_ejection_percent = 0;
    outlier_detector d{cfg, 100};
    CHECK(fail(d, 0, 5, at(seconds(1)), gen));
    CHECK_FALSE(fail(d, 1, 5, at(seconds(1)), gen));
  }
  SECTION("the member about to go counts: 50 % of 4 is two, of 5 is two") {
    outlier_config cfg;
    cfg.max_ejection_percent = 50;
    outlier_detector four{cfg, 4};
    CHECK(fail(four, 0, 5, at(seconds(1)), gen));
    CHECK(fail(four, 1, 5, at(seconds(1)), gen));
    CHECK_FALSE(fail(four, 2, 5, at(seconds(1)), gen));
    outlier_detector five{cfg, 5};
    CHECK(fail(five, 0, 5, at(seconds(1)), gen));
    CHECK(fail(five, 1, 5, at(seconds(1)), gen));
    CHECK_FALSE(fail(five, 2, 5, at(seconds(1)), gen)); // 3/5 = 60 % > 50 %
  }
  SECTION("probing members still count as out") {
    outlier_detector d{outlier_config{}, 5};
    CHECK(fail(d, 0, 5, at(seconds(0)), gen));
    std::vector<outlier_event> events;
    d.advance(at(seconds(30)), gen, events);
    CHECK(d.health(0) == member_health::probing);
    CHECK_FALSE(fail(d, 1, 5, at(seconds(31)), gen));
    CHECK(d.ejected_count() == 1);
  }
}

TEST_CASE("ejection time grows 30s, 60s, 90s and stops at 300s",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  std::vector<outlier_event> events;
  auto now = at(seconds(0));
  d.advance(now, gen, events);
  auto ev = fail(d, 7, 5, now, gen);
  REQUIRE(ev);
  std::vector<duration> times{ev->ejection_time};
  for (int k = 2; k <= 14; ++k) {
    // Not a nanosecond early.
    events.clear();
    d.advance(now + times.back() - nanoseconds(1), gen, events);
    REQUIRE(d.health(7) == member_health::ejected);
    now += times.back();
    events.clear();
    d.advance(now, gen, events);
    REQUIRE(d.health(7) == member_health::probing);
    REQUIRE(
      std::count(events.begin(), events.end(),
                 outlier_event{outlier_event::probe_ready, 7,
                               k == 2 ? ejection_reason::consecutive_errors
                                      : ejection_reason::probe_failed,
                               duration{0}})
      == 1);
    REQUIRE(d.take_probe(7));
    ev = d.record(7, false, now, gen);
    REQUIRE(ev);
    CHECK(ev->kind == outlier_event::ejected);
    CHECK(ev->reason == ejection_reason::probe_failed);
    times.push_back(ev->ejection_time);
  }
  const std::vector<duration> expected{
    seconds(30),  seconds(60),  seconds(90),  seconds(120), seconds(150),
    seconds(180), seconds(210), seconds(240), seconds(270), seconds(300),
    seconds(300), seconds(300), seconds(300), seconds(300)};
  CHECK(times == expected);
  CHECK(d.ejections(7) == 14);
  // Envoy grows the multiplier one step past the cap (base x 11 >= 300 + 30).
  CHECK(d.ejection_multiplier(7) == 11);
}

TEST_CASE("an ejected member becomes probing when its time is up and takes "
          "exactly one probe",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  std::vector<outlier_event> events;
  d.advance(at(seconds(0)), gen, events);
  REQUIRE(fail(d, 2, 5, at(seconds(5)), gen));
  CHECK(d.next_deadline() == at(seconds(10))); // interval end comes first
  CHECK_FALSE(d.take_probe(2)); // not yet probing
  d.advance(at(seconds(10)), gen, events);
  CHECK(d.next_deadline() == at(seconds(20)));
  d.advance(at(seconds(20)), gen, events);
  d.advance(at(seconds(30)), gen, events);
  CHECK(d.next_deadline() == at(seconds(35))); // the ejection ends first
  CHECK(events.empty());
  d.advance(at(seconds(35)), gen, events);
  REQUIRE(events.size() == 1);
  CHECK(to_string(events[0]) == "probe_ready member 2");
  CHECK(d.health(2) == member_health::probing);
  CHECK_FALSE(d.available(2)); // ordinary traffic still avoids it
  CHECK(d.ejected_count() == 1);

  SECTION("one probe at a time; a released probe may be taken again") {
    CHECK(d.take_probe(2));
    CHECK(d.probe_outstanding(2));
    CHECK_FALSE(d.take_probe(2));
    d.release_probe(2);
    CHECK_FALSE(d.probe_outstanding(2));
    CHECK(d.take_probe(2));
    CHECK_FALSE(d.take_probe(2));
  }
  SECTION("a successful probe readmits the member") {
    REQUIRE(d.take_probe(2));
    auto ev = d.record(2, true, at(seconds(36)), gen);
    REQUIRE(ev);
    CHECK(*ev
          == outlier_event{outlier_event::readmitted, 2,
                           ejection_reason::consecutive_errors, duration{0}});
    CHECK(d.available(2));
    CHECK(d.ejected_count() == 0);
    CHECK_FALSE(d.take_probe(2)); // healthy members are not probed
    // The streak starts from zero after readmission.
    CHECK_FALSE(fail(d, 2, 4, at(seconds(37)), gen));
    CHECK(d.available(2));
  }
  SECTION("a failed probe ejects the member again, for longer") {
    REQUIRE(d.take_probe(2));
    auto ev = d.record(2, false, at(seconds(36)), gen);
    REQUIRE(ev);
    CHECK(*ev
          == outlier_event{outlier_event::ejected, 2,
                           ejection_reason::probe_failed, seconds(60)});
    CHECK(d.health(2) == member_health::ejected);
    CHECK_FALSE(d.probe_outstanding(2));
    CHECK_FALSE(d.take_probe(2));
    CHECK(d.ejected_count() == 1);
    CHECK(d.ejections(2) == 2);
    CHECK(d.next_deadline() == at(seconds(40))); // interval end; ejection: 96s
  }
  SECTION("late results (no probe outstanding) are counted, never readmit") {
    auto before = d.interval_requests(2);
    CHECK_FALSE(d.record(2, true, at(seconds(36)), gen));
    CHECK(d.health(2) == member_health::probing);
    CHECK(d.interval_requests(2) == before + 1);
    CHECK(d.interval_successes(2) == 1);
  }
}

TEST_CASE("results for an ejected member are counted but do not readmit it",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  REQUIRE(fail(d, 0, 5, at(seconds(1)), gen));
  for (int i = 0; i < 10; ++i)
    CHECK_FALSE(d.record(0, true, at(seconds(2)), gen));
  CHECK(d.health(0) == member_health::ejected);
  CHECK(d.interval_requests(0) == 15);
  CHECK(d.interval_successes(0) == 10);
  // Nor do further failures eject it twice.
  CHECK_FALSE(fail(d, 0, 20, at(seconds(2)), gen));
  CHECK(d.ejections(0) == 1);
  CHECK(d.ejected_count() == 1);
}

TEST_CASE("the ejection multiplier decays while a readmitted member stays "
          "healthy, as in Envoy",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{outlier_config{}, 10};
  std::vector<outlier_event> events;
  auto now = at(seconds(0));
  d.advance(now, gen, events); // intervals end at 10s, 20s, ...
  // Three ejections in a row: 30s, 60s, 90s.
  REQUIRE(fail(d, 1, 5, now, gen)->ejection_time == seconds(30));
  for (auto t : {seconds(30), seconds(90)}) {
    d.advance(at(t), gen, events);
    REQUIRE(d.take_probe(1));
    REQUIRE(d.record(1, false, at(t), gen));
  }
  CHECK(d.ejection_multiplier(1) == 3);
  d.advance(at(seconds(180)), gen, events); // next interval end: 190s
  REQUIRE(d.take_probe(1));
  REQUIRE(d.record(1, true, at(seconds(182)), gen)->kind
          == outlier_event::readmitted);
  // An interval end less than `interval` after readmission does not decay.
  d.advance(at(seconds(190)), gen, events);
  CHECK(d.ejection_multiplier(1) == 3);
  d.advance(at(seconds(200)), gen, events);
  CHECK(d.ejection_multiplier(1) == 2);
  d.advance(at(seconds(210)), gen, events);
  CHECK(d.ejection_multiplier(1) == 1);
  // The next ejection is 2 x base: one step above where it decayed to.
  auto ev = fail(d, 1, 5, at(seconds(211)), gen);
  REQUIRE(ev);
  CHECK(ev->ejection_time == seconds(60));
  // A member that stays healthy long enough is back to the base time.
  d.advance(at(seconds(271)), gen, events); // next interval end: 281s
  REQUIRE(d.take_probe(1));
  REQUIRE(d.record(1, true, at(seconds(271)), gen));
  for (int i = 1; i <= 3; ++i)
    d.advance(at(seconds(271 + 10 * i)), gen, events);
  CHECK(d.ejection_multiplier(1) == 0);
  CHECK(fail(d, 1, 5, at(seconds(302)), gen)->ejection_time == seconds(30));
  CHECK(d.ejections(1) == 5);
}

TEST_CASE("the success-rate rule ejects a low outlier among 5 members with "
          "enough requests",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{no_streaks(), 5};
  std::vector<outlier_event> events;
  d.advance(at(seconds(0)), gen, events);
  // Envoy's worked example: {100, 100, 100, 100, 50} -> mean 90, stddev 20,
  // threshold 90 - 1.9 x 20 = 52.
  events = run_interval(d, at(seconds(0)), {100, 100, 100, 100, 100},
                        {100, 100, 100, 100, 50}, gen);
  REQUIRE(events.size() == 1);
  CHECK(events[0]
        == outlier_event{outlier_event::ejected, 4,
                         ejection_reason::success_rate, seconds(30)});
  CHECK_FALSE(d.available(4));
  // Counters restart with the next interval.
  for (std::size_t i = 0; i < 5; ++i)
    CHECK(d.interval_requests(i) == 0);
}

TEST_CASE("among five members the success-rate rule catches one outlier "
          "whatever the gap",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  // {100 x 4, 53}: mean 90.6, stddev 18.6, threshold 55.26 -> ejected;
  // {100 x 4, 60}: mean 92, stddev 16, threshold 61.6 -> ejected;
  // {100 x 4, 62}: mean 92.4, stddev 15.2, threshold 63.52 -> ejected;
  // {100 x 4, 70}: mean 94, stddev 12, threshold 71.2 -> ejected: with five
  // members one outlier is always 2 stddevs out; 1.9 catches it whatever
  // the gap. A factor of 2001 no longer does.
  for (int low : {53, 60, 62, 70, 99}) {
    INFO("low " << low);
    outlier_detector d{no_streaks(), 5};
    auto events = run_interval(d, at(seconds(0)), {100, 100, 100, 100, 100},
                               {100, 100, 100, 100, low}, gen);
    CHECK(events.size() == 1);
  }
  auto cfg = no_streaks();
  cfg.success_rate_stdev_factor = 2001;
  outlier_detector d{cfg, 5};
  auto events = run_interval(d, at(seconds(0)), {100, 100, 100, 100, 100},
                             {100, 100, 100, 100, 50}, gen);
  CHECK(events.empty());
  // All equal: nobody is below the mean.
  outlier_detector same{no_streaks(), 5};
  events = run_interval(same, at(seconds(0)), {100, 100, 100, 100, 100},
                        {90, 90, 90, 90, 90}, gen);
  CHECK(events.empty());
}

TEST_CASE("the success-rate rule needs success_rate_minimum_hosts members at "
          "success_rate_request_volume",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  SECTION("4 members with volume (one below it) are not enough") {
    outlier_detector d{no_streaks(), 5};
    auto events = run_interval(d, at(seconds(0)), {100, 100, 99, 100, 100},
                               {100, 100, 99, 100, 50}, gen);
    CHECK(events.empty());
    // The same traffic is judged when 4 members suffice (and with a factor
    // that can single out one of four).
    auto cfg = no_streaks();
    cfg.success_rate_minimum_hosts = 4;
    cfg.success_rate_stdev_factor = 1000;
    outlier_detector four{cfg, 5};
    events = run_interval(four, at(seconds(0)), {100, 100, 99, 100, 100},
                          {100, 100, 99, 100, 50}, gen);
    REQUIRE(events.size() == 1);
    CHECK(events[0].member == 4);
  }
  SECTION("a member below the volume is not judged") {
    outlier_detector d{no_streaks(), 6};
    auto events = run_interval(d, at(seconds(0)), {100, 100, 100, 100, 100, 99},
                               {100, 100, 100, 100, 100, 0}, gen);
    CHECK(events.empty());
    CHECK(d.available(5));
  }
  SECTION("counters restart every interval") {
    outlier_detector d{no_streaks(), 5};
    auto events = run_interval(d, at(seconds(0)), {60, 60, 60, 60, 60},
                               {60, 60, 60, 60, 0}, gen);
    CHECK(events.empty());
    events = run_interval(d, at(seconds(10)), {60, 60, 60, 60, 60},
                          {60, 60, 60, 60, 0}, gen);
    CHECK(events.empty()); // 120 requests in total, but 60 per interval
    events = run_interval(d, at(seconds(20)), {100, 100, 100, 100, 100},
                          {100, 100, 100, 100, 0}, gen);
    CHECK(events.size() == 1);
  }
  SECTION("ejected members are left out") {
    outlier_config cfg;
    cfg.max_ejection_percent = 100;
    outlier_detector d{cfg, 6};
    REQUIRE(fail(d, 5, 5, at(seconds(0)), gen));
    // Member 5's (late) results would make it the outlier; only 5 members
    // are judged, all alike.
    auto events =
      run_interval(d, at(seconds(0)), {100, 100, 100, 100, 100, 100},
                   {100, 100, 100, 100, 100, 0}, gen);
    CHECK(events.empty());
    CHECK(d.ejections(5) == 1);
  }
}

TEST_CASE("success-rate ejections go worst first when max_ejection_percent "
          "binds",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_detector d{no_streaks(), 20};
  std::vector<int> requests(20, 100);
  std::vector<int> successes(20, 100);
  successes[0] = 20; // all three are below the threshold (25.15)
  successes[1] = 10;
  successes[2] = 0;
  auto events = run_interval(d, at(seconds(0)), requests, successes, gen);
  REQUIRE(events.size() == 2); // 10 % of 20
  CHECK(events[0].member == 2);
  CHECK(events[1].member == 1);
  CHECK(d.available(0));
}

TEST_CASE("enforcing percentages of 0 never eject",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_config cfg;
  cfg.enforcing_consecutive_errors = 0;
  cfg.enforcing_success_rate = 0;
  outlier_detector d{cfg, 5};
  CHECK_FALSE(fail(d, 0, 1000, at(seconds(1)), gen));
  CHECK(d.available(0));
  cfg.consecutive_errors = 10'000;
  outlier_detector sr{cfg, 5};
  auto events = run_interval(sr, at(seconds(0)), {100, 100, 100, 100, 100},
                             {100, 100, 100, 100, 0}, gen);
  CHECK(events.empty());
  CHECK(sr.ejected_count() == 0);
}

TEST_CASE("an enforcing percentage ejects about that share of detections",
          "[runtime][supervise][outlier]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    rng gen{seed};
    outlier_config cfg;
    cfg.enforcing_consecutive_errors = 30;
    cfg.max_ejection_percent = 100;
    outlier_detector d{cfg, 1000};
    int ejected = 0;
    for (std::size_t m = 0; m < 1000; ++m)
      ejected += fail(d, m, 5, at(seconds(1)), gen) ? 1 : 0;
    CHECK(ejected > 240);
    CHECK(ejected < 360);
    CHECK(d.ejected_count() == static_cast<std::size_t>(ejected));
  }
}

TEST_CASE("switching detection off readmits every member at the next advance",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_config cfg;
  cfg.max_ejection_percent = 100;
  outlier_detector d{cfg, 4};
  std::vector<outlier_event> events;
  d.advance(at(seconds(0)), gen, events);
  REQUIRE(fail(d, 0, 5, at(seconds(1)), gen));
  REQUIRE(fail(d, 1, 5, at(seconds(1)), gen));
  d.advance(at(seconds(31)), gen, events);
  CHECK(d.health(0) == member_health::probing);
  cfg.enabled = false;
  d.reconfigure(cfg);
  CHECK(d.next_deadline() == time_point{}); // due now
  events.clear();
  d.advance(at(seconds(32)), gen, events);
  REQUIRE(events.size() == 2);
  CHECK(to_string(events[0]) == "readmitted member 0");
  CHECK(to_string(events[1]) == "readmitted member 1");
  CHECK(d.ejected_count() == 0);
  CHECK(d.next_deadline() == no_deadline);
  // Off means off: nothing is counted or ejected.
  CHECK_FALSE(fail(d, 2, 100, at(seconds(33)), gen));
  CHECK(d.interval_requests(2) == 0);
  // On again: the interval restarts from the next advance.
  cfg.enabled = true;
  d.reconfigure(cfg);
  d.advance(at(seconds(40)), gen, events);
  CHECK(d.next_deadline() == at(seconds(50)));
  CHECK(fail(d, 2, 5, at(seconds(41)), gen));
}

TEST_CASE("next_deadline is the earlier of the interval end and an ejection "
          "end",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_config cfg;
  cfg.base_ejection_time = seconds(1);
  outlier_detector d{cfg, 10};
  CHECK(d.next_deadline() == time_point{}); // not started: call advance now
  std::vector<outlier_event> events;
  d.advance(at(seconds(100)), gen, events);
  CHECK(d.next_deadline() == at(seconds(110)));
  REQUIRE(fail(d, 5, 5, at(seconds(103)), gen));
  CHECK(d.next_deadline() == at(seconds(104)));
  d.advance(at(seconds(104)), gen, events);
  CHECK(d.health(5) == member_health::probing);
  CHECK(d.next_deadline() == at(seconds(110)));
  // A late call re-arms the interval from then.
  d.advance(at(seconds(125)), gen, events);
  CHECK(d.next_deadline() == at(seconds(135)));
}

TEST_CASE("resizing keeps the first members and forgets removed ones",
          "[runtime][supervise][outlier]") {
  rng gen{1};
  outlier_config cfg;
  cfg.max_ejection_percent = 100;
  outlier_detector d{cfg, 4};
  REQUIRE(fail(d, 1, 5, at(seconds(1)), gen));
  REQUIRE(fail(d, 3, 5, at(seconds(1)), gen));
  CHECK(d.ejected_count() == 2);
  d.resize(3);
  CHECK(d.size() == 3);
  CHECK(d.ejected_count() == 1);
  CHECK(d.health(1) == member_health::ejected);
  CHECK_FALSE(d.record(3, false, at(seconds(2)), gen)); // out of range
  d.resize(6);
  CHECK(d.health(3) == member_health::healthy);
  CHECK(d.ejections(3) == 0);
  CHECK(d.ejected_count() == 1);
}

TEST_CASE("recording a result and advancing allocate nothing",
          "[runtime][supervise][outlier]") {
  rng gen{7};
  outlier_config cfg;
  cfg.success_rate_request_volume = 10;
  cfg.success_rate_minimum_hosts = 3;
  cfg.max_ejection_percent = 50;
  outlier_detector d{cfg, 8};
  std::vector<outlier_event> events;
  events.reserve(64);
  auto before = bulwark::testing::allocations();
  std::size_t changes = 0;
  for (int i = 0; i < 200'000; ++i) {
    auto now = at(milliseconds(i));
    auto member = static_cast<std::size_t>(i % 8);
    // Member 0 fails 40 % of its calls, member 1 always: both get ejected
    // and probed over and over.
    bool success = member == 1   ? false
                   : member == 0 ? gen.below(10) >= 4
                                 : true;
    if (!d.available(member) && !d.take_probe(member))
      continue;
    changes += d.record(member, success, now, gen) ? 1 : 0;
    if (d.next_deadline() <= now) {
      events.clear();
      d.advance(now, gen, events);
      changes += events.size();
    }
  }
  CHECK(bulwark::testing::allocations() == before);
  CHECK(changes > 10);
}

TEST_CASE("random traffic keeps the detector's invariants",
          "[runtime][supervise][outlier]") {
  std::size_t total_events = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    outlier_config cfg;
    cfg.consecutive_errors = 1 + static_cast<std::uint32_t>(gen.below(5));
    cfg.max_ejection_percent = static_cast<std::uint32_t>(gen.below(101));
    cfg.enforcing_consecutive_errors =
      static_cast<std::uint32_t>(gen.below(101));
    cfg.success_rate_request_volume = 5;
    cfg.success_rate_minimum_hosts = 2;
    cfg.interval = seconds(1);
    cfg.base_ejection_time = milliseconds(500);
    cfg.max_ejection_time = seconds(3);
    auto n = 1 + static_cast<std::size_t>(gen.below(12));
    outlier_detector d{cfg, n};
    std::vector<outlier_event> events;
    auto limit = std::max<std::size_t>(1, cfg.max_ejection_percent * n / 100);
    std::vector<double> health(n);
    for (auto& h : health)
      h = gen.uniform(0.3, 1.0);
    for (int i = 0; i < 20'000; ++i) {
      auto now = at(milliseconds(i));
      auto member = static_cast<std::size_t>(gen.below(n));
      bool probe = d.take_probe(member);
      if (probe && gen.below(10) == 0) {
        d.release_probe(member); // the probe was lost
        continue;
      }
      auto ev = d.record(member, gen.uniform() < health[member], now, gen);
      if (probe)
        REQUIRE(ev); // a probe's result always decides
      if (d.next_deadline() <= now) {
        d.advance(now, gen, events);
        REQUIRE(d.next_deadline() > now);
      }
      std::size_t out = 0;
      for (std::size_t m = 0; m < n; ++m) {
        out += d.available(m) ? 0 : 1;
        REQUIRE(
          (d.probe_outstanding(m) <= (d.health(m) == member_health::probing)));
      }
      REQUIRE(out == d.ejected_count());
      REQUIRE(out <= limit);
    }
    total_events += events.size();
  }
  CHECK(total_events > 100);
}

TEST_CASE("a reset member starts over healthy and no longer counts as ejected",
          "[runtime][supervise]") {
  outlier_detector d{outlier_config{}, 3};
  rng gen{1};
  auto ev = fail(d, 1, 5, at(seconds(1)), gen);
  REQUIRE(ev);
  REQUIRE(d.health(1) == member_health::ejected);
  REQUIRE(d.ejected_count() == 1);
  d.reset(1);
  CHECK(d.health(1) == member_health::healthy);
  CHECK(d.available(1));
  CHECK(d.ejected_count() == 0);
  CHECK(d.ejections(1) == 0);
  CHECK(d.ejection_multiplier(1) == 0);
  // A new streak is needed to eject it again.
  CHECK_FALSE(fail(d, 1, 4, at(seconds(2)), gen));
}
