#include "bulwark/runtime/retry/backoff_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

const json_path at =
  json_path{} / "dependencies" / "payments" / "retry" / "backoff";

backoff_config parse_text(std::string_view text, error_list& errs) {
  return parse_backoff_config(boost::json::parse(text), at, errs);
}

bool same(const backoff_config& a, const backoff_config& b) {
  return a.kind == b.kind && a.jitter == b.jitter && a.base == b.base
         && a.multiplier == b.multiplier && a.cap == b.cap;
}

} // namespace

TEST_CASE("parsing the JSON of the default backoff yields the defaults",
          "[runtime][retry][config]") {
  error_list errs;
  auto json = to_json(backoff_config{});
  auto cfg = parse_backoff_config(json, at, errs);
  CHECK(errs.to_string() == "");
  CHECK(same(cfg, backoff_config{}));
  CHECK(boost::json::serialize(json)
        == R"({"kind":"exponential","jitter":"full","base":"100ms",)"
           R"("multiplier":2E0,"cap":"10s"})");
}

TEST_CASE("an empty backoff object keeps every default",
          "[runtime][retry][config]") {
  error_list errs;
  CHECK(same(parse_text("{}", errs), backoff_config{}));
  CHECK(errs.empty());
}

TEST_CASE("every backoff key is read and survives a round trip",
          "[runtime][retry][config]") {
  error_list errs;
  auto cfg = parse_text(R"({"kind": "linear", "jitter": "decorrelated",
                            "base": "25ms", "multiplier": 1.5, "cap": "250ms"})",
                        errs);
  CHECK(errs.to_string() == "");
  CHECK(cfg.kind == backoff_kind::linear);
  CHECK(cfg.jitter == jitter_kind::decorrelated);
  CHECK(cfg.base == milliseconds(25));
  CHECK(cfg.multiplier == 1.5);
  CHECK(cfg.cap == milliseconds(250));
  error_list errs2;
  CHECK(same(parse_backoff_config(to_json(cfg), at, errs2), cfg));
  CHECK(errs2.empty());
}

TEST_CASE("bad backoff documents report every error with its path",
          "[runtime][retry][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"([])",
     "/dependencies/payments/retry/backoff: must be an object (got: [])\n"},
    {R"({"kind": "fibonacci"})",
     "/dependencies/payments/retry/backoff/kind: must be one of \"constant\", "
     "\"linear\", \"exponential\" (got: \"fibonacci\")\n"},
    {R"({"jitter": true})",
     "/dependencies/payments/retry/backoff/jitter: must be one of \"none\", "
     "\"full\", \"equal\", \"decorrelated\" (got: true)\n"},
    {R"({"base": "-1ms", "cap": 5})",
     "/dependencies/payments/retry/backoff/base: must not be negative (got: "
     "\"-1ms\")\n"
     "/dependencies/payments/retry/backoff/cap: must be a duration string with "
     "a unit such as \"250ms\" (got: 5)\n"},
    {R"({"base": "2h"})",
     "/dependencies/payments/retry/backoff/base: must be between 0s and 1h "
     "(got: \"2h\")\n"},
    {R"({"multiplier": 0.5})", "/dependencies/payments/retry/backoff/"
                               "multiplier: must be between 1 and 10 "
                               "(got: 5E-1)\n"},
    {R"({"multiplier": "2"})",
     "/dependencies/payments/retry/backoff/multiplier: must be a number (got: "
     "\"2\")\n"},
    {R"({"base": "1s", "cap": "500ms"})",
     "/dependencies/payments/retry/backoff/cap: must be at least base (1s) "
     "(got: \"500ms\")\n"},
    {R"({"base": "20s"})",
     "/dependencies/payments/retry/backoff/base: must not exceed cap (10s) "
     "(got: \"20s\")\n"},
    {R"({"cap": "50ms"})",
     "/dependencies/payments/retry/backoff/cap: must be at least base (100ms) "
     "(got: \"50ms\")\n"},
    {R"({"max": "1s", "kind": "constant"})",
     "/dependencies/payments/retry/backoff/max: unknown key (allowed: kind, "
     "jitter, base, multiplier, cap)\n"},
  };
  for (auto& r : rows) {
    CAPTURE(r.doc);
    error_list errs;
    auto cfg = parse_text(r.doc, errs);
    CHECK(errs.to_string() == r.errors);
    // A bad value never leaves an inconsistent pair behind.
    CHECK(cfg.cap >= cfg.base);
  }
}
