// The gate messages survive CAF's serializer with their actor handles, and a
// peer's message past any bound, with a count that does not match or an enum
// out of range, is refused on load before it reaches a gate.
#include "bulwark/actors/protocol/cluster_messages.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

node_hello sample_hello() {
  node_hello x;
  x.version = 1;
  x.types_digest = 0x0123456789abcdefULL;
  x.node = "pay-a";
  x.epoch = 77;
  x.heartbeat_ns = 100'000'000;
  x.timeout_ns = 500'000'000;
  return x;
}

template <class T>
caf::error load(caf::actor_system& sys, T x, T& out) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x))
    return err;
  caf::binary_deserializer source{sys, buf};
  return source(out);
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a welcome crosses with its published handles and "
                 "idempotencies",
                 "[actors][messages]") {
  auto target = sys.spawn([] { return caf::behavior{[](int) {}}; });
  node_welcome w;
  w.node = sample_hello();
  w.accepted = true;
  published_entry e;
  e.name = "payments";
  e.kind = published_kind::supervisor;
  e.handle = target;
  e.operations = {"charge", "quote"};
  e.idempotencies = {idempotency::keyed, idempotency::idempotent};
  e.default_idempotency = idempotency::idempotent;
  w.entries.push_back(e);
  w.entries.push_back(
    published_entry{"down", published_kind::dependency, caf::actor{}, {}, {}});
  node_welcome y;
  REQUIRE(!load(sys, w, y));
  CHECK(y.node == sample_hello());
  CHECK(y.accepted);
  REQUIRE(y.entries.size() == 2);
  CHECK(y.entries[0].name == "payments");
  CHECK(y.entries[0].kind == published_kind::supervisor);
  CHECK(y.entries[0].handle == target);
  CHECK(y.entries[0].operations == e.operations);
  CHECK(y.entries[0].idempotencies == e.idempotencies);
  CHECK(y.entries[0].default_idempotency == idempotency::idempotent);
  CHECK(y.entries[1].default_idempotency == idempotency::unsafe);
  CHECK(y.entries[1].kind == published_kind::dependency);
  CHECK_FALSE(y.entries[1].handle);
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  run();
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a hello or welcome past a bound is refused on load",
                 "[actors][messages]") {
  node_hello h;
  auto long_name = sample_hello();
  long_name.node.assign(max_node_name_bytes + 1, 'a');
  CHECK(load(sys, long_name, h) == caf::sec::invalid_argument);
  auto edge = sample_hello();
  edge.node.assign(max_node_name_bytes, 'a');
  CHECK(!load(sys, edge, h));
  node_welcome w, out;
  w.refusal.assign(max_refusal_bytes + 1, 'x');
  CHECK(load(sys, w, out) == caf::sec::invalid_argument);
  w.refusal.clear();
  w.entries.resize(max_published_names + 1);
  CHECK(load(sys, w, out) == caf::sec::invalid_argument);
  w.entries.resize(max_published_names);
  CHECK(!load(sys, w, out));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a published entry with mismatched lists or enums out of "
                 "range is refused on load",
                 "[actors][messages]") {
  published_entry out;
  published_entry e;
  e.name = "payments";
  e.operations = {"charge"};
  e.idempotencies = {};
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.idempotencies = {static_cast<idempotency>(3)};
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.idempotencies = {idempotency::unsafe};
  CHECK(!load(sys, e, out));
  CHECK(out.idempotencies == e.idempotencies);
  e.default_idempotency = static_cast<idempotency>(3);
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.default_idempotency = idempotency::keyed;
  e.kind = static_cast<published_kind>(published_kind_count);
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  // A ledger owner declares no operations.
  e.kind = published_kind::ledger;
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.operations = {};
  e.idempotencies = {};
  CHECK(!load(sys, e, out));
  CHECK(out.kind == published_kind::ledger);
  e.kind = published_kind::dependency;
  e.operations = {std::string(max_operation_name_bytes + 1, 'o')};
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.operations.assign(max_published_operations + 1, "op");
  e.idempotencies.assign(max_published_operations + 1, idempotency::keyed);
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
  e.name.assign(max_published_name_bytes + 1, 'n');
  e.operations = {};
  e.idempotencies = {};
  CHECK(load(sys, e, out) == caf::sec::invalid_argument);
}

TEST_CASE("published kinds have names", "[actors][messages]") {
  CHECK(to_string(published_kind::dependency) == "dependency");
  CHECK(to_string(published_kind::supervisor) == "supervisor");
  CHECK(to_string(published_kind::ledger) == "ledger");
}
