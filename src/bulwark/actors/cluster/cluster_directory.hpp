// What a node knows about its peers right now, shared between the peer link
// actors that write it and the program, the host and the tests that read it:
// each peer's link state, the generation of its current attempt, what its
// welcome published (handles by name) and why it was last refused.
// Thread-safe; every read returns a copy. No CAF in this header beyond the
// handle type.
#pragma once

#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/runtime/cluster/peer_link_core.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace bulwark {

/// One peer as the directory shows it.
struct peer_view {
  std::string name;
  peer_link_state state = peer_link_state::idle;
  /// The generation that is (or was last) up; 0 before the first up.
  std::uint64_t generation = 0;
  /// What the peer published in its last welcome (empty while not up).
  std::vector<published_entry> entries;
  /// The peer's node facts from its last welcome.
  node_hello facts;
  /// Why the peer was last refused ("" when never).
  std::string refusal;
  peer_link_counters counters;
};

class cluster_directory {
 public:
  /// Records what a link says about its peer (replaces the entry) and wakes
  /// every waiter.
  void update(peer_view view);

  /// Every peer, by name.
  std::map<std::string, peer_view> peers() const;

  /// The peer `name` (a default view when unknown).
  peer_view peer(const std::string& name) const;

  /// The handle peer `peer` publishes as `name`, when its link is up
  /// (invalid otherwise).
  caf::actor find(const std::string& peer, const std::string& name) const;

  /// As above, and only when the name is published as `kind` (any kind
  /// when none).
  caf::actor find(const std::string& peer, const std::string& name,
                  std::optional<published_kind> kind) const;

  /// Waits up to `timeout` until `pred(peer view)` holds; returns whether
  /// it did. For programs and tests (blocks the calling thread).
  template <class Predicate>
  bool wait_for(const std::string& peer, std::chrono::milliseconds timeout,
                Predicate pred) const {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] {
      auto i = peers_.find(peer);
      return i != peers_.end() && pred(i->second);
    });
  }

  /// Waits up to `timeout` until the link to `peer` is up.
  bool wait_up(const std::string& peer,
               std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::map<std::string, peer_view> peers_;
};

} // namespace bulwark
