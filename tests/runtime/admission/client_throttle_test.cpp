#include "bulwark/runtime/admission/client_throttle.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

time_point t0() {
  return time_point{} + hours(1);
}

throttle_config on() {
  throttle_config cfg;
  cfg.enabled = true;
  return cfg;
}

/// Offers `rate` calls per second for `length` to a backend that accepts at
/// most `capacity` per second (the rest it refuses as overloaded). Returns
/// the share of the offered calls the throttle let through.
double offer(client_throttle& t, rng& gen, time_point& now, int rate,
             int capacity, duration length) {
  std::uint64_t offered = 0;
  std::uint64_t sent = 0;
  auto end = now + length;
  auto step = nanoseconds(1000000000 / rate);
  int accepted_this_second = 0;
  auto second_end = now + seconds(1);
  for (; now < end; now += step) {
    if (now >= second_end) {
      second_end += seconds(1);
      accepted_this_second = 0;
    }
    ++offered;
    if (!t.admit(gen, now))
      continue;
    ++sent;
    // Answered at once: accepted up to the capacity, refused beyond.
    bool accepted = accepted_this_second < capacity;
    if (accepted)
      ++accepted_this_second;
    t.on_result(accepted, now);
  }
  return static_cast<double>(sent) / static_cast<double>(offered);
}

} // namespace

TEST_CASE("the throttle rejects nothing while the backend accepts everything",
          "[runtime][admission][throttle]") {
  client_throttle t{on()};
  rng gen{1};
  auto now = t0();
  CHECK(offer(t, gen, now, 100, 1000, seconds(300)) == 1.0);
  CHECK(t.reject_probability(now) == 0.0);
}

TEST_CASE("the throttle lets through about K times what the backend accepts",
          "[runtime][admission][throttle]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    client_throttle t{on()};
    rng gen{seed};
    auto now = t0();
    // 100 calls/s offered, the backend takes 20/s: K = 2 sends about 40/s.
    offer(t, gen, now, 100, 20, seconds(120));
    auto share = offer(t, gen, now, 100, 20, seconds(120));
    INFO("share sent " << share);
    CHECK(share > 0.37);
    CHECK(share < 0.43);
    // The formula, over the window's counts.
    auto r = static_cast<double>(t.requests(now));
    auto a = static_cast<double>(t.accepts(now));
    CHECK(t.reject_probability(now) == Approx((r - 2.0 * a) / (r + 1.0)));
  }
}

TEST_CASE("a backend that accepts nothing gets almost nothing",
          "[runtime][admission][throttle]") {
  client_throttle t{on()};
  rng gen{4};
  auto now = t0();
  offer(t, gen, now, 100, 0, seconds(60));
  auto share = offer(t, gen, now, 100, 0, seconds(60));
  INFO("share sent " << share);
  CHECK(share < 0.001);
}

TEST_CASE("the throttle forgets a refusal once it is older than the window",
          "[runtime][admission][throttle]") {
  auto cfg = on();
  cfg.window = seconds(10);
  client_throttle t{cfg};
  rng gen{5};
  auto now = t0();
  offer(t, gen, now, 100, 0, seconds(10));
  CHECK(t.reject_probability(now) > 0.99);
  // The backend recovers. What gets through is accepted, the refusals
  // slide out of the window, and P falls to 0: the more gets through, the
  // faster (P' = 2P - 1 per window for K = 2): after a total refusal
  // that takes a few windows (40 s here, window 10 s).
  int seconds_to_recover = 0;
  while (t.reject_probability(now) > 0.0 && seconds_to_recover < 100) {
    offer(t, gen, now, 100, 1000, seconds(1));
    ++seconds_to_recover;
  }
  INFO("recovered after " << seconds_to_recover << " s");
  CHECK(seconds_to_recover > 0);
  CHECK(seconds_to_recover <= 50);
  // And after a long silence nothing of the old counts is left.
  offer(t, gen, now, 100, 0, seconds(10));
  now += hours(1);
  CHECK(t.requests(now) == 0);
  CHECK(t.reject_probability(now) == 0.0);
}

TEST_CASE("a lower K rejects sooner", "[runtime][admission][throttle]") {
  auto cfg = on();
  cfg.k = 1.1;
  client_throttle t{cfg};
  rng gen{6};
  auto now = t0();
  offer(t, gen, now, 100, 20, seconds(120));
  auto share = offer(t, gen, now, 100, 20, seconds(120));
  INFO("share sent " << share);
  CHECK(share > 0.19);
  CHECK(share < 0.25);
}

TEST_CASE("a new K keeps the counts, a new window starts them afresh",
          "[runtime][admission][throttle]") {
  client_throttle t{on()};
  rng gen{7};
  auto now = t0();
  offer(t, gen, now, 100, 0, seconds(5));
  auto cfg = on();
  cfg.k = 3;
  t.reconfigure(cfg);
  CHECK(t.requests(now) == 500);
  cfg.window = seconds(60);
  t.reconfigure(cfg);
  CHECK(t.requests(now) == 0);
}

TEST_CASE("calls still in flight do not count as refused: a fresh throttle "
          "rejects nothing before the first answer",
          "[runtime][admission][throttle]") {
  client_throttle t{on()};
  rng gen{8};
  auto now = t0();
  // 70 calls/s answered after 100 ms: in the first 100 ms seven calls go
  // out and none has come back. Counted when sent, the first alone would
  // give P = 1/2 and the next six would mostly be rejected.
  for (int i = 0; i < 7; ++i) {
    CHECK(t.reject_probability(now) == 0.0);
    CHECK(t.admit(gen, now));
    now += milliseconds(14);
  }
  CHECK(t.requests(now) == 0);
  // They come back accepted: still nothing to reject.
  for (int i = 0; i < 7; ++i)
    t.on_result(true, now);
  CHECK(t.requests(now) == 7);
  CHECK(t.accepts(now) == 7);
  CHECK(t.reject_probability(now) == 0.0);
}
