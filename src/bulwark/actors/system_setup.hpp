// Setting up a CAF actor system for bulwark: every bulwark message type must
// be announced to CAF 0.17 (`add_message_type`) before the system starts, or
// messages cannot be serialized for remote nodes and print as "<unprintable>".
#pragma once

#include <caf/actor_system_config.hpp>

namespace bulwark {

/// Announces every type of bulwark/actors/protocol/message_types.hpp as
/// "bulwark::<name>".
void add_bulwark_types(caf::actor_system_config& cfg);

} // namespace bulwark
