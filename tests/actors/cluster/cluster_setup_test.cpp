// What a program does before its actor system starts: the middleman and
// bulwark's types are loaded and the failure-detection keys set from the
// document; a configuration any peer could spawn actors through is refused
// with the key to change; TLS files are checked at start (and a build
// without TLS refuses a document that asks for it).
#include "bulwark/actors/cluster/cluster_setup.hpp"

#include "bulwark/actors/cluster/cluster_tls.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "tests/support/temp_dir.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

cluster_config cluster(const std::string& extra = "") {
  auto parsed = parse_bulwark_config(
    R"({"dependencies": {}, "cluster": {"node": "a")" + extra + "}}");
  INFO(parsed.errors.to_string());
  REQUIRE(parsed.ok());
  return *parsed.config->cluster;
}

caf::behavior echo() {
  return {[](int x) { return x; }};
}

} // namespace

TEST_CASE("a configured node has the middleman, bulwark's types and the "
          "document's heartbeat settings",
          "[actors][cluster]") {
  caf::actor_system_config cfg;
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  auto c = cluster(R"(, "failure_detection": {"heartbeat_interval": "50ms",
                       "connection_timeout": "300ms"})");
  REQUIRE(configure_cluster(cfg, c).empty());
  CHECK(caf::get_or(cfg, "middleman.heartbeat-interval", caf::timespan{0})
        == caf::timespan{std::chrono::milliseconds(50)});
  CHECK(caf::get_or(cfg, "middleman.connection-timeout", caf::timespan{0})
        == caf::timespan{std::chrono::milliseconds(300)});
  CHECK_FALSE(caf::get_or(cfg, "middleman.enable-automatic-connections", true));
  caf::actor_system sys{cfg};
  CHECK(sys.has_middleman());
  CHECK(sys.types().portable_name(0, &typeid(node_hello))
        == "bulwark::node_hello");
  auto hello = local_hello(c, 7);
  CHECK(hello.node == "a");
  CHECK(hello.epoch == 7);
  CHECK(hello.heartbeat_ns == 50'000'000);
  CHECK(hello.timeout_ns == 300'000'000);
  CHECK(hello.version == cluster_protocol_version);
  CHECK(hello.types_digest
        == types_digest(message_type_names(), cluster_protocol_version));
  CHECK(message_type_names().front() == "bulwark::call_request");
  CHECK(message_type_names().back() == "bulwark::ledger_owner_counters");
}

TEST_CASE("a node with actor types any peer could spawn does not start "
          "unless the document allows it",
          "[actors][cluster]") {
  caf::actor_system_config cfg;
  cfg.add_actor_type("echo", echo);
  auto errors = configure_cluster(cfg, cluster());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]
        == "/cluster/allow_remote_spawn: actor types are registered "
           "(\"echo\"): any peer could spawn them; set it to true to allow");
  caf::actor_system_config allowed;
  allowed.add_actor_type("echo", echo);
  CHECK(configure_cluster(allowed, cluster(R"(, "allow_remote_spawn": true)"))
          .empty());
}

namespace {

std::string data(const std::string& name) {
  return std::string{BULWARK_SOURCE_DIR} + "/tests/data/cluster/" + name;
}

std::string tls(const std::string& certificate, const std::string& key,
                const std::string& cafile, const std::string& extra = "") {
  return R"(, "tls": {"certificate": ")" + certificate + R"(", "key": ")" + key
         + R"(", "cafile": ")" + cafile + "\"" + extra + "}";
}

} // namespace

TEST_CASE("a node with readable TLS files loads CAF's OpenSSL module with "
          "them",
          "[actors][cluster]") {
  caf::actor_system_config cfg;
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  auto errors = configure_cluster(
    cfg, cluster(tls(data("node-a.pem"), data("node-a-key.pem"),
                     data("cluster-ca.pem"))));
  if (!cluster_tls_built()) {
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "/cluster/tls: this build has no TLS (libcaf_openssl)");
    return;
  }
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(errors.empty());
  CHECK(cfg.openssl_certificate == data("node-a.pem"));
  CHECK(cfg.openssl_key == data("node-a-key.pem"));
  CHECK(cfg.openssl_cafile == data("cluster-ca.pem"));
  CHECK(cfg.openssl_passphrase.empty());
  caf::actor_system sys{cfg};
  CHECK(sys.has_middleman());
  CHECK(sys.has_openssl_manager());
}

TEST_CASE("a node whose TLS files cannot be used does not start, and the "
          "error names the key and the path",
          "[actors][cluster]") {
  if (!cluster_tls_built())
    return; // the case above checks the refusal
  temp_dir dir;
  write_file(dir.file("empty.pem"), "not a certificate\n");
  caf::actor_system_config cfg;
  auto errors = configure_cluster(
    cfg, cluster(tls(dir.file("missing.pem"), dir.file("empty.pem"),
                     dir.path.string(),
                     R"(, "capath": ")" + dir.file("nope") + "\"")));
  REQUIRE(errors.size() == 4);
  CHECK(errors[0]
        == "/cluster/tls/certificate: cannot read \"" + dir.file("missing.pem")
             + "\": No such file or directory");
  CHECK(errors[1]
        == "/cluster/tls/key: \"" + dir.file("empty.pem")
             + "\" is not a PEM file");
  CHECK(errors[2]
        == "/cluster/tls/cafile: \"" + dir.path.string()
             + "\" is not a regular file");
  CHECK(errors[3]
        == "/cluster/tls/capath: cannot read the directory \""
             + dir.file("nope") + "\": No such file or directory");
  // Nothing was loaded: the system would start without a middleman.
  CHECK(cfg.module_factories.empty());
  CHECK(cfg.openssl_certificate.empty());
}

TEST_CASE("a TLS passphrase comes from the environment variable the document "
          "names, and a missing one stops the start",
          "[actors][cluster]") {
  if (!cluster_tls_built())
    return;
  auto doc = [](const std::string& var) {
    return cluster(tls(data("node-a.pem"), data("node-a-key.enc.pem"),
                       data("cluster-ca.pem"),
                       R"(, "passphrase_env": ")" + var + "\""));
  };
  ::unsetenv("BULWARK_TEST_NO_SUCH_VAR");
  caf::actor_system_config missing;
  auto errors = configure_cluster(missing, doc("BULWARK_TEST_NO_SUCH_VAR"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]
        == "/cluster/tls/passphrase_env: the environment variable "
           "BULWARK_TEST_NO_SUCH_VAR is not set or empty");
  ::setenv("BULWARK_TEST_SETUP_PASS", "bulwark-test", 1);
  caf::actor_system_config cfg;
  REQUIRE(configure_cluster(cfg, doc("BULWARK_TEST_SETUP_PASS")).empty());
  CHECK(cfg.openssl_passphrase == "bulwark-test");
  // CAF would load the key again at the first connection, fail, and end
  // the process: a wrong passphrase stops the start instead.
  ::setenv("BULWARK_TEST_SETUP_PASS", "wrong", 1);
  caf::actor_system_config wrong;
  errors = configure_cluster(wrong, doc("BULWARK_TEST_SETUP_PASS"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("/cluster/tls/key: cannot load \""
                       + data("node-a-key.enc.pem") + "\" (wrong passphrase?)")
        == 0);
  CHECK(wrong.module_factories.empty());
}

TEST_CASE("TLS files that OpenSSL cannot use together stop the start",
          "[actors][cluster]") {
  if (!cluster_tls_built())
    return;
  caf::actor_system_config cfg;
  // node-b's key with node-a's certificate; a CA file without a
  // certificate; an encrypted key without a passphrase.
  auto errors = configure_cluster(
    cfg, cluster(tls(data("node-a.pem"), data("node-b-key.pem"),
                     data("node-a-key.pem"))));
  REQUIRE(errors.size() == 2);
  CAPTURE(errors[0], errors[1]);
  CHECK(errors[0].find("/cluster/tls/key: \"" + data("node-b-key.pem")
                       + "\" is not the key of the certificate")
        == 0);
  CHECK(errors[1].find("/cluster/tls/cafile: cannot load \""
                       + data("node-a-key.pem") + "\"")
        == 0);
  errors = configure_cluster(
    cfg, cluster(tls(data("node-a.pem"), data("node-a-key.enc.pem"),
                     data("cluster-ca.pem"))));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("/cluster/tls/key: cannot load \""
                       + data("node-a-key.enc.pem")
                       + "\" (encrypted? set passphrase_env)")
        == 0);
  CHECK(cfg.module_factories.empty());
}

TEST_CASE("an expired node certificate stops the start with its end date",
          "[actors][cluster]") {
  if (!cluster_tls_built())
    return;
  caf::actor_system_config cfg;
  auto errors = configure_cluster(
    cfg, cluster(tls(data("expired-node.pem"), data("expired-node-key.pem"),
                     data("cluster-ca.pem"))));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]
        == "/cluster/tls/certificate: \"" + data("expired-node.pem")
             + "\" has expired: valid until 2020-01-02 00:00:00 UTC");
  CHECK(cfg.module_factories.empty());
}
