// The dependency actor: the one place a service calls a downstream through.
// It owns the dependency's policies (breaker, retry budget, cache, concurrency
// limit, hedging) and turns every call into exactly one reply:
//
//   admission (deadline, breaker, concurrency limit, criticality)
//     -> attempt through the transport (per-attempt timeout)
//     -> classify -> retry after backoff, or hedge, or result
//     -> cache -> fallback chain -> exactly one reply
//
// Calls use the call protocol of actors/messages.hpp in either form: the
// request form `request(dep, timeout, call_atom::value, req)` or the send form
// `send(dep, call_atom::value, req)`, answered with `(reply_atom, call_reply)`.
// Internally everything is send-based with correlation ids and the actor's own
// timer heap: CAF 0.17's request/then is quadratic in the calls in flight.
//
// Failures reaching the caller carry `may_retry == false` ("already retried
// here: do not retry") unless this actor made no retry of its own, so
// attempts never multiply across layers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "runtime/dependency/dependency_policies.hpp"
#include "actors/messages.hpp"
#include "runtime/config/dependency_config.hpp"

namespace bulwark {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using transport_atom = caf::atom_constant<caf::atom("transport")>;

/// The typed interface of a dependency actor.
///  - call: the call protocol (both forms);
///  - config: apply a whole configuration document (JSON text); the reply
///    lists every error ("PATH: message"), empty when it was applied;
///  - journey: one journey as JSON by id ("" when unknown), or the failed
///    journeys as a JSON array;
///  - stats: every counter as a JSON object;
///  - flags: replace this dependency's feature flags with one flags object
///    (JSON text, see runtime/flags/feature_flags.hpp; `{}` = defaults); the
///    reply lists every error, empty when applied. Calls already in flight
///    keep the decision they started with. `(flags_atom)` alone answers the
///    flags in force as JSON. Flags live in the policy state, so they
///    survive a supervisor's restart, and a configuration reload keeps them;
///  - transport: replace the transport (e.g. after a supervisor restarted it);
///  - cancel: the sender no longer wants its call with this id (a hedge
///    elsewhere won); the call is answered at once as `cancelled`;
///  - result / reply / tick: internal (transport results, answers from
///    alternates, timers).
using dependency_actor = caf::typed_actor<
  caf::replies_to<call_atom, call_request>::with<reply_atom, call_reply>,
  caf::replies_to<config_atom, std::string>::with<config_atom,
                                                  std::vector<std::string>>,
  caf::replies_to<journey_atom, std::uint64_t>::with<journey_atom, std::string>,
  caf::replies_to<journey_atom, failed_atom>::with<journey_atom, std::string>,
  caf::replies_to<stats_atom>::with<stats_atom, std::string>,
  caf::replies_to<flags_atom, std::string>::with<flags_atom,
                                                 std::vector<std::string>>,
  caf::replies_to<flags_atom>::with<flags_atom, std::string>,
  caf::reacts_to<transport_atom, caf::actor>,
  caf::reacts_to<cancel_atom, std::uint64_t>,
  caf::reacts_to<result_atom, attempt_result>,
  caf::reacts_to<reply_atom, call_reply>, caf::reacts_to<tick_atom>>;

struct dependency_options {
  /// The validated config of this dependency (parse it with
  /// parse_bulwark_config; `name` must be set).
  dependency_config config;
  /// Serves the transport protocol (attempt_atom -> result_atom).
  caf::actor transport;
  /// Policy state; created from `config` when null. Pass the state of a
  /// previous incarnation to keep breaker, budget and cache across restarts.
  dependency_policies_ptr policies;
  /// Dependencies (or supervisors) that `alternate` fallback steps name.
  std::map<std::string, caf::actor> alternates;
  /// Seed of the actor's random generator (jitter): runs replay from it.
  std::uint64_t seed = 1;
  /// Successful journeys are kept one in `journey_sample` (failed and
  /// degraded ones always): copying every journey would cost more than the
  /// call itself.
  std::uint32_t journey_sample = 64;
  /// How late a timer (backoff end, hedge, attempt timeout) may fire when
  /// the actor is idle. Under traffic, timers run on time regardless: every
  /// message first runs what is due. A slack of a millisecond lets one clock
  /// tick serve many timers when thousands of retries are pending; zero (the
  /// default) fires every timer exactly on time.
  duration timer_slack{0};
};

/// Spawns a dependency actor.
dependency_actor spawn_dependency(caf::actor_system& sys,
                                  dependency_options opts);

} // namespace bulwark
