// A node's one published actor (docs/cluster.md). A peer greets it with
// `(hello_atom, node_hello)`; the gate compares the peer's facts with its own
// (bulwark/runtime/cluster/hello_check.hpp: protocol version, message types,
// heartbeat settings, node names) and answers `(hello_atom, node_welcome)`:
// the names this node publishes with their handles, or the reason it refuses.
// `(resolve_atom, name)` answers one entry again, an empty one for a name
// that is not published. Published handles are stable (live aliases, so a
// restarted dependency keeps its address for every peer); the gate itself
// holds no per-peer state, so a peer that greets a thousand times costs
// nothing that grows. Anything else a peer sends is counted and dropped.
#pragma once

#include "bulwark/actors/protocol/cluster_messages.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark {

struct node_gate_options {
  /// This node's facts, sent back in every welcome.
  node_hello local;
  /// What peers may call, in the order they get it.
  std::vector<published_entry> entries;
};

/// The gate's counters; `(stats_atom)` -> `(stats_atom, std::string)`
/// answers them as JSON (`to_json_text`).
struct node_gate_stats {
  std::uint64_t hellos = 0;
  std::uint64_t refused = 0;
  std::uint64_t resolves = 0;
  std::uint64_t unknown_names = 0;
  std::uint64_t dropped_messages = 0;
};

std::string to_json_text(const node_gate_stats& x);

caf::actor spawn_node_gate(caf::actor_system& sys, node_gate_options opts);

} // namespace bulwark
