// The typed interface of a saga coordinator
// (bulwark/actors/saga/saga_coordinator.hpp spawns one and describes what each
// message does); its messages are in bulwark/actors/protocol/saga_messages.hpp.
#pragma once

#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/saga_messages.hpp"

namespace bulwark {

/// The typed interface of a saga coordinator. `saga_tick_atom` is internal
/// (its timers).
using saga_coordinator_actor = caf::typed_actor<
  caf::replies_to<saga_atom, std::string, std::string>::with<saga_reply>,
  caf::replies_to<saga_query_atom, std::string>::with<saga_reply>,
  caf::replies_to<stats_atom>::with<saga_stats>,
  caf::reacts_to<saga_tick_atom>>;

} // namespace bulwark
