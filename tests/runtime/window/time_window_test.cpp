#include "bulwark/runtime/window/time_window.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

} // namespace

TEST_CASE("calls in the same second add up in a time window",
          "[runtime][window]") {
  time_window w{10};
  w.record(true, false, at(milliseconds(100)));
  w.record(false, true, at(milliseconds(900)));
  w.record(false, false, at(milliseconds(999)));
  auto s = w.snapshot();
  CHECK(s.calls == 3);
  CHECK(s.failures == 1);
  CHECK(s.slow_calls == 1);
  CHECK(s.failure_rate == Approx(1.0 / 3.0));
}

TEST_CASE(
  "a time window stops counting a call once its second leaves the window",
  "[runtime][window]") {
  time_window w{3};
  w.record(true, true, at(milliseconds(500))); // second 0
  // Seconds 0, 1, 2 are in the window up to the last instant of second 2.
  CHECK(w.snapshot(at(seconds(3) - nanoseconds(1))).calls == 1);
  w.advance(at(seconds(3) - nanoseconds(1)));
  CHECK(w.failures() == 1);
  // At 3s, second 0 is older than 3 seconds' worth of buckets.
  CHECK(w.snapshot(at(seconds(3))).calls == 0);
  w.record(false, false, at(seconds(3)));
  CHECK(w.calls() == 1);
  CHECK(w.failures() == 0);
  CHECK(w.slow_calls() == 0);
}

TEST_CASE("a time window rolls forward one bucket per elapsed second",
          "[runtime][window]") {
  time_window w{3};
  w.record(true, false, at(seconds(0)));
  w.record(true, false, at(seconds(1)));
  w.record(false, true, at(seconds(2)));
  CHECK(w.calls() == 3);
  w.record(false, false, at(seconds(3))); // evicts second 0
  CHECK(w.calls() == 3);
  CHECK(w.failures() == 1);
  CHECK(w.slow_calls() == 1);
  w.advance(at(seconds(5))); // evicts seconds 1 and 2
  CHECK(w.calls() == 1);
  CHECK(w.failures() == 0);
  CHECK(w.slow_calls() == 0);
}

TEST_CASE("a jump in time longer than a time window clears it",
          "[runtime][window]") {
  time_window w{5};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 10; ++j)
      w.record(true, true, at(seconds(i)));
  CHECK(w.calls() == 50);
  CHECK(w.snapshot(at(hours(1))).calls == 0);
  w.advance(at(hours(1)));
  CHECK(w.calls() == 0);
  w.record(false, false, at(hours(1)));
  CHECK(w.snapshot().calls == 1);
  CHECK(w.snapshot().failures == 0);
  // The jump left no stale bucket behind: the next seconds start empty.
  w.record(true, false, at(hours(1) + seconds(1)));
  CHECK(w.calls() == 2);
  CHECK(w.failures() == 1);
}

TEST_CASE(
  "a time window counts calls from an earlier second in the current bucket",
  "[runtime][window]") {
  time_window w{2};
  w.record(false, false, at(seconds(10)));
  w.record(true, false, at(seconds(9)));
  CHECK(w.calls() == 2);
  w.advance(at(seconds(12)));
  CHECK(w.calls() == 0);
}

TEST_CASE("clearing a time window forgets every call and restarts its clock",
          "[runtime][window]") {
  time_window w{3};
  w.record(true, true, at(seconds(100)));
  w.clear();
  CHECK(w.calls() == 0);
  w.record(false, false, at(seconds(1)));
  CHECK(w.calls() == 1);
  CHECK(w.failures() == 0);
}

TEST_CASE("a time window agrees with a list of timestamped calls",
          "[runtime][window]") {
  struct call {
    std::int64_t second;
    bool failed;
    bool slow;
  };
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    rng r{seed};
    auto size = static_cast<std::int64_t>(1 + r.below(10));
    time_window w{static_cast<std::uint32_t>(size)};
    std::vector<call> model;
    auto now = at(seconds(static_cast<std::int64_t>(r.below(1000))));
    for (int i = 0; i < 300; ++i) {
      switch (r.below(10)) {
        case 0:
          now += milliseconds(static_cast<std::int64_t>(r.below(20'000)));
          break;
        case 1:
        case 2:
          now += milliseconds(static_cast<std::int64_t>(r.below(1'500)));
          break;
        default:
          break;
      }
      auto sec = std::chrono::floor<seconds>(now.time_since_epoch()).count();
      std::uint64_t calls = 0;
      std::uint64_t failures = 0;
      std::uint64_t slow_calls = 0;
      for (auto& c : model)
        if (c.second > sec - size) {
          ++calls;
          failures += c.failed ? 1 : 0;
          slow_calls += c.slow ? 1 : 0;
        }
      auto aged = w.snapshot(now);
      REQUIRE(aged.calls == calls);
      REQUIRE(aged.failures == failures);
      REQUIRE(aged.slow_calls == slow_calls);
      bool failed = r.below(3) == 0;
      bool slow = r.below(4) == 0;
      w.record(failed, slow, now);
      model.push_back(call{sec, failed, slow});
      auto snap = w.snapshot();
      REQUIRE(snap.calls == calls + 1);
      REQUIRE(snap.failures == failures + (failed ? 1 : 0));
      REQUIRE(snap.slow_calls == slow_calls + (slow ? 1 : 0));
    }
  }
}
