#include "bulwark/runtime/ledger/idempotency_ledger.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"
#include "tests/support/counting_new.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

ledger_config small_config() {
  ledger_config cfg;
  cfg.max_entries = 3;
  cfg.retention = seconds(10);
  cfg.in_progress_timeout = seconds(2);
  cfg.max_waiters_per_key = 2;
  return cfg;
}

std::vector<std::uint64_t> sorted(std::vector<std::uint64_t> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

TEST_CASE("every ledger verdict has a name", "[runtime][ledger]") {
  CHECK(to_string(ledger_verdict::execute) == "execute");
  CHECK(to_string(ledger_verdict::duplicate_done) == "duplicate_done");
  CHECK(to_string(ledger_verdict::wait) == "wait");
  CHECK(to_string(ledger_verdict::rejected_full) == "rejected_full");
}

TEST_CASE("the first request of a key executes and a later duplicate gets "
          "the recorded result",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  REQUIRE(first.verdict == ledger_verdict::execute);
  CHECK(first.ticket != 0);
  CHECK(ledger.complete("k", first.ticket, {201, "created #7"}, t0).empty());
  auto dup = ledger.begin("k", 2, t0 + seconds(1));
  REQUIRE(dup.verdict == ledger_verdict::duplicate_done);
  REQUIRE(dup.result != nullptr);
  CHECK(dup.result->status == 201);
  CHECK(dup.result->body == "created #7");
  CHECK(ledger.counters().executed == 1);
  CHECK(ledger.counters().duplicates_answered == 1);
}

TEST_CASE("concurrent duplicates wait and are released with the result",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  REQUIRE(first.verdict == ledger_verdict::execute);
  CHECK(ledger.begin("k", 2, t0).verdict == ledger_verdict::wait);
  CHECK(ledger.begin("k", 3, t0).verdict == ledger_verdict::wait);
  // The third concurrent duplicate exceeds max_waiters_per_key = 2.
  CHECK(ledger.begin("k", 4, t0).verdict == ledger_verdict::rejected_full);
  CHECK(ledger.waiting() == 2);
  auto released = ledger.complete("k", first.ticket, {200, "ok"}, t0);
  CHECK(sorted(released) == std::vector<std::uint64_t>{2, 3});
  CHECK(ledger.waiting() == 0);
  CHECK(ledger.counters().waits == 2);
  CHECK(ledger.counters().rejections == 1);
}

TEST_CASE("retention ends exactly at completed_at + retention",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.complete("k", first.ticket, {200, "a"}, t0 + seconds(1));
  auto last_ns = t0 + seconds(11) - nanoseconds(1);
  CHECK(ledger.begin("k", 2, last_ns).verdict
        == ledger_verdict::duplicate_done);
  CHECK(ledger.next_expiry() == t0 + seconds(11));
  CHECK(ledger.expire(last_ns).empty());
  CHECK(ledger.size() == 1);
  SECTION("begin forgets the key at the boundary and executes again") {
    CHECK(ledger.begin("k", 3, t0 + seconds(11)).verdict
          == ledger_verdict::execute);
    CHECK(ledger.counters().expirations == 1);
  }
  SECTION("expire forgets the key at the boundary") {
    ledger.expire(t0 + seconds(11));
    CHECK(ledger.size() == 0);
    CHECK(ledger.counters().expirations == 1);
    CHECK(ledger.next_expiry() == no_deadline);
  }
}

TEST_CASE("an in-progress key is released exactly at started_at + "
          "in_progress_timeout and its waiters are returned",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.begin("k", 2, t0 + seconds(1));
  CHECK(ledger.next_expiry() == t0 + seconds(2));
  CHECK(ledger.expire(t0 + seconds(2) - nanoseconds(1)).empty());
  CHECK(ledger.in_progress() == 1);
  CHECK(ledger.expire(t0 + seconds(2)) == std::vector<std::uint64_t>{2});
  CHECK(ledger.in_progress() == 0);
  CHECK(ledger.counters().timeouts == 1);
  SECTION("the slow executor's late completion is ignored") {
    auto second = ledger.begin("k", 3, t0 + seconds(3));
    REQUIRE(second.verdict == ledger_verdict::execute);
    CHECK(second.ticket != first.ticket);
    CHECK(ledger.complete("k", first.ticket, {500, "late"}, t0 + seconds(3))
            .empty());
    CHECK(ledger.counters().stale_reports == 1);
    CHECK(ledger.in_progress() == 1);
    ledger.complete("k", second.ticket, {200, "new"}, t0 + seconds(3));
    auto dup = ledger.begin("k", 4, t0 + seconds(4));
    REQUIRE(dup.verdict == ledger_verdict::duplicate_done);
    CHECK(dup.result->body == "new");
  }
}

TEST_CASE("an abandoned key is forgotten and its waiters are told to retry",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.begin("k", 2, t0);
  CHECK(ledger.abandon("k", first.ticket, t0) == std::vector<std::uint64_t>{2});
  CHECK(ledger.size() == 0);
  CHECK(ledger.counters().abandoned == 1);
  // Abandoning twice is a stale report, not a second release.
  CHECK(ledger.abandon("k", first.ticket, t0).empty());
  CHECK(ledger.counters().stale_reports == 1);
  CHECK(ledger.begin("k", 2, t0).verdict == ledger_verdict::execute);
}

TEST_CASE("a full ledger evicts the oldest completed key, never one in "
          "progress",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto a = ledger.begin("a", 1, t0);
  auto b = ledger.begin("b", 2, t0);
  auto c = ledger.begin("c", 3, t0);
  // Completion order, not start order, decides eviction.
  ledger.complete("b", b.ticket, {200, "b"}, t0 + seconds(1));
  ledger.complete("a", a.ticket, {200, "a"}, t0 + seconds(1));
  CHECK(ledger.begin("d", 4, t0 + seconds(1)).verdict
        == ledger_verdict::execute);
  CHECK(ledger.counters().evictions == 1);
  CHECK(ledger.size() == 3);
  CHECK(ledger.begin("a", 5, t0 + seconds(1)).verdict
        == ledger_verdict::duplicate_done);
  auto e = ledger.begin("e", 6, t0 + seconds(1));
  CHECK(e.verdict == ledger_verdict::execute);
  CHECK(ledger.counters().evictions == 2);
  // b, then a, are gone; c, d, e are all in progress: nothing may be evicted.
  CHECK(ledger.in_progress() == 3);
  CHECK(ledger.begin("f", 7, t0 + seconds(1)).verdict
        == ledger_verdict::rejected_full);
  CHECK(ledger.begin("b", 8, t0 + seconds(1)).verdict
        == ledger_verdict::rejected_full);
  CHECK(ledger.begin("c", 9, t0 + seconds(1)).verdict == ledger_verdict::wait);
  CHECK(ledger.size() == 3);
  static_cast<void>(c);
}

TEST_CASE("answering a duplicate of a completed key does not allocate",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin(std::string("k"), 1, t0);
  ledger.complete("k", first.ticket, {200, std::string(100, 'x')}, t0);
  const std::string key = "k";
  auto before = bulwark::testing::allocations();
  for (int i = 0; i < 100; ++i) {
    auto dup = ledger.begin(key, 2, t0 + milliseconds(i));
    REQUIRE(dup.verdict == ledger_verdict::duplicate_done);
    REQUIRE(dup.result->body.size() == 100);
    REQUIRE(ledger.expire(t0 + milliseconds(i)).empty());
  }
  CHECK(bulwark::testing::allocations() == before);
  // The counter does see allocations: a new key allocates a node.
  ledger.begin(std::string("other"), 3, t0 + seconds(1));
  CHECK(bulwark::testing::allocations() > before);
}

TEST_CASE("a completed entry keeps no waiter list and a rejected request "
          "changes nothing",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.begin("k", 2, t0);
  ledger.begin("k", 3, t0);
  CHECK(ledger.begin("k", 4, t0).verdict == ledger_verdict::rejected_full);
  auto released = ledger.complete("k", first.ticket, {200, "ok"}, t0);
  CHECK(sorted(released) == std::vector<std::uint64_t>{2, 3});
  CHECK(ledger.waiting() == 0);
  // Waiter 4 was rejected, not recorded: it never comes back.
  CHECK(ledger.expire(t0 + hours(1)).empty());
}

namespace {

// A reference model of the documented semantics with plain O(n) structures.
struct model_entry {
  bool done = false;
  time_point since;
  std::uint64_t order = 0; // completion order, for eviction
  ledger_ticket ticket = 0;
  ledger_result result;
  std::vector<std::uint64_t> waiters;
};

struct model {
  ledger_config cfg;
  std::map<std::string, model_entry> entries;
  std::uint64_t next_order = 0;

  std::size_t waiting() const {
    std::size_t n = 0;
    for (auto& kv : entries)
      n += kv.second.waiters.size();
    return n;
  }
};

} // namespace

TEST_CASE("randomized schedules never execute a remembered key twice and "
          "answer every waiter exactly once",
          "[runtime][ledger][random]") {
  ledger_counters total;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    ledger_config cfg;
    cfg.max_entries = static_cast<std::uint32_t>(1 + gen.below(6));
    cfg.retention = milliseconds(1 + gen.below(50));
    cfg.in_progress_timeout = milliseconds(1 + gen.below(30));
    cfg.max_waiters_per_key = static_cast<std::uint32_t>(gen.below(4));
    idempotency_ledger ledger{cfg};
    model m{cfg, {}, 0};
    const int num_keys = 1 + static_cast<int>(gen.below(10));
    auto key_name = [](int i) { return "key-" + std::to_string(i); };
    // Executions per key in its current remembered period.
    std::map<std::string, int> executions;
    std::set<std::uint64_t> outstanding; // waiters not answered yet
    std::uint64_t next_waiter = 1;
    std::uint64_t results_made = 0;
    auto now = t0;
    // A key leaves the model: its remembered period ends.
    auto forget = [&](const std::string& key) {
      m.entries.erase(key);
      executions[key] = 0;
    };
    // Each released waiter must be outstanding and is answered only once.
    auto check_released = [&](const std::vector<std::uint64_t>& got,
                              const std::vector<std::uint64_t>& want) {
      REQUIRE(sorted(got) == sorted(want));
      for (auto w : got)
        REQUIRE(outstanding.erase(w) == 1);
    };
    for (int step = 0; step < 200; ++step) {
      now += nanoseconds(gen.below(3'000'000));
      auto key = key_name(static_cast<int>(gen.below(num_keys)));
      auto op = gen.below(10);
      if (op < 5) {
        auto waiter = next_waiter++;
        // Model prediction.
        ledger_verdict want = ledger_verdict::execute;
        const ledger_result* want_result = nullptr;
        bool evict = false;
        auto it = m.entries.find(key);
        if (it != m.entries.end() && it->second.done
            && now - it->second.since >= cfg.retention) {
          forget(key);
          it = m.entries.end();
        }
        if (it != m.entries.end()) {
          if (it->second.done) {
            want = ledger_verdict::duplicate_done;
            want_result = &it->second.result;
          } else if (it->second.waiters.size() >= cfg.max_waiters_per_key) {
            want = ledger_verdict::rejected_full;
          } else {
            want = ledger_verdict::wait;
          }
        } else if (m.entries.size() >= cfg.max_entries) {
          bool any_done = false;
          for (auto& kv : m.entries)
            any_done = any_done || kv.second.done;
          if (any_done)
            evict = true;
          else
            want = ledger_verdict::rejected_full;
        }
        auto evictions_before = ledger.counters().evictions;
        auto got = ledger.begin(key, waiter, now);
        REQUIRE(to_string(got.verdict) == to_string(want));
        switch (want) {
          case ledger_verdict::execute: {
            if (evict) {
              REQUIRE(ledger.counters().evictions == evictions_before + 1);
              std::string oldest;
              std::uint64_t best = UINT64_MAX;
              for (auto& kv : m.entries)
                if (kv.second.done && kv.second.order < best) {
                  best = kv.second.order;
                  oldest = kv.first;
                }
              forget(oldest);
            }
            REQUIRE(++executions[key] == 1);
            auto& e = m.entries[key];
            e.done = false;
            e.since = now;
            e.ticket = got.ticket;
            break;
          }
          case ledger_verdict::duplicate_done:
            REQUIRE(got.result != nullptr);
            REQUIRE(*got.result == *want_result);
            break;
          case ledger_verdict::wait:
            m.entries[key].waiters.push_back(waiter);
            outstanding.insert(waiter);
            break;
          case ledger_verdict::rejected_full:
            break;
        }
      } else if (op < 8) {
        // Complete (op 5, 6) or abandon (op 7) an execution of some key,
        // sometimes with a stale ticket.
        auto it = m.entries.find(key);
        bool running = it != m.entries.end() && !it->second.done;
        ledger_ticket ticket = running ? it->second.ticket : 0;
        if (running && gen.below(8) == 0)
          ticket += 1000000; // stale
        if (ticket == 0)
          ticket = 999999999;
        bool valid = running && ticket == it->second.ticket;
        if (op < 7) {
          ledger_result r{static_cast<int>(200 + gen.below(5)),
                          "result-" + std::to_string(++results_made)};
          auto got = ledger.complete(key, ticket, r, now);
          if (valid) {
            auto want = it->second.waiters;
            it->second.waiters.clear();
            it->second.done = true;
            it->second.since = now;
            it->second.order = m.next_order++;
            it->second.result = r;
            check_released(got, want);
          } else {
            REQUIRE(got.empty());
          }
        } else {
          auto got = ledger.abandon(key, ticket, now);
          if (valid) {
            auto want = it->second.waiters;
            forget(key);
            check_released(got, want);
          } else {
            REQUIRE(got.empty());
          }
        }
      } else {
        std::vector<std::uint64_t> want;
        std::vector<std::string> gone;
        for (auto& kv : m.entries) {
          auto& e = kv.second;
          if (e.done ? now - e.since >= cfg.retention
                     : now - e.since >= cfg.in_progress_timeout) {
            want.insert(want.end(), e.waiters.begin(), e.waiters.end());
            gone.push_back(kv.first);
          }
        }
        for (auto& k : gone)
          forget(k);
        auto got = ledger.expire(now);
        check_released(got, want);
      }
      REQUIRE(ledger.size() == m.entries.size());
      REQUIRE(ledger.size() <= cfg.max_entries);
      REQUIRE(ledger.waiting() == m.waiting());
      REQUIRE(ledger.waiting() == outstanding.size());
      REQUIRE(ledger.waiting()
              <= std::size_t{cfg.max_entries} * cfg.max_waiters_per_key);
    }
    // Draining: every waiter still outstanding is released by expiry.
    now += cfg.retention + cfg.in_progress_timeout;
    std::vector<std::uint64_t> want;
    for (auto& kv : m.entries)
      want.insert(want.end(), kv.second.waiters.begin(),
                  kv.second.waiters.end());
    check_released(ledger.expire(now), want);
    REQUIRE(outstanding.empty());
    REQUIRE(ledger.size() == 0);
    auto& c = ledger.counters();
    total.executed += c.executed;
    total.duplicates_answered += c.duplicates_answered;
    total.waits += c.waits;
    total.rejections += c.rejections;
    total.evictions += c.evictions;
    total.expirations += c.expirations;
    total.timeouts += c.timeouts;
    total.abandoned += c.abandoned;
    total.stale_reports += c.stale_reports;
  }
  // The schedules reach every path the properties are about.
  CHECK(total.executed > 1000);
  CHECK(total.duplicates_answered > 1000);
  CHECK(total.waits > 1000);
  CHECK(total.rejections > 100);
  CHECK(total.evictions > 100);
  CHECK(total.expirations > 100);
  CHECK(total.timeouts > 100);
  CHECK(total.abandoned > 100);
  CHECK(total.stale_reports > 100);
}

TEST_CASE("a sealed key is never released by expire, only by complete or "
          "abandon",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.begin("k", 2, t0);
  CHECK_FALSE(ledger.seal("k", first.ticket + 1));
  REQUIRE(ledger.seal("k", first.ticket));
  CHECK(ledger.next_expiry() == no_deadline);
  CHECK(ledger.expire(t0 + seconds(5)).empty());
  CHECK(ledger.timed_out().empty());
  CHECK(ledger.in_progress() == 1);
  CHECK(ledger.begin("k", 3, t0 + seconds(5)).verdict == ledger_verdict::wait);
  SECTION("complete answers its waiters") {
    CHECK(
      sorted(ledger.complete("k", first.ticket, {200, "ok"}, t0 + seconds(5)))
      == std::vector<std::uint64_t>{2, 3});
    CHECK(ledger.in_progress() == 0);
    CHECK(ledger.next_expiry() == t0 + seconds(15));
  }
  SECTION("abandon releases it") {
    CHECK(sorted(ledger.abandon("k", first.ticket, t0 + seconds(5)))
          == std::vector<std::uint64_t>{2, 3});
    CHECK(ledger.size() == 0);
    CHECK(ledger.in_progress() == 0);
  }
}

TEST_CASE("expire reports the keys it released for in_progress_timeout",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto a = ledger.begin("a", 1, t0);
  auto b = ledger.begin("b", 2, t0 + seconds(1));
  ledger.expire(t0 + seconds(2));
  using pair = std::pair<std::string, ledger_ticket>;
  CHECK(ledger.timed_out() == std::vector<pair>{{"a", a.ticket}});
  ledger.expire(t0 + seconds(3));
  CHECK(ledger.timed_out() == std::vector<pair>{{"b", b.ticket}});
  ledger.expire(t0 + seconds(4));
  CHECK(ledger.timed_out().empty());
}

TEST_CASE("a dropped waiter is not returned and frees its place",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  auto first = ledger.begin("k", 1, t0);
  ledger.begin("k", 2, t0);
  ledger.begin("k", 3, t0);
  CHECK(ledger.begin("k", 4, t0).verdict == ledger_verdict::rejected_full);
  CHECK(ledger.drop_waiter("k", 2));
  CHECK_FALSE(ledger.drop_waiter("k", 2));
  CHECK_FALSE(ledger.drop_waiter("other", 3));
  CHECK(ledger.waiting() == 1);
  CHECK(ledger.begin("k", 4, t0).verdict == ledger_verdict::wait);
  CHECK(sorted(ledger.complete("k", first.ticket, {200, "ok"}, t0))
        == std::vector<std::uint64_t>{3, 4});
  CHECK_FALSE(ledger.drop_waiter("k", 3));
}

TEST_CASE("record puts a completed key in without executing, the last record "
          "winning",
          "[runtime][ledger]") {
  idempotency_ledger ledger{small_config()};
  CHECK(ledger.record("k", {200, "first"}, t0));
  CHECK(ledger.record("k", {201, "second"}, t0 + seconds(1)));
  CHECK(ledger.size() == 1);
  CHECK(ledger.counters().executed == 0);
  auto dup = ledger.begin("k", 1, t0 + seconds(2));
  REQUIRE(dup.verdict == ledger_verdict::duplicate_done);
  CHECK(*dup.result == ledger_result{201, "second"});
  // Retention counts from the last record.
  CHECK(ledger.next_expiry() == t0 + seconds(11));
  SECTION("an in-progress key is left alone") {
    auto run = ledger.begin("r", 2, t0);
    REQUIRE(run.verdict == ledger_verdict::execute);
    CHECK_FALSE(ledger.record("r", {200, "x"}, t0));
    CHECK(ledger.in_progress() == 1);
  }
  SECTION("a full ledger evicts the oldest completed key") {
    CHECK(ledger.record("a", {200, "a"}, t0 + seconds(3)));
    CHECK(ledger.record("b", {200, "b"}, t0 + seconds(4)));
    CHECK(ledger.size() == 3);
    CHECK(ledger.record("c", {200, "c"}, t0 + seconds(5)));
    CHECK(ledger.size() == 3);
    CHECK(ledger.counters().evictions == 1);
    CHECK(ledger.begin("k", 3, t0 + seconds(5)).verdict
          == ledger_verdict::execute);
  }
}
