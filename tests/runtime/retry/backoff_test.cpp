#include "bulwark/runtime/retry/backoff.hpp"

#include <cstdint>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

backoff_config make(backoff_kind kind, jitter_kind jitter,
                    duration base = milliseconds(100), double multiplier = 2.0,
                    duration cap = seconds(10)) {
  backoff_config cfg;
  cfg.kind = kind;
  cfg.jitter = jitter;
  cfg.base = base;
  cfg.multiplier = multiplier;
  cfg.cap = cap;
  return cfg;
}

constexpr backoff_kind all_kinds[] = {
  backoff_kind::constant, backoff_kind::linear, backoff_kind::exponential};

constexpr jitter_kind all_jitters[] = {jitter_kind::none, jitter_kind::full,
                                       jitter_kind::equal,
                                       jitter_kind::decorrelated};

} // namespace

TEST_CASE("backoff kinds and jitter kinds have names", "[runtime][retry]") {
  CHECK(to_string(backoff_kind::constant) == "constant");
  CHECK(to_string(backoff_kind::linear) == "linear");
  CHECK(to_string(backoff_kind::exponential) == "exponential");
  CHECK(to_string(jitter_kind::none) == "none");
  CHECK(to_string(jitter_kind::full) == "full");
  CHECK(to_string(jitter_kind::equal) == "equal");
  CHECK(to_string(jitter_kind::decorrelated) == "decorrelated");
}

TEST_CASE(
  "un-jittered delays follow the constant, linear and exponential formulas",
  "[runtime][retry]") {
  rng gen{1};
  auto c = make(backoff_kind::constant, jitter_kind::none);
  auto l = make(backoff_kind::linear, jitter_kind::none);
  auto e = make(backoff_kind::exponential, jitter_kind::none);
  auto e3 = make(backoff_kind::exponential, jitter_kind::none, milliseconds(10),
                 3.0, seconds(100));
  for (std::uint32_t n = 1; n <= 5; ++n) {
    CAPTURE(n);
    CHECK(next_backoff(c, n, duration{0}, gen) == milliseconds(100));
    CHECK(next_backoff(l, n, duration{0}, gen) == milliseconds(100) * n);
  }
  CHECK(next_backoff(e, 1, duration{0}, gen) == milliseconds(100));
  CHECK(next_backoff(e, 2, duration{0}, gen) == milliseconds(200));
  CHECK(next_backoff(e, 3, duration{0}, gen) == milliseconds(400));
  CHECK(next_backoff(e, 7, duration{0}, gen) == milliseconds(6400));
  CHECK(next_backoff(e, 8, duration{0}, gen) == seconds(10)); // 12.8s capped
  CHECK(next_backoff(e3, 1, duration{0}, gen) == milliseconds(10));
  CHECK(next_backoff(e3, 2, duration{0}, gen) == milliseconds(30));
  CHECK(next_backoff(e3, 5, duration{0}, gen) == milliseconds(810));
  // Retry number 0 is treated as the first retry.
  CHECK(base_delay(e, 0) == milliseconds(100));
  CHECK(base_delay(make(backoff_kind::exponential, jitter_kind::none,
                        milliseconds(100), 1.5),
                   3)
        == microseconds(225000));
}

TEST_CASE(
  "exponential and linear backoff saturate at the cap for huge retry numbers",
  "[runtime][retry]") {
  constexpr auto max_n = std::numeric_limits<std::uint32_t>::max();
  for (std::uint32_t n :
       {30u, 31u, 62u, 63u, 64u, 65u, 1000u, 1u << 20, max_n}) {
    CAPTURE(n);
    auto e = make(backoff_kind::exponential, jitter_kind::none);
    CHECK(base_delay(e, n) == seconds(10));
    auto e_big = make(backoff_kind::exponential, jitter_kind::none, hours(1),
                      10.0, hours(1));
    CHECK(base_delay(e_big, n) == hours(1));
    auto e_tiny = make(backoff_kind::exponential, jitter_kind::none,
                       nanoseconds(1), 1.0001, hours(1));
    auto tiny = base_delay(e_tiny, n);
    CHECK(tiny >= nanoseconds(1));
    CHECK(tiny <= hours(1));
    auto l =
      make(backoff_kind::linear, jitter_kind::none, hours(1), 2.0, hours(1));
    CHECK(base_delay(l, n) == hours(1));
    auto l_small = make(backoff_kind::linear, jitter_kind::none, nanoseconds(3),
                        2.0, hours(1));
    CHECK(base_delay(l_small, n).count()
          == std::min<std::int64_t>(3 * static_cast<std::int64_t>(n),
                                    hours(1) / nanoseconds(1)));
  }
  // A multiplier of 1.0001 grows slowly but does reach the cap eventually.
  auto slow = make(backoff_kind::exponential, jitter_kind::none, seconds(1),
                   1.0001, seconds(2));
  CHECK(base_delay(slow, 2) == nanoseconds(1'000'100'000));
  CHECK(base_delay(slow, 100000) == seconds(2));
  // The maximum representable cap and base: still no overflow.
  auto huge = make(backoff_kind::exponential, jitter_kind::none,
                   duration::max(), 10.0, duration::max());
  CHECK(base_delay(huge, max_n) == duration::max());
  auto huge_lin = make(backoff_kind::linear, jitter_kind::none, duration::max(),
                       2.0, duration::max());
  CHECK(base_delay(huge_lin, max_n) == duration::max());
}

TEST_CASE("a zero base gives zero delays and negative settings count as zero",
          "[runtime][retry]") {
  rng gen{3};
  for (auto kind : all_kinds)
    for (auto jitter : all_jitters) {
      CAPTURE(to_string(kind), to_string(jitter));
      auto cfg = make(kind, jitter, duration{0});
      for (std::uint32_t n = 1; n <= 40; ++n)
        CHECK(next_backoff(cfg, n, duration{0}, gen) == duration{0});
      auto neg = make(kind, jitter, milliseconds(-5), 2.0, milliseconds(-1));
      CHECK(next_backoff(neg, 3, milliseconds(-7), gen) == duration{0});
    }
}

TEST_CASE(
  "every jittered delay stays within its formula's bounds for 10000 seeds",
  "[runtime][retry]") {
  const duration bases[] = {milliseconds(100), nanoseconds(7), seconds(1)};
  const duration caps[] = {seconds(10), nanoseconds(1001), seconds(1)};
  for (std::size_t variant = 0; variant < 3; ++variant) {
    for (auto kind : all_kinds) {
      for (auto jitter : all_jitters) {
        auto cfg = make(kind, jitter, bases[variant], 2.0, caps[variant]);
        bool ok = true;
        for (std::uint64_t seed = 1; seed <= 10000 && ok; ++seed) {
          rng gen{seed};
          duration prev = cfg.base;
          for (std::uint32_t n = 1; n <= 30; ++n) {
            auto d = base_delay(cfg, n);
            auto got = next_backoff(cfg, n, prev, gen);
            duration lo{0}, hi{0};
            switch (jitter) {
              case jitter_kind::none:
                lo = hi = d;
                break;
              case jitter_kind::full:
                lo = duration{0};
                hi = d;
                break;
              case jitter_kind::equal:
                lo = d / 2;
                hi = d;
                break;
              case jitter_kind::decorrelated:
                lo = cfg.base;
                hi = std::min(
                  cfg.cap, std::max(cfg.base, (n == 1 ? cfg.base : prev) * 3));
                break;
            }
            if (got < lo || got > hi || got > cfg.cap) {
              INFO("seed " << seed << " variant " << variant << " kind "
                           << to_string(kind) << " jitter " << to_string(jitter)
                           << " n " << n << " got " << got.count() << "ns"
                           << " bounds [" << lo.count() << ", " << hi.count()
                           << "]");
              ok = false;
              FAIL_CHECK("delay out of bounds");
              break;
            }
            prev = got;
          }
        }
        CHECK(ok);
      }
    }
  }
}

TEST_CASE(
  "exponential full jitter reaches both ends of its range and centres on d/2",
  "[runtime][retry]") {
  auto cfg = make(backoff_kind::exponential, jitter_kind::full);
  rng gen{12345};
  const auto d = base_delay(cfg, 4); // 800ms
  REQUIRE(d == milliseconds(800));
  double sum = 0;
  duration lowest = d, highest{0};
  constexpr int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    auto x = next_backoff(cfg, 4, duration{0}, gen);
    sum += to_seconds(x);
    lowest = std::min(lowest, x);
    highest = std::max(highest, x);
  }
  CHECK(sum / draws == Approx(0.4).margin(0.005));
  CHECK(lowest < milliseconds(1));
  CHECK(highest > milliseconds(799));
}

TEST_CASE("equal jitter keeps at least half of the delay", "[runtime][retry]") {
  auto cfg = make(backoff_kind::exponential, jitter_kind::equal);
  rng gen{99};
  double sum = 0;
  constexpr int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    auto x = next_backoff(cfg, 2, duration{0}, gen); // d = 200ms
    REQUIRE(x >= milliseconds(100));
    REQUIRE(x <= milliseconds(200));
    sum += to_seconds(x);
  }
  CHECK(sum / draws == Approx(0.15).margin(0.002));
}

TEST_CASE("decorrelated jitter stays within base and cap and grows from the "
          "previous delay",
          "[runtime][retry]") {
  auto cfg = make(backoff_kind::exponential, jitter_kind::decorrelated,
                  milliseconds(10), 2.0, seconds(1));
  for (std::uint64_t seed = 1; seed <= 10000; ++seed) {
    rng gen{seed};
    duration prev{0}; // ignored on the first retry: base is used
    for (std::uint32_t n = 1; n <= 30; ++n) {
      auto got = next_backoff(cfg, n, prev, gen);
      if (got < cfg.base || got > cfg.cap) {
        INFO("seed " << seed << " n " << n << " got " << got.count());
        FAIL("decorrelated delay outside [base, cap]");
      }
      prev = got;
    }
  }
  // The first retry draws from [base, 3*base] whatever previous_delay says.
  rng gen{5};
  for (int i = 0; i < 1000; ++i) {
    auto x = next_backoff(cfg, 1, hours(1), gen);
    REQUIRE(x >= milliseconds(10));
    REQUIRE(x <= milliseconds(30));
  }
  // Later retries draw from [base, 3*previous], then the cap applies.
  bool above_first_range = false;
  for (int i = 0; i < 1000; ++i) {
    auto x = next_backoff(cfg, 2, milliseconds(200), gen);
    REQUIRE(x >= milliseconds(10));
    REQUIRE(x <= milliseconds(600));
    above_first_range |= x > milliseconds(30);
  }
  CHECK(above_first_range);
  // A previous delay so large that tripling it would overflow saturates.
  for (int i = 0; i < 1000; ++i) {
    auto x = next_backoff(cfg, 9, duration::max(), gen);
    REQUIRE(x >= milliseconds(10));
    REQUIRE(x <= seconds(1));
  }
  // With 3*previous far above the cap, the cap is hit often (AWS clamps after
  // drawing, it does not shrink the range).
  int at_cap = 0;
  for (int i = 0; i < 1000; ++i)
    at_cap += next_backoff(cfg, 5, seconds(10), gen) == seconds(1);
  CHECK(at_cap > 900);
}

TEST_CASE("the same seed gives the same sequence of delays",
          "[runtime][retry]") {
  for (auto kind : all_kinds)
    for (auto jitter : all_jitters) {
      CAPTURE(to_string(kind), to_string(jitter));
      auto cfg = make(kind, jitter);
      auto run = [&](std::uint64_t seed) {
        rng gen{seed};
        std::vector<duration> out;
        duration prev = cfg.base;
        for (std::uint32_t n = 1; n <= 30; ++n) {
          prev = next_backoff(cfg, n, prev, gen);
          out.push_back(prev);
        }
        return out;
      };
      CHECK(run(42) == run(42));
      if (jitter != jitter_kind::none)
        CHECK(run(42) != run(43));
    }
}
