#include "bulwark/runtime/bulkhead/bulkhead.hpp"

#include <map>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(100);

bulkhead_config make_config(std::uint32_t max_concurrent,
                            std::uint32_t max_queue,
                            duration wait = milliseconds(100),
                            double reserve = 0.0) {
  bulkhead_config cfg;
  cfg.max_concurrent = max_concurrent;
  cfg.max_queue = max_queue;
  cfg.max_queue_wait = wait;
  cfg.critical_reserve = reserve;
  return cfg;
}

std::vector<std::uint64_t> expire_all(bulkhead& b, time_point now) {
  std::vector<std::uint64_t> ids;
  auto n = b.expire(now, [&](std::uint64_t id) { ids.push_back(id); });
  REQUIRE(n == ids.size());
  return ids;
}

using ids = std::vector<std::uint64_t>;

} // namespace

TEST_CASE("admissions print their names", "[runtime][bulkhead]") {
  CHECK(to_string(admission::run) == "run");
  CHECK(to_string(admission::queued) == "queued");
  CHECK(to_string(admission::rejected_full) == "rejected_full");
  CHECK(to_string(admission::rejected_shed) == "rejected_shed");
}

TEST_CASE("never more than max_concurrent requests run at once",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(4, 0)};
  CHECK(b.limit() == 4);
  for (std::uint64_t id = 1; id <= 4; ++id)
    CHECK(b.try_acquire(id, criticality::standard, t0) == admission::run);
  CHECK(b.in_flight() == 4);
  CHECK(b.try_acquire(5, criticality::standard, t0)
        == admission::rejected_full);
  CHECK(b.try_acquire(6, criticality::critical, t0)
        == admission::rejected_full);
  CHECK(b.in_flight() == 4);
  CHECK_FALSE(b.release(t0).has_value());
  CHECK(b.in_flight() == 3);
  CHECK(b.try_acquire(7, criticality::standard, t0) == admission::run);
  CHECK(b.in_flight() == 4);
}

TEST_CASE(
  "release and try_dequeue with an out parameter hand out the same requests",
  "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 3)};
  CHECK(b.try_acquire(1, criticality::standard, t0) == admission::run);
  CHECK(b.try_acquire(2, criticality::standard, t0) == admission::queued);
  std::uint64_t next = 0;
  CHECK(b.release(t0, next));
  CHECK(next == 2);
  CHECK(b.in_flight() == 1);
  next = 0;
  CHECK_FALSE(b.release(t0, next)); // nobody waits: the slot is just freed
  CHECK(next == 0);
  CHECK(b.in_flight() == 0);
  CHECK_FALSE(b.try_dequeue(t0, next));
  CHECK(b.try_acquire(3, criticality::standard, t0) == admission::run);
  CHECK(b.try_acquire(4, criticality::standard, t0) == admission::queued);
  b.resize(make_config(2, 3));
  CHECK(b.try_dequeue(t0, next));
  CHECK(next == 4);
  CHECK(b.in_flight() == 2);
}

TEST_CASE("waiting requests get freed slots in FIFO order",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 3)};
  CHECK(b.try_acquire(1, criticality::standard, t0) == admission::run);
  CHECK(b.try_acquire(2, criticality::standard, t0 + milliseconds(1))
        == admission::queued);
  CHECK(b.try_acquire(3, criticality::standard, t0 + milliseconds(2))
        == admission::queued);
  CHECK(b.try_acquire(4, criticality::standard, t0 + milliseconds(3))
        == admission::queued);
  CHECK(b.queued() == 3);
  // The queue is bounded.
  CHECK(b.try_acquire(5, criticality::standard, t0 + milliseconds(4))
        == admission::rejected_full);
  CHECK(b.release(t0 + milliseconds(10)) == std::uint64_t{2});
  CHECK(b.in_flight() == 1);
  CHECK(b.release(t0 + milliseconds(11)) == std::uint64_t{3});
  CHECK(b.release(t0 + milliseconds(12)) == std::uint64_t{4});
  CHECK_FALSE(b.release(t0 + milliseconds(13)).has_value());
  CHECK(b.in_flight() == 0);
  CHECK(b.queued() == 0);
}

TEST_CASE("a waiting request expires exactly at max_queue_wait",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 4, milliseconds(100))};
  CHECK_FALSE(b.next_expiry().has_value());
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0);
  b.try_acquire(3, criticality::standard, t0 + milliseconds(30));
  CHECK(b.next_expiry() == t0 + milliseconds(100));
  auto at = t0 + milliseconds(100);
  CHECK(expire_all(b, at - nanoseconds(1)).empty());
  CHECK(b.queued() == 2);
  CHECK(expire_all(b, at) == ids{2});
  CHECK(b.queued() == 1);
  CHECK(b.next_expiry() == t0 + milliseconds(130));
  CHECK(expire_all(b, at + nanoseconds(1)).empty());
  CHECK(expire_all(b, t0 + seconds(1)) == ids{3});
  CHECK_FALSE(b.next_expiry().has_value());
  CHECK(b.in_flight() == 1);
}

TEST_CASE("a freed slot never goes to a request that has already expired",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 4, milliseconds(100))};
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0);
  b.try_acquire(3, criticality::standard, t0 + milliseconds(50));
  // At t0 + 100ms request 2 has waited its maximum; 3 has not.
  CHECK(b.release(t0 + milliseconds(100)) == std::uint64_t{3});
  // 2 is still reported, exactly once, by expire.
  CHECK(b.queued() == 1);
  CHECK(expire_all(b, t0 + milliseconds(100)) == ids{2});
  CHECK(expire_all(b, t0 + seconds(10)).empty());
  // One nanosecond earlier, 2 would still have had the slot.
  bulkhead c{make_config(1, 4, milliseconds(100))};
  c.try_acquire(1, criticality::standard, t0);
  c.try_acquire(2, criticality::standard, t0);
  CHECK(c.release(t0 + milliseconds(100) - nanoseconds(1)) == std::uint64_t{2});
}

TEST_CASE("a new request does not overtake an expired-but-unreported one "
          "by waiting behind it forever",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 4, milliseconds(100))};
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0);
  // 2 expires, the slot frees up, nobody called expire yet.
  CHECK_FALSE(b.release(t0 + milliseconds(200)).has_value());
  CHECK(b.in_flight() == 0);
  // Only dead entries wait: a newcomer runs at once instead of queueing
  // behind them with a free slot.
  CHECK(b.try_acquire(3, criticality::standard, t0 + milliseconds(200))
        == admission::run);
  CHECK(expire_all(b, t0 + milliseconds(200)) == ids{2});
}

TEST_CASE("sheddable requests never wait and never use the reserve",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(4, 10, milliseconds(100), 0.25)};
  CHECK(b.reserved() == 1);
  CHECK(b.try_acquire(1, criticality::sheddable, t0) == admission::run);
  CHECK(b.try_acquire(2, criticality::sheddable, t0) == admission::run);
  CHECK(b.try_acquire(3, criticality::sheddable, t0) == admission::run);
  // One slot is left, but it is the critical reserve.
  CHECK(b.try_acquire(4, criticality::sheddable, t0)
        == admission::rejected_shed);
  CHECK(b.queued() == 0);
  CHECK(b.try_acquire(5, criticality::critical, t0) == admission::run);
  CHECK(b.try_acquire(6, criticality::sheddable, t0)
        == admission::rejected_shed);
  CHECK(b.in_flight() == 4);
}

TEST_CASE(
  "a sheddable request is shed while others wait, even with a free slot",
  "[runtime][bulkhead]") {
  bulkhead b{make_config(2, 10)};
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0);
  b.try_acquire(3, criticality::standard, t0);
  // Raise the limit: a slot is free, but 3 waits and was first.
  b.resize(make_config(3, 10));
  CHECK(b.try_acquire(4, criticality::sheddable, t0)
        == admission::rejected_shed);
  CHECK(b.try_acquire(5, criticality::standard, t0) == admission::queued);
  CHECK(b.try_dequeue(t0) == std::uint64_t{3});
  CHECK_FALSE(b.try_dequeue(t0).has_value());
  CHECK(b.in_flight() == 3);
}

TEST_CASE("the critical reserve keeps the last slots for critical requests",
          "[runtime][bulkhead]") {
  // 10 slots, 20% reserved: standard requests may use 8.
  bulkhead b{make_config(10, 10, milliseconds(100), 0.2)};
  CHECK(b.reserved() == 2);
  std::uint64_t id = 1;
  for (; id <= 8; ++id)
    REQUIRE(b.try_acquire(id, criticality::standard, t0) == admission::run);
  CHECK(b.try_acquire(100, criticality::standard, t0) == admission::queued);
  CHECK(b.try_acquire(200, criticality::critical, t0) == admission::run);
  CHECK(b.try_acquire(201, criticality::critical, t0) == admission::run);
  CHECK(b.in_flight() == 10);
  CHECK(b.try_acquire(202, criticality::critical, t0 + milliseconds(1))
        == admission::queued);
  // A freed slot goes to the waiting critical request, although the
  // standard one waited longer.
  CHECK(b.release(t0 + milliseconds(2)) == std::uint64_t{202});
  // 9 in flight after the next release: still in the reserve, so the
  // standard request keeps waiting.
  CHECK_FALSE(b.release(t0 + milliseconds(3)).has_value());
  CHECK(b.in_flight() == 9);
  CHECK_FALSE(b.release(t0 + milliseconds(4)).has_value());
  CHECK(b.in_flight() == 8);
  CHECK(b.release(t0 + milliseconds(5)) == std::uint64_t{100});
  CHECK(b.in_flight() == 8);
}

TEST_CASE("critical requests wait in FIFO order among themselves",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 10)};
  b.try_acquire(1, criticality::critical, t0);
  b.try_acquire(2, criticality::standard, t0);
  b.try_acquire(3, criticality::critical, t0);
  b.try_acquire(4, criticality::critical, t0);
  CHECK(b.release(t0) == std::uint64_t{3});
  CHECK(b.release(t0) == std::uint64_t{4});
  CHECK(b.release(t0) == std::uint64_t{2});
}

TEST_CASE("expire reports waiting requests of both classes oldest first",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 10, milliseconds(10))};
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0 + milliseconds(1));
  b.try_acquire(3, criticality::critical, t0 + milliseconds(2));
  b.try_acquire(4, criticality::standard, t0 + milliseconds(3));
  b.try_acquire(5, criticality::critical, t0 + milliseconds(3));
  b.try_acquire(6, criticality::critical, t0 + milliseconds(50));
  CHECK(b.next_expiry() == t0 + milliseconds(11));
  CHECK(expire_all(b, t0 + milliseconds(13)) == (ids{2, 3, 5, 4}));
  CHECK(b.queued() == 1);
  CHECK(b.next_expiry() == t0 + milliseconds(60));
}

TEST_CASE("a cancelled request leaves the queue and the order of the rest",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 10)};
  b.try_acquire(1, criticality::standard, t0);
  for (std::uint64_t id = 2; id <= 7; ++id)
    b.try_acquire(id, criticality::standard, t0);
  CHECK(b.cancel(3)); // near the front
  CHECK(b.cancel(6)); // near the back
  CHECK_FALSE(b.cancel(3)); // already gone
  CHECK_FALSE(b.cancel(1)); // running, not waiting
  CHECK_FALSE(b.cancel(99));
  CHECK(b.queued() == 4);
  ids order;
  while (auto id = b.release(t0))
    order.push_back(*id);
  CHECK(order == (ids{2, 4, 5, 7}));
  CHECK(b.in_flight() == 0);
}

TEST_CASE("the queue wraps around its fixed buffer", "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 3)};
  b.try_acquire(0, criticality::standard, t0);
  std::uint64_t next = 1, expected = 1;
  for (int round = 0; round < 20; ++round) {
    while (b.queued() < 3)
      REQUIRE(b.try_acquire(next++, criticality::standard, t0)
              == admission::queued);
    REQUIRE(b.try_acquire(999, criticality::standard, t0)
            == admission::rejected_full);
    // Cancel the middle one now and then to exercise erase on a wrapped ring.
    if (round % 3 == 0) {
      REQUIRE(b.cancel(expected + 1));
      REQUIRE(b.release(t0) == expected);
      expected += 2;
    } else {
      REQUIRE(b.release(t0) == expected);
      ++expected;
    }
  }
}

TEST_CASE("a smaller limit never drops work in flight", "[runtime][bulkhead]") {
  bulkhead b{make_config(4, 4)};
  for (std::uint64_t id = 1; id <= 4; ++id)
    b.try_acquire(id, criticality::standard, t0);
  b.try_acquire(5, criticality::standard, t0);
  b.resize(make_config(2, 4));
  CHECK(b.in_flight() == 4);
  CHECK(b.queued() == 1);
  CHECK(b.limit() == 2);
  CHECK(b.try_acquire(6, criticality::critical, t0) == admission::queued);
  // Releases bring in_flight down to the new limit before anyone starts.
  CHECK_FALSE(b.release(t0).has_value());
  CHECK_FALSE(b.release(t0).has_value());
  CHECK(b.in_flight() == 2);
  CHECK(b.release(t0) == std::uint64_t{6});
  CHECK(b.release(t0) == std::uint64_t{5});
  CHECK(b.in_flight() == 2);
}

TEST_CASE("a larger limit lets waiting requests in through try_dequeue",
          "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 4)};
  for (std::uint64_t id = 1; id <= 5; ++id)
    b.try_acquire(id, criticality::standard, t0);
  b.resize(make_config(3, 4));
  ids started;
  while (auto id = b.try_dequeue(t0))
    started.push_back(*id);
  CHECK(started == (ids{2, 3}));
  CHECK(b.in_flight() == 3);
  CHECK(b.queued() == 2);
}

TEST_CASE("the queue bound can change at runtime", "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 2)};
  b.try_acquire(1, criticality::standard, t0);
  b.try_acquire(2, criticality::standard, t0);
  b.try_acquire(3, criticality::standard, t0);
  CHECK(b.try_acquire(4, criticality::standard, t0)
        == admission::rejected_full);
  // Larger than ever: the rings grow and keep their order.
  b.resize(make_config(1, 5));
  for (std::uint64_t id = 4; id <= 6; ++id)
    CHECK(b.try_acquire(id, criticality::standard, t0) == admission::queued);
  CHECK(b.try_acquire(7, criticality::standard, t0)
        == admission::rejected_full);
  // Smaller than what waits: nobody is dropped, nobody new may wait.
  b.resize(make_config(1, 1));
  CHECK(b.queued() == 5);
  CHECK(b.try_acquire(8, criticality::critical, t0)
        == admission::rejected_full);
  ids order;
  while (auto id = b.release(t0))
    order.push_back(*id);
  CHECK(order == (ids{2, 3, 4, 5, 6}));
  // A new max_queue_wait applies to requests already waiting.
  b.resize(make_config(1, 3, seconds(1)));
  CHECK(b.try_acquire(10, criticality::standard, t0) == admission::run);
  CHECK(b.try_acquire(9, criticality::standard, t0) == admission::queued);
  b.resize(make_config(1, 3, milliseconds(10)));
  CHECK(expire_all(b, t0 + milliseconds(10)) == ids{9});
}

TEST_CASE("a zero-length queue rejects at once", "[runtime][bulkhead]") {
  bulkhead b{make_config(1, 0)};
  CHECK(b.try_acquire(1, criticality::critical, t0) == admission::run);
  CHECK(b.try_acquire(2, criticality::critical, t0)
        == admission::rejected_full);
  CHECK(b.try_acquire(3, criticality::sheddable, t0)
        == admission::rejected_shed);
  CHECK_FALSE(b.next_expiry().has_value());
  CHECK(b.expire(t0 + hours(1), [](std::uint64_t) { FAIL("nothing waits"); })
        == 0);
}

TEST_CASE("the default bulkhead uses the documented defaults",
          "[runtime][bulkhead]") {
  bulkhead b;
  CHECK(b.limit() == 64);
  CHECK(b.reserved() == 6);
  CHECK(b.config().max_queue == 128);
  CHECK(b.config().max_queue_wait == milliseconds(100));
}

TEST_CASE("random admissions keep every invariant and end every request once",
          "[runtime][bulkhead]") {
  enum class state { waiting, running, ran, rejected, expired, cancelled };
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    // max_queue_wait stays fixed across resizes: a shorter, then longer wait
    // would revive requests that were already past their wait, which the
    // FIFO and expiry checks below do not model.
    auto wait = milliseconds(1 + static_cast<int>(gen.below(50)));
    auto random_config = [&] {
      return make_config(1 + static_cast<std::uint32_t>(gen.below(8)),
                         static_cast<std::uint32_t>(gen.below(7)), wait,
                         gen.uniform(0.0, 0.6));
    };
    auto cfg = random_config();
    bulkhead b{cfg};
    struct info {
      state st;
      criticality c;
      time_point since;
    };
    std::map<std::uint64_t, info> all;
    std::vector<std::uint64_t> running;
    std::uint64_t next_id = 1;
    std::uint64_t last_started[2] = {0, 0}; // per class: FIFO check
    auto now = t0;

    auto start = [&](std::uint64_t id) {
      auto& x = all.at(id);
      REQUIRE(x.st == state::waiting);
      // Never hand a slot to a request that has waited its maximum.
      REQUIRE(now < x.since + b.config().max_queue_wait);
      auto cls = x.c == criticality::critical ? 0 : 1;
      REQUIRE(id > last_started[cls]);
      last_started[cls] = id;
      x.st = state::running;
      running.push_back(id);
      REQUIRE(b.in_flight() <= b.limit());
      if (x.c != criticality::critical)
        REQUIRE(b.in_flight() <= b.limit() - b.reserved());
    };
    auto check_invariants = [&] {
      REQUIRE(b.in_flight() == running.size());
      std::size_t waiting = 0;
      bool live_critical = false, live_standard = false;
      for (auto& [id, x] : all) {
        if (x.st != state::waiting)
          continue;
        ++waiting;
        if (now < x.since + b.config().max_queue_wait)
          (x.c == criticality::critical ? live_critical : live_standard) = true;
      }
      REQUIRE(b.queued() == waiting);
      // Work conserving: nobody alive waits while a slot for it is free.
      if (live_critical)
        REQUIRE(b.in_flight() >= b.limit());
      if (live_standard)
        REQUIRE(b.in_flight() >= b.limit() - b.reserved());
    };

    for (int step = 0; step < 3000; ++step) {
      CAPTURE(step);
      if (gen.below(3) == 0)
        now += microseconds(gen.below(20000));
      switch (gen.below(10)) {
        case 0:
        case 1:
        case 2:
        case 3: {
          auto id = next_id++;
          auto c = static_cast<criticality>(gen.below(3));
          auto before = b.queued();
          auto a = b.try_acquire(id, c, now);
          all[id] = info{state::waiting, c, now};
          switch (a) {
            case admission::run:
              start(id);
              last_started[c == criticality::critical ? 0 : 1] = id;
              break;
            case admission::queued:
              REQUIRE(c != criticality::sheddable);
              REQUIRE(b.queued() == before + 1);
              REQUIRE(b.queued() <= b.config().max_queue);
              break;
            case admission::rejected_full:
              REQUIRE(c != criticality::sheddable);
              REQUIRE(before >= b.config().max_queue);
              all[id].st = state::rejected;
              break;
            case admission::rejected_shed:
              REQUIRE(c == criticality::sheddable);
              all[id].st = state::rejected;
              break;
          }
          break;
        }
        case 4:
        case 5:
        case 6:
          if (!running.empty()) {
            auto i = gen.below(running.size());
            auto id = running[i];
            running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
            all.at(id).st = state::ran;
            if (auto next = b.release(now))
              start(*next);
          }
          break;
        case 7:
          b.expire(now, [&](std::uint64_t id) {
            auto& x = all.at(id);
            REQUIRE(x.st == state::waiting);
            REQUIRE(now >= x.since + b.config().max_queue_wait);
            x.st = state::expired;
          });
          break;
        case 8:
          if (next_id > 1) {
            auto id = 1 + gen.below(next_id - 1);
            auto& x = all.at(id);
            bool was_waiting = x.st == state::waiting;
            REQUIRE(b.cancel(id) == was_waiting);
            if (was_waiting)
              x.st = state::cancelled;
          }
          break;
        case 9:
          if (gen.below(10) == 0) {
            b.resize(random_config());
            while (auto id = b.try_dequeue(now))
              start(*id);
          }
          break;
      }
      check_invariants();
    }

    // Finish everything: the rest runs or expires.
    while (!running.empty()) {
      auto id = running.back();
      running.pop_back();
      all.at(id).st = state::ran;
      if (auto next = b.release(now))
        start(*next);
    }
    now += hours(1);
    b.expire(now, [&](std::uint64_t id) {
      REQUIRE(all.at(id).st == state::waiting);
      all.at(id).st = state::expired;
    });
    CHECK(b.in_flight() == 0);
    CHECK(b.queued() == 0);
    std::map<state, int> counts;
    for (auto& [id, x] : all) {
      REQUIRE(x.st != state::waiting);
      REQUIRE(x.st != state::running);
      ++counts[x.st];
    }
    CHECK(all.size() == next_id - 1);
    // The seeds exercise every ending.
    CAPTURE(counts[state::ran], counts[state::rejected], counts[state::expired],
            counts[state::cancelled]);
    CHECK(counts[state::ran] > 0);
    CHECK(counts[state::rejected] + counts[state::expired]
            + counts[state::cancelled]
          > 0);
  }
}
