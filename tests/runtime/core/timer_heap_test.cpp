#include "bulwark/runtime/core/timer_heap.hpp"

#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

time_point at_ms(std::int64_t ms) {
  return time_point{} + milliseconds(ms);
}

} // namespace

TEST_CASE("timers pop in time order and only when due", "[runtime][core]") {
  timer_heap h;
  h.schedule(3, at_ms(30));
  h.schedule(1, at_ms(10));
  h.schedule(2, at_ms(20));
  CHECK(h.next() == at_ms(10));
  CHECK(h.pop_due(at_ms(9)) == timer_heap::npos);
  CHECK(h.pop_due(at_ms(10)) == 1u);
  CHECK(h.pop_due(at_ms(25)) == 2u);
  CHECK(h.pop_due(at_ms(25)) == timer_heap::npos);
  CHECK(h.size() == 1);
}

TEST_CASE("moving and cancelling a timer leaves nothing behind",
          "[runtime][core]") {
  timer_heap h;
  h.schedule(1, at_ms(10));
  h.schedule(2, at_ms(20));
  h.schedule(1, at_ms(30));
  CHECK(h.next() == at_ms(20));
  h.cancel(2);
  CHECK_FALSE(h.scheduled(2));
  CHECK(h.next() == at_ms(30));
  h.cancel(1);
  CHECK(h.empty());
  h.cancel(7); // unknown slots are ignored
}

TEST_CASE("random schedules, moves and cancels match a reference model",
          "[runtime][core]") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    timer_heap h;
    std::map<std::uint32_t, std::int64_t> model;
    std::int64_t now = 0;
    for (int step = 0; step < 500; ++step) {
      auto slot = static_cast<std::uint32_t>(gen.below(64));
      switch (gen.below(4)) {
        case 0:
        case 1: {
          auto t = now + static_cast<std::int64_t>(gen.below(100));
          h.schedule(slot, at_ms(t));
          model[slot] = t;
          break;
        }
        case 2:
          h.cancel(slot);
          model.erase(slot);
          break;
        case 3: {
          now += static_cast<std::int64_t>(gen.below(20));
          std::set<std::uint32_t> due;
          for (auto& [s, t] : model)
            if (t <= now)
              due.insert(s);
          std::int64_t last = -1;
          for (auto s = h.pop_due(at_ms(now)); s != timer_heap::npos;
               s = h.pop_due(at_ms(now))) {
            REQUIRE(due.count(s) == 1);
            REQUIRE(model[s] >= last);
            last = model[s];
            due.erase(s);
            model.erase(s);
          }
          REQUIRE(due.empty());
          break;
        }
      }
      REQUIRE(h.size() == model.size());
    }
  }
}
