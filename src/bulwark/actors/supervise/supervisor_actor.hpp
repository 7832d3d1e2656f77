// The supervisor actor: owns a group of members (dependency actors that are
// replicas of one service or alternates, or other supervisors), starts them,
// watches them, and handles their failures locally — level 3 of the
// escalation ladder — before anything reaches its caller:
//
//   route (round robin / least outstanding / power of two choices)
//     -> member answers: the first final result wins
//     -> failure: reroute to a member not tried yet (failover), within the
//        call's allowance, the retry budget and the deadline
//     -> slow: hedge to another member after the hedge delay; losers are
//        cancelled (`cancel_atom` to the member) and late answers dropped
//     -> outliers ejected, readmitted after one successful probe
//     -> a crashed member is restarted (one-for-one, restart intensity and
//        backoff); a restarted dependency keeps its breaker, budget and
//        cache. Past the intensity limit the supervisor answers every call
//        in flight, stops its members and exits, so its own supervisor (or
//        owner) sees it go down: level 4.
//
// It speaks the call protocol of bulwark/actors/protocol/protocol.hpp (both
// forms) and understands `(cancel_atom, call id)`, exactly like a dependency
// actor, so supervisors nest. Every failure it answers carries `may_retry ==
// false`. A progressive call is passed on (each attempt asks with what is
// left of its soft deadline) and the first preliminary answer of a member
// goes to the caller as `(preliminary_atom, call_reply)`, at most one per
// call, never after the reply. The decisions themselves live in
// bulwark/runtime/supervise/supervisor_core.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/protocol/supervisor_protocol.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/journey/journey_log.hpp"
#include "bulwark/runtime/supervise/supervisor_config.hpp"

namespace bulwark {

/// How to start one member (again, after a crash). Called on the
/// supervisor's thread; must return a running actor that speaks the call
/// protocol and `cancel_atom`.
struct member_spec {
  std::string name;
  std::function<caf::actor(caf::actor_system&)> start;
};

/// Starts a member by configured name on the supervisor's thread, with the
/// document in force for that supervisor (the last one it applied, else the
/// one it started from; null when it was given none): how a supervisor
/// starts members a reconfiguration adds, and every member, restarts
/// included, when `members` is empty. Returns an invalid handle when it
/// cannot.
/// `owner` is the supervisor itself: a member that stands in for an actor on
/// another node tells it when that node becomes unreachable
/// (`(reach_atom, bool)`, bulwark/actors/cluster/remote_member.hpp).
using member_factory = std::function<caf::actor(
  caf::actor_system&, const std::string& name,
  const std::shared_ptr<const bulwark_config>& doc, const caf::actor& owner)>;

struct supervisor_options {
  /// The validated config (from parse_bulwark_config: the derived
  /// idempotency must be filled in).
  supervisor_config config;
  /// One per `config.members`, in the same order; when empty, every member
  /// starts (and restarts) through `factory`.
  std::vector<member_spec> members;
  /// Starts members added by a `(config_atom, config_update)`; without
  /// one, a change that adds a member is rejected.
  member_factory factory;
  /// The document `config` comes from, handed to `factory` until a
  /// `(config_atom, config_update)` replaces it; may be null.
  std::shared_ptr<const bulwark_config> document;
  /// Seeds routing (power of two choices), outlier draws and restart jitter.
  std::uint64_t seed = 1;
  journey_config journeys;
  /// Successful journeys are kept one in `journey_sample`; failed ones always.
  std::uint32_t journey_sample = 64;
};

/// Spawns a supervisor; it starts its members at once.
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts);

/// A whole tree from one validated document: the supervisor `root` with its
/// members, nested supervisors included. Each dependency gets its transport
/// from `transport_for(name)` (called once per dependency, when it first
/// starts) and keeps its policy state (breaker, budget, cache) across
/// restarts; members start, and restart, from the document their supervisor
/// applied last (a `(config_atom, config_update)` reaches each supervisor of
/// the tree separately). A tree does not supervise its transports and knows
/// no alternates: a service host (bulwark/actors/host/service_host.hpp)
/// does both. Returns an invalid handle if `root` names no supervisor of
/// `cfg`.
supervisor_actor spawn_supervisor_tree(
  caf::actor_system& sys, const bulwark_config& cfg, const std::string& root,
  std::function<caf::actor(const std::string&)> transport_for,
  std::uint64_t seed = 1);

/// The result of starting a tree from JSON text.
struct supervisor_tree {
  /// Valid only when `errors` is empty.
  supervisor_actor root;
  /// Every error of the document ("PATH: message"), or why `root` is unknown.
  std::vector<std::string> errors;
};

/// Parses and validates `json_text` and starts the tree under `root` only
/// if the document has no error: a bad document starts nothing.
supervisor_tree spawn_supervisor_tree(
  caf::actor_system& sys, std::string_view json_text, const std::string& root,
  std::function<caf::actor(const std::string&)> transport_for,
  std::uint64_t seed = 1);

} // namespace bulwark
