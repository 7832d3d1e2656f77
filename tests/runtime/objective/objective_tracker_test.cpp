#include "bulwark/runtime/objective/objective_tracker.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

objective_config slo() {
  objective_config cfg;
  cfg.enabled = true;
  cfg.availability = 0.99; // budget: 1%
  cfg.latency_threshold = milliseconds(300);
  cfg.latency = 0.9; // budget: 10%
  return cfg;
}

// Away from the epoch, as a steady clock is.
const time_point t0 = time_point{} + hours(1000);

std::size_t at(objective_window w) {
  return static_cast<std::size_t>(w);
}

} // namespace

TEST_CASE("a burn rate is the window's error rate over the error budget",
          "[runtime][objective]") {
  objective_tracker t{slo()};
  // 100 calls in one minute: 2 failed (2% = twice the 1% budget) and 20
  // slow (20% = twice the 10% budget).
  for (int i = 0; i < 100; ++i)
    t.record(i >= 2, i < 20 ? milliseconds(400) : milliseconds(10),
             t0 + milliseconds(600 * i));
  auto now = t0 + seconds(60);
  CHECK(t.availability_burn(objective_window::m5, now) == Approx(2.0));
  CHECK(t.latency_burn(objective_window::m5, now) == Approx(2.0));
  auto s = t.snapshot(now);
  CHECK(s.events == 100);
  CHECK(s.bad_availability == 2);
  CHECK(s.bad_latency == 20);
  CHECK(s.availability_target_ppm == 990000);
  CHECK(s.latency_target_ppm == 900000);
  CHECK(s.latency_threshold_ns == 300'000'000);
  for (auto w : all_objective_windows) {
    INFO(to_string(w));
    CHECK(s.availability_burn_milli[at(w)] == 2000);
    CHECK(s.latency_burn_milli[at(w)] == 2000);
  }
}

TEST_CASE("old failures leave the short windows first, the long ones later",
          "[runtime][objective]") {
  objective_tracker t{slo()};
  // An outage: 50 failed calls, then an hour of good ones.
  for (int i = 0; i < 50; ++i)
    t.record(false, milliseconds(5), t0 + seconds(i));
  for (int i = 0; i < 3600; ++i)
    t.record(true, milliseconds(5), t0 + minutes(1) + seconds(i));
  auto now = t0 + minutes(61);
  // The 5 m and 30 m windows see only good calls now: the alert pairs that
  // need them stop firing although the long windows still burn.
  CHECK(t.availability_burn(objective_window::m5, now) == 0.0);
  CHECK(t.availability_burn(objective_window::m30, now) == 0.0);
  CHECK(t.availability_burn(objective_window::h6, now)
        == Approx(50.0 / 3650.0 / 0.01));
  CHECK(t.availability_burn(objective_window::d3, now)
        == Approx(50.0 / 3650.0 / 0.01));
  // Three days later nothing is left in any window.
  auto later = now + hours(73);
  for (auto w : all_objective_windows) {
    INFO(to_string(w));
    CHECK(t.availability_burn(w, later) == 0.0);
  }
  // The counters since start keep everything.
  CHECK(t.snapshot(later).events == 3650);
  CHECK(t.snapshot(later).bad_availability == 50);
}

TEST_CASE("a bucket reused after its window is counted afresh",
          "[runtime][objective]") {
  objective_tracker t{slo()};
  t.record(false, milliseconds(5), t0);
  // Exactly one ring later (1 h of 10 s buckets, 72 h of 5 min buckets) the
  // same slot is written again: the old failure must not come back.
  auto again = t0 + hours(72);
  t.record(true, milliseconds(5), again);
  for (auto w : all_objective_windows) {
    INFO(to_string(w));
    CHECK(t.availability_burn(w, again) == 0.0);
  }
}

TEST_CASE("no latency objective, no latency burn; disabled, no targets",
          "[runtime][objective]") {
  auto cfg = slo();
  cfg.latency_threshold = duration{0};
  objective_tracker t{cfg};
  t.record(true, seconds(10), t0);
  CHECK(t.latency_burn(objective_window::m5, t0) == 0.0);
  CHECK(t.snapshot(t0).bad_latency == 0);
  CHECK(t.snapshot(t0).latency_target_ppm == 0);
  cfg.enabled = false;
  t.reconfigure(cfg);
  auto s = t.snapshot(t0);
  CHECK(s.availability_target_ppm == 0);
  CHECK(s.availability_burn_milli[at(objective_window::m5)] == 0);
}

TEST_CASE("a new latency threshold starts the slow count afresh, a new target "
          "re-weighs the same calls",
          "[runtime][objective]") {
  objective_tracker t{slo()};
  for (int i = 0; i < 10; ++i)
    t.record(i != 0, milliseconds(500), t0 + seconds(i));
  auto now = t0 + seconds(10);
  CHECK(t.latency_burn(objective_window::m5, now) == Approx(10.0));
  auto cfg = slo();
  cfg.availability = 0.95; // budget 5%: 10% failed is a burn of 2
  t.reconfigure(cfg);
  CHECK(t.availability_burn(objective_window::m5, now) == Approx(2.0));
  CHECK(t.latency_burn(objective_window::m5, now) == Approx(10.0));
  cfg.latency_threshold = seconds(1);
  t.reconfigure(cfg);
  CHECK(t.latency_burn(objective_window::m5, now) == 0.0);
  CHECK(t.snapshot(now).bad_latency == 0);
}

TEST_CASE("a disabled objective holds no windows; enabled again, they start "
          "empty and the counters since start stay",
          "[runtime][objective]") {
  objective_tracker off;
  CHECK(off.buckets_held() == 0);
  off.record(false, milliseconds(5), t0);
  CHECK(off.snapshot(t0).events == 0);
  objective_tracker t{slo()};
  CHECK(t.buckets_held() == 360 + 864);
  t.record(false, milliseconds(5), t0);
  auto cfg = slo();
  cfg.enabled = false;
  t.reconfigure(cfg);
  CHECK(t.buckets_held() == 0);
  cfg.enabled = true;
  t.reconfigure(cfg);
  CHECK(t.buckets_held() == 360 + 864);
  CHECK(t.availability_burn(objective_window::m5, t0) == 0.0);
  CHECK(t.snapshot(t0).events == 1);
  CHECK(t.snapshot(t0).bad_availability == 1);
}
