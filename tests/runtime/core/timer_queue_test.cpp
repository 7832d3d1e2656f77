#include "bulwark/runtime/core/timer_queue.hpp"

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

TEST_CASE("timers with one delay pop in order from their lane",
          "[runtime][core]") {
  timer_queue q;
  q.schedule(1, at_ms(100), at_ms(0));
  q.schedule(2, at_ms(110), at_ms(10));
  q.schedule(3, at_ms(120), at_ms(20));
  CHECK(q.next() == at_ms(100));
  q.cancel(1);
  CHECK(q.next() == at_ms(110));
  CHECK(q.pop_due(at_ms(109)) == timer_queue::npos);
  CHECK(q.pop_due(at_ms(115)) == 2u);
  CHECK(q.pop_due(at_ms(200)) == 3u);
  CHECK(q.empty());
}

TEST_CASE("timers of different delays and odd times interleave correctly",
          "[runtime][core]") {
  timer_queue q;
  q.schedule(1, at_ms(1000), at_ms(0)); // lane of 1000ms
  q.schedule(2, at_ms(50), at_ms(0)); // lane of 50ms
  q.schedule(3, at_ms(30), at_ms(0)); // lane of 30ms
  q.schedule(4, at_ms(40), at_ms(5)); // lane of 35ms
  CHECK(q.pop_due(at_ms(2000)) == 3u);
  CHECK(q.pop_due(at_ms(2000)) == 4u);
  CHECK(q.pop_due(at_ms(2000)) == 2u);
  CHECK(q.pop_due(at_ms(2000)) == 1u);
  CHECK(q.pop_due(at_ms(2000)) == timer_queue::npos);
}

TEST_CASE("random timers match a reference model through lanes and heap",
          "[runtime][core]") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    timer_queue q;
    std::map<std::uint32_t, std::int64_t> model;
    std::int64_t now = 0;
    for (int step = 0; step < 600; ++step) {
      auto slot = static_cast<std::uint32_t>(gen.below(64));
      switch (gen.below(5)) {
        case 0:
        case 1: {
          // Mostly a few fixed delays (lanes), sometimes random ones (heap).
          std::int64_t delays[] = {10, 25, 100};
          auto d = gen.below(4) == 0 ? static_cast<std::int64_t>(gen.below(200))
                                     : delays[gen.below(3)];
          q.schedule(slot, at_ms(now + d), at_ms(now));
          model[slot] = now + d;
          break;
        }
        case 2:
          q.cancel(slot);
          model.erase(slot);
          break;
        case 3:
          now += static_cast<std::int64_t>(gen.below(3));
          break;
        case 4: {
          now += static_cast<std::int64_t>(gen.below(30));
          std::int64_t last = -1;
          for (auto s = q.pop_due(at_ms(now)); s != timer_queue::npos;
               s = q.pop_due(at_ms(now))) {
            REQUIRE(model.count(s) == 1);
            REQUIRE(model[s] <= now);
            REQUIRE(model[s] >= last);
            last = model[s];
            model.erase(s);
          }
          for (auto& [s, t] : model)
            REQUIRE(t > now);
          break;
        }
      }
      REQUIRE(q.empty() == model.empty());
      if (!model.empty()) {
        std::int64_t min = INT64_MAX;
        for (auto& [s, t] : model)
          min = std::min(min, t);
        REQUIRE(q.next() == at_ms(min));
      }
    }
  }
}
