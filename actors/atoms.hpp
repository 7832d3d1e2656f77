// The atoms of bulwark's actor protocols, in one header so that names never
// clash with CAF's predefined atoms (caf::get_atom, caf::ok_atom, ...). CAF
// 0.17.6 atoms are values lifted into types with `atom_constant`; their text
// has at most 10 characters. Every protocol is documented in
// actors/messages.hpp.
#pragma once

#include <caf/atom.hpp>

namespace bulwark {

/// A logical call to a dependency: `(call_atom, call_request)`.
using call_atom = caf::atom_constant<caf::atom("call")>;

/// The final answer to a call, sent to the caller: `(reply_atom, call_reply)`.
using reply_atom = caf::atom_constant<caf::atom("reply")>;

/// One attempt handed to a transport: `(attempt_atom, attempt_request)`.
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;

/// What a transport saw for one attempt: `(result_atom, attempt_result)`.
using result_atom = caf::atom_constant<caf::atom("result")>;

/// A hint that an attempt is no longer wanted: `(cancel_atom, attempt_id)`.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

/// Reads or replaces an actor's configuration.
using config_atom = caf::atom_constant<caf::atom("config")>;

/// Asks for the recorded journey of a logical request.
using journey_atom = caf::atom_constant<caf::atom("journey")>;

/// Reads or replaces a dependency actor's feature flags
/// (runtime/flags/feature_flags.hpp).
using flags_atom = caf::atom_constant<caf::atom("flags")>;

/// Asks an actor for its counters.
using stats_atom = caf::atom_constant<caf::atom("stats")>;

/// Test transports: the test answers a held attempt,
/// `(answer_atom, attempt_id, attempt_result)`.
using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// A deferred answer of a test transport falls due:
/// `(deliver_atom, attempt_id)`.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

} // namespace bulwark
