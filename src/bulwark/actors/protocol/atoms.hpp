// The atoms of bulwark's actor protocols, in one header so that names never
// clash with each other or with CAF's predefined atoms (caf::get_atom,
// caf::ok_atom, ...). CAF 0.17.6 atoms are values lifted into types with
// `atom_constant`; their text has at most 10 characters. Atoms private to one
// actor's implementation (its own timers) stay in its .cpp. Every protocol is
// listed in bulwark/actors/protocol/protocol.hpp.
#pragma once

#include <caf/atom.hpp>

namespace bulwark {

/// A logical call to a dependency: `(call_atom, call_request)`.
using call_atom = caf::atom_constant<caf::atom("call")>;

/// A logical call from another node: `(rcall_atom, call_request)` whose
/// `deadline_ns` is the remaining budget in ns (`no_deadline_ns` for none),
/// not an absolute time; the receiver turns it into `now + budget` and
/// answers exactly as for `call_atom`.
using rcall_atom = caf::atom_constant<caf::atom("rcall")>;

/// A node's greeting and its answer: `(hello_atom, node_hello)` to a peer's
/// gate, `(hello_atom, node_welcome)` back (bulwark/actors/protocol/
/// cluster_messages.hpp).
using hello_atom = caf::atom_constant<caf::atom("hello")>;

/// Asks a node's gate for one published name again:
/// `(resolve_atom, name)` -> `(resolve_atom, published_entry)`.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;

/// A node's link to one peer and what depends on it: a remote member
/// subscribes with `(link_atom, caf::actor subscriber, std::string name)`
/// and is told `(link_atom, generation, caf::actor target)` whenever the
/// link comes up (`target` is what the peer publishes as `name`) or goes
/// down (`target` invalid).
using link_atom = caf::atom_constant<caf::atom("link")>;

/// The final answer to a call, sent to the caller: `(reply_atom, call_reply)`.
using reply_atom = caf::atom_constant<caf::atom("reply")>;

/// A progressive call's preliminary answer, sent to the caller as an
/// ordinary message before the final one: `(preliminary_atom, call_reply)`.
using preliminary_atom = caf::atom_constant<caf::atom("prelim")>;

/// One attempt handed to a transport: `(attempt_atom, attempt_request)`.
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;

/// What a transport saw for one attempt: `(result_atom, attempt_result)`.
using result_atom = caf::atom_constant<caf::atom("result")>;

/// A hint that an attempt is no longer wanted: `(cancel_atom, attempt_id)`.
/// To a ledger owner: `(cancel_atom, begin id)`, the begin's deadline passed
/// and its waiter is dropped unanswered (ledger_messages.hpp).
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

/// Reads or replaces an actor's configuration.
using config_atom = caf::atom_constant<caf::atom("config")>;

/// Asks for the recorded journey of a logical request.
using journey_atom = caf::atom_constant<caf::atom("journey")>;

/// Reads or replaces a dependency actor's feature flags
/// (bulwark/runtime/flags/feature_flags.hpp).
using flags_atom = caf::atom_constant<caf::atom("flags")>;

/// Asks an actor for its counters.
using stats_atom = caf::atom_constant<caf::atom("stats")>;

/// Test transports: the test answers a held attempt,
/// `(answer_atom, attempt_id, attempt_result)`.
using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// A deferred answer of a test transport falls due:
/// `(deliver_atom, attempt_id)`.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

/// Internal: timers of a dependency actor or a supervisor are due.
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// The journeys of one trace: `(trace_atom, hi, lo) -> (trace_atom, json)`.
using trace_atom = caf::atom_constant<caf::atom("trace")>;

/// With `journey_atom`: asks for the failed journeys instead of one by id.
using failed_atom = caf::atom_constant<caf::atom("failed")>;

/// An active health probe of a path, for HTTP transports:
/// `(probe_atom, attempt_request)` whose `operation` is the path to GET
/// (bulwark/runtime/probe/probe_config.hpp), answered like an attempt with
/// `(result_atom, attempt_result)`. Other transports ignore it.
using probe_atom = caf::atom_constant<caf::atom("probe")>;

/// Replaces a dependency actor's transport: `(transport_atom, caf::actor)`.
using transport_atom = caf::atom_constant<caf::atom("transport")>;

/// Internal: a crashed member's restart delay is over,
/// `(restart_atom, member index, incarnation)`.
using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// Asks a supervisor for its current member handles (tests, tooling).
using members_atom = caf::atom_constant<caf::atom("members")>;

/// Starts (or joins, or looks up) a saga:
/// `(saga_atom, saga_id, input) -> saga_reply`.
using saga_atom = caf::atom_constant<caf::atom("saga")>;

/// Reads a saga's state without starting anything:
/// `(saga_query_atom, saga_id) -> saga_reply`.
using saga_query_atom = caf::atom_constant<caf::atom("sagaquery")>;

/// Internal: the saga coordinator's timers are due, `(saga_tick_atom)`.
using saga_tick_atom = caf::atom_constant<caf::atom("sagatick")>;

/// A member's reach, from a stand-in for a member on another node to the
/// supervisor that owns it: `(reach_atom, false)` when the member's node is
/// lost (sent before the stand-in fails its calls as `transient`),
/// `(reach_atom, true)` when it is back. The supervisor routes around an
/// unreachable member without counting a crash or an outlier failure.
using reach_atom = caf::atom_constant<caf::atom("reach")>;

/// The shared ledger (bulwark/actors/protocol/ledger_messages.hpp): a
/// replica asks its owner with `(ledger_atom, ledger_begin)`; the owner
/// answers `(ledger_atom, ledger_reply)`.
using ledger_atom = caf::atom_constant<caf::atom("ledger")>;

/// An executor reports to the ledger owner: `(commit_atom, ledger_commit)`,
/// answered `(ledger_atom, ledger_reply)` when the commit was executed.
using commit_atom = caf::atom_constant<caf::atom("commit")>;

} // namespace bulwark
