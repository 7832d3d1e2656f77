// The service host: one object that starts a whole service from one
// validated document and keeps it consistent while it runs. It owns every
// dependency actor and supervisor tree by name, keeps ONE registry of live
// incarnations (service_registry.hpp) that the admin server resolves every
// name through, and keeps state across restarts and reloads:
//
//  - a member restarted by its supervisor starts with the configuration in
//    force now (the document its supervisor applied last) and the policy
//    state, flags included, of its previous incarnation;
//  - a top-level supervisor or a dependency outside every supervisor that
//    stops unexpectedly is restarted by the host, from the registry's
//    document (the last one `PUT /config` applied);
//  - `alternate` fallback steps are wired to live aliases (live_alias.hpp),
//    so they reach whichever incarnation of the named dependency or
//    supervisor runs when the step is taken;
//  - transports are supervised: each is started from its factory and
//    monitored; a crashed one is restarted (restart intensity and backoff as
//    for members) and handed to its dependency with `(transport_atom,
//    actor)`; calls in flight fail over or retry as after any transport
//    failure, so every call still gets exactly one reply.
//
// HTTP services attached to the host are exported by its admin server and
// stopped first. A bad document, or a dependency without a transport
// factory, starts nothing and returns every error. docs/host.md describes
// it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

#include "bulwark/actors/admin/admin_server.hpp"
#include "bulwark/actors/host/service_registry.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/supervise/restart_config.hpp"

namespace bulwark {

class http_service;

/// Starts (and restarts) the transport of one dependency; must return a
/// running actor that serves the transport protocol. It may run on any
/// actor's thread, while the host's registry is locked: it must not call
/// back into the host.
using transport_factory = std::function<caf::actor(caf::actor_system&)>;

struct service_host_options {
  /// One per dependency of the document, by name. A factory for a name the
  /// document lacks is kept for a dependency a reload adds to a supervisor:
  /// its transport starts when the dependency does, and is supervised too.
  std::map<std::string, transport_factory> transports;
  /// When set, an admin server is started in front of the host's actors
  /// (its registry is the host's; `supervisors` is filled in).
  std::optional<admin_options> admin;
  /// How crashed transports, top-level supervisors and dependencies outside
  /// every supervisor are restarted.
  restart_config restarts;
  /// Seeds every dependency's and supervisor's generator (derived per name).
  std::uint64_t seed = 1;
  /// As in dependency_options / supervisor_options.
  std::uint32_t journey_sample = 64;
  /// Starts a stand-in for remote `name` of `/cluster/remotes` as a member
  /// of supervisor `owner` (on the supervisor's thread, for every
  /// incarnation); needed when a supervisor of the document has remote
  /// members. A cluster node's `spawn_remote` is one
  /// (bulwark/actors/cluster/cluster_node.hpp).
  std::function<caf::actor(caf::actor_system&, const std::string& name,
                           const caf::actor& owner)>
    remotes;
};

class service_host {
 public:
  struct start_result {
    /// Null when `errors` is not empty.
    std::unique_ptr<service_host> host;
    /// Every error of the document ("PATH: message") and of the options.
    std::vector<std::string> errors;

    bool ok() const noexcept {
      return host != nullptr;
    }
  };

  /// Validates `json_text` and the options, then starts everything, or
  /// starts nothing and returns every error. Starting the admin server may
  /// throw as `admin_server`'s constructor does (after stopping what was
  /// started).
  static start_result start(caf::actor_system& sys, std::string_view json_text,
                            service_host_options opts);

  /// As above, for a document already parsed and validated.
  static start_result start(caf::actor_system& sys, const bulwark_config& doc,
                            service_host_options opts);

  /// Stops everything the host started.
  ~service_host();

  service_host(const service_host&) = delete;
  service_host& operator=(const service_host&) = delete;

  /// The live incarnation of dependency or supervisor `name` (invalid when
  /// unknown or not running).
  caf::actor find(const std::string& name) const;
  dependency_actor dependency(const std::string& name) const;
  supervisor_actor supervisor(const std::string& name) const;
  /// The transport dependency `name` uses now.
  caf::actor transport(const std::string& name) const;

  /// A handle that always reaches the live incarnation of dependency or
  /// supervisor `name` (the live alias alternates use): it forwards
  /// `(call_atom, call_request)` and `(cancel_atom, id)` keeping the sender,
  /// and answers a call `rejected_locally` while nothing by that name runs.
  /// Invalid for a name the host did not start with. Use it where a handle
  /// is kept across restarts (a saga step, a route actor).
  caf::actor alias(const std::string& name) const;

  /// Hands HTTP service `svc` to the host under `name` (1..64 printable
  /// ASCII characters, unique): the admin server exports its counters as
  /// `bulwark_http_service_*{service="name"}`, and `stop_services()` (and
  /// `stop()`) stop it before anything else, so requests it admitted can
  /// still reach the dependencies while they drain. The service may be
  /// started before or after. Throws std::invalid_argument for a bad or
  /// taken name or a null service, std::logic_error after `stop()`.
  http_service& attach(std::string name, std::unique_ptr<http_service> svc);

  /// Stops every attached HTTP service (each lets its admitted requests
  /// finish for its grace, see http_service::stop), last attached first.
  /// Idempotent. For a shutdown in steps: stop what feeds the services'
  /// work (e.g. a saga coordinator) after this and before `stop()`.
  void stop_services();

  const service_registry_ptr& registry() const noexcept;

  /// The admin server, when `service_host_options::admin` was set.
  admin_server* admin() const noexcept;

  /// Stops the attached HTTP services, then the admin server, then every
  /// actor (idempotent).
  void stop();

  struct impl;

 private:
  explicit service_host(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace bulwark
