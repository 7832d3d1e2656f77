// bulwark's actor protocols, in one folder. Include this header for all of
// them, or the one header of the concept you use:
//
//   atoms.hpp              every atom of every protocol
//   wire.hpp               times and enums on the wire (nanoseconds, uint8)
//   call_messages.hpp      call_request, call_reply            (call protocol)
//   attempt_messages.hpp   attempt_request, attempt_result     (transport)
//   config_messages.hpp    config_update: a document parsed once (config)
//   service_messages.hpp   service_request, service_response   (HTTP routes)
//   saga_messages.hpp      saga_reply, saga_stats              (sagas)
//   ledger_messages.hpp    ledger_begin/_reply/_commit         (shared ledger)
//   stats_messages.hpp     dependency_stats, supervisor_stats  (stats_atom)
//   dependency_protocol.hpp  typed interface `dependency_actor`
//   supervisor_protocol.hpp  typed interface `supervisor_actor`
//   saga_protocol.hpp        typed interface `saga_coordinator_actor`
//   message_types.hpp      the list of every message type; add_bulwark_types
//                          announces exactly it, and a test fails when a
//                          type a typed interface names is missing from it
//
// Messages are plain structs with CAF 0.17 `inspect` overloads, so the same
// values cross nodes through io::middleman.
//
// Call protocol (callers -> dependency actor, supervisor or anything that
// stands in for one):
//   request form:  request(dep, timeout, call_atom::value, call_request)
//                    -> call_reply
//   send form:     send(dep, call_atom::value, call_request)
//                    and the dependency answers the SENDER with
//                    (reply_atom, call_reply), call_reply::id == request id.
//   progressive calls (call_request::progressive): a preliminary answer may
//                  come first as (preliminary_atom, call_reply), an ordinary
//                  message to the SENDER (preliminary true); the final one
//                  comes as above (docs/dependency.md, "Progressive calls").
//   remote form:   send(dep, rcall_atom::value, call_request) from another
//                    node: deadline_ns is the remaining budget
//                    (budget_from_deadline, wire.hpp), answered as above.
//   (cancel_atom, call id): the sender no longer wants that call (after a
//                  preliminary answer: no further answer at all).
//   The request form is a convenience. CAF 0.17's request/then machinery is
//   quadratic in the number of requests in flight per actor (see
//   docs/architecture.md), so callers with many calls in flight use the send
//   form and keep their own correlation ids (`call_request::id` is the
//   caller's). Exactly one final reply is sent per call.
//
// Transport protocol (dependency actor -> transport actor), send-based only:
//   send(transport, attempt_atom::value, attempt_request)
//     -> the transport answers the SENDER with (result_atom, attempt_result),
//        attempt_result::attempt_id == attempt_request::attempt_id, at most
//        once per attempt. A transport that never answers is the sender's
//        per-attempt-timeout problem.
//   send(transport, cancel_atom::value, attempt_id)
//     -> a hint that the attempt is no longer wanted (a hedge won, the
//        deadline passed). Transports may ignore it; a late result for a
//        cancelled attempt must be dropped by the sender.
//
// Control protocol (admin server, tests, programs -> dependency actors and
// supervisors): configuration, feature flags, stats, journeys; the messages
// of each are listed with its typed interface (dependency_protocol.hpp,
// supervisor_protocol.hpp).
//
// HTTP route protocol (http_service -> route actor):
//   request(route, timeout, service_request) -> service_response
//
// Saga protocol (callers -> saga coordinator): saga_protocol.hpp.
//
// Shared ledger protocol (replicas -> the route's ledger owner):
// (ledger_atom, ledger_begin), (commit_atom, ledger_commit) and
// (cancel_atom, begin id), answered to the SENDER with
// (ledger_atom, ledger_reply); ledger_messages.hpp and docs/ledger.md.
//
// Cluster protocol (node -> a peer's gate): (hello_atom, node_hello) ->
// (hello_atom, node_welcome); (resolve_atom, name) -> (resolve_atom,
// published_entry); cluster_messages.hpp and docs/cluster.md.
//
// Deadlines are absolute steady-clock times: steady clocks of different
// machines do not share an epoch, so a remote hop turns a deadline into a
// remaining budget (`rcall_atom`) before it crosses nodes.
#pragma once

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/actors/protocol/config_messages.hpp"
#include "bulwark/actors/protocol/dependency_protocol.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/actors/protocol/message_types.hpp"
#include "bulwark/actors/protocol/saga_messages.hpp"
#include "bulwark/actors/protocol/saga_protocol.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"
#include "bulwark/actors/protocol/stats_messages.hpp"
#include "bulwark/actors/protocol/supervisor_protocol.hpp"
#include "bulwark/actors/protocol/wire.hpp"
