#include "bulwark/runtime/retry/retry_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/object_reader.hpp"

using namespace bulwark;

namespace {

const json_path at = json_path{} / "dependencies" / "payments" / "retry";

retry_config parse_text(std::string_view text, error_list& errs) {
  return parse_retry_config(boost::json::parse(text), at, errs);
}

bool same(const retry_config& a, const retry_config& b) {
  return a.enabled == b.enabled && a.max_attempts == b.max_attempts
         && a.retry_on == b.retry_on
         && a.per_attempt_timeout == b.per_attempt_timeout
         && a.backoff.kind == b.backoff.kind
         && a.backoff.jitter == b.backoff.jitter
         && a.backoff.base == b.backoff.base
         && a.backoff.multiplier == b.backoff.multiplier
         && a.backoff.cap == b.backoff.cap
         && a.honour_retry_after == b.honour_retry_after
         && a.max_retry_after == b.max_retry_after;
}

} // namespace

TEST_CASE("parsing the JSON of the default retry config yields the defaults",
          "[runtime][retry][config]") {
  error_list errs;
  auto json = to_json(retry_config{});
  auto cfg = parse_retry_config(json, at, errs);
  CHECK(errs.to_string() == "");
  CHECK(same(cfg, retry_config{}));
  CHECK(boost::json::serialize(json)
        == R"({"enabled":true,"max_attempts":3,)"
           R"("retry_on":["transient","timeout","overloaded"],)"
           R"("per_attempt_timeout":"1s","backoff":{"kind":"exponential",)"
           R"("jitter":"full","base":"100ms","multiplier":2E0,"cap":"10s"},)"
           R"("honour_retry_after":true,"max_retry_after":"1m"})");
}

TEST_CASE("every retry key is read and survives a round trip",
          "[runtime][retry][config]") {
  error_list errs;
  auto cfg = parse_text(R"({"enabled": false, "max_attempts": 5,
                            "retry_on": ["timeout", "persistent"],
                            "per_attempt_timeout": "250ms",
                            "backoff": {"kind": "constant", "jitter": "none",
                                        "base": "20ms", "cap": "20ms"},
                            "honour_retry_after": false,
                            "max_retry_after": "5s"})",
                        errs);
  CHECK(errs.to_string() == "");
  CHECK_FALSE(cfg.enabled);
  CHECK(cfg.max_attempts == 5);
  CHECK(
    cfg.retry_on
    == failure_class_set{failure_class::timeout, failure_class::persistent});
  CHECK(cfg.per_attempt_timeout == milliseconds(250));
  CHECK(cfg.backoff.kind == backoff_kind::constant);
  CHECK(cfg.backoff.jitter == jitter_kind::none);
  CHECK(cfg.backoff.base == milliseconds(20));
  CHECK(cfg.backoff.cap == milliseconds(20));
  CHECK_FALSE(cfg.honour_retry_after);
  CHECK(cfg.max_retry_after == seconds(5));
  error_list errs2;
  CHECK(same(parse_retry_config(to_json(cfg), at, errs2), cfg));
  CHECK(errs2.empty());
  // An empty retry_on is allowed: it retries nothing.
  error_list errs3;
  CHECK(parse_text(R"({"retry_on": []})", errs3).retry_on.empty());
  CHECK(errs3.empty());
}

TEST_CASE("bad retry documents report every error with its path",
          "[runtime][retry][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"("retry")",
     "/dependencies/payments/retry: must be an object (got: \"retry\")\n"},
    {R"({"max_attempts": 0})", "/dependencies/payments/retry/max_attempts: "
                               "must be between 1 and 10 (got: "
                               "0)\n"},
    {R"({"max_attempts": 11, "enabled": 1})",
     "/dependencies/payments/retry/enabled: must be true or false (got: 1)\n"
     "/dependencies/payments/retry/max_attempts: must be between 1 and 10 "
     "(got: "
     "11)\n"},
    {R"({"retry_on": "transient"})",
     "/dependencies/payments/retry/retry_on: must be an array of failure "
     "classes (got: \"transient\")\n"},
    {R"({"retry_on": ["transient", "flaky"]})",
     "/dependencies/payments/retry/retry_on/1: must be one of \"transient\", "
     "\"timeout\", \"overloaded\", \"persistent\", \"rejected_locally\", "
     "\"deadline_exceeded\", \"cancelled\" (got: \"flaky\")\n"},
    {R"({"retry_on": ["cancelled", "timeout", "rejected_locally",
                      "deadline_exceeded"]})",
     "/dependencies/payments/retry/retry_on/0: \"cancelled\" cannot be "
     "retried: "
     "nobody waits for a cancelled request\n"
     "/dependencies/payments/retry/retry_on/2: \"rejected_locally\" cannot be "
     "retried: a local rejection (breaker open, shed, budget) asks for less "
     "traffic, not another attempt\n"
     "/dependencies/payments/retry/retry_on/3: \"deadline_exceeded\" cannot be "
     "retried: no attempt can finish after the deadline has passed\n"},
    {R"({"per_attempt_timeout": "0s"})",
     "/dependencies/payments/retry/per_attempt_timeout: must be between 1ms "
     "and "
     "1h (got: \"0s\")\n"},
    {R"({"per_attempt_timeout": "1 s"})",
     "/dependencies/payments/retry/per_attempt_timeout: must be a duration "
     "with "
     "a unit (ns, us, ms, s, m, h) such as \"250ms\" (got: \"1 s\")\n"},
    {R"({"max_retry_after": "2h", "honour_retry_after": "yes"})",
     "/dependencies/payments/retry/honour_retry_after: must be true or false "
     "(got: \"yes\")\n"
     "/dependencies/payments/retry/max_retry_after: must be between 0s and 1h "
     "(got: \"2h\")\n"},
    {R"({"backoff": {"cap": "1ms", "kind": "random"}, "retries": 3})",
     "/dependencies/payments/retry/retries: unknown key (allowed: enabled, "
     "max_attempts, retry_on, per_attempt_timeout, backoff, "
     "honour_retry_after, "
     "max_retry_after)\n"
     "/dependencies/payments/retry/backoff/kind: must be one of \"constant\", "
     "\"linear\", \"exponential\" (got: \"random\")\n"
     "/dependencies/payments/retry/backoff/cap: must be at least base (100ms) "
     "(got: \"1ms\")\n"},
    {R"({"backoff": 5})",
     "/dependencies/payments/retry/backoff: must be an object (got: 5)\n"},
  };
  for (auto& r : rows) {
    CAPTURE(r.doc);
    error_list errs;
    auto cfg = parse_text(r.doc, errs);
    CHECK(errs.to_string() == r.errors);
    // Bad values keep their defaults.
    CHECK(same(cfg, retry_config{}));
  }
}

TEST_CASE(
  "the retry parser announces every key it accepts, nested ones included",
  "[runtime][retry][config]") {
  std::vector<std::string> keys;
  schema_sink() = &keys;
  error_list errs;
  parse_text("{}", errs);
  schema_sink() = nullptr;
  CHECK(keys
        == std::vector<std::string>{
          "/dependencies/payments/retry/enabled",
          "/dependencies/payments/retry/max_attempts",
          "/dependencies/payments/retry/retry_on",
          "/dependencies/payments/retry/per_attempt_timeout",
          "/dependencies/payments/retry/backoff",
          "/dependencies/payments/retry/honour_retry_after",
          "/dependencies/payments/retry/max_retry_after",
          "/dependencies/payments/retry/backoff/kind",
          "/dependencies/payments/retry/backoff/jitter",
          "/dependencies/payments/retry/backoff/base",
          "/dependencies/payments/retry/backoff/multiplier",
          "/dependencies/payments/retry/backoff/cap",
        });
}
