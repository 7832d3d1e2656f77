// What a program does before its actor system starts: the middleman and
// bulwark's types are loaded and the failure-detection keys set from the
// document; a configuration any peer could spawn actors through, or one that
// asks for TLS this build does not have, is refused with the key to change.
#include "bulwark/actors/cluster/cluster_setup.hpp"

#include "bulwark/runtime/cluster/hello_check.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

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
  CHECK(message_type_names().back() == "bulwark::published_entry");
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

TEST_CASE("a node that asks for TLS is refused until the build has it",
          "[actors][cluster]") {
  caf::actor_system_config cfg;
  auto errors = configure_cluster(
    cfg, cluster(R"(, "tls": {"certificate": "/c.pem", "key": "/k.pem",
                              "cafile": "/ca.pem"})"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("/cluster/tls: ") == 0);
}
