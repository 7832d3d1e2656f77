#include "bulwark/runtime/fallback/fallback_chain.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

fallback_config chain(std::string_view text) {
  error_list errs;
  auto cfg = parse_fallback_config(boost::json::parse(text),
                                   json_path{} / "fallback", errs);
  INFO(errs.to_string());
  REQUIRE(errs.empty());
  return cfg;
}

} // namespace

TEST_CASE("an empty chain never picks a step", "[runtime][fallback]") {
  fallback_config cfg;
  auto pick =
    next_fallback_step(cfg, failure_class::timeout, criticality::standard);
  CHECK_FALSE(pick);
  CHECK(pick.step == nullptr);
  CHECK(pick.index == 0);
}

TEST_CASE("the walk picks steps in order and skips those that do not handle "
          "the class",
          "[runtime][fallback]") {
  auto cfg = chain(R"([
    {"kind": "stale_cache"},
    {"kind": "alternate", "dependency": "backup", "on": ["timeout", "overloaded"]},
    {"kind": "static", "value": "v", "on": ["rejected_locally"]},
    {"kind": "fail_fast"}
  ])");
  SECTION("timeout: stale, then alternate, then fail fast") {
    auto p =
      next_fallback_step(cfg, failure_class::timeout, criticality::standard);
    REQUIRE(p);
    CHECK(p.index == 0);
    CHECK(p.step->kind == fallback_kind::stale_cache);
    // Nothing stale was cached: the actor moves the cursor on.
    p = next_fallback_step(cfg, failure_class::timeout, criticality::standard,
                           p.next_cursor());
    REQUIRE(p);
    CHECK(p.index == 1);
    CHECK(p.step->dependency == "backup");
    p = next_fallback_step(cfg, failure_class::timeout, criticality::standard,
                           p.next_cursor());
    REQUIRE(p);
    CHECK(p.index == 3);
    CHECK(p.step->kind == fallback_kind::fail_fast);
    p = next_fallback_step(cfg, failure_class::timeout, criticality::standard,
                           p.next_cursor());
    CHECK_FALSE(p);
    CHECK(p.index == 4);
  }
  SECTION("rejected locally: stale, then the static value") {
    auto p = next_fallback_step(cfg, failure_class::rejected_locally,
                                criticality::critical, 1);
    REQUIRE(p);
    CHECK(p.index == 2);
    CHECK(p.step->value == "v");
  }
  SECTION("persistent: stale, then fail fast") {
    auto p = next_fallback_step(cfg, failure_class::persistent,
                                criticality::standard, 1);
    REQUIRE(p);
    CHECK(p.index == 3);
  }
  SECTION("a cursor past the end picks nothing") {
    CHECK_FALSE(next_fallback_step(cfg, failure_class::timeout,
                                   criticality::standard, 99));
  }
}

TEST_CASE("sheddable requests skip alternate steps and keep the others",
          "[runtime][fallback]") {
  auto cfg = chain(R"([
    {"kind": "alternate", "dependency": "backup"},
    {"kind": "static", "value": "v"}
  ])");
  for (auto crit : {criticality::critical, criticality::standard}) {
    auto p = next_fallback_step(cfg, failure_class::transient, crit);
    REQUIRE(p);
    CHECK(p.index == 0);
  }
  auto p =
    next_fallback_step(cfg, failure_class::transient, criticality::sheddable);
  REQUIRE(p);
  CHECK(p.index == 1);
  CHECK(p.step->kind == fallback_kind::static_value);
}

TEST_CASE("a cancelled request gets no fallback even if a step lists it",
          "[runtime][fallback]") {
  fallback_config cfg;
  fallback_step step;
  step.kind = fallback_kind::static_value;
  step.value = "v";
  step.on.insert(failure_class::cancelled);
  cfg.steps.push_back(step);
  CHECK_FALSE(
    next_fallback_step(cfg, failure_class::cancelled, criticality::critical));
  CHECK(next_fallback_step(cfg, failure_class::timeout, criticality::critical));
}

TEST_CASE("fallback kinds map to the reply source they produce",
          "[runtime][fallback]") {
  reply_source src = reply_source::live;
  CHECK(reply_source_of(fallback_kind::stale_cache, src));
  CHECK(src == reply_source::stale_cache);
  CHECK(reply_source_of(fallback_kind::static_value, src));
  CHECK(src == reply_source::static_fallback);
  CHECK(reply_source_of(fallback_kind::alternate, src));
  CHECK(src == reply_source::alternate);
  CHECK_FALSE(reply_source_of(fallback_kind::fail_fast, src));
  CHECK(src == reply_source::alternate);
}

TEST_CASE("only sheddable requests prefer a fallback to a retry",
          "[runtime][fallback]") {
  CHECK(prefers_fallback(criticality::sheddable));
  CHECK_FALSE(prefers_fallback(criticality::standard));
  CHECK_FALSE(prefers_fallback(criticality::critical));
}

TEST_CASE("reply sources have distinct names and only fallbacks are degraded",
          "[runtime][fallback]") {
  CHECK(to_string(reply_source::live) == "live");
  CHECK(to_string(reply_source::fresh_cache) == "fresh_cache");
  CHECK(to_string(reply_source::stale_cache) == "stale_cache");
  CHECK(to_string(reply_source::static_fallback) == "static_fallback");
  CHECK(to_string(reply_source::alternate) == "alternate");
  CHECK_FALSE(is_degraded(reply_source::live));
  CHECK_FALSE(is_degraded(reply_source::fresh_cache));
  CHECK(is_degraded(reply_source::stale_cache));
  CHECK(is_degraded(reply_source::static_fallback));
  CHECK(is_degraded(reply_source::alternate));
}
