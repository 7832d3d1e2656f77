// Two bulwark nodes over real BASP on 127.0.0.1: this test process is node
// "a" (a cluster node with one peer link) and bulwark-cluster-peer is node
// "b" in its own process (tests/actors/cluster/cluster_peer.cpp), publishing
// dependencies and a supervisor. The whole call protocol crosses: calls with
// budgets, replies, preliminary replies, cancels, stats, flags, journeys and
// configuration; a peer with other heartbeat settings, or one that publishes
// a remote unlike our declaration, is refused with the reason; the gate
// listens on loopback only; a killed peer is seen down at once and up again
// after a restart on its port.
// purity: real time — real processes and sockets; waits are bounded
// receives and condition variables, never sleeps.
#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "tests/actors/cluster/peer_process.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

using namespace bulwark;
using namespace bulwark::testing;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;

std::string peer_document(std::uint16_t port,
                          const std::string& heartbeat = "100ms",
                          const std::string& timeout = "500ms") {
  return R"({
  "dependencies": {
    "echo": {"idempotency": "idempotent",
             "operations": {"charge": {"idempotency": "keyed"}}},
    "slow": {"idempotency": "idempotent", "retry": {"enabled": false},
             "fallback": [{"kind": "static", "value": "S"}],
             "progressive": {"enabled": true, "soft_deadline": "20ms"}},
    "m1": {"idempotency": "idempotent"},
    "m2": {"idempotency": "idempotent"}
  },
  "supervisors": {"sup": {"members": ["m1", "m2"]}},
  "cluster": {
    "node": "b",
    "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + R"(},
    "publish": ["echo", "slow", "sup"],
    "failure_detection": {"heartbeat_interval": ")"
         + heartbeat + R"(", "connection_timeout": ")" + timeout + R"("}
  }
})";
}

std::string local_document(std::uint16_t peer_port,
                           const std::string& charge = "keyed") {
  return R"({
  "dependencies": {},
  "cluster": {
    "node": "a",
    "peers": {"b": {"host": "127.0.0.1", "port": )"
         + std::to_string(peer_port) + R"(}},
    "remotes": {
      "b-echo": {"node": "b", "name": "echo",
                 "operations": {"charge": ")"
         + charge + R"("}},
      "b-sup": {"node": "b", "name": "sup"}
    },
    "connect": {"min_backoff": "20ms", "max_backoff": "200ms"}
  }
})";
}

/// Node a: this process's actor system and cluster node.
struct local_node {
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<cluster_node> node;

  explicit local_node(const std::string& document) {
    auto parsed = parse_bulwark_config(document);
    INFO(parsed.errors.to_string());
    REQUIRE(parsed.ok());
    cfg = std::make_unique<caf::actor_system_config>();
    cfg->set("logger.console-verbosity", caf::atom("quiet"));
    auto errors = configure_cluster(*cfg, *parsed.config->cluster);
    REQUIRE(errors.empty());
    sys = std::make_unique<caf::actor_system>(*cfg);
    cluster_node_options opts;
    opts.config = *parsed.config->cluster;
    auto started = cluster_node::start(*sys, std::move(opts));
    REQUIRE(started.errors.empty());
    node = std::move(started.node);
  }

  ~local_node() {
    node.reset();
  }

  cluster_directory& directory() {
    return *node->directory();
  }
};

call_request make_call(std::uint64_t id, std::chrono::milliseconds budget,
                       std::string op = "get") {
  call_request req;
  req.id = id;
  req.operation = std::move(op);
  req.payload = "p" + std::to_string(id);
  req.idempotency_key = "k" + std::to_string(id);
  req.deadline_ns =
    std::chrono::duration_cast<std::chrono::nanoseconds>(budget).count();
  return req;
}

/// The next call reply (final or preliminary) within `timeout`.
std::optional<std::pair<bool, call_reply>>
next_reply(caf::scoped_actor& self, std::chrono::milliseconds timeout) {
  std::optional<std::pair<bool, call_reply>> result;
  self->receive(
    [&](reply_atom, call_reply& r) { result.emplace(false, std::move(r)); },
    [&](preliminary_atom, call_reply& r) {
      result.emplace(true, std::move(r));
    },
    caf::after(timeout) >> [] {});
  return result;
}

} // namespace

TEST_CASE("a node calls what its peer publishes with the whole call protocol",
          "[actors][cluster]") {
  peer_process b{peer_document(0), {"--hold", "slow"}};
  local_node a{local_document(b.port)};
  REQUIRE(a.directory().wait_up("b", 5s));
  auto view = a.directory().peer("b");
  CHECK(view.facts.node == "b");
  REQUIRE(view.entries.size() == 3);
  auto echo = a.directory().find("b", "echo");
  auto slow = a.directory().find("b", "slow");
  auto sup = a.directory().find("b", "sup");
  REQUIRE(echo);
  REQUIRE(slow);
  REQUIRE(sup);
  CHECK_FALSE(a.directory().find("b", "m1")); // not published
  caf::scoped_actor self{*a.sys};
  SECTION("calls, replies and control requests") {
    self->send(echo, rcall_atom::value, make_call(1, 2s));
    auto r = next_reply(self, 3s);
    REQUIRE(r);
    CHECK_FALSE(r->first);
    CHECK(r->second.id == 1);
    CHECK(r->second.ok);
    CHECK(r->second.payload == "p1");
    self->send(sup, rcall_atom::value, make_call(2, 2s));
    r = next_reply(self, 3s);
    REQUIRE(r);
    CHECK(r->second.id == 2);
    CHECK(r->second.ok);
    bool got = false;
    self->request(echo, 3s, stats_atom::value)
      .receive([&](stats_atom, dependency_stats& s) { got = s.requests >= 1; },
               [&](caf::error& err) { FAIL(a.sys->render(err)); });
    CHECK(got);
    got = false;
    self->request(sup, 3s, stats_atom::value)
      .receive([&](stats_atom, supervisor_stats&) { got = true; },
               [&](caf::error& err) { FAIL(a.sys->render(err)); });
    CHECK(got);
    std::vector<std::string> errors{"not answered"};
    self->request(echo, 3s, flags_atom::value, std::string{"{}"})
      .receive([&](flags_atom, std::vector<std::string>& xs) { errors = xs; },
               [&](caf::error& err) { FAIL(a.sys->render(err)); });
    CHECK(errors.empty());
    std::string flags;
    self->request(echo, 3s, flags_atom::value)
      .receive([&](flags_atom, std::string& text) { flags = text; },
               [&](caf::error& err) { FAIL(a.sys->render(err)); });
    CHECK(flags.find('{') == 0);
    auto update = parse_config_update(peer_document(b.port));
    REQUIRE(update.ok());
    errors = {"not answered"};
    self->request(echo, 3s, config_atom::value, update.update)
      .receive([&](config_atom, std::vector<std::string>& xs) { errors = xs; },
               [&](caf::error& err) { FAIL(a.sys->render(err)); });
    CHECK(errors.empty());
  }
  SECTION("a progressive call gets one preliminary reply, then its final") {
    auto req = make_call(3, 2s);
    req.progressive = true;
    self->send(slow, rcall_atom::value, req);
    auto first = next_reply(self, 3s);
    REQUIRE(first);
    CHECK(first->first);
    CHECK(first->second.preliminary);
    CHECK(first->second.payload == "S");
    auto last = next_reply(self, 4s);
    REQUIRE(last);
    CHECK_FALSE(last->first);
    CHECK(last->second.id == 3);
    CHECK_FALSE(next_reply(self, 100ms));
  }
  SECTION("a cancel crosses and ends the call") {
    self->send(slow, rcall_atom::value, make_call(4, 5s));
    self->send(slow, cancel_atom::value, std::uint64_t{4});
    auto r = next_reply(self, 3s);
    REQUIRE(r);
    CHECK(r->second.id == 4);
    CHECK(r->second.cls == failure_class::cancelled);
  }
  SECTION("the budget becomes a deadline on the peer's clock") {
    auto sent = wall::now();
    self->send(slow, rcall_atom::value, make_call(5, 200ms));
    auto r = next_reply(self, 3s);
    auto took = wall::now() - sent;
    REQUIRE(r);
    CHECK(r->second.id == 5);
    // Without a deadline crossing as a budget, the peer would read 200 ms
    // after its clock's epoch: answered at once, or never.
    CHECK(took >= 190ms);
    CHECK(took <= 600ms);
  }
}

TEST_CASE("a peer with other heartbeat settings is refused with the reason",
          "[actors][cluster]") {
  peer_process b{peer_document(0, "200ms", "800ms"), {"--hold", "slow"}};
  local_node a{local_document(b.port)};
  REQUIRE(a.directory().wait_for("b", 5s, [](const peer_view& v) {
    return v.state == peer_link_state::refused;
  }));
  auto view = a.directory().peer("b");
  CAPTURE(view.refusal);
  CHECK(view.refusal.find("heartbeat") != std::string::npos);
  CHECK_FALSE(a.directory().find("b", "echo"));
}

TEST_CASE("a peer that publishes a remote unlike our declaration is refused",
          "[actors][cluster]") {
  peer_process b{peer_document(0), {"--hold", "slow"}};
  local_node a{local_document(b.port, "unsafe")};
  REQUIRE(a.directory().wait_for("b", 5s, [](const peer_view& v) {
    return v.state == peer_link_state::refused;
  }));
  CHECK(a.directory().peer("b").refusal
        == R"(operation "charge" of remote "b-echo" is unsafe here and keyed )"
           "at b");
}

TEST_CASE("a node's gate listens on loopback only", "[actors][cluster]") {
  peer_process b{peer_document(0), {"--hold", "slow"}};
  // /proc/net/tcp: local address as hex IP:port, state 0A = LISTEN.
  std::ifstream tcp{"/proc/net/tcp"};
  std::string line;
  std::vector<std::string> listeners;
  char want[8];
  std::snprintf(want, sizeof(want), ":%04X", b.port);
  while (std::getline(tcp, line)) {
    std::istringstream fields{line};
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A" && local.size() > 5
        && local.substr(local.size() - 5) == want)
      listeners.push_back(local);
  }
  REQUIRE(listeners.size() == 1);
  CHECK(listeners[0].substr(0, 8) == "0100007F"); // 127.0.0.1
}

TEST_CASE("a killed peer is seen down at once and up again after its "
          "restart on the same port",
          "[actors][cluster]") {
  auto b = std::make_unique<peer_process>(
    peer_document(0), std::vector<std::string>{"--hold", "slow"});
  auto port = b->port;
  local_node a{local_document(port)};
  REQUIRE(a.directory().wait_up("b", 5s));
  auto gen = a.directory().peer("b").generation;
  auto killed = wall::now();
  REQUIRE(b->child->signal(SIGKILL));
  REQUIRE(a.directory().wait_for("b", 2s, [](const peer_view& v) {
    return v.state != peer_link_state::up;
  }));
  auto seen = wall::now() - killed;
  WARN("down seen after "
       << std::chrono::duration_cast<std::chrono::microseconds>(seen).count()
       << " us");
  CHECK(seen < 100ms);
  CHECK(a.directory().peer("b").counters.downs == 1);
  b.reset();
  auto restarted = wall::now();
  peer_process again{peer_document(port), {"--hold", "slow"}};
  REQUIRE(again.port == port);
  REQUIRE(a.directory().wait_up("b", 5s));
  WARN("up again " << std::chrono::duration_cast<std::chrono::milliseconds>(
                        wall::now() - restarted)
                        .count()
                   << " ms after the restart began");
  CHECK(a.directory().peer("b").generation > gen);
  caf::scoped_actor self{*a.sys};
  self->send(a.directory().find("b", "echo"), rcall_atom::value,
             make_call(9, 2s));
  auto r = next_reply(self, 3s);
  REQUIRE(r);
  CHECK(r->second.ok);
}

TEST_CASE("a ledger owner published by the program is refused with a bad or "
          "listed name, operations, no handle or no listener",
          "[actors][cluster]") {
  auto document = [](const std::string& listen) {
    return R"({"dependencies": {"echo": {}}, "cluster": {"node": "a", )"
           + listen + "}}";
  };
  auto errors_of = [](const std::string& text,
                      std::vector<published_entry> entries) {
    auto parsed = parse_bulwark_config(text);
    INFO(parsed.errors.to_string());
    REQUIRE(parsed.ok());
    caf::actor_system_config cfg;
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    REQUIRE(configure_cluster(cfg, *parsed.config->cluster).empty());
    caf::actor_system sys{cfg};
    auto owner = sys.spawn([] { return caf::behavior{[](int) {}}; });
    for (auto& e : entries)
      if (e.handle == nullptr && e.name != "no-handle")
        e.handle = owner;
    cluster_node_options opts;
    opts.config = *parsed.config->cluster;
    opts.published = std::move(entries);
    auto started = cluster_node::start(sys, std::move(opts));
    if (started.node)
      started.node->stop();
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    return started.errors;
  };
  auto listening = document(R"("listen": {"port": 0}, "publish": ["echo"])");
  auto ledger = [](const std::string& name) {
    return published_ledger(name, caf::actor{});
  };
  CHECK(errors_of(listening, {ledger("pay-ledger")}).empty());
  auto one = [&](std::vector<published_entry> entries) {
    auto errors = errors_of(listening, std::move(entries));
    REQUIRE(errors.size() == 1);
    return errors.front();
  };
  CHECK(one({ledger("pay ledger")})
        == "/cluster/publish: a ledger owner's name must be 1-64 of A-Z a-z "
           "0-9 _ - .");
  CHECK(one({ledger("")}).find("1-64") != std::string::npos);
  CHECK(one({ledger(std::string(65, 'l'))}).find("1-64") != std::string::npos);
  CHECK(one({ledger("echo")})
        == "/cluster/publish: \"echo\" is a ledger owner and a published "
           "dependency or supervisor");
  CHECK(one({ledger("l"), ledger("l")})
        == "/cluster/publish: \"l\" is handed in twice");
  auto with_ops = ledger("l");
  with_ops.operations = {"charge"};
  with_ops.idempotencies = {idempotency::keyed};
  CHECK(one({with_ops})
        == "/cluster/publish: ledger owner \"l\" needs a handle and takes no "
           "operations");
  CHECK(one({ledger("no-handle")}).find("needs a handle") != std::string::npos);
  auto errors = errors_of(document(R"("publish": [])"), {ledger("l")});
  REQUIRE(errors.size() == 1);
  CHECK(errors.front()
        == "/cluster/publish: publishing ledger owner \"l\" needs a "
           "listener: set /cluster/listen/port");
}
