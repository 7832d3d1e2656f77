#include "bulwark/runtime/breaker/circuit_breaker.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

using bs = breaker_state;

time_point at(duration d) {
  return time_point{} + d;
}

struct recording_listener : breaker_listener {
  std::vector<breaker_event> events;
  void on_breaker_event(const breaker_event& e) override {
    events.push_back(e);
  }
};

/// count_based window of 10, minimum 10 calls, 50 %, slow calls off (100 %
/// of calls at >= 1s), open 10s doubling up to 35s, one probe.
breaker_config test_config() {
  breaker_config cfg;
  cfg.window = window_kind::count_based;
  cfg.window_size = 10;
  cfg.minimum_calls = 10;
  cfg.failure_rate_threshold = 0.5;
  cfg.slow_call_rate_threshold = 1.0;
  cfg.slow_call_duration = seconds(1);
  cfg.open_duration = seconds(10);
  cfg.open_duration_multiplier = 2.0;
  cfg.max_open_duration = seconds(35);
  cfg.half_open_probes = 1;
  return cfg;
}

const auto ok = outcome::ok();
const auto fail = outcome::failure(failure_class::transient);
constexpr auto fast = milliseconds(10);

/// Acquires and records one call, as an owner must.
void call(circuit_breaker& b, const outcome& o, time_point now,
          duration latency = fast) {
  REQUIRE(b.try_acquire(now));
  b.record(o, latency, now);
}

/// Opens a closed breaker built from test_config() at `now`.
void trip(circuit_breaker& b, time_point now) {
  for (int i = 0; i < 10; ++i)
    call(b, fail, now);
  REQUIRE(b.state() == bs::open);
}

} // namespace

TEST_CASE(
  "the breaker opens exactly when the failure rate reaches the threshold",
  "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  auto now = at(seconds(1));
  for (int i = 0; i < 5; ++i)
    call(b, ok, now);
  for (int i = 0; i < 4; ++i)
    call(b, fail, now);
  // 9 calls, 44 %: below the threshold and below the minimum.
  CHECK(b.state() == bs::closed);
  call(b, fail, now);
  // 10 calls, 5 failures: exactly 50 %.
  CHECK(b.state() == bs::open);
  REQUIRE(l.events.size() == 1);
  CHECK(l.events[0].from == bs::closed);
  CHECK(l.events[0].to == bs::open);
  CHECK(l.events[0].reason == transition_reason::failure_rate_exceeded);
  CHECK(l.events[0].at == now);
  CHECK(l.events[0].failure_rate == 0.5);
  CHECK(l.events[0].slow_call_rate == 0.0);
  CHECK(b.counters().transitions == 1);
}

TEST_CASE("the breaker stays closed one call short of the minimum",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  for (int i = 0; i < 9; ++i)
    call(b, fail, at(seconds(1)));
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().failure_rate == 1.0);
  call(b, fail, at(seconds(1)));
  CHECK(b.state() == bs::open);
}

TEST_CASE("the breaker stays closed just below the threshold",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.failure_rate_threshold = 0.3; // not exact in binary: the check must be
  circuit_breaker b{cfg};
  for (int i = 0; i < 8; ++i)
    call(b, ok, at(seconds(1)));
  call(b, fail, at(seconds(1)));
  call(b, fail, at(seconds(1)));
  CHECK(b.state() == bs::closed); // 20 %
  call(b, fail, at(seconds(1))); // evicts a success: 3 of 10 = 30 %
  CHECK(b.state() == bs::open);
}

TEST_CASE(
  "a threshold of 66.66666 percent opens at 2 failures of 3, as documented",
  "[runtime][breaker]") {
  // 2/3 = 66.666...% >= 66.66666%: parts per million would round the
  // threshold up to 66.6667% and keep the breaker closed.
  auto cfg = test_config();
  cfg.window_size = 3;
  cfg.minimum_calls = 3;
  cfg.failure_rate_threshold = 0.6666666;
  SECTION("the failure rate") {
    circuit_breaker b{cfg};
    call(b, ok, at(seconds(1)));
    call(b, fail, at(seconds(1)));
    CHECK(b.state() == bs::closed);
    call(b, fail, at(seconds(1)));
    CHECK(b.state() == bs::open);
  }
  SECTION("the slow-call rate") {
    cfg.failure_rate_threshold = 1.0;
    cfg.slow_call_rate_threshold = 0.6666666;
    circuit_breaker b{cfg};
    call(b, ok, at(seconds(1)));
    call(b, ok, at(seconds(1)), seconds(1));
    call(b, ok, at(seconds(1)), seconds(1));
    CHECK(b.state() == bs::open);
  }
  SECTION("the half-open verdict") {
    cfg.half_open_probes = 3;
    circuit_breaker b{cfg};
    call(b, fail, at(seconds(1)));
    call(b, fail, at(seconds(1)));
    call(b, fail, at(seconds(1)));
    REQUIRE(b.state() == bs::open);
    auto later = at(seconds(1)) + cfg.open_duration;
    call(b, ok, later);
    call(b, fail, later);
    CHECK(b.state() == bs::half_open); // 1 of 3 so far: not yet
    call(b, fail, later);
    CHECK(b.state() == bs::open); // 2 of 3 reach 66.66666 %
  }
  SECTION("one unit below 2/3 still opens, one above does not") {
    cfg.failure_rate_threshold = 0.66666666; // 66.666666 %
    circuit_breaker below{cfg};
    call(below, ok, at(seconds(1)));
    call(below, fail, at(seconds(1)));
    call(below, fail, at(seconds(1)));
    CHECK(below.state() == bs::open);
    cfg.failure_rate_threshold = 0.66666667; // 66.666667 % > 2/3
    circuit_breaker above{cfg};
    call(above, ok, at(seconds(1)));
    call(above, fail, at(seconds(1)));
    call(above, fail, at(seconds(1)));
    CHECK(above.state() == bs::closed);
  }
}

TEST_CASE(
  "an open breaker rejects calls until exactly the open duration has elapsed",
  "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  auto t0 = at(seconds(100));
  trip(b, t0);
  CHECK(b.open_until() == t0 + seconds(10));
  CHECK(b.current_open_duration() == seconds(10));
  CHECK_FALSE(b.try_acquire(t0));
  CHECK_FALSE(b.try_acquire(t0 + seconds(10) - nanoseconds(1)));
  CHECK(b.state() == bs::open);
  CHECK(b.counters().rejected_calls == 2);
  CHECK(b.try_acquire(t0 + seconds(10)));
  CHECK(b.state() == bs::half_open);
  REQUIRE(l.events.size() == 2);
  CHECK(l.events[1].from == bs::open);
  CHECK(l.events[1].to == bs::half_open);
  CHECK(l.events[1].reason == transition_reason::open_duration_elapsed);
  CHECK(l.events[1].at == t0 + seconds(10));
}

TEST_CASE("half-open admits at most half_open_probes calls and closes when "
          "they succeed",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 3;
  circuit_breaker b{cfg};
  recording_listener l;
  b.set_listener(&l);
  auto t0 = at(seconds(1));
  trip(b, t0);
  auto t1 = t0 + seconds(10);
  CHECK(b.try_acquire(t1));
  CHECK(b.try_acquire(t1));
  CHECK(b.try_acquire(t1));
  CHECK_FALSE(b.try_acquire(t1));
  CHECK(b.probes_in_flight() == 3);
  b.record(ok, fast, t1);
  b.record(ok, fast, t1);
  CHECK(b.state() == bs::half_open);
  // Recorded probes keep their slots: still no room for a fourth.
  CHECK_FALSE(b.try_acquire(t1));
  b.record(ok, fast, t1);
  CHECK(b.state() == bs::closed);
  CHECK(l.events.back().reason == transition_reason::probes_succeeded);
  CHECK(l.events.back().failure_rate == 0.0);
  CHECK(b.snapshot().calls == 0); // a fresh window after closing
  CHECK(b.current_open_duration() == seconds(10));
  CHECK(b.calls_in_flight() == 0);
}

TEST_CASE("half_open_max_in_flight caps the probes in flight at once",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 3;
  cfg.half_open_max_in_flight = 1;
  circuit_breaker b{cfg};
  auto t0 = at(seconds(1));
  trip(b, t0);
  auto t1 = t0 + seconds(10);
  CHECK(b.try_acquire(t1));
  CHECK(b.state() == bs::half_open);
  // One probe out: nobody else until it comes back, however many ask.
  for (int i = 0; i < 100; ++i)
    CHECK_FALSE(b.try_acquire(t1));
  CHECK(b.probes_in_flight() == 1);
  b.record(ok, fast, t1);
  CHECK(b.try_acquire(t1));
  CHECK_FALSE(b.try_acquire(t1));
  b.record(ok, fast, t1);
  CHECK(b.try_acquire(t1));
  b.record(ok, fast, t1);
  CHECK(b.state() == bs::closed);
  // A released probe frees its place too.
  trip(b, t1);
  auto t2 = t1 + seconds(10);
  CHECK(b.try_acquire(t2));
  CHECK_FALSE(b.try_acquire(t2));
  b.release(t2);
  CHECK(b.try_acquire(t2));
}

TEST_CASE("a breaker half-open longer than max_half_open_duration without a "
          "verdict reopens",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 3;
  cfg.max_half_open_duration = seconds(5);
  circuit_breaker b{cfg};
  recording_listener l;
  b.set_listener(&l);
  auto t0 = at(seconds(1));
  trip(b, t0);
  auto t1 = t0 + seconds(10);
  CHECK(b.try_acquire(t1)); // the probes hang
  CHECK(b.try_acquire(t1));
  CHECK(b.state() == bs::half_open);
  // Just before the limit a third probe is still admitted.
  CHECK(b.try_acquire(t1 + seconds(5) - nanoseconds(1)));
  // At the limit, no verdict yet: the next call reopens it and is refused.
  CHECK_FALSE(b.try_acquire(t1 + seconds(5)));
  CHECK(b.state() == bs::open);
  CHECK(l.events.back().reason == transition_reason::half_open_timeout);
  CHECK(l.events.back().from == bs::half_open);
  // Reopened as after failed probes: the open duration doubled.
  CHECK(b.current_open_duration() == seconds(20));
  CHECK(b.open_until() == t1 + seconds(5) + seconds(20));
  // The hung probes' late results change nothing.
  b.record(ok, fast, t1 + seconds(6));
  b.record(ok, fast, t1 + seconds(6));
  b.record(ok, fast, t1 + seconds(6));
  CHECK(b.state() == bs::open);
  CHECK(b.calls_in_flight() == 0);
}

TEST_CASE("a probe that ends after max_half_open_duration reopens the breaker "
          "instead of deciding",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 1;
  cfg.max_half_open_duration = seconds(5);
  circuit_breaker b{cfg};
  recording_listener l;
  b.set_listener(&l);
  auto t0 = at(seconds(1));
  trip(b, t0);
  auto t1 = t0 + seconds(10);
  REQUIRE(b.try_acquire(t1));
  b.record(ok, fast, t1 + seconds(7)); // a success, but too late
  CHECK(b.state() == bs::open);
  CHECK(l.events.back().reason == transition_reason::half_open_timeout);
  // Within the limit a successful probe closes it as before.
  auto t2 = b.open_until();
  REQUIRE(b.try_acquire(t2));
  b.record(ok, fast, t2 + seconds(4));
  CHECK(b.state() == bs::closed);
}

TEST_CASE("failed probes reopen the breaker with the open duration multiplied "
          "up to the cap",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()}; // 10s, x2, cap 35s, one probe
  recording_listener l;
  b.set_listener(&l);
  auto now = at(seconds(1));
  trip(b, now);
  for (auto expected : {seconds(20), seconds(35), seconds(35)}) {
    now = b.open_until();
    call(b, fail, now);
    CHECK(b.state() == bs::open);
    CHECK(l.events.back().from == bs::half_open);
    CHECK(l.events.back().reason == transition_reason::probe_failed);
    CHECK(l.events.back().failure_rate == 1.0);
    CHECK(b.current_open_duration() == expected);
    CHECK(b.open_until() == now + expected);
    CHECK_FALSE(b.try_acquire(now + expected - nanoseconds(1)));
  }
  // A successful probe closes the breaker and resets the backoff.
  now = b.open_until();
  call(b, ok, now);
  CHECK(b.state() == bs::closed);
  CHECK(b.current_open_duration() == seconds(10));
  trip(b, now);
  CHECK(b.open_until() == now + seconds(10));
}

TEST_CASE("half-open reopens as soon as the probes' verdict is certain",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 4; // 50 % of 4: two failures decide
  circuit_breaker b{cfg};
  auto t0 = at(seconds(1));
  trip(b, t0);
  auto t1 = t0 + seconds(10);
  for (int i = 0; i < 4; ++i)
    REQUIRE(b.try_acquire(t1));
  b.record(fail, fast, t1);
  CHECK(b.state() == bs::half_open); // 1 of 4 is 25 %: undecided
  b.record(ok, fast, t1);
  CHECK(b.state() == bs::half_open);
  b.record(fail, fast, t1);
  CHECK(b.state() == bs::open); // 2 of 4 failed whatever the last one does
  b.record(ok, fast, t1); // the last probe arrives late: no effect
  CHECK(b.state() == bs::open);
  CHECK(b.calls_in_flight() == 0);
}

TEST_CASE("the slow-call rate opens the breaker at its threshold",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.slow_call_rate_threshold = 0.8;
  circuit_breaker b{cfg};
  recording_listener l;
  b.set_listener(&l);
  auto now = at(seconds(1));
  call(b, ok, now, milliseconds(999)); // just under slow_call_duration
  call(b, ok, now, milliseconds(999));
  for (int i = 0; i < 7; ++i)
    call(b, ok, now, seconds(1)); // exactly slow_call_duration is slow
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().slow_calls == 7);
  call(b, ok, now, seconds(3));
  CHECK(b.state() == bs::open);
  REQUIRE(l.events.size() == 1);
  CHECK(l.events[0].reason == transition_reason::slow_call_rate_exceeded);
  CHECK(l.events[0].slow_call_rate == 0.8);
  CHECK(l.events[0].failure_rate == 0.0);
  CHECK(b.counters().slow_calls == 8);
}

TEST_CASE("failure classes outside record_failures_on count as successes",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  auto now = at(seconds(1));
  for (int i = 0; i < 10; ++i)
    call(b, outcome::failure(failure_class::persistent), now);
  for (int i = 0; i < 5; ++i)
    call(b, outcome::failure(failure_class::deadline_exceeded), now);
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().calls == 10);
  CHECK(b.snapshot().failures == 0);
  CHECK(b.counters().successful_calls == 15);
  CHECK(b.counters().failed_calls == 0);
  for (auto cls : {failure_class::timeout, failure_class::overloaded})
    call(b, outcome::failure(cls), now);
  CHECK(b.snapshot().failures == 2);
}

TEST_CASE("cancelled and locally rejected outcomes are ignored entirely",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  auto now = at(seconds(1));
  for (int i = 0; i < 20; ++i) {
    call(b, outcome::failure(failure_class::cancelled), now, seconds(5));
    call(b, outcome::failure(failure_class::rejected_locally), now, seconds(5));
  }
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().calls == 0);
  CHECK(b.counters().ignored_calls == 40);
  CHECK(b.counters().slow_calls == 0);
  CHECK(b.calls_in_flight() == 0);
  // In half-open an ignored result frees its probe slot, like release().
  trip(b, now);
  auto t1 = now + seconds(10);
  REQUIRE(b.try_acquire(t1));
  CHECK_FALSE(b.try_acquire(t1));
  b.record(outcome::failure(failure_class::cancelled), fast, t1);
  CHECK(b.state() == bs::half_open);
  CHECK(b.try_acquire(t1));
}

TEST_CASE("release returns a half-open probe slot without deciding anything",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  auto now = at(seconds(1));
  trip(b, now);
  auto t1 = now + seconds(10);
  REQUIRE(b.try_acquire(t1));
  CHECK_FALSE(b.try_acquire(t1));
  b.release(t1);
  CHECK(b.state() == bs::half_open);
  CHECK(b.probes_in_flight() == 0);
  CHECK(b.try_acquire(t1));
  CHECK(b.counters().released_calls == 1);
}

TEST_CASE("calls admitted before half-open never take or free a probe slot",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  auto now = at(seconds(1));
  REQUIRE(b.try_acquire(now)); // an old call, still out
  trip(b, now);
  auto t1 = now + seconds(10);
  REQUIRE(b.try_acquire(t1)); // the probe
  CHECK_FALSE(b.try_acquire(t1));
  // The old call completes first; its success must not close the breaker,
  // and its completion must not open a second probe slot.
  b.record(ok, fast, t1);
  CHECK(b.state() == bs::half_open);
  CHECK_FALSE(b.try_acquire(t1));
  b.record(ok, fast, t1); // the probe
  CHECK(b.state() == bs::closed);
  CHECK(b.calls_in_flight() == 0);
}

TEST_CASE("a time-based window opens on recent failures only",
          "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.window = window_kind::time_based;
  cfg.window_size = 10; // seconds
  cfg.minimum_calls = 5;
  circuit_breaker b{cfg};
  for (int i = 0; i < 4; ++i)
    call(b, fail, at(seconds(i)));
  CHECK(b.snapshot().calls == 4);
  // At 10s the failure from second 0 has left the window.
  call(b, fail, at(seconds(10)));
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().calls == 4);
  CHECK(b.snapshot(at(seconds(19))).calls == 1);
  // A jump over the whole window forgets everything.
  call(b, fail, at(seconds(100)));
  CHECK(b.snapshot().calls == 1);
  for (int i = 0; i < 3; ++i)
    call(b, fail, at(seconds(100)));
  CHECK(b.state() == bs::closed);
  call(b, fail, at(seconds(101)));
  CHECK(b.state() == bs::open);
}

TEST_CASE("a count-based window evicts the oldest call", "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  auto now = at(seconds(1));
  for (int i = 0; i < 4; ++i)
    call(b, fail, now);
  for (int i = 0; i < 20; ++i)
    call(b, ok, now);
  CHECK(b.snapshot().calls == 10);
  CHECK(b.snapshot().failures == 0);
  for (int i = 0; i < 4; ++i)
    call(b, fail, now);
  CHECK(b.state() == bs::closed); // 4 of the last 10
  call(b, fail, now);
  CHECK(b.state() == bs::open); // 5 of the last 10
}

TEST_CASE("forced_open rejects every call and time never ends it",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  b.force_open(at(seconds(1)));
  CHECK(b.state() == bs::forced_open);
  CHECK(b.open_until() == no_deadline);
  CHECK_FALSE(b.try_acquire(at(seconds(2))));
  CHECK_FALSE(b.try_acquire(at(hours(1000))));
  b.force_open(at(seconds(3))); // already there: no event
  REQUIRE(l.events.size() == 1);
  CHECK(l.events[0].reason == transition_reason::forced);
  b.reset(at(hours(1000)));
  CHECK(b.state() == bs::closed);
  CHECK(l.events.back().from == bs::forced_open);
  CHECK(l.events.back().reason == transition_reason::reset);
  CHECK(b.try_acquire(at(hours(1000))));
}

TEST_CASE("a disabled breaker admits every call and records none",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  trip(b, at(seconds(1)));
  b.disable(at(seconds(2)));
  CHECK(b.state() == bs::disabled);
  for (int i = 0; i < 100; ++i)
    call(b, fail, at(seconds(3)), seconds(10));
  CHECK(b.state() == bs::disabled);
  CHECK(b.counters().failed_calls == 110); // counted for metrics
  b.disable(at(seconds(4)));
  CHECK(l.events.size() == 2);
  CHECK(l.events[1].reason == transition_reason::disabled);
  b.reset(at(seconds(5)));
  CHECK(b.state() == bs::closed);
  CHECK(b.snapshot().calls == 0);
}

TEST_CASE("reset closes the breaker from every state and clears the window",
          "[runtime][breaker]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  auto now = at(seconds(1));
  for (int i = 0; i < 5; ++i)
    call(b, fail, now);
  b.reset(now); // closed: clears, no event
  CHECK(l.events.empty());
  CHECK(b.snapshot().calls == 0);
  trip(b, now);
  b.reset(now); // open -> closed
  CHECK(b.state() == bs::closed);
  trip(b, now);
  REQUIRE(b.try_acquire(now + seconds(10)));
  b.reset(now + seconds(10)); // half_open -> closed
  CHECK(b.state() == bs::closed);
  b.record(ok, fast, now + seconds(10)); // the probe returns late
  CHECK(b.calls_in_flight() == 0);
  CHECK(b.counters().illegal_transitions == 0);
}

TEST_CASE("reconfigure keeps the state and the window unless its shape changed",
          "[runtime][breaker]") {
  auto cfg = test_config();
  circuit_breaker b{cfg};
  auto now = at(seconds(1));
  for (int i = 0; i < 4; ++i)
    call(b, fail, now);
  cfg.failure_rate_threshold = 0.4;
  b.reconfigure(cfg, now);
  CHECK(b.snapshot().failures == 4); // same shape: kept
  for (int i = 0; i < 6; ++i)
    call(b, ok, now);
  CHECK(b.state() == bs::open); // 4 of 10 reaches the new 40 %
  auto until = b.open_until();
  cfg.open_duration = seconds(1);
  cfg.window_size = 20;
  cfg.minimum_calls = 20;
  b.reconfigure(cfg, now);
  CHECK(b.state() == bs::open);
  CHECK(b.open_until() == until); // an open period keeps its end
  CHECK(b.snapshot().calls == 0); // new shape: a new window
  CHECK(b.current_open_duration() == seconds(10)); // clamped into [1s, 35s]
  cfg.window = window_kind::time_based;
  cfg.window_size = 5;
  cfg.minimum_calls = 3;
  b.reset(now);
  b.reconfigure(cfg, now);
  for (int i = 0; i < 3; ++i)
    call(b, fail, now);
  CHECK(b.state() == bs::open);
}

TEST_CASE("reconfiguring the mode forces, disables and restores the breaker",
          "[runtime][breaker]") {
  auto cfg = test_config();
  circuit_breaker b{cfg};
  recording_listener l;
  b.set_listener(&l);
  auto now = at(seconds(1));
  cfg.mode = breaker_mode::forced_open;
  b.reconfigure(cfg, now);
  CHECK(b.state() == bs::forced_open);
  cfg.mode = breaker_mode::disabled;
  b.reconfigure(cfg, now);
  CHECK(b.state() == bs::disabled);
  cfg.mode = breaker_mode::automatic;
  b.reconfigure(cfg, now);
  CHECK(b.state() == bs::closed);
  REQUIRE(l.events.size() == 3);
  CHECK(l.events[0].reason == transition_reason::forced);
  CHECK(l.events[1].reason == transition_reason::disabled);
  CHECK(l.events[2].reason == transition_reason::reset);
  // An unchanged mode leaves a manual force_open alone.
  b.force_open(now);
  b.reconfigure(cfg, now);
  CHECK(b.state() == bs::forced_open);
  // A breaker configured forced_open starts that way.
  cfg.mode = breaker_mode::forced_open;
  CHECK(circuit_breaker{cfg}.state() == bs::forced_open);
  cfg.mode = breaker_mode::disabled;
  CHECK(circuit_breaker{cfg}.state() == bs::disabled);
}

TEST_CASE("a probe's hold forces the breaker open and its release closes it, "
          "both with reason probe",
          "[runtime][breaker][probe]") {
  circuit_breaker b{test_config()};
  recording_listener l;
  b.set_listener(&l);
  trip(b, at(seconds(1))); // open: the probe pauses it for good
  b.hold_for_probe(true, at(seconds(2)));
  CHECK(b.state() == bs::forced_open);
  CHECK(b.probe_hold());
  CHECK_FALSE(b.operator_hold());
  CHECK_FALSE(b.try_acquire(at(hours(1)))); // time never ends a pause
  REQUIRE(l.events.size() == 2);
  CHECK(l.events[1].reason == transition_reason::probe);
  CHECK(to_string(l.events[1].reason) == "probe");
  b.hold_for_probe(false, at(hours(1)));
  CHECK(b.state() == bs::closed);
  REQUIRE(l.events.size() == 3);
  CHECK(l.events[2].from == bs::forced_open);
  CHECK(l.events[2].reason == transition_reason::probe);
  CHECK(b.try_acquire(at(hours(1))));
}

TEST_CASE("a probe resuming never undoes an operator's forced-open, and an "
          "operator's reset never resumes a path the probe keeps paused",
          "[runtime][breaker][probe]") {
  auto now = at(seconds(1));
  SECTION("operator first, probe released while the operator holds") {
    circuit_breaker b{test_config()};
    b.force_open(now);
    b.hold_for_probe(true, now);
    b.hold_for_probe(false, now);
    CHECK(b.state() == bs::forced_open);
    b.reset(now);
    CHECK(b.state() == bs::closed);
  }
  SECTION("probe first, operator resets while the probe holds") {
    circuit_breaker b{test_config()};
    b.hold_for_probe(true, now);
    b.force_open(now);
    b.reset(now);
    CHECK(b.state() == bs::forced_open);
    CHECK(b.probe_hold());
    b.hold_for_probe(false, now);
    CHECK(b.state() == bs::closed);
  }
  SECTION("config mode forced_open and back to automatic") {
    auto cfg = test_config();
    cfg.mode = breaker_mode::forced_open;
    circuit_breaker b{cfg};
    b.hold_for_probe(true, now);
    b.hold_for_probe(false, now);
    CHECK(b.state() == bs::forced_open); // the config still holds it
    b.hold_for_probe(true, now);
    cfg.mode = breaker_mode::automatic;
    b.reconfigure(cfg, now);
    CHECK(b.state() == bs::forced_open); // the probe still holds it
    b.hold_for_probe(false, now);
    CHECK(b.state() == bs::closed);
  }
  SECTION("a disabled breaker remembers the hold and applies it on leaving") {
    circuit_breaker b{test_config()};
    b.disable(now);
    b.hold_for_probe(true, now);
    CHECK(b.state() == bs::disabled);
    b.reset(now);
    CHECK(b.state() == bs::forced_open);
    b.hold_for_probe(false, now);
    CHECK(b.state() == bs::closed);
  }
  SECTION("counters") {
    circuit_breaker b{test_config()};
    b.hold_for_probe(true, now);
    b.hold_for_probe(true, now); // already held: no second transition
    CHECK(b.counters().transitions == 1);
    CHECK(b.counters().illegal_transitions == 0);
  }
}

TEST_CASE(
  "a half-open breaker decides at once when reconfigured to fewer probes",
  "[runtime][breaker]") {
  auto cfg = test_config();
  cfg.half_open_probes = 3;
  circuit_breaker b{cfg};
  auto now = at(seconds(1));
  trip(b, now);
  auto t1 = now + seconds(10);
  call(b, ok, t1);
  CHECK(b.state() == bs::half_open);
  cfg.half_open_probes = 1;
  b.reconfigure(cfg, t1);
  CHECK(b.state() == bs::closed);
}

// -- property test ------------------------------------------------------------

namespace {

/// Checks every event against the table and the previous event, remembers
/// the first problem (the test reports it with the seed).
struct checking_listener : breaker_listener {
  breaker_state previous = breaker_state::closed;
  std::uint64_t half_open_periods = 0;
  std::string problem;
  std::set<std::pair<breaker_state, breaker_state>>* seen = nullptr;

  void on_breaker_event(const breaker_event& e) override {
    if (problem.empty()) {
      if (e.from != previous)
        problem = "event from " + to_string(e.from) + " but the state was "
                  + to_string(previous);
      else if (!is_legal_transition(e.from, e.to))
        problem =
          "illegal transition " + to_string(e.from) + " -> " + to_string(e.to);
    }
    seen->emplace(e.from, e.to);
    previous = e.to;
    if (e.to == breaker_state::half_open)
      ++half_open_periods;
  }
};

breaker_config random_config(rng& r) {
  breaker_config cfg;
  cfg.window =
    r.below(2) == 0 ? window_kind::count_based : window_kind::time_based;
  cfg.window_size = static_cast<std::uint32_t>(1 + r.below(20));
  cfg.minimum_calls = static_cast<std::uint32_t>(1 + r.below(20));
  if (cfg.window == window_kind::count_based)
    cfg.minimum_calls = std::min(cfg.minimum_calls, cfg.window_size);
  cfg.failure_rate_threshold = static_cast<double>(1 + r.below(100)) / 100.0;
  cfg.slow_call_rate_threshold = static_cast<double>(1 + r.below(100)) / 100.0;
  cfg.slow_call_duration =
    milliseconds(static_cast<std::int64_t>(1 + r.below(500)));
  cfg.open_duration =
    milliseconds(static_cast<std::int64_t>(1 + r.below(5000)));
  cfg.open_duration_multiplier = r.uniform(1.0, 4.0);
  cfg.max_open_duration =
    cfg.open_duration * static_cast<std::int64_t>(1 + r.below(10));
  cfg.half_open_probes = static_cast<std::uint32_t>(1 + r.below(5));
  cfg.mode =
    r.below(10) == 0 ? breaker_mode::forced_open : breaker_mode::automatic;
  return cfg;
}

outcome random_outcome(rng& r) {
  if (r.below(2) == 0)
    return outcome::ok();
  return outcome::failure(all_failure_classes[r.below(failure_class_count)]);
}

struct permitted_call {
  std::uint64_t half_open_period; // 0: admitted outside half_open
};

/// What the random runs reached, so the test can show it explored the
/// interesting corners rather than passing vacuously.
struct coverage {
  std::set<std::pair<breaker_state, breaker_state>> transitions;
  std::uint64_t full_half_open_rejections = 0;
};

/// Runs one seed; returns a description of the first violated property.
std::string run_seed(std::uint64_t seed, coverage& cov) {
  rng r{seed};
  auto cfg = random_config(r);
  circuit_breaker b{cfg};
  checking_listener l;
  l.seen = &cov.transitions;
  l.previous = b.state();
  b.set_listener(&l);
  std::vector<permitted_call> out;
  auto now = at(seconds(static_cast<std::int64_t>(r.below(1'000'000))));
  std::ostringstream why;
  for (int i = 0; i < 1000; ++i) {
    auto op = r.below(100);
    if (op < 30) {
      switch (r.below(4)) {
        case 0:
          now += nanoseconds(static_cast<std::int64_t>(r.below(1000)));
          break;
        case 1:
          now += milliseconds(static_cast<std::int64_t>(r.below(1000)));
          break;
        case 2:
          now += milliseconds(static_cast<std::int64_t>(r.below(10'000)));
          break;
        default:
          if (b.state() == breaker_state::open && r.below(2) == 0)
            now = b.open_until() - nanoseconds(r.below(2)); // the boundary
          break;
      }
    } else if (op < 60) {
      auto before = b.state();
      auto until = b.open_until();
      bool admitted = b.try_acquire(now);
      if (admitted && before == breaker_state::forced_open)
        why << "admitted while forced_open";
      if (admitted && before == breaker_state::open && now < until)
        why << "admitted while open before open_until";
      if (!admitted && before == breaker_state::open && now >= until)
        why << "rejected at or after open_until";
      if (!admitted && before == breaker_state::half_open)
        ++cov.full_half_open_rejections;
      if (!admitted
          && (before == breaker_state::closed
              || before == breaker_state::disabled))
        why << "rejected while " << to_string(before);
      if (admitted) {
        bool probe = b.state() == breaker_state::half_open;
        out.push_back({probe ? l.half_open_periods : 0});
        if (probe) {
          std::uint64_t concurrent = 0;
          for (auto& c : out)
            concurrent += c.half_open_period == l.half_open_periods ? 1 : 0;
          if (concurrent > b.config().half_open_probes)
            why << concurrent << " concurrent probes admitted, limit "
                << b.config().half_open_probes;
        }
      }
    } else if (op < 85) {
      if (!out.empty()) {
        auto k = r.below(out.size());
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(k));
        auto latency = milliseconds(static_cast<std::int64_t>(r.below(1000)));
        b.record(random_outcome(r), latency, now);
      }
    } else if (op < 93) {
      if (!out.empty()) {
        auto k = r.below(out.size());
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(k));
        b.release(now);
      }
    } else if (op < 95) {
      b.force_open(now);
    } else if (op < 97) {
      b.disable(now);
    } else if (op < 99) {
      b.reset(now);
    } else {
      b.reconfigure(random_config(r), now);
    }
    if (!l.problem.empty())
      why << l.problem;
    if (b.state() != l.previous)
      why << "state " << to_string(b.state()) << " but the last event said "
          << to_string(l.previous);
    if (b.counters().illegal_transitions != 0)
      why << "an illegal transition was requested";
    if (b.calls_in_flight() != out.size())
      why << b.calls_in_flight() << " calls in flight, expected " << out.size();
    if (b.current_open_duration() > b.config().max_open_duration
        || b.current_open_duration() < b.config().open_duration)
      why << "open duration " << b.current_open_duration().count()
          << "ns outside its bounds";
    if (b.config().window == window_kind::count_based
        && b.snapshot().calls > b.config().window_size)
      why << "window holds " << b.snapshot().calls << " calls";
    if (!why.str().empty()) {
      why << " (operation " << i << ")";
      return why.str();
    }
  }
  return {};
}

} // namespace

TEST_CASE("random operations only ever take legal transitions and respect the "
          "probe limit",
          "[runtime][breaker][property]") {
  coverage cov;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    auto problem = run_seed(seed, cov);
    if (!problem.empty())
      FAIL("seed " << seed << ": " << problem);
  }
  // Every legal transition was taken, and probes hit their limit often.
  CHECK(cov.transitions.size() == legal_breaker_transitions.size());
  CHECK(cov.full_half_open_rejections > 1000);
}
