// The gate's answers in virtual time: a peer with our protocol, message types
// and heartbeat settings gets every published entry; any difference is
// refused with its reason and no entry; names resolve one by one, and what
// the gate does not know is counted, never answered.
#include "bulwark/actors/cluster/node_gate.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

node_hello facts(std::string node) {
  node_hello h;
  h.version = cluster_protocol_version;
  h.types_digest = 42;
  h.node = std::move(node);
  h.epoch = 1;
  h.heartbeat_ns = 100'000'000;
  h.timeout_ns = 500'000'000;
  return h;
}

struct fixture : deterministic_fixture {
  probe target = make_probe();
  caf::actor gate;

  fixture() {
    node_gate_options opts;
    opts.local = facts("pay-a");
    published_entry e;
    e.name = "payments";
    e.kind = published_kind::supervisor;
    e.handle = target.handle();
    e.operations = {"charge"};
    e.idempotencies = {idempotency::keyed};
    opts.entries.push_back(std::move(e));
    gate = spawn_node_gate(sys, std::move(opts));
  }

  ~fixture() override {
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
    run();
  }

  node_welcome greet(node_hello h) {
    auto peer = make_probe();
    peer.send(gate, hello_atom::value, std::move(h));
    run();
    REQUIRE(peer.size() == 1);
    REQUIRE(peer[0].is<hello_atom, node_welcome>());
    return peer.messages()[0].get<node_welcome>(1);
  }

  std::string stats() {
    auto p = make_probe();
    p.send(gate, stats_atom::value);
    run();
    REQUIRE(p.size() == 1);
    return p.messages()[0].get<std::string>(1);
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a peer like us is welcomed with every published entry",
                 "[actors][cluster]") {
  auto w = greet(facts("gateway"));
  CHECK(w.accepted);
  CHECK(w.refusal.empty());
  CHECK(w.node.node == "pay-a");
  REQUIRE(w.entries.size() == 1);
  CHECK(w.entries[0].name == "payments");
  CHECK(w.entries[0].handle == target.handle());
  CHECK(w.entries[0].idempotencies
        == std::vector<idempotency>{idempotency::keyed});
}

TEST_CASE_METHOD(fixture,
                 "a peer with other message types, heartbeats, version or our "
                 "own name is refused with the reason and no entry",
                 "[actors][cluster]") {
  auto types = facts("gateway");
  types.types_digest = 43;
  auto heartbeats = facts("gateway");
  heartbeats.heartbeat_ns = 200'000'000;
  auto version = facts("gateway");
  version.version = cluster_protocol_version + 1;
  auto same = facts("pay-a");
  auto hostile = facts("gate\r\nway");
  for (auto& [hello, fragment] :
       std::vector<std::pair<node_hello, std::string>>{
         {types, "message types differ"},
         {heartbeats, "heartbeat"},
         {version, "version"},
         {same, "pay-a"},
         {hostile, "invalid node name"}}) {
    auto w = greet(hello);
    CAPTURE(fragment, w.refusal);
    CHECK_FALSE(w.accepted);
    CHECK(w.entries.empty());
    CHECK(w.refusal.find(fragment) != std::string::npos);
    CHECK(w.refusal.find('\r') == std::string::npos);
  }
  CHECK(stats().find(R"("hellos":5,"refused":5)") != std::string::npos);
}

TEST_CASE_METHOD(fixture,
                 "names resolve one by one, unknown ones empty, and unknown "
                 "messages are counted, not answered",
                 "[actors][cluster]") {
  auto peer = make_probe();
  peer.send(gate, resolve_atom::value, std::string{"payments"});
  peer.send(gate, resolve_atom::value, std::string{"secrets"});
  peer.send(gate, std::string{"junk"}, 7);
  run();
  REQUIRE(peer.size() == 2);
  auto known = peer.messages()[0].get<published_entry>(1);
  CHECK(known.name == "payments");
  CHECK(known.handle == target.handle());
  auto unknown = peer.messages()[1].get<published_entry>(1);
  CHECK(unknown.name.empty());
  CHECK_FALSE(unknown.handle);
  CHECK(stats()
        == R"({"hellos":0,"refused":0,"resolves":2,"unknown_names":1,)"
           R"("dropped_messages":1})");
}
