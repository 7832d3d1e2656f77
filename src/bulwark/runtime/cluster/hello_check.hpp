// What two nodes compare before a link counts as up: the cluster protocol
// version, a digest of the message types each registered (a type missing on
// one side would arrive empty and be dropped silently), the BASP heartbeat
// settings (a node without heartbeats would drop a healthy idle peer, or never
// notice a hung one) and the node names. The facts travel in the hello and
// the welcome; `check_peer` is what both the gate and the peer link apply.
// Its reasons are safe to log: the remote's node name is validated before any
// reason quotes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/runtime/cluster/cluster_config.hpp"
#include "bulwark/runtime/core/idempotency.hpp"

namespace bulwark {

/// The version of node_hello/node_welcome and of the cluster call protocol.
/// 2: published ledger owners (published_kind::ledger) and the ledger
/// messages.
inline constexpr std::uint32_t cluster_protocol_version = 2;

/// FNV-1a 64 over each name followed by a 0 byte (so ["ab", "c"] and
/// ["a", "bc"] differ), in order, then the 4 bytes of `version` (little
/// endian). Order matters: the message type list is append-only.
std::uint64_t types_digest(const std::vector<std::string>& names,
                           std::uint32_t version);

/// Whether `name` may be a node name: 1 to 64 characters of A-Z, a-z, 0-9,
/// '_', '-', '.'.
bool is_valid_node_name(std::string_view name) noexcept;

/// One side's facts, as sent in a hello or a welcome (no CAF types).
struct peer_facts {
  std::uint32_t version = cluster_protocol_version;
  std::uint64_t types_digest = 0;
  std::string node;
  /// Random per process start: tells a restarted peer from the old one.
  std::uint64_t epoch = 0;
  std::int64_t heartbeat_ns = 0;
  std::int64_t timeout_ns = 0;
};

/// Why a peer was refused; the label of refusals_total{reason}.
enum class hello_refusal : std::uint8_t {
  none,
  version_differs,
  invalid_node_name,
  same_node_name,
  message_types_differ,
  heartbeat_settings_differ,
  /// A remote we call at that peer is not among the names it publishes.
  not_published,
  /// We declare an operation of a remote with another idempotency than the
  /// peer does: hedging or failing over it could repeat a side effect.
  declarations_differ,
};

/// @relates hello_refusal
std::string to_string(hello_refusal x);

struct hello_verdict {
  bool ok = true;
  hello_refusal refusal = hello_refusal::none;
  /// Empty when ok; otherwise a sentence safe to log and to send back.
  std::string reason;
};

/// Compares the remote side's facts with ours. Checked in this order, the
/// first difference wins: version; the remote node name's syntax; a node
/// name equal to ours; the types digest; the heartbeat settings. The epoch
/// is not compared (it tells incarnations apart, it is not a setting).
hello_verdict check_peer(const peer_facts& local, const peer_facts& remote);

/// One name a peer publishes, as its welcome declares it.
struct published_declaration {
  std::string name;
  /// For operations not listed.
  idempotency repeat = idempotency::unsafe;
  std::vector<operation_config> operations;
  /// False for a shared ledger's owner: it speaks the ledger protocol, not
  /// the call protocol, so no remote may name it.
  bool callable = true;

  idempotency idempotency_of(std::string_view op) const noexcept;
};

/// Checks our remotes at node `peer` (those of `remotes` whose `node` is
/// `peer`) against what the peer publishes: each target is published as a
/// dependency or supervisor (not as a ledger owner), and
/// each operation we declare has the peer's idempotency. Reasons quote only
/// our own (validated) names.
hello_verdict
check_published(std::string_view peer,
                const std::vector<cluster_remote_config>& remotes,
                const std::vector<published_declaration>& published);

} // namespace bulwark
