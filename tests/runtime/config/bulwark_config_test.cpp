#include "bulwark/runtime/config/bulwark_config.hpp"

#include <string>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/json_pretty.hpp"

using namespace bulwark;

namespace {

std::string errors_of(std::string_view text) {
  auto result = parse_bulwark_config(text);
  CHECK_FALSE(result.ok());
  return result.errors.to_string();
}

} // namespace

TEST_CASE("the default configuration parses back into itself",
          "[runtime][config]") {
  auto text = pretty_json(to_json(default_bulwark_config()));
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  CHECK(boost::json::serialize(to_json(*result.config))
        == boost::json::serialize(to_json(default_bulwark_config())));
}

TEST_CASE("a minimal document gets every default", "[runtime][config]") {
  auto result = parse_bulwark_config(R"({"dependencies": {"payments": {}}})");
  REQUIRE(result.ok());
  auto* dep = result.config->find("payments");
  REQUIRE(dep != nullptr);
  CHECK(dep->repeat == idempotency::unsafe);
  CHECK(dep->default_timeout == seconds(5));
  CHECK(result.config->find("nope") == nullptr);
}

TEST_CASE("operations override how a dependency's calls may be repeated",
          "[runtime][config]") {
  auto result = parse_bulwark_config(R"({"dependencies": {"payments": {
      "idempotency": "idempotent",
      "operations": {"charge": {"idempotency": "keyed"}}}}})");
  REQUIRE(result.ok());
  auto& dep = result.config->dependencies.at(0);
  CHECK(dep.idempotency_of("charge") == idempotency::keyed);
  CHECK(dep.idempotency_of("get") == idempotency::idempotent);
}

TEST_CASE("the top level requires dependencies and rejects anything else",
          "[runtime][config]") {
  CHECK(errors_of("{}") == "/dependencies: is required\n");
  CHECK(errors_of("[]") == "(root): must be an object (got: [])\n");
  CHECK(
    errors_of(R"({"dependencies": {}, "extra": true})")
    == "/extra: unknown key (allowed: dependencies, supervisors, cluster)\n");
  CHECK(errors_of(R"({"dependencies": [1]})")
        == "/dependencies: must be an object mapping dependency names to their "
           "settings (got: [1])\n");
}

TEST_CASE("bad dependency fields are all reported with their paths",
          "[runtime][config]") {
  CHECK(
    errors_of(R"({"dependencies": {
          "bad name!": {},
          "payments": {"idempotency": 3, "default_timeout": "-1s",
                       "operations": {"charge": {"idempotency": "twice"}}},
          "search": {"default_timeout": "1ms5", "operations": []}}})")
    == "/dependencies/bad name!: dependency names must be 1 to 64 "
       "characters of A-Z, a-z, 0-9, '_', '-', '.'\n"
       "/dependencies/payments/idempotency: must be one of \"idempotent\", "
       "\"keyed\", \"unsafe\" (got: 3)\n"
       "/dependencies/payments/default_timeout: must not be negative "
       "(got: \"-1s\")\n"
       "/dependencies/payments/operations/charge/idempotency: must be one of "
       "\"idempotent\", \"keyed\", \"unsafe\" (got: \"twice\")\n"
       "/dependencies/search/default_timeout: must be a duration with a unit "
       "(ns, us, ms, s, m, h) such as \"250ms\" (got: \"1ms5\")\n"
       "/dependencies/search/operations: must be an object mapping operation "
       "names to settings (got: [])\n");
}

TEST_CASE("garbage never throws and never yields a config",
          "[runtime][config]") {
  SECTION("not JSON") {
    CHECK_THAT(errors_of("{\"dependencies\": "),
               Catch::StartsWith("(document): invalid JSON at line 1"));
  }
  SECTION("non-UTF-8 bytes inside a string") {
    CHECK_THAT(errors_of("{\"dependencies\": {\"p\xc3\x28\": {}}}"),
               Catch::StartsWith("(document): invalid JSON"));
  }
  SECTION("deeply nested garbage") {
    std::string deep = "{\"dependencies\": {\"p\": {\"operations\": ";
    for (int i = 0; i < 100000; ++i)
      deep += "[";
    CHECK_THAT(errors_of(deep), Catch::StartsWith("(document): invalid JSON"));
  }
  SECTION("nested garbage within the depth limit") {
    std::string deep;
    for (int i = 0; i < 50; ++i)
      deep += "{\"a\":";
    deep += "1";
    for (int i = 0; i < 50; ++i)
      deep += "}";
    auto text =
      R"({"dependencies": {"p": {"operations": {"x": )" + deep + "}}}}";
    CHECK_THAT(errors_of(text),
               Catch::Contains("/dependencies/p/operations/x/a: unknown key"));
  }
  SECTION("random bytes") {
    std::string bytes;
    std::uint32_t x = 12345;
    for (int i = 0; i < 4096; ++i) {
      x = x * 1664525u + 1013904223u;
      bytes += static_cast<char>(x >> 24);
    }
    CHECK_THAT(errors_of(bytes), Catch::StartsWith("(document): "));
  }
}

TEST_CASE("a 10 MB document is parsed and its errors are bounded",
          "[runtime][config]") {
  std::string text = R"({"dependencies": {)";
  int i = 0;
  while (text.size() < 10 * 1024 * 1024) {
    if (i > 0)
      text += ',';
    text +=
      "\"dep" + std::to_string(i++)
      + R"(": {"idempotency": "idempotent", "default_timeout": "1s", "bogus": 1})";
  }
  text += "}}";
  auto result = parse_bulwark_config(text);
  REQUIRE_FALSE(result.ok());
  CHECK(result.errors.size() == static_cast<std::size_t>(i));
  CHECK(result.errors.errors().size() == error_list::max_stored);
  CHECK_THAT(result.errors.to_string(),
             Catch::EndsWith(fmt::format("... and {} more errors\n",
                                         i - error_list::max_stored)));
}

TEST_CASE("a 10 MB valid document is accepted whole", "[runtime][config]") {
  std::string text = R"({"dependencies": {)";
  int i = 0;
  while (text.size() < 10 * 1024 * 1024) {
    if (i > 0)
      text += ',';
    text += "\"dep" + std::to_string(i++) + R"(": {"default_timeout": "1s"})";
  }
  text += "}}";
  auto result = parse_bulwark_config(text);
  REQUIRE(result.ok());
  CHECK(result.config->dependencies.size() == static_cast<std::size_t>(i));
}

TEST_CASE("hedging an unsafe operation is rejected at the hedge switch",
          "[runtime][config]") {
  CHECK(
    errors_of(R"({"dependencies": {"payments": {"hedge": {"enabled": true}}}})")
    == "/dependencies/payments/hedge/enabled: cannot hedge: the dependency's "
       "operations are \"unsafe\" by default (/dependencies/payments/"
       "idempotency); declare them \"idempotent\" or \"keyed\", or turn "
       "hedging off\n");
  CHECK(errors_of(R"({"dependencies": {"payments": {
          "idempotency": "keyed",
          "operations": {"refund": {"idempotency": "unsafe"}},
          "hedge": {"enabled": true}}}})")
        == "/dependencies/payments/hedge/enabled: cannot hedge: operation "
           "\"refund\" is \"unsafe\" (/dependencies/payments/operations/refund/"
           "idempotency); declare it \"idempotent\" or \"keyed\", or turn "
           "hedging off\n");
  auto ok = parse_bulwark_config(R"({"dependencies": {"payments": {
          "idempotency": "keyed", "hedge": {"enabled": true}}}})");
  CHECK(ok.ok());
}

TEST_CASE("an alternate fallback must name another dependency of the document",
          "[runtime][config]") {
  CHECK(
    errors_of(R"({"dependencies": {
          "a": {"fallback": [{"kind": "alternate", "dependency": "b"}]},
          "c": {"fallback": [{"kind": "alternate", "dependency": "c"}]}}})")
    == "/dependencies/a/fallback/0/dependency: names no dependency of this "
       "document (got: \"b\")\n"
       "/dependencies/c/fallback/0/dependency: an alternate must be another "
       "dependency (got: \"c\")\n");
}

TEST_CASE("errors from every policy section are reported together",
          "[runtime][config]") {
  auto text = errors_of(R"({"dependencies": {"p": {
      "retry": {"max_attempts": 0},
      "breaker": {"failure_rate_threshold": 101},
      "bulkhead": {"max_concurrent": -1},
      "cache": {"ttl": 5},
      "hedge": {"bogus": true},
      "budget": {"mode": "lots"},
      "classification": {"timeout_statuses": [999]},
      "fallback": [{"kind": "nope"}],
      "journeys": {"recent": "many"}}}})");
  for (auto path :
       {"/dependencies/p/retry/max_attempts",
        "/dependencies/p/breaker/failure_rate_threshold",
        "/dependencies/p/bulkhead/max_concurrent", "/dependencies/p/cache/ttl",
        "/dependencies/p/hedge/bogus", "/dependencies/p/budget/mode",
        "/dependencies/p/classification/timeout_statuses/0",
        "/dependencies/p/fallback/0/kind", "/dependencies/p/journeys/recent"}) {
    INFO(path << " in\n" << text);
    CHECK_THAT(text, Catch::Contains(std::string{path} + ": "));
  }
}
