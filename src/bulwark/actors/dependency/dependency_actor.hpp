// The dependency actor: the one place a service calls a downstream through.
// It owns the dependency's policies (breaker, retry budget, cache, concurrency
// limit, hedging) and turns every call into exactly one reply:
//
//   admission (deadline, breaker, concurrency limit, criticality)
//     -> attempt through the transport (per-attempt timeout)
//     -> classify -> retry after backoff, or hedge, or result
//     -> cache -> fallback chain -> exactly one reply
//
// Calls use the call protocol of bulwark/actors/protocol/protocol.hpp in either
// form: the request form `request(dep, timeout, call_atom::value, req)` or the
// send form `send(dep, call_atom::value, req)`, answered with `(reply_atom,
// call_reply)`. A progressive call may get a preliminary answer first, as
// `(preliminary_atom, call_reply)` to its sender. Internally everything is
// send-based with correlation ids and the actor's own timer heap: CAF 0.17's
// request/then is quadratic in the calls in flight.
//
// Failures reaching the caller carry `may_retry == false` ("already retried
// here: do not retry") unless this actor made no retry of its own, so
// attempts never multiply across layers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <caf/fwd.hpp>

#include "bulwark/actors/protocol/dependency_protocol.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/dependency/dependency_policies.hpp"

namespace bulwark {

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
