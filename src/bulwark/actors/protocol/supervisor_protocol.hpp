// The typed interface of a supervisor
// (bulwark/actors/supervise/supervisor_actor.hpp spawns one). It speaks the
// call protocol exactly like a dependency actor, so supervisors nest;
// bulwark/actors/protocol/protocol.hpp describes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/config_messages.hpp"
#include "bulwark/actors/protocol/stats_messages.hpp"

namespace bulwark {

/// The typed interface of a supervisor.
///  - call, rcall, cancel: the call protocol, as for a dependency actor;
///  - config: apply this supervisor's section of a whole document
///    (`config_update`), all of it or nothing: routing, failover, hedging,
///    budget, outlier and restart parameters, and members added (started
///    through the supervisor's member factory) or removed (they get no new
///    call; calls in flight at them still get exactly one reply, then they
///    stop). The reply lists every error ("PATH: message"), empty when
///    applied;
///  - stats: counters and per-member state (`supervisor_stats`; `to_json`
///    for people);
///  - journey: one journey as JSON by id ("" when unknown), or the failed
///    journeys as a JSON array;
///  - members: the member handles in configuration order (a member being
///    restarted is an invalid handle);
///  - reach: `(reach_atom, bool)` from a current member (a stand-in for a
///    member on another node): false = its node is lost, route around it
///    (no restart, no outlier count); true = back, routable at once. From
///    any other sender it is ignored and counted (`reach_ignored`);
///  - reply / prelim / restart / tick: internal (members' answers and
///    preliminary answers, timers). A progressive call's preliminary answer
///    goes to the caller as `(preliminary_atom, call_reply)`, like a
///    dependency actor's.
using supervisor_actor = caf::typed_actor<
  caf::replies_to<call_atom, call_request>::with<reply_atom, call_reply>,
  caf::replies_to<rcall_atom, call_request>::with<reply_atom, call_reply>,
  caf::reacts_to<cancel_atom, std::uint64_t>,
  caf::replies_to<config_atom, config_update>::with<config_atom,
                                                    std::vector<std::string>>,
  caf::replies_to<stats_atom>::with<stats_atom, supervisor_stats>,
  caf::replies_to<journey_atom, std::uint64_t>::with<journey_atom, std::string>,
  caf::replies_to<journey_atom, failed_atom>::with<journey_atom, std::string>,
  caf::replies_to<members_atom>::with<members_atom, std::vector<caf::actor>>,
  caf::reacts_to<reply_atom, call_reply>,
  caf::reacts_to<preliminary_atom, call_reply>,
  caf::reacts_to<reach_atom, bool>,
  caf::reacts_to<restart_atom, std::uint32_t, std::uint64_t>,
  caf::reacts_to<tick_atom>>;

} // namespace bulwark
