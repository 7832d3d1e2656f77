#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <string>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"

using namespace bulwark;

namespace {

// A document with dependency "payments", supervisor "pay" over it, and
// `cluster` as the cluster section.
std::string doc(const std::string& cluster) {
  return R"({"dependencies": {"payments": {}},
             "supervisors": {"pay": {"members": ["payments"]}},
             "cluster": )"
         + cluster + "}";
}

// A valid cluster section with `extra` appended inside it.
std::string with(const std::string& extra) {
  std::string base = R"("node": "gateway")";
  return doc("{" + base + (extra.empty() ? "" : ", " + extra) + "}");
}

cluster_config parsed(const std::string& text) {
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  REQUIRE(result.config->cluster.has_value());
  return *result.config->cluster;
}

std::string errors_of(const std::string& text) {
  auto result = parse_bulwark_config(text);
  CHECK_FALSE(result.ok());
  return result.errors.to_string();
}

std::string peer(const std::string& host, int port = 7101,
                 const std::string& extra = "") {
  return fmt::format(R"("peers": {{"pay-a": {{"host": "{}", "port": {}{}}}}})",
                     host, port, extra.empty() ? "" : ", " + extra);
}

} // namespace

TEST_CASE("a document without a cluster section has no cluster",
          "[runtime][cluster]") {
  auto result = parse_bulwark_config(R"({"dependencies": {"a": {}}})");
  REQUIRE(result.ok());
  CHECK_FALSE(result.config->cluster.has_value());
  CHECK(to_json(*result.config).count("cluster") == 0);
}

TEST_CASE("a cluster section with only a node name gets every default",
          "[runtime][cluster]") {
  auto c = parsed(with(""));
  CHECK(c.node == "gateway");
  CHECK(c.listen_host == "127.0.0.1");
  CHECK_FALSE(c.listen_port.has_value());
  CHECK(c.publish.empty());
  CHECK(c.peers.empty());
  CHECK(c.remotes.empty());
  CHECK(c.failure_detection.heartbeat_interval == milliseconds(100));
  CHECK(c.failure_detection.connection_timeout == milliseconds(500));
  CHECK(c.connect.probe_timeout == milliseconds(250));
  CHECK(c.connect.handshake_timeout == seconds(1));
  CHECK(c.connect.handshake_retries == 3);
  CHECK(c.connect.min_backoff == milliseconds(50));
  CHECK(c.connect.max_backoff == seconds(5));
  CHECK(c.connect.random_factor == 0.2);
  CHECK_FALSE(c.tls.has_value());
  CHECK_FALSE(c.allow_remote_spawn);
  CHECK_FALSE(c.insecure_plaintext);
}

TEST_CASE("peer and remote defaults", "[runtime][cluster]") {
  auto c = parsed(with(peer("127.0.0.1") + R"(, "remotes": {"payments-a":
      {"node": "pay-a", "name": "payments"}})"));
  REQUIRE(c.peers.size() == 1);
  CHECK(c.peers[0].name == "pay-a");
  CHECK(c.peers[0].host == "127.0.0.1");
  CHECK(c.peers[0].port == 7101);
  CHECK(c.peers[0].max_in_flight == 1024);
  CHECK(c.peers[0].max_in_flight_bytes == 16777216);
  REQUIRE(c.remotes.size() == 1);
  auto& r = c.remotes[0];
  CHECK(r.name == "payments-a");
  CHECK(r.node == "pay-a");
  CHECK(r.target == "payments");
  CHECK(r.operations.empty());
  CHECK(r.default_repeat == idempotency::unsafe);
  CHECK(r.idempotency_of("charge") == idempotency::unsafe);
  CHECK(c.find_peer("pay-a") == &c.peers[0]);
  CHECK(c.find_peer("pay-b") == nullptr);
  CHECK(c.find_remote("payments-a") == &c.remotes[0]);
  CHECK(c.find_remote("payments") == nullptr);
}

TEST_CASE("the design's example section parses with every value",
          "[runtime][cluster]") {
  auto c = parsed(doc(R"({
    "node": "gateway",
    "listen": {"host": "127.0.0.1", "port": 7100},
    "publish": ["payments", "pay"],
    "peers": {
      "pay-a": {"host": "127.0.0.1", "port": 7101},
      "pay-b": {"host": "::1", "port": 7102, "max_in_flight": 512,
                "max_in_flight_bytes": 65536}
    },
    "remotes": {
      "payments-a": {"node": "pay-a", "name": "payments",
                     "operations": {"charge": "keyed", "quote": "idempotent"},
                     "default_idempotency": "keyed"}
    },
    "failure_detection": {"heartbeat_interval": "50ms",
                          "connection_timeout": "150ms"},
    "connect": {"probe_timeout": "100ms", "handshake_timeout": "2s",
                "handshake_retries": 10, "min_backoff": "10ms",
                "max_backoff": "10ms", "random_factor": 1},
    "tls": {"certificate": "/etc/bulwark/node.pem",
            "key": "/etc/bulwark/node.key",
            "cafile": "/etc/bulwark/cluster-ca.pem",
            "capath": "/etc/ssl/certs", "passphrase_env": "NODE_KEY_PASS"},
    "allow_remote_spawn": true,
    "insecure_plaintext": true
  })"));
  CHECK(c.listen_port == std::optional<std::uint16_t>{7100});
  CHECK(c.publish == std::vector<std::string>{"payments", "pay"});
  REQUIRE(c.peers.size() == 2);
  CHECK(c.find_peer("pay-b")->max_in_flight == 512);
  CHECK(c.find_peer("pay-b")->max_in_flight_bytes == 65536);
  auto& r = c.remotes.at(0);
  CHECK(r.idempotency_of("charge") == idempotency::keyed);
  CHECK(r.idempotency_of("quote") == idempotency::idempotent);
  CHECK(r.idempotency_of("other") == idempotency::keyed);
  CHECK(c.failure_detection.heartbeat_interval == milliseconds(50));
  CHECK(c.failure_detection.connection_timeout == milliseconds(150));
  CHECK(c.connect.probe_timeout == milliseconds(100));
  CHECK(c.connect.handshake_timeout == seconds(2));
  CHECK(c.connect.handshake_retries == 10);
  CHECK(c.connect.min_backoff == milliseconds(10));
  CHECK(c.connect.max_backoff == milliseconds(10));
  CHECK(c.connect.random_factor == 1.0);
  REQUIRE(c.tls.has_value());
  CHECK(c.tls->certificate == "/etc/bulwark/node.pem");
  CHECK(c.tls->key == "/etc/bulwark/node.key");
  CHECK(c.tls->cafile == "/etc/bulwark/cluster-ca.pem");
  CHECK(c.tls->capath == "/etc/ssl/certs");
  CHECK(c.tls->passphrase_env == "NODE_KEY_PASS");
  CHECK(c.allow_remote_spawn);
  CHECK(c.insecure_plaintext);
}

TEST_CASE("a full cluster section survives to_json and back unchanged",
          "[runtime][cluster]") {
  auto text = doc(R"({
    "node": "gateway", "listen": {"host": "::1", "port": 0},
    "publish": ["pay"],
    "peers": {"pay-a": {"host": "localhost", "port": 65535}},
    "remotes": {"payments-a": {"node": "pay-a", "name": "payments",
                               "operations": {"charge": "keyed"}}},
    "connect": {"random_factor": 0.5},
    "tls": {"certificate": "c.pem", "key": "k.pem", "cafile": "ca.pem"}})");
  auto first = parse_bulwark_config(text);
  INFO(first.errors.to_string());
  REQUIRE(first.ok());
  auto json = to_json(*first.config);
  auto& cluster = json.at("cluster").as_object();
  // Every key spelled out (listen.port and tls only when set).
  for (auto key :
       {"node", "listen", "publish", "peers", "remotes", "failure_detection",
        "connect", "tls", "allow_remote_spawn", "insecure_plaintext"})
    CHECK(cluster.count(key) == 1);
  CHECK(cluster.at("listen").as_object().at("port").to_number<int>() == 0);
  CHECK(cluster.at("connect").as_object().size() == 6);
  CHECK(cluster.at("failure_detection").as_object().size() == 2);
  CHECK(cluster.at("tls").as_object().size() == 5);
  auto& remote = cluster.at("remotes").at("payments-a").as_object();
  CHECK(remote.size() == 4);
  CHECK(cluster.at("peers").at("pay-a").as_object().size() == 4);
  auto second = parse_bulwark_config(pretty_json(json));
  INFO(second.errors.to_string());
  REQUIRE(second.ok());
  CHECK(boost::json::serialize(to_json(*second.config))
        == boost::json::serialize(json));
  CHECK_FALSE(
    cluster_change_error(first.config->cluster, second.config->cluster));
}

TEST_CASE("a section without a listener has no port after a round trip",
          "[runtime][cluster]") {
  auto c = parsed(with(""));
  auto json = to_json(c);
  CHECK(json.at("listen").as_object().count("port") == 0);
  CHECK(json.count("tls") == 0);
  error_list errors;
  auto back = parse_cluster_config(json, json_path{} / "cluster", errors);
  CHECK(errors.empty());
  CHECK_FALSE(back.listen_port.has_value());
  CHECK_FALSE(back.tls.has_value());
}

TEST_CASE("the node name is required and must be a safe name",
          "[runtime][cluster]") {
  CHECK(errors_of(doc("{}")) == "/cluster/node: is required\n");
  CHECK(errors_of(doc(R"({"node": ""})"))
        == "/cluster/node: must be 1 to 64 characters of A-Z, a-z, 0-9, '_', "
           "'-', '.' (got: \"\")\n");
  CHECK(errors_of(doc(R"({"node": "a b"})"))
        == "/cluster/node: must be 1 to 64 characters of A-Z, a-z, 0-9, '_', "
           "'-', '.' (got: \"a b\")\n");
  CHECK(errors_of(doc(R"({"node": 7})"))
        == "/cluster/node: must be 1 to 64 characters of A-Z, a-z, 0-9, '_', "
           "'-', '.' (got: 7)\n");
  auto max = std::string(64, 'n');
  CHECK(parsed(doc(R"({"node": ")" + max + R"("})")).node == max);
  CHECK_FALSE(parse_bulwark_config(doc(R"({"node": ")" + max + R"(n"})")).ok());
  CHECK(errors_of(doc("[]")) == "/cluster: must be an object (got: [])\n");
  CHECK(errors_of(with(R"("bogus": 1)"))
        == "/cluster/bogus: unknown key (allowed: node, listen, publish, "
           "peers, remotes, failure_detection, connect, tls, "
           "allow_remote_spawn, insecure_plaintext)\n");
}

TEST_CASE("listen ports are 0 to 65535", "[runtime][cluster]") {
  CHECK(parsed(with(R"("listen": {"port": 0})")).listen_port == 0);
  CHECK(parsed(with(R"("listen": {"port": 65535})")).listen_port == 65535);
  CHECK(errors_of(with(R"("listen": {"port": -1})"))
        == "/cluster/listen/port: must be between 0 and 65535 (got: -1)\n");
  CHECK(errors_of(with(R"("listen": {"port": 65536})"))
        == "/cluster/listen/port: must be between 0 and 65535 (got: 65536)\n");
}

TEST_CASE("hosts are IP literals or localhost", "[runtime][cluster]") {
  for (auto host : {"127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1",
                    "::ffff:127.0.0.1", "localhost"}) {
    CAPTURE(host);
    CHECK(is_valid_cluster_host(host));
    CHECK(is_loopback_host(host));
    CHECK(parsed(with(fmt::format(R"("listen": {{"host": "{}"}})", host)))
            .listen_host
          == host);
  }
  for (auto host : {"10.0.0.1", "0.0.0.0", "::", "2001:db8::1", "fe80::1",
                    "::ffff:10.0.0.1", "128.0.0.1", "1:2:3:4:5:6:7:8",
                    "1::2:3:4:5:6:7", "::1.2.3.4"}) {
    CAPTURE(host);
    CHECK(is_valid_cluster_host(host));
    CHECK_FALSE(is_loopback_host(host));
  }
  for (auto host :
       {"", "example.com", "127.0.0", "127.0.0.1.", "1.2.3.4.5", "256.0.0.1",
        "01.2.3.4", "1.2.3.a", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
        "1::2::3", "12345::", "fe80::1%eth0", "::1 ",
        "1:2:3:4:5:6:7:8::", "::1.2.3.4.5", "g::1", "127.0.0.1:80"}) {
    CAPTURE(host);
    CHECK_FALSE(is_valid_cluster_host(host));
    CHECK_FALSE(is_loopback_host(host));
  }
  CHECK(errors_of(with(R"("listen": {"host": "example.com"})"))
        == "/cluster/listen/host: must be an IP address such as "
           "\"127.0.0.1\" or \"::1\", or \"localhost\" (got: "
           "\"example.com\")\n");
  CHECK(errors_of(with(peer("0.0.0.0.0")))
        == "/cluster/peers/pay-a/host: must be an IP address such as "
           "\"127.0.0.1\" or \"::1\", or \"localhost\" (got: "
           "\"0.0.0.0.0\")\n");
}

TEST_CASE("a non-loopback address needs tls or insecure_plaintext",
          "[runtime][cluster]") {
  CHECK(errors_of(with(R"("listen": {"host": "0.0.0.0", "port": 7100})"))
        == "/cluster/listen/host: is not a loopback address: plaintext BASP "
           "off this machine needs /cluster/tls or /cluster/insecure_plaintext:"
           " true (got: \"0.0.0.0\")\n");
  CHECK(errors_of(with(peer("10.1.2.3")))
        == "/cluster/peers/pay-a/host: is not a loopback address: plaintext "
           "BASP off this machine needs /cluster/tls or "
           "/cluster/insecure_plaintext: true (got: \"10.1.2.3\")\n");
  auto c = parsed(with(R"("listen": {"host": "0.0.0.0"},
                          "insecure_plaintext": true, )"
                       + peer("10.1.2.3")));
  CHECK(c.listen_host == "0.0.0.0");
  CHECK(c.peers.at(0).host == "10.1.2.3");
  auto tls = R"("tls": {"certificate": "c", "key": "k", "cafile": "a"})";
  CHECK(parsed(with(std::string{tls} + R"(, "listen": {"host": "10.0.0.1"}, )"
                    + peer("2001:db8::1")))
          .tls.has_value());
}

TEST_CASE("publish lists at most 64 distinct names of the document and needs "
          "a listener",
          "[runtime][cluster]") {
  auto listen = std::string{R"("listen": {"port": 7100}, )"};
  CHECK(parsed(with(listen + R"("publish": ["payments", "pay"])")).publish
        == std::vector<std::string>{"payments", "pay"});
  CHECK(errors_of(with(R"("publish": ["payments"])"))
        == "/cluster/publish: publishing needs a listener: set "
           "/cluster/listen/port\n");
  CHECK(parsed(with(R"("publish": [])")).publish.empty());
  CHECK(errors_of(with(listen + R"("publish": ["payments", "nope"])"))
        == "/cluster/publish/1: names no dependency or supervisor of this "
           "document (got: \"nope\"); a ledger route is published by the "
           "program at start, not here\n");
  CHECK(errors_of(with(listen + R"("publish": ["pay", "pay"])"))
        == "/cluster/publish/1: \"pay\" is published twice\n");
  CHECK(errors_of(with(listen + R"("publish": ["a b"])"))
        == "/cluster/publish/0: must be 1 to 64 characters of A-Z, a-z, 0-9, "
           "'_', '-', '.' (got: \"a b\")\n");
  CHECK(errors_of(with(listen + R"("publish": "pay")"))
        == "/cluster/publish: must be an array of names (got: \"pay\")\n");
  // 64 names is the bound; 65 is refused before any name is looked at.
  std::string deps, names;
  for (int i = 0; i < 65; ++i) {
    deps += fmt::format(R"({}"d{}": {{}})", i == 0 ? "" : ", ", i);
    if (i < 64)
      names += fmt::format(R"({}"d{}")", i == 0 ? "" : ", ", i);
  }
  auto big = [&](const std::string& list) {
    return R"({"dependencies": {)" + deps
           + R"(}, "cluster": {"node": "n", "listen": {"port": 1},
                                "publish": [)"
           + list + "]}}";
  };
  auto ok = parse_bulwark_config(big(names));
  INFO(ok.errors.to_string());
  CHECK(ok.ok());
  CHECK(errors_of(big(names + R"(, "d64")"))
        == "/cluster/publish: must have at most 64 names (got: 65)\n");
}

TEST_CASE("peers: required host and port, bounds, not this node",
          "[runtime][cluster]") {
  CHECK(errors_of(with(R"("peers": {"pay-a": {}})"))
        == "/cluster/peers/pay-a/host: is required\n"
           "/cluster/peers/pay-a/port: is required\n");
  CHECK(parsed(with(peer("127.0.0.1", 1))).peers.at(0).port == 1);
  CHECK(parsed(with(peer("127.0.0.1", 65535))).peers.at(0).port == 65535);
  CHECK(errors_of(with(peer("127.0.0.1", 0)))
        == "/cluster/peers/pay-a/port: must be between 1 and 65535 (got: 0)\n");
  CHECK(errors_of(with(peer("127.0.0.1", 65536)))
        == "/cluster/peers/pay-a/port: must be between 1 and 65535 "
           "(got: 65536)\n");
  auto in_flight = [](const std::string& x) {
    return with(peer("127.0.0.1", 7101, x));
  };
  CHECK(parsed(in_flight(R"("max_in_flight": 1)")).peers[0].max_in_flight == 1);
  CHECK(parsed(in_flight(R"("max_in_flight": 100000)")).peers[0].max_in_flight
        == 100000);
  CHECK(errors_of(in_flight(R"("max_in_flight": 0)"))
        == "/cluster/peers/pay-a/max_in_flight: must be between 1 and 100000 "
           "(got: 0)\n");
  CHECK(errors_of(in_flight(R"("max_in_flight": 100001)"))
        == "/cluster/peers/pay-a/max_in_flight: must be between 1 and 100000 "
           "(got: 100001)\n");
  CHECK(parsed(in_flight(R"("max_in_flight_bytes": 65536)"))
          .peers[0]
          .max_in_flight_bytes
        == 65536);
  CHECK(parsed(in_flight(R"("max_in_flight_bytes": 1073741824)"))
          .peers[0]
          .max_in_flight_bytes
        == 1073741824);
  CHECK(errors_of(in_flight(R"("max_in_flight_bytes": 65535)"))
        == "/cluster/peers/pay-a/max_in_flight_bytes: must be between 65536 "
           "and 1073741824 (got: 65535)\n");
  CHECK(errors_of(in_flight(R"("max_in_flight_bytes": 1073741825)"))
        == "/cluster/peers/pay-a/max_in_flight_bytes: must be between 65536 "
           "and 1073741824 (got: 1073741825)\n");
  CHECK(errors_of(with(R"("peers": {"gateway": {"host": "::1", "port": 1}})"))
        == "/cluster/peers/gateway: is this node's own name (/cluster/node); "
           "a node is not its own peer\n");
  CHECK(errors_of(with(R"("peers": {"a b": {"host": "::1", "port": 1}})"))
        == "/cluster/peers/a b: peer names must be 1 to 64 characters of A-Z, "
           "a-z, 0-9, '_', '-', '.'\n");
  CHECK(errors_of(with(R"("peers": [])"))
        == "/cluster/peers: must be an object mapping peer names to their "
           "settings (got: [])\n");
  auto peers = [](int n) {
    std::string list;
    for (int i = 0; i < n; ++i)
      list += fmt::format(R"({}"p{}": {{"host": "::1", "port": {}}})",
                          i == 0 ? "" : ", ", i, i + 1);
    return with(R"("peers": {)" + list + "}");
  };
  CHECK(parsed(peers(64)).peers.size() == 64);
  CHECK(errors_of(peers(65))
        == "/cluster/peers: must have at most 64 entries (got: 65)\n");
}

TEST_CASE("remotes: node must be a peer, names required, operations bounded",
          "[runtime][cluster]") {
  auto remote = [](const std::string& body) {
    return with(peer("::1") + R"(, "remotes": {"payments-a": )" + body + "}");
  };
  CHECK(errors_of(remote("{}"))
        == "/cluster/remotes/payments-a/node: is required\n"
           "/cluster/remotes/payments-a/name: is required\n");
  CHECK(errors_of(remote(R"({"node": "pay-z", "name": "payments"})"))
        == "/cluster/remotes/payments-a/node: names no peer of /cluster/peers "
           "(got: \"pay-z\")\n");
  CHECK(errors_of(remote(R"({"node": "pay-a", "name": "a/b"})"))
        == "/cluster/remotes/payments-a/name: must be 1 to 64 characters of "
           "A-Z, a-z, 0-9, '_', '-', '.' (got: \"a/b\")\n");
  CHECK(errors_of(remote(R"({"node": "pay-a", "name": "p",
                             "operations": {"charge": "maybe"}})"))
        == "/cluster/remotes/payments-a/operations/charge: must be one of "
           "\"idempotent\", \"keyed\", \"unsafe\" (got: \"maybe\")\n");
  CHECK(errors_of(remote(R"({"node": "pay-a", "name": "p",
                             "default_idempotency": "maybe"})"))
        == "/cluster/remotes/payments-a/default_idempotency: must be one of "
           "\"idempotent\", \"keyed\", \"unsafe\" (got: \"maybe\")\n");
  auto name64 = std::string(64, 'x');
  CHECK(parsed(remote(R"({"node": "pay-a", "name": ")" + name64 + R"("})"))
          .remotes.at(0)
          .target
        == name64);
  CHECK(errors_of(remote(R"({"node": "pay-a", "name": ")" + name64 + R"(x"})"))
          .find("/cluster/remotes/payments-a/name: must be 1 to 64 characters")
        == 0);
  auto ops = [&](int n) {
    std::string list;
    for (int i = 0; i < n; ++i)
      list += fmt::format(R"({}"op{}": "keyed")", i == 0 ? "" : ", ", i);
    return remote(R"({"node": "pay-a", "name": "p", "operations": {)" + list
                  + "}}");
  };
  CHECK(parsed(ops(256)).remotes.at(0).operations.size() == 256);
  CHECK(errors_of(ops(257))
        == "/cluster/remotes/payments-a/operations: must have at most 256 "
           "entries (got: 257)\n");
  auto remotes = [](int n) {
    std::string list;
    for (int i = 0; i < n; ++i)
      list += fmt::format(R"({}"r{}": {{"node": "pay-a", "name": "x"}})",
                          i == 0 ? "" : ", ", i);
    return with(peer("::1") + R"(, "remotes": {)" + list + "}");
  };
  CHECK(parsed(remotes(256)).remotes.size() == 256);
  CHECK(errors_of(remotes(257))
        == "/cluster/remotes: must have at most 256 entries (got: 257)\n");
}

TEST_CASE("remote names differ from dependency and supervisor names",
          "[runtime][cluster]") {
  auto clash = [](const std::string& name) {
    return with(peer("::1") + R"(, "remotes": {")" + name
                + R"(": {"node": "pay-a", "name": "payments"}})");
  };
  CHECK(errors_of(clash("payments"))
        == "/cluster/remotes/payments: \"payments\" names a dependency too; "
           "dependency, supervisor and remote names must differ\n");
  CHECK(errors_of(clash("pay"))
        == "/cluster/remotes/pay: \"pay\" names a supervisor too; dependency, "
           "supervisor and remote names must differ\n");
}

TEST_CASE("failure detection bounds, and the timeout covers 3 heartbeats",
          "[runtime][cluster]") {
  auto fd = [](const std::string& body) {
    return with(R"("failure_detection": {)" + body + "}");
  };
  auto at = [](const char* key) {
    return fmt::format("/cluster/failure_detection/{}: ", key);
  };
  CHECK(parsed(fd(R"("heartbeat_interval": "10ms",
                     "connection_timeout": "30ms")"))
          .failure_detection.heartbeat_interval
        == milliseconds(10));
  CHECK(errors_of(fd(R"("heartbeat_interval": "9ms")"))
        == at("heartbeat_interval")
             + "must be between 10ms and 10s (got: \"9ms\")\n");
  CHECK(parsed(fd(R"("heartbeat_interval": "10s",
                     "connection_timeout": "30s")"))
          .failure_detection.heartbeat_interval
        == seconds(10));
  CHECK(errors_of(fd(R"("heartbeat_interval": "10001ms")"))
        == at("heartbeat_interval")
             + "must be between 10ms and 10s (got: \"10001ms\")\n");
  CHECK(errors_of(fd(R"("heartbeat_interval": "10ms",
                       "connection_timeout": "29ms")"))
        == at("connection_timeout")
             + "must be between 30ms and 1m (got: \"29ms\")\n");
  CHECK(parsed(fd(R"("connection_timeout": "300ms")"))
          .failure_detection.connection_timeout
        == milliseconds(300));
  CHECK(errors_of(fd(R"("connection_timeout": "299ms")"))
        == at("connection_timeout")
             + "must be at least 3 x heartbeat_interval (300ms) (got: "
               "\"299ms\")\n");
  CHECK(parsed(fd(R"("connection_timeout": "60s")"))
          .failure_detection.connection_timeout
        == seconds(60));
  CHECK(errors_of(fd(R"("connection_timeout": "60001ms")"))
        == at("connection_timeout")
             + "must be between 30ms and 1m (got: \"60001ms\")\n");
  CHECK(errors_of(fd(R"("connection_timeout": 500)"))
        == at("connection_timeout")
             + "must be a duration string with a unit such as \"250ms\" "
               "(got: 500)\n");
}

TEST_CASE("connect bounds, and max_backoff is at least min_backoff",
          "[runtime][cluster]") {
  auto conn = [](const std::string& body) {
    return with(R"("connect": {)" + body + "}");
  };
  auto at = [](const char* key) {
    return fmt::format("/cluster/connect/{}: ", key);
  };
  auto ok = [&](const std::string& body) { return parsed(conn(body)).connect; };
  CHECK(ok(R"("probe_timeout": "10ms")").probe_timeout == milliseconds(10));
  CHECK(ok(R"("probe_timeout": "10s")").probe_timeout == seconds(10));
  CHECK(errors_of(conn(R"("probe_timeout": "9ms")"))
        == at("probe_timeout")
             + "must be between 10ms and 10s (got: \"9ms\")\n");
  CHECK(errors_of(conn(R"("probe_timeout": "10001ms")"))
        == at("probe_timeout")
             + "must be between 10ms and 10s (got: \"10001ms\")\n");
  CHECK(ok(R"("handshake_timeout": "100ms")").handshake_timeout
        == milliseconds(100));
  CHECK(ok(R"("handshake_timeout": "60s")").handshake_timeout == seconds(60));
  CHECK(errors_of(conn(R"("handshake_timeout": "99ms")"))
        == at("handshake_timeout")
             + "must be between 100ms and 1m (got: \"99ms\")\n");
  CHECK(errors_of(conn(R"("handshake_timeout": "60001ms")"))
        == at("handshake_timeout")
             + "must be between 100ms and 1m (got: \"60001ms\")\n");
  CHECK(ok(R"("handshake_retries": 0)").handshake_retries == 0);
  CHECK(ok(R"("handshake_retries": 10)").handshake_retries == 10);
  CHECK(errors_of(conn(R"("handshake_retries": -1)"))
        == at("handshake_retries") + "must be between 0 and 10 (got: -1)\n");
  CHECK(errors_of(conn(R"("handshake_retries": 11)"))
        == at("handshake_retries") + "must be between 0 and 10 (got: 11)\n");
  CHECK(ok(R"("min_backoff": "1ms")").min_backoff == milliseconds(1));
  CHECK(ok(R"("min_backoff": "5s")").min_backoff == seconds(5));
  CHECK(errors_of(conn(R"("min_backoff": "999us")"))
        == at("min_backoff")
             + "must be between 1ms and 10s (got: \"999us\")\n");
  CHECK(errors_of(conn(R"("min_backoff": "10001ms", "max_backoff": "1m")"))
        == at("min_backoff")
             + "must be between 1ms and 10s (got: \"10001ms\")\n");
  CHECK(ok(R"("min_backoff": "10s", "max_backoff": "10s")").max_backoff
        == seconds(10));
  CHECK(ok(R"("max_backoff": "5m")").max_backoff == minutes(5));
  CHECK(errors_of(conn(R"("max_backoff": "300001ms")"))
        == at("max_backoff")
             + "must be between 1ms and 5m (got: \"300001ms\")\n");
  CHECK(errors_of(conn(R"("max_backoff": "49ms")"))
        == at("max_backoff")
             + "must be at least min_backoff (50ms) (got: \"49ms\")\n");
  CHECK(ok(R"("random_factor": 0)").random_factor == 0.0);
  CHECK(ok(R"("random_factor": 1)").random_factor == 1.0);
  CHECK(errors_of(conn(R"("random_factor": -0.01)"))
        == at("random_factor") + "must be between 0 and 1 (got: -1E-2)\n");
  CHECK(errors_of(conn(R"("random_factor": 1.01)"))
        == at("random_factor") + "must be between 0 and 1 (got: 1.01E0)\n");
}

TEST_CASE("tls needs certificate, key and cafile together, as safe paths",
          "[runtime][cluster]") {
  auto tls = [](const std::string& body) {
    return with(R"("tls": {)" + body + "}");
  };
  CHECK(errors_of(tls(R"("certificate": "c.pem")"))
        == "/cluster/tls/key: is required: certificate, key and cafile go "
           "together\n"
           "/cluster/tls/cafile: is required: certificate, key and cafile go "
           "together\n");
  CHECK(errors_of(tls(R"("certificate": "", "key": "k", "cafile": "a")"))
        == "/cluster/tls/certificate: must not be empty\n");
  auto three = std::string{R"("key": "k", "cafile": "a", )"};
  auto long_path = std::string(4096, 'p');
  CHECK(parsed(tls(three + R"("certificate": ")" + long_path + "\""))
          .tls->certificate
        == long_path);
  CHECK(errors_of(tls(three + R"("certificate": ")" + long_path + "p\""))
        == "/cluster/tls/certificate: must be at most 4096 bytes (got: 4097 "
           "bytes)\n");
  CHECK(errors_of(tls(three + R"("certificate": "a\nb")"))
        == "/cluster/tls/certificate: must not contain control characters "
           "(byte 1 is 0x0a)\n");
  CHECK(errors_of(tls(three + R"("certificate": 1)"))
        == "/cluster/tls/certificate: must be a string (got: 1)\n");
  auto all = three + R"("certificate": "c", )";
  CHECK(parsed(tls(all + R"("capath": "")")).tls->capath.empty());
  CHECK(errors_of(tls(all + R"("capath": ")" + long_path + "p\""))
        == "/cluster/tls/capath: must be at most 4096 bytes (got: 4097 "
           "bytes)\n");
  CHECK(parsed(tls(all + R"("passphrase_env": "")")).tls->passphrase_env == "");
  CHECK(parsed(tls(all + R"("passphrase_env": "_K1")")).tls->passphrase_env
        == "_K1");
  CHECK(errors_of(tls(all + R"("passphrase_env": "1K")"))
        == "/cluster/tls/passphrase_env: must be an environment variable name "
           "(A-Z, a-z, 0-9, '_', not starting with a digit, at most 128 "
           "characters) or \"\" (got: \"1K\")\n");
  CHECK(
    errors_of(tls(all + R"("passphrase_env": "A=B")"))
      .find("/cluster/tls/passphrase_env: must be an environment variable name")
    == 0);
  CHECK(errors_of(with(R"("tls": true)"))
        == "/cluster/tls: must be an object (got: true)\n");
}

TEST_CASE("every error of a cluster section is reported at once",
          "[runtime][cluster]") {
  auto errors = errors_of(doc(R"({"node": "", "listen": {"port": -1},
      "failure_detection": {"heartbeat_interval": "1ms"},
      "connect": {"handshake_retries": 99}, "allow_remote_spawn": 1})"));
  CHECK(errors.find("/cluster/node:") != std::string::npos);
  CHECK(errors.find("/cluster/listen/port:") != std::string::npos);
  CHECK(errors.find("/cluster/failure_detection/heartbeat_interval:")
        != std::string::npos);
  CHECK(errors.find("/cluster/connect/handshake_retries:")
        != std::string::npos);
  CHECK(errors.find("/cluster/allow_remote_spawn: must be true or false")
        != std::string::npos);
}

TEST_CASE("a change of the cluster section needs a restart",
          "[runtime][cluster]") {
  auto a = parsed(with(""));
  auto b = a;
  std::optional<cluster_config> none;
  CHECK_FALSE(cluster_change_error(none, none));
  CHECK_FALSE(cluster_change_error(a, b));
  b.connect.handshake_retries = 4;
  auto e = cluster_change_error(a, b);
  REQUIRE(e.has_value());
  CHECK(e->to_string() == "/cluster: changes need a restart");
  CHECK(cluster_change_error(none, a).has_value());
  CHECK(cluster_change_error(a, none).has_value());
  auto c = a;
  c.peers.push_back(cluster_peer_config{"p", "::1", 1});
  CHECK(cluster_change_error(a, c).has_value());
}

TEST_CASE("a supervisor's members may be remotes, and their declared "
          "operations decide what the supervisor may repeat and hedge",
          "[runtime][cluster]") {
  auto text = R"({"dependencies": {},
    "supervisors": {"pay": {"members": ["pay-a", "pay-b"],
                            "hedge": {"enabled": true}}},
    "cluster": {"node": "gateway",
      "peers": {"a": {"host": "127.0.0.1", "port": 7101},
                "b": {"host": "127.0.0.1", "port": 7102}},
      "remotes": {
        "pay-a": {"node": "a", "name": "payments", "default_idempotency": "keyed",
                  "operations": {"quote": "idempotent"}},
        "pay-b": {"node": "b", "name": "payments", "default_idempotency": "keyed",
                  "operations": {"quote": "idempotent"}}}}})";
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  auto* sup = result.config->find_supervisor("pay");
  REQUIRE(sup != nullptr);
  CHECK(sup->repeat == idempotency::keyed);
  CHECK(sup->idempotency_of("quote") == idempotency::idempotent);
  CHECK(sup->idempotency_of("charge") == idempotency::keyed);
  // A remote that declares nothing is unsafe: hedging over it is refused,
  // as for a local member.
  auto unsafe = std::string{text};
  auto at = unsafe.find(R"("default_idempotency": "keyed",
                  "operations": {"quote": "idempotent"}},
        "pay-b")");
  REQUIRE(at != std::string::npos);
  unsafe.replace(at, std::string{R"("default_idempotency": "keyed",)"}.size(),
                 "");
  auto refused = parse_bulwark_config(unsafe);
  CHECK(refused.errors.to_string().find("/supervisors/pay/hedge/enabled: "
                                        "cannot hedge")
        != std::string::npos);
  // An unknown member names all three kinds when the document has a cluster.
  auto ghost = parse_bulwark_config(R"({"dependencies": {},
    "supervisors": {"pay": {"members": ["ghost"]}},
    "cluster": {"node": "gateway"}})");
  CHECK(ghost.errors.to_string().find(
          "unknown member \"ghost\": no dependency, supervisor or remote of "
          "that name")
        != std::string::npos);
}
