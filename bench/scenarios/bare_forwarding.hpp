// The fastest plain-CAF forwarding path, the floor every protected call is
// measured against: a forwarder actor that remaps correlation ids in a hash
// map and forwards with plain `send` to a server that answers at once
// (docs/architecture.md: about 0.5 us per call on a 2-core machine). Nothing
// here is slowed down on purpose: if bulwark's dependency actor costs 2x
// this, that is 2x the best CAF can do, not 2x a straw man.
#pragma once

#include "bulwark/actors/protocol/call_messages.hpp"

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <unordered_map>

namespace bulwark::bench {

/// Answers `(call_atom, call_request)` at once with `(reply_atom,
/// call_reply{ok, payload echoed, attempts 1})` to the sender.
caf::behavior instant_server(caf::event_based_actor* self);

struct forwarder_state {
  struct origin {
    caf::strong_actor_ptr sender;
    std::uint64_t id;
  };

  std::unordered_map<std::uint64_t, origin> pending;
  std::uint64_t next_id = 0;
};

/// Forwards calls to `server` under its own ids and maps replies back to the
/// original caller and id (send form of the call protocol on both sides).
caf::behavior forwarder(caf::stateful_actor<forwarder_state>* self,
                        caf::actor server);

} // namespace bulwark::bench
