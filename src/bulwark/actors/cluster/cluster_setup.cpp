#include "bulwark/actors/cluster/cluster_setup.hpp"

#include "bulwark/actors/cluster/cluster_tls.hpp"
#include "bulwark/actors/protocol/message_types.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <chrono>

namespace bulwark {

namespace {

/// Every node of a bulwark cluster names itself so in the BASP handshake:
/// CAF refuses a peer whose application identifiers share none with ours,
/// before any message reaches a gate.
constexpr const char* app_identifier = "bulwark-cluster-1";

} // namespace

std::vector<std::string> message_type_names() {
  std::vector<std::string> names;
  for_each_message_type([&](auto entry) { names.emplace_back(entry.name); });
  return names;
}

node_hello local_hello(const cluster_config& c, std::uint64_t epoch) {
  node_hello h;
  h.version = cluster_protocol_version;
  h.types_digest = types_digest(message_type_names(), cluster_protocol_version);
  h.node = c.node;
  h.epoch = epoch;
  h.heartbeat_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     c.failure_detection.heartbeat_interval)
                     .count();
  h.timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   c.failure_detection.connection_timeout)
                   .count();
  return h;
}

std::vector<std::string> configure_cluster(caf::actor_system_config& cfg,
                                           const cluster_config& c) {
  std::vector<std::string> errors;
  if (!cfg.actor_factories.empty() && !c.allow_remote_spawn) {
    std::string names;
    for (auto& [name, factory] : cfg.actor_factories)
      names += (names.empty() ? "\"" : ", \"") + name + "\"";
    errors.emplace_back(
      "/cluster/allow_remote_spawn: actor types are registered (" + names
      + "): any peer could spawn them; set it to true to allow");
  }
  if (c.tls)
    // A document that asks for TLS never runs in plaintext: a build without
    // it, or a file it cannot read, stops the start.
    for (auto& error : check_cluster_tls(*c.tls))
      errors.push_back(error);
  if (!errors.empty())
    return errors;
  cfg.load<caf::io::middleman>();
  if (c.tls) {
    // The module needs the middleman loaded before it.
    errors = configure_cluster_tls(cfg, *c.tls);
    if (!errors.empty())
      return errors;
  }
  add_bulwark_types(cfg);
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{c.failure_detection.heartbeat_interval});
  cfg.set("middleman.connection-timeout",
          caf::timespan{c.failure_detection.connection_timeout});
  cfg.set("middleman.enable-automatic-connections", false);
  cfg.set("middleman.app-identifiers",
          std::vector<std::string>{app_identifier});
  return errors;
}

} // namespace bulwark
