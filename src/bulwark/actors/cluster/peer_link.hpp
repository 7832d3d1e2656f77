// One peer's link, as an actor that carries out what
// bulwark/runtime/cluster/peer_link_core decides: it probes the peer's port
// with the reach prober (so an unreachable host never reaches CAF's single,
// blocking middleman actor), connects through the middleman (the OpenSSL
// module's with TLS: cluster_tls.hpp), greets the peer's gate, checks the
// welcome (hello_check: the peer's facts, and that it publishes every remote
// we call there with our declarations), monitors the gate's proxy while up,
// and writes every change to the cluster directory.
// CAF 0.17.6 has no node-down message: the link learns of a lost node from
// the `down_msg` of the gate's proxy (`remote_link_unreachable`).
#pragma once

#include "bulwark/actors/cluster/cluster_directory.hpp"
#include "bulwark/actors/cluster/reach_prober.hpp"
#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace bulwark {

struct peer_link_options {
  cluster_peer_config peer;
  cluster_connect_config connect;
  /// What this node says in its hello.
  node_hello local;
  /// Our remotes; those at `peer` are checked against its welcome.
  std::vector<cluster_remote_config> remotes;
  std::shared_ptr<reach_prober> prober;
  std::shared_ptr<cluster_directory> directory;
  /// Drives the backoff jitter.
  std::uint64_t seed = 1;
  /// Connect through CAF's OpenSSL module (mutual TLS) instead of the
  /// plain middleman.
  bool tls = false;
};

/// Spawns the link; it starts its first attempt at once and runs until it is
/// killed.
caf::actor spawn_peer_link(caf::actor_system& sys, peer_link_options opts);

} // namespace bulwark
