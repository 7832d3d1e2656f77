#include "bulwark/runtime/core/slot_table.hpp"

#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

TEST_CASE("a slot is found by its ids until it is released",
          "[runtime][core]") {
  slot_table<std::string> t;
  auto a = t.acquire();
  auto b = t.acquire();
  CHECK(a != b);
  CHECK(t.size() == 2);
  t[a] = "a";
  auto id = t.id(a, 3);
  CHECK(correlation_id::slot(id) == a);
  CHECK(correlation_id::index(id) == 3);
  CHECK(t.find(id) == a);
  CHECK(t.find(t.id(b, 0)) == b);
  t.release(a);
  CHECK_FALSE(t.in_use(a));
  CHECK(t.size() == 1);
  // The old id no longer matches, even when the slot serves again.
  CHECK(t.find(id) == t.npos);
  auto c = t.acquire();
  CHECK(c == a); // the most recently freed slot first
  CHECK(t.find(id) == t.npos);
  CHECK(t.find(t.id(c, 3)) == c);
  // Ids of slots never created match nothing.
  CHECK(t.find(correlation_id::make(99, 1, 0)) == t.npos);
}

TEST_CASE("no id of a slot table is 0", "[runtime][core]") {
  slot_table<int> t;
  auto s = t.acquire();
  CHECK(s == 0);
  CHECK(t.generation(s) == 1);
  CHECK(t.id(s, 0) != 0);
  CHECK(t.find(0) == t.npos);
}

TEST_CASE("a slot table matches a model under random use", "[runtime][core]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    slot_table<std::uint64_t> t;
    std::set<std::uint32_t> used;
    std::vector<std::uint64_t> stale; // ids of released slots
    for (int step = 0; step < 2000; ++step) {
      if (used.empty() || gen.below(3) != 0) {
        auto s = t.acquire();
        REQUIRE(used.count(s) == 0);
        used.insert(s);
        t[s] = static_cast<std::uint64_t>(step);
      } else {
        auto it = used.begin();
        std::advance(it, static_cast<long>(gen.below(used.size())));
        stale.push_back(t.id(*it, 1));
        t.release(*it);
        used.erase(it);
      }
      REQUIRE(t.size() == used.size());
    }
    for (auto s : used)
      CHECK(t.find(t.id(s, 7)) == s);
    for (auto id : stale)
      CHECK(t.find(id) == t.npos);
  }
}
