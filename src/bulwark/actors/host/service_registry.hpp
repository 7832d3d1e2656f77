// One registry of live incarnations: which actor serves each configured
// dependency and supervisor name right now, which transport each dependency
// uses, and the document in force. A service host (service_host.hpp) writes
// it whenever it starts something — a member restarted by its supervisor, a
// transport restarted after a crash — and the admin server resolves every
// name through it on every request, so `/config`, `/flags`, `/metrics` and
// `/journeys` always address the incarnation that runs now, never a dead
// one. Thread-safe (supervisors start members on their own threads); every
// read returns a copy.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "bulwark/actors/protocol/dependency_protocol.hpp"
#include "bulwark/actors/protocol/supervisor_protocol.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/metrics/host_actor_stats.hpp"
#include "bulwark/runtime/metrics/http_service_stats.hpp"

namespace bulwark {

class service_registry {
 public:
  /// What the registry holds for one dependency.
  struct dependency_entry {
    /// The live incarnation (invalid before the first start).
    caf::actor handle;
    /// The transport in force (handed to every new incarnation).
    caf::actor transport;
    /// Starts so far (1 for the first incarnation).
    std::uint64_t incarnation = 0;
  };

  struct supervisor_entry {
    caf::actor handle;
    std::uint64_t incarnation = 0;
  };

  explicit service_registry(std::shared_ptr<const bulwark_config> document);

  /// The document in force: the one the host started from, replaced when a
  /// `PUT /config` was applied everywhere.
  std::shared_ptr<const bulwark_config> document() const;
  /// Replaces the document, then calls the listener (outside the lock).
  void set_document(std::shared_ptr<const bulwark_config> document);

  /// Called with every document `set_document` stores (the host starts and
  /// stops top-level actors from it).
  using document_listener =
    std::function<void(const std::shared_ptr<const bulwark_config>&)>;
  void on_document(document_listener f);

  /// The live dependency actors and supervisors by name (names that never
  /// ran are left out).
  std::map<std::string, dependency_actor> dependencies() const;
  std::map<std::string, supervisor_actor> supervisors() const;

  /// One name's live actor (invalid when unknown or never started).
  caf::actor dependency(const std::string& name) const;
  caf::actor supervisor(const std::string& name) const;
  /// A dependency's current transport.
  caf::actor transport(const std::string& name) const;
  /// Every dependency's current transport, by name.
  std::map<std::string, caf::actor> transports() const;
  std::uint64_t incarnation(const std::string& name) const;

  /// Runs `f` on the entry of dependency `name` (created if need be) under
  /// the registry's lock, so that reading the transport, starting an actor
  /// and recording it are one step for anyone else.
  void update_dependency(const std::string& name,
                         const std::function<void(dependency_entry&)>& f);
  void update_supervisor(const std::string& name,
                         const std::function<void(supervisor_entry&)>& f);

  /// Reads an attached HTTP service's counters (thread-safe, cheap).
  using http_service_probe = std::function<http_service_stats()>;

  /// Records (or, with an empty probe, removes) the HTTP service `name`:
  /// the admin server exports its counters as `bulwark_http_service_*`.
  void set_http_service(const std::string& name, http_service_probe probe);

  /// Every attached HTTP service's counters, in name order (the probes run
  /// outside the registry's lock).
  std::vector<std::pair<std::string, http_service_stats>> http_services() const;

  /// One actor the host restarts itself, as `/metrics` shows it.
  struct host_actor {
    /// "transport", "dependency" or "supervisor".
    std::string kind;
    std::string name;
    host_actor_stats stats;
  };

  /// Records what the host saw of the actor (`kind`, `name`) (replaces).
  void set_host_actor(const std::string& kind, const std::string& name,
                      const host_actor_stats& stats);

  /// Every actor the host restarts itself, in (kind, name) order.
  std::vector<host_actor> host_actors() const;

 private:
  mutable std::mutex mtx_;
  std::shared_ptr<const bulwark_config> document_;
  document_listener listener_;
  std::map<std::string, dependency_entry> deps_;
  std::map<std::string, supervisor_entry> sups_;
  std::map<std::string, http_service_probe> services_;
  std::map<std::pair<std::string, std::string>, host_actor_stats> host_actors_;
};

using service_registry_ptr = std::shared_ptr<service_registry>;

} // namespace bulwark
