// A transport that serves the attempt protocol
// (bulwark/actors/protocol/protocol.hpp) by calling a user function: the
// simplest way to put an in-process service, a client library or a test double
// behind a dependency actor. The sync form runs the function on the transport
// actor's thread, so it must be quick (or spawn the behavior `detached`); the
// async form hands the function a completion it may call later, from any
// thread, exactly once.
#pragma once

#include "bulwark/actors/protocol/attempt_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <functional>

namespace bulwark {

/// Answers one attempt. The adapter fills in `attempt_id`.
using attempt_function = std::function<attempt_result(const attempt_request&)>;

/// Delivers the result of one attempt; the adapter fills in `attempt_id`.
/// Thread-safe; only the first call counts, later calls are ignored. Never
/// calling it leaves the attempt to the sender's per-attempt timeout.
using attempt_completion = std::function<void(attempt_result)>;

/// Starts one attempt and arranges for `complete` to be called.
using async_attempt_function =
  std::function<void(const attempt_request&, attempt_completion complete)>;

/// Behavior of a sync function transport: answers the sender of every
/// `(attempt_atom, attempt_request)` with `(result_atom, fn(request))`. An
/// exception thrown by `fn` becomes a `transient` failure whose payload is
/// the exception's message. Ignores `(cancel_atom, attempt_id)`.
caf::behavior function_transport(caf::event_based_actor* self,
                                 attempt_function fn);

/// Behavior of an async function transport: calls `fn(request, complete)`;
/// `complete(result)` sends `(result_atom, result)` to the attempt's sender
/// (held weakly: a sender that is gone gets nothing). An exception thrown by
/// `fn` before it completes becomes a `transient` failure.
caf::behavior async_function_transport(caf::event_based_actor* self,
                                       async_attempt_function fn);

caf::actor spawn_function_transport(caf::actor_system& sys,
                                    attempt_function fn);

caf::actor spawn_async_function_transport(caf::actor_system& sys,
                                          async_attempt_function fn);

} // namespace bulwark
