// The saga coordinator: a CAF actor that owns one saga log and runs sagas by
// id, each through the pure state machine of
// bulwark/runtime/saga/saga_core.hpp.
//
//   start:  (saga_atom, saga_id, input) -> saga_reply
//     A new id starts a saga; the reply comes when it ends, with its outcome.
//     An id that is running joins it (same outcome, when it ends); an id that
//     finished gets its recorded outcome at once and nothing runs. The input
//     of a re-sent id is not looked at: the first run wins.
//   query:  (saga_query_atom, saga_id) -> saga_reply
//     The saga's outcome so far (status `running` while it runs), or
//     `unknown_id`. Starts nothing.
//   stats:  (stats_atom) -> saga_stats
// Refusals (`saga_reply::refused`) are answered at once and log nothing: an
// id that is empty, longer than `max_id_bytes` or not printable ASCII without
// spaces; an input over `max_input_bytes`; a new saga while `max_running`
// run (`busy`).
//
// The user supplies each step's action and compensation as C++ callbacks.
// They run inside the coordinator's actor context and are asynchronous: a
// callback gets the coordinator (to send requests), the saga id, the input,
// the results of earlier steps and the try number, and completes the try
// later, once, by calling `done(verdict, data)` from the coordinator's
// context (typically in a response handler). `saga_call` below is the common
// case: one call to a dependency actor. Idempotency keys are the user's to
// derive from saga id + step name, and must be the same on every try: a
// retried pivot and a compensation after an `unknown` rely on it.
//
// Every record is appended to the log and fdatasynced before the action it
// announces (a try, an answer). At spawn the log is replayed, checked and
// compacted, and every unfinished saga is resumed at once, without a client.
// Stopping the actor (an exit message, SIGTERM) loses nothing: the log is
// the truth, and waiting callers get `stopped`. If the log cannot be written
// the process aborts (like the ledger journal): acting without a durable
// record could repeat or lose a compensation after a restart.
// Timers go through the actor's clock, so tests run in virtual time.
// docs/saga.md has the model, the rules and the log format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/saga_protocol.hpp"
#include "bulwark/runtime/saga/saga_config.hpp"
#include "bulwark/runtime/saga/saga_verdict.hpp"

namespace bulwark {

/// What one try of a step or compensation is about.
struct saga_step_call {
  std::string saga_id;
  std::string input;
  /// Result data of every step by index; empty for steps not done. A
  /// compensation finds its own step's data here when the step was done.
  std::vector<std::string> results;
  /// The step (its name and index in the config).
  std::string step;
  std::uint32_t step_index = 0;
  /// Try number, from 1.
  std::uint32_t attempt = 1;
};

/// Completes a try: call it once, from the coordinator's context, with the
/// verdict and the result data (for a failure, why). Later calls, and calls
/// after the try timed out or the coordinator restarted, are ignored.
using saga_done = std::function<void(saga_verdict verdict, std::string data)>;

/// A step's action or compensation.
using saga_step_fn =
  std::function<void(saga_coordinator_actor::pointer self,
                     const saga_step_call& call, saga_done done)>;

struct saga_step_functions {
  /// Required.
  saga_step_fn action;
  /// Compensable steps only. Empty: nothing to undo (a read), the
  /// compensation is done at once (still logged).
  saga_step_fn compensation;
};

struct saga_coordinator_options {
  /// Must pass validate_saga_config.
  saga_config config;
  /// One per `config.steps`, in the same order.
  std::vector<saga_step_functions> steps;
  /// The saga log (created if missing). One coordinator per file: the file
  /// is locked.
  std::string log_path;
  /// Seeds the backoff jitter of the sagas.
  std::uint64_t seed = 1;
};

/// Validates the options, opens, replays, checks and compacts the log (on
/// the caller's thread), then spawns the coordinator, which resumes every
/// unfinished saga at once. Throws std::invalid_argument for bad options (the
/// message lists every config error) and saga_log_error
/// (std::runtime_error) for a log that cannot be used or does not fit the
/// configuration (naming file and line).
saga_coordinator_actor spawn_saga_coordinator(caf::actor_system& sys,
                                              saga_coordinator_options opts);

/// The common mapping of a dependency's answer to a verdict: `ok` -> done
/// (a degraded answer too); a failure refused before any attempt was sent
/// (`rejected_locally` with `attempts == 0`: breaker open, shed, queue full)
/// -> not_executed; anything else -> unknown (an attempt may have run).
saga_verdict verdict_of(const call_reply& r) noexcept;

/// Runs a try as one call to `dependency` (a dependency actor, a supervisor,
/// anything speaking the call protocol of bulwark/actors/protocol/protocol.hpp)
/// and completes `done` with verdict_of(reply) and the reply's payload (ok) or
/// message (failure). An error instead of a reply (the dependency is gone) is
/// `unknown`. Uses request/then without a CAF timeout: the dependency
/// enforces the call's deadline, the coordinator its `step_timeout`.
void saga_call(saga_coordinator_actor::pointer self,
               const caf::actor& dependency, call_request req, saga_done done);

} // namespace bulwark
