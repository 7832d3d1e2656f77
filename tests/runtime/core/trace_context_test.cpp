#include "bulwark/runtime/core/trace_context.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace bulwark;

namespace {

const std::string valid_tp =
  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

trace_context parsed(std::string_view text) {
  trace_context ctx;
  auto problem = parse_traceparent(text, ctx);
  INFO(text);
  REQUIRE_FALSE(problem);
  return ctx;
}

std::string problem_of(std::string_view text) {
  trace_context ctx;
  ctx.parent_id = 7;
  auto problem = parse_traceparent(text, ctx);
  REQUIRE(problem);
  CHECK(ctx.parent_id == 7); // unchanged on a problem
  CHECK(ctx.trace.empty());
  return *problem;
}

} // namespace

TEST_CASE("a version-00 traceparent is parsed and formats back to itself",
          "[runtime][core][trace]") {
  auto ctx = parsed(valid_tp);
  CHECK(ctx.trace.hi == 0x4bf92f3577b34da6ULL);
  CHECK(ctx.trace.lo == 0xa3ce929d0e0e4736ULL);
  CHECK(ctx.parent_id == 0x00f067aa0ba902b7ULL);
  CHECK(ctx.flags == 1);
  CHECK(format_traceparent(ctx, ctx.parent_id) == valid_tp);
  CHECK(to_string(ctx.trace) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(span_id_to_string(ctx.parent_id) == "00f067aa0ba902b7");
  // Version 00 keeps every flag bit as sent.
  CHECK(parsed("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff").flags
        == 0xff);
}

TEST_CASE("a malformed traceparent is refused naming what was wrong",
          "[runtime][core][trace]") {
  CHECK(problem_of("") == "traceparent is 0 bytes (expected 55)");
  CHECK(problem_of(valid_tp + "-")
        == "traceparent version 00 is 56 bytes (expected 55)");
  CHECK(problem_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
        == "traceparent trace-id (bytes 3-34) is not 32 lowercase hex digits");
  CHECK(problem_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
        == "traceparent trace-id is all zeros");
  CHECK(problem_of("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")
        == "traceparent parent-id is all zeros");
  CHECK(problem_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bX-01")
        == "traceparent parent-id (bytes 36-51) is not 16 lowercase hex "
           "digits");
  CHECK(problem_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g")
        == "traceparent trace-flags (bytes 53-54) is not 2 lowercase hex "
           "digits");
  CHECK(problem_of("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        == "traceparent byte 2 is not '-'");
  CHECK(problem_of("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        == "traceparent version (bytes 0-1) is not 2 lowercase hex digits");
  CHECK(problem_of("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        == "traceparent version ff is invalid");
  // Whitespace is not trimmed here (the HTTP layer strips OWS).
  CHECK(!problem_of(" " + valid_tp).empty());
  // A problem never quotes the value.
  CHECK(problem_of("00-\r\nX-Evil: 1").find("Evil") == std::string::npos);
}

TEST_CASE("a later traceparent version is read by the spec's forward rules",
          "[runtime][core][trace]") {
  // Exactly the version-00 layout, or followed by '-' and more fields.
  auto ctx = parsed("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  CHECK(ctx.flags == trace_flag_sampled); // only the sampled flag is kept
  ctx = parsed("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what");
  CHECK(ctx.parent_id == 0x00f067aa0ba902b7ULL);
  CHECK(problem_of("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")
        == "traceparent byte 55 is not '-' after the flags");
  CHECK(problem_of("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")
        == "traceparent is 54 bytes (expected 55)");
}

TEST_CASE("a valid tracestate is kept in canonical form",
          "[runtime][core][trace]") {
  std::string out = "old";
  REQUIRE_FALSE(
    parse_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", out));
  CHECK(out == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  REQUIRE_FALSE(parse_tracestate(" a=1 ,\t, b@sys=x y ,", out));
  CHECK(out == "a=1,b@sys=x y");
  REQUIRE_FALSE(parse_tracestate("", out));
  CHECK(out.empty());
  REQUIRE_FALSE(parse_tracestate("7tenant@vendor=v", out));
  std::string members;
  for (int i = 0; i < 32; ++i)
    members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  REQUIRE_FALSE(parse_tracestate(members, out));
  CHECK(out == members);
}

TEST_CASE("a tracestate that breaks the grammar or the bounds is refused and "
          "changes nothing",
          "[runtime][core][trace]") {
  auto problem = [](std::string_view text) {
    std::string out = "keep";
    auto p = parse_tracestate(text, out);
    INFO(text);
    REQUIRE(p);
    CHECK(out == "keep");
    return *p;
  };
  CHECK(problem("Rojo=1")
        == "tracestate key at byte 0 is not a lowercase "
           "letter followed by [a-z0-9_*/-]");
  CHECK(problem("a=1,novalue") == "tracestate member at byte 4 has no '='");
  CHECK(problem("a=") == "tracestate value at byte 2 is not 1-256 bytes");
  CHECK(problem("a=x\x01y")
        == "tracestate value has a forbidden byte (0x01) at byte 3");
  CHECK(problem("a=1,a=2") == "tracestate key at byte 4 is a duplicate");
  CHECK(problem("a=1\r\nx: y").find("forbidden byte (0x0D)")
        != std::string::npos);
  CHECK(problem("@sys=1").find("bad tenant id") != std::string::npos);
  CHECK(problem("t@Sys=1").find("bad system id") != std::string::npos);
  CHECK(problem("t@systemidtoolong=1").find("bad system id")
        != std::string::npos);
  CHECK(problem("a=b=c").find("forbidden byte (0x3D)") != std::string::npos);
  CHECK(problem(std::string(513, 'a'))
        == "tracestate is 513 bytes (at most 512)");
  std::string members;
  for (int i = 0; i < 33; ++i)
    members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  CHECK(problem(members) == "tracestate has more than 32 members");
}

TEST_CASE("trace ids from text are 32 lowercase hex digits, not all zero",
          "[runtime][core][trace]") {
  trace_id id;
  REQUIRE_FALSE(parse_trace_id("4bf92f3577b34da6a3ce929d0e0e4736", id));
  CHECK(to_string(id) == "4bf92f3577b34da6a3ce929d0e0e4736");
  trace_id keep{1, 2};
  CHECK(parse_trace_id("4bf92f3577b34da6a3ce929d0e0e473", keep));
  CHECK(parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736", keep));
  CHECK(parse_trace_id(std::string(32, '0'), keep));
  CHECK(parse_trace_id("../../etc/passwd", keep));
  CHECK(keep == trace_id{1, 2});
}

TEST_CASE("new ids are never zero and replay from the seed",
          "[runtime][core][trace]") {
  rng a{42};
  rng b{42};
  for (int i = 0; i < 1000; ++i) {
    auto span = new_span_id(a);
    CHECK(span != 0);
    CHECK(span == new_span_id(b));
    auto t = new_trace_id(a);
    CHECK_FALSE(t.empty());
    CHECK(t == new_trace_id(b));
  }
}

TEST_CASE("hostile traceparent and tracestate values never throw, and "
          "whatever is accepted is well-formed",
          "[runtime][core][trace]") {
  // Mutations of valid values plus random bytes, from a printed seed.
  const std::uint64_t seed = 0x7ace5eedULL;
  INFO("seed " << seed);
  rng gen{seed};
  const std::vector<std::string> bases = {
    valid_tp,
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
    "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    "a@b=1, c=2 ,d=3",
  };
  const std::string bytes =
    std::string("-=,@ \t\r\n\0\x7f\xff", 12) + "0123456789abcdefABCDEFxyz";
  std::size_t accepted_tp = 0;
  std::size_t accepted_ts = 0;
  for (int i = 0; i < 20000; ++i) {
    auto s = bases[gen.below(bases.size())];
    auto edits = 1 + gen.below(4);
    for (std::uint64_t e = 0; e < edits; ++e) {
      auto pos = s.empty() ? 0 : gen.below(s.size() + 1);
      auto c = bytes[gen.below(bytes.size())];
      switch (gen.below(4)) {
        case 0: // replace
          if (pos < s.size())
            s[pos] = c;
          break;
        case 1: // insert
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c);
          break;
        case 2: // erase
          if (pos < s.size())
            s.erase(pos, 1);
          break;
        default: // truncate or grow
          if (gen.below(2) == 0)
            s.resize(pos);
          else
            s.append(gen.below(600), c);
      }
    }
    INFO("case " << i);
    trace_context ctx;
    std::optional<std::string> p;
    REQUIRE_NOTHROW(p = parse_traceparent(s, ctx));
    if (!p) {
      ++accepted_tp;
      REQUIRE_FALSE(ctx.trace.empty());
      REQUIRE(ctx.parent_id != 0);
      auto again = format_traceparent(ctx, ctx.parent_id);
      trace_context ctx2;
      REQUIRE_FALSE(parse_traceparent(again, ctx2));
      REQUIRE(ctx2 == ctx);
    }
    std::string ts;
    REQUIRE_NOTHROW(p = parse_tracestate(s, ts));
    if (!p) {
      ++accepted_ts;
      REQUIRE(ts.size() <= max_tracestate_bytes);
      for (auto c : ts) {
        auto u = static_cast<unsigned char>(c);
        REQUIRE((u >= 0x20 && u <= 0x7E)); // safe in a header
      }
      std::string again;
      REQUIRE_FALSE(parse_tracestate(ts, again));
      REQUIRE(again == ts); // canonical form is a fixed point
    }
  }
  // The corpus exercises both branches.
  CHECK(accepted_tp > 0);
  CHECK(accepted_ts > 0);
}

TEST_CASE("child span ids are derived, never zero and distinct per child",
          "[runtime][core][trace]") {
  std::vector<std::uint64_t> ids;
  for (std::uint32_t n = 1; n <= 64; ++n) {
    auto id = child_span_id(0x00f067aa0ba902b7ULL, n);
    CHECK(id != 0);
    CHECK(id == child_span_id(0x00f067aa0ba902b7ULL, n));
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(child_span_id(1, 1) != child_span_id(2, 1));
}
