#include "bulwark/runtime/config/duration_text.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("durations parse exactly in every unit", "[runtime][config]") {
  duration d{};
  CHECK(parse_duration("250ms", d) == duration_parse_error::none);
  CHECK(d == milliseconds(250));
  CHECK(parse_duration("1.5s", d) == duration_parse_error::none);
  CHECK(d == milliseconds(1500));
  CHECK(parse_duration("0.1s", d) == duration_parse_error::none);
  CHECK(d == milliseconds(100));
  CHECK(parse_duration("100us", d) == duration_parse_error::none);
  CHECK(d == microseconds(100));
  CHECK(parse_duration("7ns", d) == duration_parse_error::none);
  CHECK(d == nanoseconds(7));
  CHECK(parse_duration("2m", d) == duration_parse_error::none);
  CHECK(d == minutes(2));
  CHECK(parse_duration("1h", d) == duration_parse_error::none);
  CHECK(d == hours(1));
  CHECK(parse_duration("0s", d) == duration_parse_error::none);
  CHECK(d == duration{0});
}

TEST_CASE("durations without a unit or with garbage are syntax errors",
          "[runtime][config]") {
  duration d{};
  for (auto text : {"", "250", "ms", "1.s", ".5s", "1x", "1,5s", "1 s", "s1",
                    "1.5ns", "1e3ms", "abc"}) {
    INFO(text);
    CHECK(parse_duration(text, d) == duration_parse_error::syntax);
  }
}

TEST_CASE("negative and overflowing durations are rejected",
          "[runtime][config]") {
  duration d{};
  CHECK(parse_duration("-5ms", d) == duration_parse_error::negative);
  CHECK(parse_duration("99999999999999999999s", d)
        == duration_parse_error::too_large);
  CHECK(parse_duration("9999999h", d) == duration_parse_error::too_large);
}

TEST_CASE("durations format as the shortest exact text", "[runtime][config]") {
  CHECK(format_duration(duration{0}) == "0s");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(1500)) == "1500ms");
  CHECK(format_duration(seconds(90)) == "90s");
  CHECK(format_duration(minutes(2)) == "2m");
  CHECK(format_duration(hours(3)) == "3h");
  CHECK(format_duration(nanoseconds(1234)) == "1234ns");
}

TEST_CASE("formatting then parsing a duration gives it back",
          "[runtime][config]") {
  for (auto n : {1LL, 999LL, 1000LL, 1500000LL, 60000000000LL, 7200000000000LL,
                 123456789LL}) {
    duration d{};
    REQUIRE(parse_duration(format_duration(duration{n}), d)
            == duration_parse_error::none);
    CHECK(d == duration{n});
  }
}
