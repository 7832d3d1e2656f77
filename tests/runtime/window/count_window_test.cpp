#include "bulwark/runtime/window/count_window.hpp"

#include <deque>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

TEST_CASE("an empty count window has no calls and zero rates",
          "[runtime][window]") {
  count_window w{5};
  auto s = w.snapshot();
  CHECK(s.calls == 0);
  CHECK(s.failures == 0);
  CHECK(s.slow_calls == 0);
  CHECK(s.failure_rate == 0.0);
  CHECK(s.slow_call_rate == 0.0);
}

TEST_CASE("a count window adds calls until it is full", "[runtime][window]") {
  count_window w{4};
  w.record(true, false);
  w.record(false, true);
  w.record(true, true);
  auto s = w.snapshot();
  CHECK(s.calls == 3);
  CHECK(s.failures == 2);
  CHECK(s.slow_calls == 2);
  CHECK(s.failure_rate == Approx(2.0 / 3.0));
  CHECK(s.slow_call_rate == Approx(2.0 / 3.0));
}

TEST_CASE("a full count window evicts its oldest call on every record",
          "[runtime][window]") {
  count_window w{3};
  w.record(true, true); // evicted by the 4th
  w.record(false, false); // evicted by the 5th
  w.record(true, false);
  CHECK(w.failures() == 2);
  CHECK(w.slow_calls() == 1);
  w.record(false, false);
  CHECK(w.calls() == 3);
  CHECK(w.failures() == 1);
  CHECK(w.slow_calls() == 0);
  w.record(false, true);
  CHECK(w.calls() == 3);
  CHECK(w.failures() == 1);
  CHECK(w.slow_calls() == 1);
  w.record(false, false); // evicts the 3rd, the last failure
  CHECK(w.failures() == 0);
  CHECK(w.snapshot().failure_rate == 0.0);
}

TEST_CASE("clearing a count window forgets every call", "[runtime][window]") {
  count_window w{2};
  w.record(true, true);
  w.record(true, true);
  w.clear();
  CHECK(w.calls() == 0);
  w.record(false, false);
  CHECK(w.calls() == 1);
  CHECK(w.failures() == 0);
  CHECK(w.slow_calls() == 0);
}

TEST_CASE("a count window of size 0 behaves as a window of one call",
          "[runtime][window]") {
  count_window w{0};
  CHECK(w.size() == 1);
  w.record(true, false);
  w.record(false, false);
  CHECK(w.calls() == 1);
  CHECK(w.failures() == 0);
}

TEST_CASE("a count window agrees with a queue of the last N calls",
          "[runtime][window]") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    rng r{seed};
    auto size = static_cast<std::uint32_t>(1 + r.below(20));
    count_window w{size};
    std::deque<std::pair<bool, bool>> model;
    for (int i = 0; i < 300; ++i) {
      if (r.below(50) == 0) {
        w.clear();
        model.clear();
        continue;
      }
      bool failed = r.below(3) == 0;
      bool slow = r.below(4) == 0;
      w.record(failed, slow);
      model.emplace_back(failed, slow);
      if (model.size() > size)
        model.pop_front();
      std::uint64_t failures = 0;
      std::uint64_t slow_calls = 0;
      for (auto& [f, s] : model) {
        failures += f ? 1 : 0;
        slow_calls += s ? 1 : 0;
      }
      auto snap = w.snapshot();
      REQUIRE(snap.calls == model.size());
      REQUIRE(snap.failures == failures);
      REQUIRE(snap.slow_calls == slow_calls);
    }
  }
}
