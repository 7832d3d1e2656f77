// The registry of live incarnations: names that never ran are not listed,
// an update replaces the live handle and counts incarnations, the transport
// and the document are what was last recorded.
#include "bulwark/actors/host/service_registry.hpp"

#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

std::shared_ptr<const bulwark_config> doc(const std::string& text) {
  auto r = parse_bulwark_config(text);
  REQUIRE(r.ok());
  return std::make_shared<const bulwark_config>(*r.config);
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "the registry lists live incarnations and counts restarts",
                 "[actors][host]") {
  service_registry reg{doc(R"({"dependencies": {"a": {}}})")};
  auto one = make_probe().handle();
  auto two = make_probe().handle();
  auto t = make_probe().handle();
  CHECK(reg.dependencies().empty());
  CHECK_FALSE(reg.dependency("a"));
  CHECK(reg.incarnation("a") == 0);
  // A transport alone does not make a dependency live.
  reg.update_dependency(
    "a", [&](service_registry::dependency_entry& e) { e.transport = t; });
  CHECK(reg.dependencies().empty());
  CHECK(reg.transport("a") == t);
  reg.update_dependency("a", [&](service_registry::dependency_entry& e) {
    e.handle = one;
    ++e.incarnation;
  });
  reg.update_dependency("a", [&](service_registry::dependency_entry& e) {
    CHECK(e.transport == t);
    e.handle = two;
    ++e.incarnation;
  });
  CHECK(reg.dependency("a") == two);
  CHECK(reg.incarnation("a") == 2);
  REQUIRE(reg.dependencies().size() == 1);
  CHECK(caf::actor_cast<caf::actor>(reg.dependencies().at("a")) == two);
  reg.update_supervisor("s", [&](service_registry::supervisor_entry& e) {
    e.handle = one;
    ++e.incarnation;
  });
  CHECK(reg.supervisor("s") == one);
  CHECK_FALSE(reg.dependency("s"));
  CHECK(reg.supervisors().size() == 1);
  auto next = doc(R"({"dependencies": {"a": {}, "b": {}}})");
  std::vector<std::shared_ptr<const bulwark_config>> seen;
  reg.on_document([&](const std::shared_ptr<const bulwark_config>& d) {
    // Called outside the lock: the registry can be read here.
    CHECK(reg.document() == d);
    seen.push_back(d);
  });
  reg.set_document(next);
  CHECK(reg.document() == next);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == next);
}
