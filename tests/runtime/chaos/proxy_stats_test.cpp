#include "bulwark/runtime/chaos/proxy_stats.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

proxy_decision forward() {
  return proxy_decision{};
}

proxy_decision error(failure_class cls) {
  proxy_decision d;
  d.action = proxy_action::error;
  d.failure = cls;
  return d;
}

} // namespace

TEST_CASE("a key forwarded twice is a duplicate that reached the service; "
          "a retry after an injected error is a repeat but not a duplicate",
          "[runtime][chaos][stats]") {
  proxy_stats s;
  s.observe("charge", "k1", true, error(failure_class::transient));
  s.observe("charge", "k1", true, forward()); // the retry gets through
  s.observe("charge", "k2", true, forward());
  s.observe("charge", "k2", true, forward()); // k2 executed twice
  s.observe("charge", "", true, forward()); // no key
  s.observe("charge", "bad key", false, forward());
  s.observe("refund", "k1", true, forward()); // another route: new key
  auto r = s.route("charge");
  CHECK(r.requests == 6);
  CHECK(r.forwarded == 5);
  CHECK(r.keyed == 4);
  CHECK(r.repeated_keys == 2);
  CHECK(r.duplicates == 1);
  CHECK(r.invalid_keys == 1);
  CHECK(r.count(injected_fault::transient) == 1);
  CHECK(s.route("refund").duplicates == 0);
  auto j = s.to_json();
  CHECK(j.at("routes").at("charge").at("injected").at("transient").as_uint64()
        == 1);
  CHECK(j.at("keys").at("remembered").as_uint64() == 3);
}

TEST_CASE("injected faults are counted by kind, latency and slow bodies "
          "alongside the action",
          "[runtime][chaos][stats]") {
  proxy_stats s;
  proxy_decision d;
  d.action = proxy_action::reset;
  d.latency = milliseconds(1);
  s.observe("x", "", true, d);
  d = proxy_decision{};
  d.action = proxy_action::black_hole;
  s.observe("x", "", true, d);
  d = proxy_decision{};
  d.slow_body = true;
  s.observe("x", "", true, d);
  s.observe("x", "", true, error(failure_class::overloaded));
  s.upstream_failed("x");
  auto r = s.route("x");
  CHECK(r.count(injected_fault::reset) == 1);
  CHECK(r.count(injected_fault::black_hole) == 1);
  CHECK(r.count(injected_fault::slow_body) == 1);
  CHECK(r.count(injected_fault::latency) == 1);
  CHECK(r.count(injected_fault::overloaded) == 1);
  CHECK(r.upstream_errors == 1);
  CHECK(r.forwarded == 1);
}

TEST_CASE("memory stays bounded: old keys are forgotten past capacity and "
          "route names past the limit count under (other)",
          "[runtime][chaos][stats]") {
  proxy_stats s{2};
  s.observe("r", "a", true, forward());
  s.observe("r", "b", true, forward());
  s.observe("r", "c", true, forward()); // forgets a
  s.observe("r", "a", true, forward()); // counted as new
  s.observe("r", "c", true, forward()); // still remembered
  CHECK(s.route("r").duplicates == 1);
  CHECK(s.to_json().at("keys").at("forgotten").as_uint64() == 2);
  for (std::size_t i = 0; i < proxy_stats::max_routes + 10; ++i)
    s.observe("route-" + std::to_string(i), "", true, forward());
  CHECK(s.route("(other)").requests > 0);
  CHECK(s.to_json().at("routes").as_object().size()
        == proxy_stats::max_routes + 1);
  CHECK(key_fingerprint("ab", "c") != key_fingerprint("a", "bc"));
  s.clear();
  CHECK(s.route("r").requests == 0);
}
