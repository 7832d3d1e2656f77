#include "bulwark/runtime/supervise/restart_tracker.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(1000);

// No jitter, so delays are exact.
restart_config plain() {
  restart_config cfg;
  cfg.random_factor = 0;
  return cfg;
}

} // namespace

TEST_CASE("restart actions have names", "[runtime][supervise][restart]") {
  CHECK(to_string(restart_action::restart) == "restart");
  CHECK(to_string(restart_action::escalate) == "escalate");
}

TEST_CASE("three crashes within ten seconds restart and the fourth escalates",
          "[runtime][supervise][restart]") {
  restart_tracker tracker{plain()};
  rng gen{1};
  for (std::uint32_t i = 1; i <= 3; ++i) {
    INFO("crash " << i);
    auto d = tracker.on_crash(t0 + seconds(i), gen);
    CHECK(d.action == restart_action::restart);
    CHECK(d.restarts_in_window == i);
    tracker.on_started(t0 + seconds(i) + d.delay);
  }
  auto d = tracker.on_crash(t0 + seconds(4), gen);
  CHECK(d.action == restart_action::escalate);
  CHECK(d.delay == duration{0});
  CHECK(d.restarts_in_window == 3);
  CHECK(tracker.total_restarts() == 3);
}

TEST_CASE("a restart exactly `within` ago still counts, one nanosecond later "
          "it does not",
          "[runtime][supervise][restart]") {
  // OTP's inPeriod: Now =< Then + Period.
  rng gen{1};
  restart_tracker at_edge{plain()};
  restart_tracker past_edge{plain()};
  for (auto t : {seconds(0), seconds(3), seconds(6)}) {
    CHECK(at_edge.on_crash(t0 + t, gen).action == restart_action::restart);
    CHECK(past_edge.on_crash(t0 + t, gen).action == restart_action::restart);
  }
  auto edge = at_edge.on_crash(t0 + seconds(10), gen);
  CHECK(edge.action == restart_action::escalate);
  CHECK(edge.restarts_in_window == 3);
  auto past = past_edge.on_crash(t0 + seconds(10) + nanoseconds(1), gen);
  CHECK(past.action == restart_action::restart);
  CHECK(past.restarts_in_window == 3); // 3 s, 6 s and this one
}

TEST_CASE("crashes spaced more than `within` apart never escalate",
          "[runtime][supervise][restart]") {
  auto cfg = plain();
  cfg.max_restarts = 1;
  restart_tracker tracker{cfg};
  rng gen{1};
  auto t = t0;
  for (int i = 0; i < 1000; ++i) {
    INFO("crash " << i);
    auto d = tracker.on_crash(t, gen);
    REQUIRE(d.action == restart_action::restart);
    CHECK(d.restarts_in_window == 1);
    t += cfg.within + nanoseconds(1);
  }
  CHECK(tracker.total_restarts() == 1000);
}

TEST_CASE("the window slides: old restarts leave it one by one",
          "[runtime][supervise][restart]") {
  restart_tracker tracker{plain()};
  rng gen{1};
  CHECK(tracker.on_crash(t0, gen).action == restart_action::restart);
  CHECK(tracker.on_crash(t0 + seconds(4), gen).action
        == restart_action::restart);
  CHECK(tracker.on_crash(t0 + seconds(8), gen).action
        == restart_action::restart);
  CHECK(tracker.on_crash(t0 + seconds(9), gen).action
        == restart_action::escalate);
  // At 11 s the restart at 0 s has left; the escalated crash added none.
  auto d = tracker.on_crash(t0 + seconds(11), gen);
  CHECK(d.action == restart_action::restart);
  CHECK(d.restarts_in_window == 3);
  CHECK(tracker.on_crash(t0 + seconds(12), gen).action
        == restart_action::escalate);
  auto late = tracker.on_crash(t0 + seconds(100), gen);
  CHECK(late.action == restart_action::restart);
  CHECK(late.restarts_in_window == 1);
}

TEST_CASE("a full ring of one hundred restarts wraps around correctly",
          "[runtime][supervise][restart]") {
  auto cfg = plain();
  cfg.max_restarts = 100;
  cfg.within = seconds(1);
  cfg.min_backoff = duration{0};
  cfg.max_backoff = duration{0};
  restart_tracker tracker{cfg};
  rng gen{1};
  auto t = t0;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    for (std::uint32_t i = 1; i <= 100; ++i) {
      auto d = tracker.on_crash(t + milliseconds(i), gen);
      REQUIRE(d.action == restart_action::restart);
      CHECK(d.restarts_in_window == i);
      CHECK(d.delay == duration{0});
    }
    auto d = tracker.on_crash(t + milliseconds(101), gen);
    CHECK(d.action == restart_action::escalate);
    CHECK(d.restarts_in_window == 100);
    t += seconds(2);
  }
  CHECK(tracker.total_restarts() == 300);
}

TEST_CASE("restart delays double from min_backoff up to max_backoff",
          "[runtime][supervise][restart]") {
  auto cfg = plain();
  cfg.max_restarts = 100;
  cfg.within = seconds(1);
  restart_tracker tracker{cfg};
  rng gen{1};
  const duration expected[] = {
    milliseconds(100),  milliseconds(200),  milliseconds(400),
    milliseconds(800),  milliseconds(1600), milliseconds(3200),
    milliseconds(6400), seconds(10),        seconds(10)};
  auto t = t0;
  for (auto want : expected) {
    // Spaced past the window so only the backoff is under test; each start
    // is followed by a crash well before reset_after.
    auto d = tracker.on_crash(t, gen);
    REQUIRE(d.action == restart_action::restart);
    CHECK(d.delay == want);
    tracker.on_started(t + d.delay);
    t += d.delay + seconds(2);
  }
  // Hundreds of consecutive restarts stay at the cap: no overflow.
  for (int i = 0; i < 300; ++i) {
    auto d = tracker.on_crash(t, gen);
    REQUIRE(d.action == restart_action::restart);
    REQUIRE(d.delay == seconds(10));
    t += seconds(2);
  }
}

TEST_CASE("a cap that is not a power-of-two multiple is reached exactly",
          "[runtime][supervise][restart]") {
  auto cfg = plain();
  cfg.max_restarts = 10;
  cfg.within = milliseconds(1);
  cfg.min_backoff = milliseconds(30);
  cfg.max_backoff = milliseconds(100);
  restart_tracker tracker{cfg};
  rng gen{1};
  const duration expected[] = {milliseconds(30), milliseconds(60),
                               milliseconds(100), milliseconds(100)};
  auto t = t0;
  for (auto want : expected) {
    CHECK(tracker.on_crash(t, gen).delay == want);
    t += seconds(1);
  }
}

TEST_CASE("the random factor stretches the delay by at most its percentage",
          "[runtime][supervise][restart]") {
  constexpr std::int64_t base_ns = 100'000'000; // min_backoff, 100ms
  for (std::uint32_t factor : {20u, 100u}) {
    auto cfg = plain();
    cfg.random_factor = factor;
    const std::int64_t hi_ns = base_ns * (100 + factor) / 100;
    auto lowest = std::numeric_limits<std::int64_t>::max();
    auto highest = std::numeric_limits<std::int64_t>::min();
    for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
      INFO("seed " << seed << ", random_factor " << factor);
      restart_tracker tracker{cfg};
      rng gen{seed};
      auto d = tracker.on_crash(t0, gen).delay.count();
      CHECK(d >= base_ns);
      CHECK(d < hi_ns);
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
      // Same seed, same delay: a run replays.
      restart_tracker again{cfg};
      rng same{seed};
      CHECK(again.on_crash(t0, same).delay.count() == d);
    }
    // 1000 uniform draws cover the band: within 1 % of both ends.
    INFO("random_factor " << factor);
    auto band = hi_ns - base_ns;
    CHECK(lowest < base_ns + band / 100);
    CHECK(highest > hi_ns - band / 100);
  }
}

TEST_CASE("the random factor applies after the cap, as Akka does",
          "[runtime][supervise][restart]") {
  restart_config cfg;
  cfg.max_restarts = 100;
  cfg.within = milliseconds(1);
  cfg.min_backoff = seconds(10);
  cfg.max_backoff = seconds(10);
  cfg.random_factor = 20;
  restart_tracker tracker{cfg};
  bool above_cap = false;
  rng gen{77};
  auto t = t0;
  for (int i = 0; i < 50; ++i) {
    auto d = tracker.on_crash(t, gen).delay;
    CHECK(d >= seconds(10));
    CHECK(d < seconds(12));
    above_cap = above_cap || d > seconds(10);
    t += seconds(1);
  }
  CHECK(above_cap);
}

TEST_CASE("a member that stayed up for reset_after restarts from min_backoff",
          "[runtime][supervise][restart]") {
  auto cfg = plain();
  cfg.max_restarts = 100;
  cfg.within = seconds(1);
  restart_tracker tracker{cfg};
  rng gen{1};
  auto t = t0;
  for (auto want : {milliseconds(100), milliseconds(200), milliseconds(400)}) {
    auto d = tracker.on_crash(t, gen);
    CHECK(d.delay == want);
    t += d.delay;
    tracker.on_started(t);
    t += seconds(2);
  }
  // Up for 30 s minus 1 ns: still the same run.
  t += seconds(30) - seconds(2) - nanoseconds(1);
  auto d = tracker.on_crash(t, gen);
  CHECK(d.delay == milliseconds(800));
  t += d.delay;
  tracker.on_started(t);
  // Up for exactly 30 s: a new run.
  t += seconds(30);
  CHECK(tracker.on_crash(t, gen).delay == milliseconds(100));
  // Crashing again without having been started keeps doubling: an uptime
  // is only counted from a start.
  t += seconds(60);
  CHECK(tracker.on_crash(t, gen).delay == milliseconds(200));
}

TEST_CASE("disabled restarts escalate every crash at once",
          "[runtime][supervise][restart]") {
  restart_config cfg;
  cfg.enabled = false;
  restart_tracker tracker{cfg};
  rng gen{1};
  rng untouched{1};
  for (int i = 0; i < 3; ++i) {
    auto d = tracker.on_crash(t0 + seconds(20 * i), gen);
    CHECK(d.action == restart_action::escalate);
    CHECK(d.delay == duration{0});
    CHECK(d.restarts_in_window == 0);
  }
  CHECK(tracker.total_restarts() == 0);
  CHECK(gen() == untouched()); // escalating draws nothing
}

TEST_CASE("zero max_restarts escalates the first crash",
          "[runtime][supervise][restart]") {
  restart_config cfg;
  cfg.max_restarts = 0;
  restart_tracker tracker{cfg};
  rng gen{1};
  CHECK(tracker.on_crash(t0, gen).action == restart_action::escalate);
  CHECK(tracker.on_crash(t0 + hours(1), gen).action
        == restart_action::escalate);
  CHECK(tracker.total_restarts() == 0);
}

TEST_CASE("reconfiguring keeps the restart history and applies new limits",
          "[runtime][supervise][restart]") {
  restart_tracker tracker{plain()};
  rng gen{1};
  for (int i = 0; i < 2; ++i)
    CHECK(tracker.on_crash(t0 + seconds(i), gen).action
          == restart_action::restart);
  auto lower = plain();
  lower.max_restarts = 2;
  tracker.reconfigure(lower);
  CHECK(tracker.config() == lower);
  auto d = tracker.on_crash(t0 + seconds(2), gen);
  CHECK(d.action == restart_action::escalate);
  CHECK(d.restarts_in_window == 2);
  auto higher = plain();
  higher.max_restarts = 5;
  tracker.reconfigure(higher);
  d = tracker.on_crash(t0 + seconds(3), gen);
  CHECK(d.action == restart_action::restart);
  CHECK(d.restarts_in_window == 3);
  CHECK(d.delay == milliseconds(400)); // the backoff run went on: 3rd restart
  // A hand-built config above the ring's size is capped, not overrun.
  auto huge = plain();
  huge.max_restarts = 1000;
  tracker.reconfigure(huge);
  CHECK(tracker.config().max_restarts == restart_config::max_restarts_limit);
}

TEST_CASE("a default tracker follows the default restart config",
          "[runtime][supervise][restart]") {
  restart_tracker tracker;
  CHECK(tracker.config() == restart_config{});
  CHECK(tracker.total_restarts() == 0);
  rng gen{3};
  auto d = tracker.on_crash(t0, gen);
  CHECK(d.action == restart_action::restart);
  CHECK(d.delay >= milliseconds(100));
  CHECK(d.delay < milliseconds(120));
  CHECK(tracker.total_restarts() == 1);
}
