#include "bulwark/runtime/load/request_template.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/idempotency_key.hpp"

using namespace bulwark;

namespace {

request_template must_parse(std::string_view text) {
  std::string error;
  auto t = request_template::parse(text, error);
  INFO(error);
  REQUIRE(t);
  return *t;
}

} // namespace

TEST_CASE("placeholders expand per request and JSON braces stay literal",
          "[runtime][load][template]") {
  auto t = must_parse(R"({"order_id": "o-{run}-{seq}", "qty": {"n": 1}})");
  rng gen{1};
  CHECK(t.expand(7, gen, "r1") == R"({"order_id": "o-r1-7", "qty": {"n": 1}})");
  CHECK(t.uses(template_placeholder::seq));
  CHECK(t.uses(template_placeholder::run));
  CHECK_FALSE(t.uses(template_placeholder::uuid));
  CHECK(must_parse("{}").expand(1, gen, "") == "{}");
  CHECK(must_parse("{X}{Seq}{ seq}{1}").expand(1, gen, "")
        == "{X}{Seq}{ seq}{1}");
  CHECK(must_parse("").empty());
}

namespace {

// 8-4-4-4-12 lower-case hex, version nibble 4, variant 8..b. Written out
// rather than with std::regex: GCC 12 warns falsely inside <regex> at -O2.
bool is_uuid_v4(const std::string& x) {
  if (x.size() != 36)
    return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto c = x[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return x[14] == '4'
         && (x[19] == '8' || x[19] == '9' || x[19] == 'a' || x[19] == 'b');
}

} // namespace

TEST_CASE("uuids are version 4, distinct per request and the same for the "
          "same seed",
          "[runtime][load][template]") {
  auto t = must_parse("{uuid}");
  rng a{5};
  rng b{5};
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    auto x = t.expand(static_cast<std::uint64_t>(i), a, "");
    REQUIRE(is_uuid_v4(x));
    REQUIRE(x == t.expand(static_cast<std::uint64_t>(i), b, ""));
    REQUIRE(seen.insert(x).second);
  }
}

TEST_CASE("an unknown placeholder is refused with its position, and an "
          "oversized template is refused",
          "[runtime][load][template]") {
  std::string error;
  CHECK_FALSE(request_template::parse("key-{sqe}", error));
  CHECK(error
        == "unknown placeholder {sqe} at byte 4 (known: {seq}, "
           "{uuid}, {run})");
  CHECK_FALSE(request_template::parse(
    std::string(request_template::max_bytes + 1, 'x'), error));
  CHECK(error.find("more than the limit") != std::string::npos);
}

TEST_CASE("a key template with a valid literal expands to valid keys",
          "[runtime][load][template]") {
  auto t = must_parse("k-{run}-{seq}-{uuid}");
  for (auto lit : t.literals())
    CHECK_FALSE(key_problem(lit));
  rng gen{2};
  CHECK_FALSE(key_problem(t.expand(123456789, gen, "abc123")));
}
