#include "bulwark/runtime/cache/cache_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

cache_config parse(std::string_view text, error_list& errors) {
  return parse_cache_config(boost::json::parse(text),
                            json_path{} / "dependencies" / "db" / "cache",
                            errors);
}

} // namespace

TEST_CASE("the cache defaults survive a round trip through JSON",
          "[runtime][cache][config]") {
  error_list errors;
  auto cfg = parse_cache_config(to_json(cache_config{}), json_path{}, errors);
  CHECK(errors.empty());
  cache_config defaults;
  CHECK(cfg.enabled == defaults.enabled);
  CHECK(cfg.max_entries == defaults.max_entries);
  CHECK(cfg.ttl == defaults.ttl);
  CHECK(cfg.stale_while_revalidate == defaults.stale_while_revalidate);
  CHECK(cfg.stale_if_error == defaults.stale_if_error);
  CHECK(boost::json::serialize(to_json(defaults))
        == R"({"enabled":false,"max_entries":1024,"ttl":"30s",)"
           R"("stale_while_revalidate":"0s","stale_if_error":"0s"})");
}

TEST_CASE("a complete cache object is read into the config",
          "[runtime][cache][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": true, "max_entries": 5000, "ttl": "2m",
                       "stale_while_revalidate": "30s",
                       "stale_if_error": "1h"})",
                   errors);
  CHECK(errors.empty());
  CHECK(cfg.enabled);
  CHECK(cfg.max_entries == 5000);
  CHECK(cfg.ttl == minutes(2));
  CHECK(cfg.stale_while_revalidate == seconds(30));
  CHECK(cfg.stale_if_error == hours(1));
  error_list round_errors;
  auto again = parse_cache_config(to_json(cfg), json_path{}, round_errors);
  CHECK(round_errors.empty());
  CHECK(again.ttl == cfg.ttl);
  CHECK(again.stale_if_error == cfg.stale_if_error);
}

TEST_CASE("bad cache documents report every error with its full text",
          "[runtime][cache][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"({"max_entries": 0})",
     "/dependencies/db/cache/max_entries: must be between 1 and 10000000 "
     "(got: 0)\n"},
    {R"({"max_entries": 10000001, "enabled": 1})",
     "/dependencies/db/cache/enabled: must be true or false (got: 1)\n"
     "/dependencies/db/cache/max_entries: must be between 1 and 10000000 "
     "(got: 10000001)\n"},
    {R"({"enabled": true, "ttl": "0s"})",
     "/dependencies/db/cache/ttl: must be greater than 0s when the cache is "
     "enabled (got: \"0s\")\n"},
    {R"({"ttl": "8d"})",
     "/dependencies/db/cache/ttl: must be a duration with a unit (ns, us, ms, "
     "s, m, h) such as \"250ms\" (got: \"8d\")\n"},
    {R"({"ttl": "169h", "stale_while_revalidate": 5,
         "stale_if_error": "-1s"})",
     "/dependencies/db/cache/ttl: must be between 0s and 168h (got: \"169h\")\n"
     "/dependencies/db/cache/stale_while_revalidate: must be a duration string "
     "with a unit such as \"250ms\" (got: 5)\n"
     "/dependencies/db/cache/stale_if_error: must not be negative (got: "
     "\"-1s\")\n"},
    {R"({"enabled": true, "ttl": "1s", "size": 10})",
     "/dependencies/db/cache/size: unknown key (allowed: enabled, max_entries, "
     "ttl, stale_while_revalidate, stale_if_error)\n"},
    {R"("on")", "/dependencies/db/cache: must be an object (got: \"on\")\n"},
  };
  for (auto& r : rows) {
    INFO(r.doc);
    error_list errors;
    parse(r.doc, errors);
    CHECK(errors.to_string() == r.errors);
  }
}

TEST_CASE("a zero ttl is accepted while the cache is disabled",
          "[runtime][cache][config]") {
  error_list errors;
  auto cfg = parse(R"({"enabled": false, "ttl": "0s"})", errors);
  CHECK(errors.empty());
  CHECK(cfg.ttl == duration{0});
}
