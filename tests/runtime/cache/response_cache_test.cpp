#include "bulwark/runtime/cache/response_cache.hpp"

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/counting_new.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

cache_config windows(duration ttl, duration swr, duration sie,
                     std::uint32_t max_entries = 100) {
  cache_config cfg;
  cfg.enabled = true;
  cfg.max_entries = max_entries;
  cfg.ttl = ttl;
  cfg.stale_while_revalidate = swr;
  cfg.stale_if_error = sie;
  return cfg;
}

// The freshness a lookup reports for an entry stored at t0 and read at
// t0 + age (a fresh cache per probe, because an expired lookup removes it).
cache_freshness probe(const cache_config& cfg, duration age) {
  response_cache cache{cfg};
  cache.store("k", "v", t0);
  return cache.lookup("k", t0 + age).freshness;
}

} // namespace

TEST_CASE("freshness windows change exactly at their nanosecond boundaries",
          "[runtime][cache]") {
  auto cfg = windows(seconds(10), seconds(5), seconds(20));
  CHECK(probe(cfg, duration{0}) == cache_freshness::fresh);
  CHECK(probe(cfg, seconds(10) - nanoseconds(1)) == cache_freshness::fresh);
  CHECK(probe(cfg, seconds(10)) == cache_freshness::stale_revalidate);
  CHECK(probe(cfg, seconds(15) - nanoseconds(1))
        == cache_freshness::stale_revalidate);
  CHECK(probe(cfg, seconds(15)) == cache_freshness::stale_if_error_only);
  CHECK(probe(cfg, seconds(30) - nanoseconds(1))
        == cache_freshness::stale_if_error_only);
  CHECK(probe(cfg, seconds(30)) == cache_freshness::miss);
}

TEST_CASE("without stale windows an entry is fresh until ttl and then a miss",
          "[runtime][cache]") {
  auto cfg = windows(milliseconds(250), duration{0}, duration{0});
  CHECK(probe(cfg, milliseconds(250) - nanoseconds(1))
        == cache_freshness::fresh);
  CHECK(probe(cfg, milliseconds(250)) == cache_freshness::miss);
}

TEST_CASE("a stale-if-error window shorter than stale-while-revalidate adds "
          "nothing after it",
          "[runtime][cache]") {
  auto cfg = windows(seconds(1), seconds(10), seconds(3));
  CHECK(probe(cfg, seconds(5)) == cache_freshness::stale_revalidate);
  CHECK(probe(cfg, seconds(11) - nanoseconds(1))
        == cache_freshness::stale_revalidate);
  CHECK(probe(cfg, seconds(11)) == cache_freshness::miss);
}

TEST_CASE("a clock that went backwards still finds the entry fresh",
          "[runtime][cache]") {
  auto cfg = windows(seconds(1), duration{0}, duration{0});
  CHECK(probe(cfg, -seconds(5)) == cache_freshness::fresh);
}

TEST_CASE("lookups return the stored value and count hits and misses",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0})};
  auto miss = cache.lookup("absent", t0);
  CHECK(miss.freshness == cache_freshness::miss);
  CHECK(miss.value == nullptr);
  CHECK_FALSE(miss.servable());
  cache.store("a", "payload-a", t0);
  auto hit = cache.lookup("a", t0 + seconds(1));
  REQUIRE(hit.value != nullptr);
  CHECK(*hit.value == "payload-a");
  CHECK(hit.servable());
  CHECK_FALSE(hit.start_refresh);
  CHECK_FALSE(hit.refresh_pending);
  CHECK(cache.counters().hits == 1);
  CHECK(cache.counters().misses == 1);
  // Expired: a miss that also removes the entry.
  CHECK(cache.lookup("a", t0 + seconds(10)).freshness == cache_freshness::miss);
  CHECK(cache.size() == 0);
  CHECK(cache.counters().expirations == 1);
  CHECK(cache.counters().misses == 2);
}

TEST_CASE("the least recently used entry is evicted first",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0}, 3)};
  cache.store("a", "1", t0);
  cache.store("b", "2", t0);
  cache.store("c", "3", t0);
  REQUIRE(cache.least_recently_used() != nullptr);
  CHECK(*cache.least_recently_used() == "a");
  // Using "a" makes "b" the oldest.
  CHECK(cache.lookup("a", t0).freshness == cache_freshness::fresh);
  CHECK(*cache.least_recently_used() == "b");
  cache.store("d", "4", t0);
  CHECK(cache.size() == 3);
  CHECK(cache.lookup("b", t0).freshness == cache_freshness::miss);
  CHECK(cache.counters().evictions == 1);
  // Replacing an existing key bumps it and evicts nothing.
  cache.store("c", "3b", t0);
  CHECK(cache.counters().evictions == 1);
  CHECK(*cache.least_recently_used() == "a");
  cache.store("e", "5", t0);
  CHECK(cache.lookup("a", t0).freshness == cache_freshness::miss);
  for (auto key : {"c", "d", "e"})
    CHECK(cache.lookup(key, t0).freshness == cache_freshness::fresh);
  CHECK(*cache.lookup("c", t0).value == "3b");
  CHECK(cache.counters().evictions == 2);
}

TEST_CASE("a cache bounded to one entry keeps only the newest",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0}, 1)};
  cache.store("a", "1", t0);
  cache.store("b", "2", t0);
  CHECK(cache.size() == 1);
  CHECK(cache.lookup("a", t0).freshness == cache_freshness::miss);
  CHECK(cache.lookup("b", t0).freshness == cache_freshness::fresh);
}

TEST_CASE("many stale lookups start exactly one refresh until it is reported",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), seconds(10), duration{0})};
  cache.store("k", "old", t0);
  int started = 0;
  int pending = 0;
  for (int i = 0; i < 100; ++i) {
    auto hit = cache.lookup("k", t0 + seconds(12) + milliseconds(i));
    REQUIRE(hit.freshness == cache_freshness::stale_revalidate);
    REQUIRE(hit.value != nullptr);
    CHECK(*hit.value == "old");
    CHECK(hit.start_refresh != hit.refresh_pending);
    started += hit.start_refresh ? 1 : 0;
    pending += hit.refresh_pending ? 1 : 0;
  }
  CHECK(started == 1);
  CHECK(pending == 99);
  CHECK(cache.counters().refreshes_started == 1);
  CHECK(cache.counters().stale_hits == 100);

  // A failed refresh lets the next stale lookup try again, once.
  cache.refresh_failed("k");
  CHECK(cache.lookup("k", t0 + seconds(13)).start_refresh);
  CHECK(cache.lookup("k", t0 + seconds(13)).refresh_pending);

  // A successful refresh stores a fresh value and clears the flag.
  cache.store("k", "new", t0 + seconds(14));
  auto fresh = cache.lookup("k", t0 + seconds(15));
  CHECK(fresh.freshness == cache_freshness::fresh);
  CHECK(*fresh.value == "new");
  CHECK_FALSE(fresh.refresh_pending);
  auto stale_again = cache.lookup("k", t0 + seconds(24));
  CHECK(stale_again.freshness == cache_freshness::stale_revalidate);
  CHECK(stale_again.start_refresh);
  CHECK(cache.counters().refreshes_started == 3);
}

TEST_CASE("fresh lookups never ask for a refresh", "[runtime][cache]") {
  response_cache cache{windows(seconds(10), seconds(10), duration{0})};
  cache.store("k", "v", t0);
  auto hit = cache.lookup("k", t0 + seconds(9));
  CHECK_FALSE(hit.start_refresh);
  CHECK_FALSE(hit.refresh_pending);
}

TEST_CASE("stale_for_error answers until ttl plus stale_if_error",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, seconds(60))};
  cache.store("k", "kept", t0);
  // Fresh entries are usable too.
  REQUIRE(cache.stale_for_error("k", t0 + seconds(1)) != nullptr);
  // Between ttl and ttl + stale_if_error a lookup must not serve it, but the
  // fallback step may.
  auto hit = cache.lookup("k", t0 + seconds(30));
  CHECK(hit.freshness == cache_freshness::stale_if_error_only);
  CHECK_FALSE(hit.servable());
  CHECK_FALSE(hit.start_refresh);
  auto* stale = cache.stale_for_error("k", t0 + seconds(70) - nanoseconds(1));
  REQUIRE(stale != nullptr);
  CHECK(*stale == "kept");
  CHECK(cache.counters().stale_if_error_hits == 2);
  CHECK(cache.stale_for_error("k", t0 + seconds(70)) == nullptr);
  CHECK(cache.size() == 0);
  CHECK(cache.stale_for_error("absent", t0) == nullptr);
}

TEST_CASE("stale_for_error keeps an entry that stale-while-revalidate still "
          "serves",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), seconds(30), seconds(5))};
  cache.store("k", "v", t0);
  CHECK(cache.stale_for_error("k", t0 + seconds(20)) == nullptr);
  CHECK(cache.size() == 1);
  CHECK(cache.lookup("k", t0 + seconds(20)).freshness
        == cache_freshness::stale_revalidate);
}

TEST_CASE("the hit path does not allocate", "[runtime][cache]") {
  response_cache cache{windows(seconds(10), seconds(10), seconds(20), 64)};
  std::vector<std::string> keys;
  for (int i = 0; i < 32; ++i)
    keys.push_back("GET /accounts/" + std::to_string(i)
                   + "?fields=balance,owner,history");
  for (auto& key : keys)
    cache.store(key, std::string(200, 'x'), t0);
  std::size_t found = 0;
  auto before = bulwark::testing::allocations();
  for (int i = 0; i < 1000; ++i) {
    auto& key = keys[static_cast<std::size_t>(i) % keys.size()];
    // Fresh, stale-while-revalidate and stale-if-error lookups, plus the
    // fallback read.
    auto now = t0 + seconds(i % 3 == 0 ? 1 : i % 3 == 1 ? 12 : 25);
    auto hit = cache.lookup(key, now);
    found += hit.value != nullptr ? 1 : 0;
    found += cache.stale_for_error(key, now) != nullptr ? 1 : 0;
  }
  auto after = bulwark::testing::allocations();
  CHECK(after == before);
  CHECK(found == 2000);
  // The counter does see allocations: storing a new key allocates a node.
  cache.store(keys[0] + "/new", std::string(200, 'y'), t0);
  CHECK(bulwark::testing::allocations() > after);
}

TEST_CASE("a disabled cache stores nothing and always misses",
          "[runtime][cache]") {
  response_cache cache;
  CHECK_FALSE(cache.config().enabled);
  cache.store("k", "v", t0);
  CHECK(cache.size() == 0);
  CHECK(cache.lookup("k", t0).freshness == cache_freshness::miss);
}

TEST_CASE("reconfigure evicts down to the new bound, rejudges ages and clears "
          "when disabled",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0}, 10)};
  for (auto key : {"a", "b", "c", "d", "e"})
    cache.store(key, key, t0);
  cache.lookup("a", t0);
  cache.reconfigure(windows(seconds(2), duration{0}, duration{0}, 2));
  CHECK(cache.size() == 2);
  CHECK(cache.counters().evictions == 3);
  CHECK(cache.lookup("e", t0 + seconds(1)).freshness == cache_freshness::fresh);
  // The shorter ttl applies to the existing entry from its store time.
  CHECK(cache.lookup("a", t0 + seconds(2)).freshness == cache_freshness::miss);
  CHECK(cache.lookup("b", t0).freshness == cache_freshness::miss);
  cache.reconfigure(cache_config{});
  CHECK(cache.size() == 0);
}

TEST_CASE("erase and clear remove entries and keep the LRU list consistent",
          "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0}, 3)};
  cache.store("a", "1", t0);
  cache.store("b", "2", t0);
  cache.store("c", "3", t0);
  CHECK(cache.erase("a"));
  CHECK_FALSE(cache.erase("a"));
  CHECK(*cache.least_recently_used() == "b");
  CHECK(cache.erase("c"));
  CHECK(cache.erase("b"));
  CHECK(cache.least_recently_used() == nullptr);
  cache.store("x", "1", t0);
  cache.store("y", "2", t0);
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK(cache.least_recently_used() == nullptr);
  cache.store("z", "3", t0);
  CHECK(cache.lookup("z", t0).freshness == cache_freshness::fresh);
}

TEST_CASE("a moved cache keeps its entries and order", "[runtime][cache]") {
  response_cache cache{windows(seconds(10), duration{0}, duration{0}, 2)};
  cache.store("a", "1", t0);
  cache.store("b", "2", t0);
  response_cache moved{std::move(cache)};
  CHECK(moved.size() == 2);
  CHECK(*moved.least_recently_used() == "a");
  moved.store("c", "3", t0);
  CHECK(moved.lookup("a", t0).freshness == cache_freshness::miss);
  CHECK(moved.lookup("b", t0).freshness == cache_freshness::fresh);
  response_cache assigned;
  assigned = std::move(moved);
  CHECK(assigned.size() == 2);
  // The lookup of "b" above made "c" the least recently used.
  CHECK(*assigned.least_recently_used() == "c");
}

TEST_CASE(
  "a store with the lookup's hint updates that entry, a stale hint the key's",
  "[runtime][cache]") {
  response_cache cache{windows(seconds(1), seconds(0), seconds(60), 2)};
  cache.store("a", "1", t0);
  auto hit = cache.lookup("a", t0 + seconds(2)); // stale-if-error only
  REQUIRE(hit.hint.entry != nullptr);
  cache.store(hit.hint, "a", std::string{"2"}, t0 + seconds(2));
  auto again = cache.lookup("a", t0 + seconds(2));
  CHECK(again.freshness == cache_freshness::fresh);
  CHECK(*again.value == "2");
  CHECK(cache.size() == 1);
  // A removal since the lookup voids the hint: the store finds the key anew.
  auto old = cache.lookup("a", t0 + seconds(2)).hint;
  cache.store("b", "x", t0);
  cache.store("c", "y", t0); // evicts "a", the least recently used
  CHECK(cache.lookup("a", t0).freshness == cache_freshness::miss);
  cache.store(old, "a", std::string{"3"}, t0 + seconds(3));
  auto back = cache.lookup("a", t0 + seconds(3));
  CHECK(back.freshness == cache_freshness::fresh);
  CHECK(*back.value == "3");
  CHECK(cache.size() == 2);
  // A hint from a miss stores the normal way; a moved cache voids hints.
  auto none = cache.lookup("d", t0).hint;
  CHECK(none.entry == nullptr);
  cache.store(none, "d", std::string{"4"}, t0);
  CHECK(*cache.lookup("d", t0).value == "4");
  auto hint = cache.lookup("d", t0).hint;
  response_cache moved{std::move(cache)};
  moved.store(hint, "d", std::string{"5"}, t0);
  CHECK(*moved.lookup("d", t0).value == "5");
}

TEST_CASE("cache freshness names match their enumerators", "[runtime][cache]") {
  CHECK(to_string(cache_freshness::miss) == "miss");
  CHECK(to_string(cache_freshness::fresh) == "fresh");
  CHECK(to_string(cache_freshness::stale_revalidate) == "stale_revalidate");
  CHECK(to_string(cache_freshness::stale_if_error_only)
        == "stale_if_error_only");
}
