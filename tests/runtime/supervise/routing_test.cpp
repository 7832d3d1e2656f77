#include "bulwark/runtime/supervise/routing.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

std::vector<std::size_t> picks(router& r, const std::vector<member_load>& m,
                               std::size_t count, std::uint64_t excluded = 0,
                               std::uint64_t seed = 1) {
  rng gen{seed};
  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < count; ++i)
    result.push_back(r.pick(m.data(), m.size(), excluded, gen));
  return result;
}

constexpr auto npos = router::npos;

} // namespace

TEST_CASE("routing kinds print and parse by the same names",
          "[runtime][supervise][routing]") {
  for (auto kind : {routing_kind::round_robin, routing_kind::least_outstanding,
                    routing_kind::power_of_two}) {
    routing_kind back = routing_kind::round_robin;
    CHECK(from_string(to_string(kind), back));
    CHECK(back == kind);
  }
  CHECK(to_string(routing_kind::round_robin) == "round_robin");
  CHECK(to_string(routing_kind::least_outstanding) == "least_outstanding");
  CHECK(to_string(routing_kind::power_of_two) == "power_of_two");
  auto x = routing_kind::least_outstanding;
  CHECK_FALSE(from_string("random", x));
  CHECK_FALSE(from_string("", x));
  CHECK(x == routing_kind::least_outstanding);
}

TEST_CASE("round robin visits every member in order and wraps",
          "[runtime][supervise][routing]") {
  router r;
  CHECK(r.kind() == routing_kind::round_robin);
  std::vector<member_load> m(3);
  CHECK(picks(r, m, 7) == std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0});
}

TEST_CASE("round robin skips unavailable members without losing its place",
          "[runtime][supervise][routing]") {
  router r{routing_kind::round_robin};
  std::vector<member_load> m(4);
  m[1].available = false;
  m[2].available = false;
  CHECK(picks(r, m, 5) == std::vector<std::size_t>{0, 3, 0, 3, 0});
  m[2].available = true; // back after a restart: next after 0 is 1 (down), 2
  CHECK(picks(r, m, 3) == std::vector<std::size_t>{2, 3, 0});
}

TEST_CASE("round robin ignores outstanding counts",
          "[runtime][supervise][routing]") {
  router r;
  std::vector<member_load> m{{true, 100}, {true, 0}};
  CHECK(picks(r, m, 4) == std::vector<std::size_t>{0, 1, 0, 1});
}

TEST_CASE("excluded members are never picked by any policy",
          "[runtime][supervise][routing]") {
  std::vector<member_load> m{{true, 0}, {true, 5}, {true, 9}, {true, 1}};
  // Excluding the least loaded (0) and member 3 leaves 1 and 2.
  std::uint64_t excluded = (1u << 0) | (1u << 3);
  for (auto kind : {routing_kind::round_robin, routing_kind::least_outstanding,
                    routing_kind::power_of_two}) {
    INFO(to_string(kind));
    router r{kind};
    for (auto i : picks(r, m, 50, excluded, 7)) {
      CHECK(i != 0);
      CHECK(i != 3);
      CHECK(i < 4);
    }
  }
  // Bits above n mean nothing.
  router r;
  CHECK(picks(r, m, 4, ~std::uint64_t{0} << 4)
        == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("no eligible member gives npos under every policy",
          "[runtime][supervise][routing]") {
  std::vector<member_load> m{{false, 0}, {true, 0}, {false, 3}};
  for (auto kind : {routing_kind::round_robin, routing_kind::least_outstanding,
                    routing_kind::power_of_two}) {
    INFO(to_string(kind));
    router r{kind};
    rng gen{3};
    CHECK(r.pick(m.data(), m.size(), 1u << 1, gen) == npos);
    CHECK(r.pick(m.data(), 0, 0, gen) == npos);
    CHECK(r.pick(nullptr, 0, 0, gen) == npos);
    // A failed pick leaves the rotation alone.
    CHECK(r.pick(m.data(), m.size(), 0, gen) == 1);
  }
}

TEST_CASE("least outstanding picks the member with the fewest outstanding",
          "[runtime][supervise][routing]") {
  router r{routing_kind::least_outstanding};
  rng gen{1};
  std::vector<member_load> m{{true, 4}, {true, 2}, {true, 7}, {true, 3}};
  CHECK(r.pick(m.data(), m.size(), 0, gen) == 1);
  CHECK(r.pick(m.data(), m.size(), 0, gen) == 1); // still the minimum
  m[1].available = false;
  CHECK(r.pick(m.data(), m.size(), 0, gen) == 3);
  CHECK(r.pick(m.data(), m.size(), 1u << 3, gen) == 0);
  m[2].outstanding = 0;
  CHECK(r.pick(m.data(), m.size(), 0, gen) == 2);
}

TEST_CASE("least outstanding spreads ties over the tied members",
          "[runtime][supervise][routing]") {
  router r{routing_kind::least_outstanding};
  // Members 0, 2 and 3 tie at 1; member 1 is busier.
  std::vector<member_load> m{{true, 1}, {true, 5}, {true, 1}, {true, 1}};
  CHECK(picks(r, m, 6) == std::vector<std::size_t>{0, 2, 3, 0, 2, 3});
  // Counting each pick as outstanding shares the load evenly.
  router fresh{routing_kind::least_outstanding};
  std::vector<member_load> load(5);
  rng gen{1};
  for (int i = 0; i < 100; ++i)
    ++load[fresh.pick(load.data(), load.size(), 0, gen)].outstanding;
  for (auto& x : load)
    CHECK(x.outstanding == 20);
}

TEST_CASE("power of two never picks the busier of two eligible members",
          "[runtime][supervise][routing]") {
  std::vector<member_load> two{{true, 9}, {true, 1}};
  std::vector<member_load> many{{true, 3}, {true, 50}, {true, 3},
                                {true, 4}, {true, 0},  {true, 7}};
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    router r{routing_kind::power_of_two};
    rng gen{seed};
    CHECK(r.pick(two.data(), two.size(), 0, gen) == 1);
    // The unique maximum loses every pair it is drawn into.
    for (int i = 0; i < 20; ++i)
      CHECK(r.pick(many.data(), many.size(), 0, gen) != 1);
  }
}

TEST_CASE("power of two breaks a tie in favour of the first member drawn",
          "[runtime][supervise][routing]") {
  std::vector<member_load> m{{true, 2}, {true, 2}};
  router r{routing_kind::power_of_two};
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    rng mirror{seed};
    // The same draws the router makes: the first is a rank among 2.
    auto first = mirror.below(2);
    CHECK(r.pick(m.data(), m.size(), 0, gen) == first);
  }
}

TEST_CASE("power of two with equal loads picks members uniformly",
          "[runtime][supervise][routing]") {
  // 8 members, 80,000 picks over many seeds: each expects 10,000. The
  // binomial standard deviation is sqrt(80000 * 1/8 * 7/8) ~ 94, so a 3 %
  // band (300, over 3 sigma) fails only if the draws are biased.
  constexpr std::size_t n = 8;
  constexpr int per_seed = 400;
  constexpr std::uint64_t seeds = 200;
  std::array<int, n> counts{};
  std::vector<member_load> m(n, member_load{true, 3});
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    router r{routing_kind::power_of_two};
    rng gen{seed};
    for (int i = 0; i < per_seed; ++i)
      ++counts[r.pick(m.data(), n, 0, gen)];
  }
  double expected = static_cast<double>(per_seed * seeds) / n;
  for (std::size_t i = 0; i < n; ++i) {
    INFO("member " << i << " picked " << counts[i] << " times");
    CHECK(counts[i] == Approx(expected).epsilon(0.03));
  }
}

TEST_CASE("power of two only draws among eligible members",
          "[runtime][supervise][routing]") {
  std::vector<member_load> m(6, member_load{true, 0});
  m[0].available = false;
  m[4].available = false;
  std::array<int, 6> counts{};
  router r{routing_kind::power_of_two};
  rng gen{42};
  for (int i = 0; i < 4000; ++i)
    ++counts[r.pick(m.data(), m.size(), 1u << 2, gen)];
  CHECK(counts[0] == 0);
  CHECK(counts[2] == 0);
  CHECK(counts[4] == 0);
  // 1, 3 and 5 share the rest roughly evenly (expected 1333 each).
  for (auto i : {1, 3, 5}) {
    INFO("member " << i << " picked " << counts[i] << " times");
    CHECK(counts[i] == Approx(4000.0 / 3).epsilon(0.1));
  }
}

TEST_CASE("a single eligible member is picked without drawing",
          "[runtime][supervise][routing]") {
  std::vector<member_load> one{{true, 1000}};
  std::vector<member_load> mostly_down{{false, 0}, {false, 0}, {true, 9}};
  for (auto kind : {routing_kind::round_robin, routing_kind::least_outstanding,
                    routing_kind::power_of_two}) {
    INFO(to_string(kind));
    router r{kind};
    rng gen{5};
    rng untouched{5};
    for (int i = 0; i < 3; ++i) {
      CHECK(r.pick(one.data(), one.size(), 0, gen) == 0);
      CHECK(r.pick(mostly_down.data(), mostly_down.size(), 0, gen) == 2);
    }
    CHECK(gen() == untouched());
  }
}

TEST_CASE("sixty-four members are all reachable and a 65th is ignored",
          "[runtime][supervise][routing]") {
  std::vector<member_load> m(max_members + 1);
  router rr;
  auto order = picks(rr, m, max_members + 1);
  for (std::size_t i = 0; i < max_members; ++i)
    CHECK(order[i] == i);
  CHECK(order[max_members] == 0); // wraps before index 64
  // Only member 63 is not excluded: bit 63 works.
  auto all_but_last = ~(std::uint64_t{1} << 63);
  for (auto kind : {routing_kind::round_robin, routing_kind::least_outstanding,
                    routing_kind::power_of_two}) {
    INFO(to_string(kind));
    router r{kind};
    rng gen{9};
    CHECK(r.pick(m.data(), m.size(), all_but_last, gen) == 63);
  }
  // least outstanding finds a minimum at the end.
  for (auto& x : m)
    x.outstanding = 5;
  m[63].outstanding = 1;
  m[64].outstanding = 0; // beyond max_members: never considered
  router lo{routing_kind::least_outstanding};
  rng gen{1};
  CHECK(lo.pick(m.data(), m.size(), 0, gen) == 63);
  // power of two over 64 members with one idle member picks it often but
  // never index 64.
  router p2c{routing_kind::power_of_two};
  int idle = 0;
  for (int i = 0; i < 6400; ++i) {
    auto x = p2c.pick(m.data(), m.size(), 0, gen);
    REQUIRE(x < max_members);
    idle += x == 63;
  }
  // P(63 among two distinct draws of 64) = 2/64: about 200 of 6400.
  CHECK(idle > 120);
  CHECK(idle < 280);
}

TEST_CASE("reconfiguring the policy keeps the rotation",
          "[runtime][supervise][routing]") {
  router r;
  std::vector<member_load> m(4);
  CHECK(picks(r, m, 2) == std::vector<std::size_t>{0, 1});
  r.reconfigure(routing_kind::least_outstanding);
  CHECK(r.kind() == routing_kind::least_outstanding);
  CHECK(picks(r, m, 3) == std::vector<std::size_t>{2, 3, 0});
  r.reconfigure(routing_kind::round_robin);
  CHECK(picks(r, m, 1) == std::vector<std::size_t>{1});
}

TEST_CASE("a shrunk group restarts the rotation at member 0",
          "[runtime][supervise][routing]") {
  router r;
  std::vector<member_load> m(5);
  CHECK(picks(r, m, 5) == std::vector<std::size_t>{0, 1, 2, 3, 4});
  CHECK(picks(r, std::vector<member_load>(3), 2)
        == std::vector<std::size_t>{0, 1});
}
