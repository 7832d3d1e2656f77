// The typed interface of a dependency actor (bulwark/actors/dependency/
// dependency_actor.hpp spawns one): what it answers and what it only reacts
// to. The call protocol itself is described in
// bulwark/actors/protocol/protocol.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/config_messages.hpp"
#include "bulwark/actors/protocol/stats_messages.hpp"

namespace bulwark {

/// The typed interface of a dependency actor.
///  - call, rcall: the call protocol (both forms); `rcall` is a call from
///    another node whose deadline is a remaining budget; a progressive call's
///    preliminary answer goes out as `(preliminary_atom, call_reply)`, which
///    is not in this interface (it is sent to the caller, not received);
///  - config: apply a whole configuration document, parsed and validated
///    once by the sender (`config_update`; `parse_config_update` turns JSON
///    text into one); the reply lists every error ("PATH: message"), empty
///    when it was applied;
///  - journey: one journey as JSON by id ("" when unknown), or the failed
///    journeys as a JSON array;
///  - trace: the journeys of one trace (id as two halves, see
///    bulwark/runtime/core/trace_context.hpp) as a JSON array with their
///    span ids; what `GET /traces/<id>` of the admin server collects;
///  - stats: every counter (`dependency_stats`; `to_json` for people);
///  - flags: replace this dependency's feature flags with one flags object
///    (JSON text, see bulwark/runtime/flags/feature_flags.hpp; `{}` =
///    defaults); the reply lists every error, empty when applied. Calls already
///    in flight keep the decision they started with. `(flags_atom)` alone
///    answers the flags in force as JSON. Flags live in the policy state, so
///    they survive a supervisor's restart, and a configuration reload keeps
///    them;
///  - transport: replace the transport (e.g. after a supervisor restarted it);
///  - cancel: the sender no longer wants its call with this id (a hedge
///    elsewhere won); the call is answered at once as `cancelled`, or, after
///    a progressive call's preliminary answer, not at all;
///  - result / reply / tick: internal (transport results, answers from
///    alternates, timers).
using dependency_actor = caf::typed_actor<
  caf::replies_to<call_atom, call_request>::with<reply_atom, call_reply>,
  caf::replies_to<rcall_atom, call_request>::with<reply_atom, call_reply>,
  caf::replies_to<config_atom, config_update>::with<config_atom,
                                                    std::vector<std::string>>,
  caf::replies_to<journey_atom, std::uint64_t>::with<journey_atom, std::string>,
  caf::replies_to<journey_atom, failed_atom>::with<journey_atom, std::string>,
  caf::replies_to<trace_atom, std::uint64_t, std::uint64_t>::with<trace_atom,
                                                                  std::string>,
  caf::replies_to<stats_atom>::with<stats_atom, dependency_stats>,
  caf::replies_to<flags_atom, std::string>::with<flags_atom,
                                                 std::vector<std::string>>,
  caf::replies_to<flags_atom>::with<flags_atom, std::string>,
  caf::reacts_to<transport_atom, caf::actor>,
  caf::reacts_to<cancel_atom, std::uint64_t>,
  caf::reacts_to<result_atom, attempt_result>,
  caf::reacts_to<reply_atom, call_reply>, caf::reacts_to<tick_atom>>;

} // namespace bulwark
