// A transport that answers every attempt at once with a success carrying the
// request's payload. It measures what the actor machinery costs with a
// downstream that costs nothing (benchmarks), and is the stand-in service of
// examples that need one.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

namespace bulwark {

/// Behavior: `(attempt_atom, attempt_request)` -> the sender receives
/// `(result_atom, attempt_result)` with `ok`, the same `attempt_id` and the
/// request's payload. Ignores `(cancel_atom, attempt_id)`.
caf::behavior echo_transport(caf::event_based_actor* self);

caf::actor spawn_echo_transport(caf::actor_system& sys);

} // namespace bulwark
