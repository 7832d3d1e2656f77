// Mutual TLS between nodes (docs/cluster.md, "Mutual TLS"), with real
// processes on 127.0.0.1: bulwark-cluster-peer is node "b" in its own
// process (tests/actors/cluster/cluster_peer.cpp), this test process is the
// node that calls it. The certificates are in tests/data/cluster (README
// there). A node whose certificate the cluster CA did not sign never gets a
// link, neither as a client nor as a server, even when it trusts the
// cluster CA itself (so only the other side's check can stop it); a
// plaintext node cannot talk to a TLS node's port; a stopped TLS peer does
// not hold up a healthy one.
// purity: real time — real processes and sockets; waits are bounded
// receives and condition variables, never sleeps.
#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/cluster/cluster_tls.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

using namespace bulwark;
using namespace bulwark::testing;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;

/// How long a link that could come up is given: a good TLS link is up in
/// well under 100 ms here (the first test prints it); one handshake timeout
/// (1 s, the default) plus a margin covers a slow first attempt.
constexpr auto refused_window = 1500ms;

std::string data(const std::string& name) {
  return std::string{BULWARK_SOURCE_DIR} + "/tests/data/cluster/" + name;
}

/// A `"tls"` member: `node`'s certificate and key, trusting `ca`.
std::string tls_of(const std::string& node, const std::string& ca,
                   const std::string& key = "",
                   const std::string& passphrase_env = "") {
  std::string text = R"(, "tls": {"certificate": ")" + data(node + ".pem")
                     + R"(", "key": ")"
                     + data(key.empty() ? node + "-key.pem" : key)
                     + R"(", "cafile": ")" + data(ca + ".pem") + "\"";
  if (!passphrase_env.empty())
    text += R"(, "passphrase_env": ")" + passphrase_env + "\"";
  return text + "}";
}

std::string peer_document(std::uint16_t port, const std::string& tls,
                          const std::string& node = "b") {
  return R"({
  "dependencies": {"echo": {"idempotency": "idempotent"}},
  "cluster": {
    "node": ")"
         + node + R"(",
    "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + R"(},
    "publish": ["echo"])"
         + tls + R"(
  }
})";
}

/// Node "a" with peers b (and c, when `c_port` is not 0).
std::string local_document(std::uint16_t b_port, const std::string& tls,
                           std::uint16_t c_port = 0) {
  std::string peers =
    R"("b": {"host": "127.0.0.1", "port": )" + std::to_string(b_port) + "}";
  std::string remotes = R"("b-echo": {"node": "b", "name": "echo"})";
  if (c_port != 0) {
    peers +=
      R"(, "c": {"host": "127.0.0.1", "port": )" + std::to_string(c_port) + "}";
    remotes += R"(, "c-echo": {"node": "c", "name": "echo"})";
  }
  return R"({
  "dependencies": {},
  "cluster": {
    "node": "a",
    "peers": {)"
         + peers + R"(},
    "remotes": {)"
         + remotes + R"(},
    "connect": {"min_backoff": "20ms", "max_backoff": "200ms"})"
         + tls + R"(
  }
})";
}

/// A node in its own process.
struct peer_process {
  temp_dir dir;
  std::unique_ptr<child_process> child;
  std::uint16_t port = 0;

  explicit peer_process(const std::string& document) {
    write_file(dir.file("b.json"), document);
    child = std::make_unique<child_process>(
      std::vector<std::string>{BULWARK_CLUSTER_PEER, "--document",
                               dir.file("b.json")},
      dir.file("b.log"), child_stdout::pipe);
    auto line = child->read_line_starting("port ", 10s);
    INFO(read_file(dir.file("b.log")));
    REQUIRE(line);
    port = static_cast<std::uint16_t>(std::stoi(*line));
    REQUIRE(child->read_line_starting("ready", 10s));
  }
};

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
    INFO((errors.empty() ? "" : errors.front()));
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

call_request make_call(std::uint64_t id, std::chrono::milliseconds budget) {
  call_request req;
  req.id = id;
  req.operation = "get";
  req.payload = "p" + std::to_string(id);
  req.idempotency_key = "k" + std::to_string(id);
  req.deadline_ns =
    std::chrono::duration_cast<std::chrono::nanoseconds>(budget).count();
  return req;
}

std::optional<call_reply> next_reply(caf::scoped_actor& self,
                                     std::chrono::milliseconds timeout) {
  std::optional<call_reply> result;
  self->receive([&](reply_atom, call_reply& r) { result = std::move(r); },
                caf::after(timeout) >> [] {});
  return result;
}

/// A remote member of node a and calls through it.
struct remote_stub {
  caf::scoped_actor self;
  caf::actor stub;

  remote_stub(local_node& a, const std::string& remote)
    : self(*a.sys),
      stub(a.node->spawn_remote(remote)) {
    REQUIRE(stub);
  }

  ~remote_stub() {
    caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
  }

  std::optional<call_reply> call(std::uint64_t id) {
    self->send(stub, rcall_atom::value, make_call(id, 2s));
    auto r = next_reply(self, 3s);
    if (r)
      UNSCOPED_INFO("reply " << id << ": " << r->message);
    return r;
  }

  /// The member hears of its link's state after it starts: calls until one
  /// is answered ok, bounded (the link is up already).
  std::optional<call_reply> call_until_ok(std::uint64_t id) {
    auto deadline = wall::now() + 3s;
    std::optional<call_reply> r;
    for (std::uint64_t i = 0; wall::now() < deadline; ++i) {
      r = call(id * 1000 + i);
      if (!r || r->ok)
        break;
    }
    return r;
  }
};

/// Never up within the window, and at least one connect failed meanwhile
/// (so the link did try); then a call through a's remote member (started
/// before the window, so it knows its link) is refused at once as
/// unreachable.
void check_refused(local_node& a) {
  remote_stub member{a, "b-echo"};
  auto up = a.directory().wait_for("b", refused_window, [](auto& v) {
    return v.state == peer_link_state::up;
  });
  CHECK_FALSE(up);
  auto c = a.directory().peer("b").counters;
  CAPTURE(c.connects_ok, c.connects_other_error, c.connects_connection_timeout,
          c.handshake_timeouts, c.probe_failures);
  CHECK(c.ups == 0);
  CHECK(c.connects_other_error + c.connects_connection_timeout
          + c.handshake_timeouts
        >= 1);
  auto r = member.call(7);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->cls == failure_class::rejected_locally);
  CHECK(r->message == "node b unreachable");
}

/// The JSON of the counters of the gate at 127.0.0.1:`port`, asked through
/// `a`'s TLS connection.
std::string gate_stats(local_node& a, std::uint16_t port) {
  caf::scoped_actor self{*a.sys};
  caf::actor gate;
  self
    ->request(cluster_middleman(*a.sys, true), 3s, caf::connect_atom::value,
              std::string{"127.0.0.1"}, port)
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
        gate = caf::actor_cast<caf::actor>(ptr);
      },
      [&](caf::error& err) { FAIL(a.sys->render(err)); });
  REQUIRE(gate);
  std::string text;
  self->request(gate, 3s, stats_atom::value)
    .receive([&](stats_atom, std::string& json) { text = std::move(json); },
             [&](caf::error& err) { FAIL(a.sys->render(err)); });
  return text;
}

/// True when this build has TLS; else checks that a document with `tls`
/// is refused at start (and the TLS tests end there).
bool refused_without_tls() {
  if (cluster_tls_built())
    return true;
  auto parsed =
    parse_bulwark_config(local_document(1, tls_of("node-a", "cluster-ca")));
  REQUIRE(parsed.ok());
  caf::actor_system_config cfg;
  auto errors = configure_cluster(cfg, *parsed.config->cluster);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "/cluster/tls: this build has no TLS (libcaf_openssl)");
  return false;
}

} // namespace

TEST_CASE("two nodes with certificates of the cluster CA link up over TLS "
          "and a call is answered",
          "[actors][cluster][tls]") {
  if (!refused_without_tls())
    return;
  peer_process b{peer_document(0, tls_of("node-b", "cluster-ca"))};
  // Node a's key is encrypted; its passphrase comes from the environment.
  ::setenv("BULWARK_TEST_TLS_PASSPHRASE", "bulwark-test", 1);
  auto started = wall::now();
  local_node a{
    local_document(b.port, tls_of("node-a", "cluster-ca", "node-a-key.enc.pem",
                                  "BULWARK_TEST_TLS_PASSPHRASE"))};
  REQUIRE(a.directory().wait_up("b", 5s));
  WARN("TLS link up " << std::chrono::duration_cast<std::chrono::milliseconds>(
                           wall::now() - started)
                           .count()
                      << " ms after node a started");
  CHECK(a.directory().peer("b").facts.node == "b");
  auto r = remote_stub{a, "b-echo"}.call_until_ok(1);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->payload == "p" + std::to_string(r->id));
  CHECK(gate_stats(a, b.port).find(R"("hellos":1,)") != std::string::npos);
}

TEST_CASE("a node without the cluster certificate is refused: no link, no "
          "hello at the gate, and its calls are refused as unreachable",
          "[actors][cluster][tls]") {
  if (!refused_without_tls())
    return;
  peer_process b{peer_document(0, tls_of("node-b", "cluster-ca"))};
  {
    // The rogue trusts the cluster CA, so it would accept b: only b's
    // check of the rogue's certificate can refuse it.
    local_node rogue{
      local_document(b.port, tls_of("rogue-node", "cluster-ca"))};
    check_refused(rogue);
  }
  // b stays healthy, and its gate heard exactly one hello: the good node's.
  local_node a{local_document(b.port, tls_of("node-a", "cluster-ca"))};
  REQUIRE(a.directory().wait_up("b", 5s));
  auto r = remote_stub{a, "b-echo"}.call_until_ok(2);
  REQUIRE(r);
  CHECK(r->ok);
  auto stats = gate_stats(a, b.port);
  CAPTURE(stats);
  CHECK(stats.find(R"("hellos":1,)") != std::string::npos);
}

TEST_CASE("a node refuses a server whose certificate the cluster CA did not "
          "sign (the client verifies too)",
          "[actors][cluster][tls]") {
  if (!refused_without_tls())
    return;
  // The rogue server trusts the cluster CA, so it would accept node a:
  // only a's check of the server's certificate can refuse it.
  peer_process rogue{peer_document(0, tls_of("rogue-node", "cluster-ca"))};
  local_node a{local_document(rogue.port, tls_of("node-a", "cluster-ca"))};
  check_refused(a);
}

TEST_CASE("a plaintext node cannot talk to a TLS node's port, and the TLS "
          "node stays healthy for a good peer",
          "[actors][cluster][tls]") {
  if (!refused_without_tls())
    return;
  peer_process b{peer_document(0, tls_of("node-b", "cluster-ca"))};
  {
    local_node plain{local_document(b.port, "")};
    check_refused(plain);
  }
  local_node a{local_document(b.port, tls_of("node-a", "cluster-ca"))};
  REQUIRE(a.directory().wait_up("b", 5s));
  auto r = remote_stub{a, "b-echo"}.call_until_ok(3);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(gate_stats(a, b.port).find(R"("hellos":1,)") != std::string::npos);
}

TEST_CASE("a stopped TLS peer does not hold up a healthy one",
          "[actors][cluster][tls]") {
  if (!refused_without_tls())
    return;
  peer_process stopped{peer_document(0, tls_of("node-b", "cluster-ca"))};
  peer_process healthy{peer_document(0, tls_of("node-b", "cluster-ca"), "c")};
  // Its kernel still accepts TCP, so the probe passes and the TLS handshake
  // starts, but nobody answers it.
  REQUIRE(stopped.child->signal(SIGSTOP));
  auto started = wall::now();
  local_node a{
    local_document(stopped.port, tls_of("node-a", "cluster-ca"), healthy.port)};
  REQUIRE(a.directory().wait_up("c", 5s));
  auto took = wall::now() - started;
  auto c = a.directory().peer("c").counters;
  WARN("c: connects ok " << c.connects_ok << ", connection_timeout "
                         << c.connects_connection_timeout << ", other "
                         << c.connects_other_error << ", handshake timeouts "
                         << c.handshake_timeouts << ", probe failures "
                         << c.probe_failures);
  WARN("healthy TLS peer up "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms after start, next to a stopped one");
  // Typically 33-300 ms here (~120 runs, some with two test processes at
  // once), but one run took 1.3 s: asserted is what CAF can promise, at
  // most one handshake timeout (1 s) late (docs/cluster.md).
  CHECK(took < 2s);
  auto r = remote_stub{a, "c-echo"}.call_until_ok(4);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK_FALSE(a.directory().peer("b").state == peer_link_state::up);
  // Resumed, b links up too. (Shutting down with its TLS handshake still
  // stalled leaks CAF's BASP state: LeakSanitizer reports ~4 KB.)
  REQUIRE(stopped.child->signal(SIGCONT));
  CHECK(a.directory().wait_up("b", 5s));
}
