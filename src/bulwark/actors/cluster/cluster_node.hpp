// A process as a node of a bulwark cluster (docs/cluster.md): it publishes
// one gate on its `/cluster/listen` address (bound to 127.0.0.1 unless the
// document says otherwise, with address reuse so a restarted node gets its
// port back at once) and runs one peer link per `/cluster/peers` entry,
// whose state the directory shows. What a peer may call is the list of
// published entries the program hands in (`published_entries` builds it
// from a service host's live aliases, so restarts keep the addresses).
// Calls cross with the ordinary call protocol: `(rcall_atom, call_request)`
// carries the remaining budget (bulwark/actors/protocol/wire.hpp).
#pragma once

#include "bulwark/actors/cluster/cluster_directory.hpp"
#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bulwark {

struct bulwark_config;
class reach_prober;

struct cluster_node_options {
  cluster_config config;
  /// What peers may call; names must be in `config.publish`, except shared
  /// ledger owners (`published_ledger`), which the program spawns and names
  /// itself (1-64 of A-Z a-z 0-9 _ - ., not a name in `config.publish`;
  /// they need `config.listen_port`). When absent,
  /// the gate is published later by `publish` (a host whose supervisors
  /// have remote members needs the node before its aliases exist).
  std::optional<std::vector<published_entry>> published =
    std::vector<published_entry>{};
  /// Random per process start (tells a restarted node from the old one); 0
  /// picks one from std::random_device.
  std::uint64_t epoch = 0;
  /// Drives the links' backoff jitter.
  std::uint64_t seed = 1;
};

class cluster_node {
 public:
  struct start_result {
    std::unique_ptr<cluster_node> node;
    std::vector<std::string> errors;
  };

  /// Publishes the gate and starts the links, or starts nothing and returns
  /// every error. The actor system must have been configured with
  /// `configure_cluster`.
  static start_result start(caf::actor_system& sys, cluster_node_options opts);

  /// Stops the links and the gate and closes the port.
  ~cluster_node();

  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  /// The port the gate listens on (0 when the node does not listen).
  std::uint16_t port() const noexcept;

  caf::actor gate() const;

  const std::shared_ptr<cluster_directory>& directory() const noexcept;

  /// What this node says in its hello.
  const node_hello& hello() const noexcept;

  /// Publishes the gate with `entries` (names must be in
  /// `config.publish`), once, when `start` was given none; returns every
  /// error.
  std::vector<std::string> publish(std::vector<published_entry> entries);

  /// A new stand-in for remote `name` of `config.remotes` (a local actor
  /// that speaks the call protocol for what the peer publishes; see
  /// remote_member.hpp), telling `owner` (its supervisor, may be invalid)
  /// when the peer becomes unreachable or reachable. Invalid for an unknown
  /// name. The caller owns it (a supervisor stops its members); it ends its
  /// calls when its peer's link does.
  caf::actor spawn_remote(const std::string& name,
                          const caf::actor& owner = {});

  /// The link to peer `name` (invalid for an unknown peer).
  caf::actor link(const std::string& name) const;

  /// Stops everything (idempotent).
  void stop();

 private:
  cluster_node() = default;

  caf::actor_system* sys_ = nullptr;
  cluster_config config_;
  node_hello hello_;
  std::uint16_t port_ = 0;
  caf::actor gate_;
  /// By peer name, in `config_.peers` order.
  std::vector<std::pair<std::string, caf::actor>> links_;
  std::shared_ptr<reach_prober> prober_;
  std::shared_ptr<cluster_directory> directory_;
};

/// The entries for `doc`'s `/cluster/publish`: each name's kind, its
/// declared operations, and `alias(name)` as its handle (a live alias, so
/// the address outlives restarts).
std::vector<published_entry>
published_entries(const bulwark_config& doc,
                  const std::function<caf::actor(const std::string&)>& alias);

/// The entry that publishes a shared ledger's owner (spawn_ledger_owner)
/// under `name`: replicas on peers find it with `ledger_locator`.
published_entry published_ledger(std::string name, caf::actor owner);

/// For `shared_ledger_options::locate`: the owner peer `peer` publishes as
/// `name`, while the link to it is up (null otherwise). A restarted owner
/// node is found again once its link is back.
std::function<caf::actor()>
ledger_locator(std::shared_ptr<cluster_directory> directory, std::string peer,
               std::string name);

} // namespace bulwark
