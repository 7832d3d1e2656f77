// Supervisor sections of the configuration document: defaults, the derived
// idempotency, and every rule that keeps a bad tree from starting (unknown
// member, shared member, cycle, hedging an unsafe operation), with the full
// error text.
#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"

using namespace bulwark;

namespace {

const std::string deps = R"("dependencies": {
  "a": {"idempotency": "idempotent"},
  "b": {"idempotency": "keyed", "operations": {"charge": {"idempotency": "unsafe"}}},
  "c": {"idempotency": "idempotent", "operations": {"put": {"idempotency": "keyed"}}},
  "u": {}})";

std::string doc(const std::string& supervisors) {
  return "{" + deps + R"(, "supervisors": )" + supervisors + "}";
}

std::string errors_of(const std::string& text) {
  auto result = parse_bulwark_config(text);
  CHECK_FALSE(result.ok());
  return result.errors.to_string();
}

} // namespace

TEST_CASE("a supervisor gets every default and round-trips",
          "[runtime][supervise]") {
  auto result = parse_bulwark_config(doc(R"({"s": {"members": ["a", "c"]}})"));
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  auto* sup = result.config->find_supervisor("s");
  REQUIRE(sup != nullptr);
  CHECK(sup->members == std::vector<std::string>{"a", "c"});
  CHECK(sup->routing == routing_kind::round_robin);
  CHECK(sup->failover);
  CHECK(sup->max_failovers == 2);
  CHECK(sup->default_timeout == seconds(5));
  CHECK_FALSE(sup->hedge.enabled);
  CHECK(result.config->find_supervisor("a") == nullptr);
  auto again = parse_bulwark_config(pretty_json(to_json(*result.config)));
  INFO(again.errors.to_string());
  REQUIRE(again.ok());
  CHECK(boost::json::serialize(to_json(*again.config))
        == boost::json::serialize(to_json(*result.config)));
}

TEST_CASE("a supervisor's operations are as safe as its least safe member",
          "[runtime][supervise]") {
  auto result = parse_bulwark_config(
    doc(R"({"s": {"members": ["a", "c"]}, "t": {"members": ["s", "b"]}})"));
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  auto* s = result.config->find_supervisor("s");
  auto* t = result.config->find_supervisor("t");
  CHECK(s->idempotency_of("get") == idempotency::idempotent);
  CHECK(s->idempotency_of("put") == idempotency::keyed);
  CHECK(t->idempotency_of("get") == idempotency::keyed);
  CHECK(t->idempotency_of("put") == idempotency::keyed);
  CHECK(t->idempotency_of("charge") == idempotency::unsafe);
}

TEST_CASE("hedging through a supervisor is allowed only when no member's "
          "operation is unsafe",
          "[runtime][supervise]") {
  CHECK(parse_bulwark_config(
          doc(R"({"s": {"members": ["a", "c"], "hedge": {"enabled": true}}})"))
          .ok());
  CHECK(
    errors_of(
      doc(R"({"s": {"members": ["a", "b"], "hedge": {"enabled": true}}})"))
    == "/supervisors/s/hedge/enabled: cannot hedge: operation \"charge\" is "
       "\"unsafe\" in a member; declare it \"idempotent\" or \"keyed\" there, "
       "or turn hedging off\n");
  CHECK(
    errors_of(
      doc(R"({"s": {"members": ["a", "u"], "hedge": {"enabled": true}}})"))
    == "/supervisors/s/hedge/enabled: cannot hedge: a member's operations are "
       "\"unsafe\" by default (every member must declare \"idempotency\": "
       "\"idempotent\" or \"keyed\"), or turn hedging off\n");
}

TEST_CASE("a bad supervisor tree is rejected with every error and its path",
          "[runtime][supervise]") {
  CHECK(
    errors_of(doc(R"({"s": {"members": ["a", "nope"]}})"))
    == "/supervisors/s/members/1: unknown member \"nope\": no dependency or "
       "supervisor of that name\n");
  CHECK(
    errors_of(doc(R"({"s": {"members": ["a"]}, "t": {"members": ["a", "b"]}})"))
    == "/supervisors/t/members/0: \"a\" is already a member of supervisor "
       "\"s\": a member has one supervisor, which restarts it\n");
  CHECK(errors_of(doc(R"({"s": {"members": ["t"]}, "t": {"members": ["s"]}})"))
        == "/supervisors/t/members/0: supervisors form a cycle: s -> t -> s\n");
  CHECK(errors_of(doc(R"({"s": {"members": ["s", "a"]}})"))
        == "/supervisors/s/members/0: supervisors form a cycle: s -> s\n");
  CHECK(errors_of(doc(R"({"a": {"members": ["c"]}})"))
        == "/supervisors/a: \"a\" names a dependency too; dependency and "
           "supervisor names must differ\n");
  CHECK(errors_of(doc(R"({"s": {"members": []}})"))
        == "/supervisors/s/members: must be a non-empty array of dependency or "
           "supervisor names (got: [])\n");
  CHECK(errors_of(doc(R"({"s": {}})"))
        == "/supervisors/s/members: is required\n");
  CHECK(errors_of(doc(R"({"s": {"members": ["a", "a", 3], "routing": "random",
                             "max_failovers": 9, "bogus": 1}})"))
        == "/supervisors/s/bogus: unknown key (allowed: members, routing, "
           "failover, max_failovers, failover_on, rejection_cooldown, "
           "default_timeout, hedge, "
           "budget, outlier_detection, restart)\n"
           "/supervisors/s/members/1: \"a\" is listed twice\n"
           "/supervisors/s/members/2: must be a dependency or supervisor name "
           "(got: 3)\n"
           "/supervisors/s/routing: must be one of \"round_robin\", "
           "\"least_outstanding\", \"power_of_two\" (got: \"random\")\n"
           "/supervisors/s/max_failovers: must be between 0 and 7 (got: 9)\n");
  CHECK(errors_of(R"({"dependencies": {}, "supervisors": []})")
        == "/supervisors: must be an object mapping supervisor names to their "
           "settings (got: [])\n");
}
