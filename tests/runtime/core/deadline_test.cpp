#include "bulwark/runtime/core/deadline.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + seconds(100);

} // namespace

TEST_CASE("a default deadline is no deadline and never expires",
          "[runtime][core][deadline]") {
  deadline d;
  CHECK_FALSE(d.is_set());
  CHECK(d == deadline::none());
  CHECK(d.at == no_deadline);
  CHECK_FALSE(d.expired(t0));
  CHECK_FALSE(d.expired(time_point::max()));
  CHECK(d.remaining(t0) == duration::max());
  CHECK(d.remaining(time_point::min()) == duration::max());
  CHECK_FALSE(d.remaining_ms(t0).has_value());
}

TEST_CASE("a deadline expires exactly at its instant",
          "[runtime][core][deadline]") {
  auto d = deadline::after(t0, milliseconds(250));
  CHECK(d.is_set());
  CHECK(d.at == t0 + milliseconds(250));
  auto at = t0 + milliseconds(250);
  CHECK_FALSE(d.expired(at - nanoseconds(1)));
  CHECK(d.remaining(at - nanoseconds(1)) == nanoseconds(1));
  CHECK(d.expired(at));
  CHECK(d.remaining(at) == duration{0});
  CHECK(d.expired(at + nanoseconds(1)));
  CHECK(d.remaining(at + seconds(10)) == duration{0});
}

TEST_CASE("a zero or negative timeout gives an already expired deadline",
          "[runtime][core][deadline]") {
  CHECK(deadline::after(t0, duration{0}).expired(t0));
  auto past = deadline::after(t0, -milliseconds(5));
  CHECK(past.at == t0 - milliseconds(5));
  CHECK(past.expired(t0));
  CHECK(past.remaining(t0) == duration{0});
  CHECK(past.remaining_ms(t0) == 0);
}

TEST_CASE("adding to a time point saturates instead of overflowing",
          "[runtime][core][deadline]") {
  CHECK(deadline::after(t0, duration::max()) == deadline::none());
  CHECK(deadline::after(time_point::max() - seconds(1), seconds(2))
        == deadline::none());
  CHECK(deadline::after(no_deadline, nanoseconds(1)) == deadline::none());
  auto just_fits = deadline::after(time_point::max() - seconds(2), seconds(1));
  CHECK(just_fits.is_set());
  CHECK(just_fits.at == time_point::max() - seconds(1));
  auto lowest = deadline::after(time_point::min() + seconds(1), -seconds(2));
  CHECK(lowest.at == time_point::min());
  CHECK(lowest.expired(time_point::min()));
  CHECK(deadline::after(time_point::min(), duration::min()).at
        == time_point::min());
}

TEST_CASE("remaining time saturates when the difference does not fit",
          "[runtime][core][deadline]") {
  // Far apart: from the smallest time point to one second before the largest.
  deadline far{time_point::max() - seconds(1)};
  CHECK(far.remaining(time_point::min()) == duration::max());
  CHECK(far.remaining(time_point{})
        == time_point::max() - seconds(1) - time_point{});
  CHECK(far.remaining_ms(time_point::min())
        == duration::max().count() / 1000000);
}

TEST_CASE("the earlier deadline wins when deadlines combine",
          "[runtime][core][deadline]") {
  auto a = deadline::after(t0, seconds(1));
  auto b = deadline::after(t0, seconds(2));
  CHECK(a.min(b) == a);
  CHECK(b.min(a) == a);
  CHECK(a.min(deadline::none()) == a);
  CHECK(deadline::none().min(b) == b);
  CHECK(deadline::none().min(deadline::none()) == deadline::none());
}

TEST_CASE("a deadline crosses a process boundary as remaining milliseconds",
          "[runtime][core][deadline]") {
  auto d = deadline::after(t0, milliseconds(1500) + microseconds(999));
  // Rounded down: the receiver never gets more time than the sender has.
  CHECK(d.remaining_ms(t0) == 1500);
  // The receiver's clock has a different origin.
  auto remote_now = time_point{} + hours(7);
  auto remote = deadline::from_remaining(remote_now, d.remaining_ms(t0));
  CHECK(remote.at == remote_now + milliseconds(1500));
  CHECK(remote.at <= remote_now + d.remaining(t0));

  CHECK(deadline::from_remaining(remote_now, std::nullopt) == deadline::none());
  CHECK(deadline::from_remaining(remote_now, 0).expired(remote_now));
  CHECK(deadline::from_remaining(remote_now, -7).expired(remote_now));
  CHECK(deadline::from_remaining(remote_now, -7).at == remote_now);
  CHECK(deadline::from_remaining(remote_now, INT64_MAX) == deadline::none());
  // Just under a millisecond left is already nothing on the wire.
  CHECK(deadline::after(t0, microseconds(999)).remaining_ms(t0) == 0);
}

TEST_CASE("deadline arithmetic is usable at compile time",
          "[runtime][core][deadline]") {
  constexpr auto d = deadline::after(time_point{}, seconds(1));
  static_assert(d.is_set(), "after() sets a deadline");
  static_assert(!d.expired(time_point{}), "not expired before its instant");
  static_assert(d.remaining(time_point{}) == seconds(1), "exact remaining");
  static_assert(deadline::none().min(d) == d, "min picks the earlier");
  CHECK(d.at == time_point{} + seconds(1));
}
