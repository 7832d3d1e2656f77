// What a program does before its actor system starts, to be a node of a
// cluster (docs/cluster.md): `configure_cluster` loads CAF's middleman, sets
// the failure-detection keys from the document (CAF reads them once, at
// start, and both ends must agree: the hello checks it), turns automatic
// connections off (they would open links around the peer links' checks),
// announces bulwark's message types and refuses a configuration that would
// let any peer spawn actors. `local_hello` is what this node says about
// itself in every hello and welcome.
#pragma once

#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark {

/// Prepares `cfg` for node `c`; returns every error ("PATH: message"),
/// empty when the actor system may start. Call it once, before the actor
/// system is constructed, instead of `add_bulwark_types` (it calls it).
std::vector<std::string> configure_cluster(caf::actor_system_config& cfg,
                                           const cluster_config& c);

/// The names of every message type bulwark announces, in their fixed order.
std::vector<std::string> message_type_names();

/// This node's facts: protocol version, the digest of
/// `message_type_names()`, its name, `epoch` (random per process start) and
/// its heartbeat settings.
node_hello local_hello(const cluster_config& c, std::uint64_t epoch);

} // namespace bulwark
