// The messages of the saga coordinator's protocol (bulwark/actors/protocol/
// saga_protocol.hpp): what a caller gets back for a saga id (the outcome,
// or why nothing was started), the coordinator's counters, and CAF 0.17
// `inspect` overloads for them and for the pure outcome types of
// bulwark/runtime/saga/saga_outcome.hpp, so they can be announced to the actor
// system (bulwark/actors/protocol/message_types.hpp) and cross nodes.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include "bulwark/runtime/saga/saga_outcome.hpp"

namespace bulwark {

/// Why a request got no saga outcome.
enum class saga_refusal : std::uint8_t {
  /// Not refused: `outcome` is the saga's.
  none,
  /// `max_running` sagas are running; nothing was started or logged.
  busy,
  /// The id is empty, too long, or has a byte outside printable ASCII
  /// (controls, NUL, space, non-ASCII); nothing was logged.
  invalid_id,
  /// The input exceeds `max_input_bytes`; nothing was logged.
  input_too_large,
  /// A status query for an id the coordinator does not know (never started,
  /// or forgotten after retention).
  unknown_id,
  /// The coordinator stopped before the saga ended. The saga is in the log
  /// and continues when a coordinator is started on it again; ask again
  /// then (the re-sent id joins it or gets its outcome).
  stopped,
};

inline constexpr std::size_t saga_refusal_count = 6;

/// @relates saga_refusal
std::string to_string(saga_refusal x);

/// The answer for one saga id.
struct saga_reply {
  /// The id asked about (empty when the id itself was refused).
  std::string saga_id;
  saga_refusal refused = saga_refusal::none;
  /// For a refusal: what was wrong, e.g. "busy: 64 sagas running
  /// (max_running)". Never echoes a refused id.
  std::string error;
  /// True when the id was known already: the request joined the running
  /// saga or got its recorded outcome, and nothing ran for it.
  bool duplicate = false;
  /// The outcome (status `running` for a query of a saga in flight).
  saga_outcome outcome;
};

/// What a coordinator did since it started (plain counters).
struct saga_stats {
  /// Sagas begun by a request / resumed from the log at start.
  std::uint64_t started = 0;
  std::uint64_t resumed = 0;
  /// Sagas ended, by status.
  std::uint64_t completed = 0;
  std::uint64_t compensated = 0;
  std::uint64_t compensation_failed = 0;
  std::uint64_t stuck = 0;
  /// Re-sent ids that joined a running saga / got a recorded outcome.
  std::uint64_t joined = 0;
  std::uint64_t answered_from_log = 0;
  /// Requests refused, by reason.
  std::uint64_t refused_busy = 0;
  std::uint64_t refused_invalid_id = 0;
  std::uint64_t refused_input_too_large = 0;
  /// Tries run.
  std::uint64_t step_tries = 0;
  std::uint64_t compensation_tries = 0;
  /// Verdicts that came after their try was over (timed out, restarted).
  std::uint64_t late_verdicts = 0;
  /// Results over `max_data_bytes`, recorded as unknown.
  std::uint64_t oversized_results = 0;
  /// Log writes (each one write + fdatasync) and records written.
  std::uint64_t log_writes = 0;
  std::uint64_t log_records = 0;
  /// Compactions (at open included).
  std::uint64_t compactions = 0;
  /// Finished sagas forgotten by retention.
  std::uint64_t forgotten = 0;
  /// Now: sagas running, finished sagas remembered, log size in bytes.
  std::uint32_t running = 0;
  std::uint32_t retained = 0;
  std::uint64_t log_bytes = 0;
};

// -- CAF inspection -----------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, saga_step_data& x) {
  return f(caf::meta::type_name("saga_step_data"), x.step, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, saga_outcome& x) {
  auto status = static_cast<std::uint8_t>(x.status);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (status >= saga_status_count)
      return caf::make_error(caf::sec::invalid_argument);
    x.status = static_cast<saga_status>(status);
    return caf::none;
  });
  return f(caf::meta::type_name("saga_outcome"), status, x.steps,
           x.compensations, x.failure, x.failed_step, x.failed_compensation,
           load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, saga_reply& x) {
  auto refused = static_cast<std::uint8_t>(x.refused);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (refused >= saga_refusal_count)
      return caf::make_error(caf::sec::invalid_argument);
    x.refused = static_cast<saga_refusal>(refused);
    return caf::none;
  });
  return f(caf::meta::type_name("saga_reply"), x.saga_id, refused, x.error,
           x.duplicate, x.outcome, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, saga_stats& x) {
  return f(caf::meta::type_name("saga_stats"), x.started, x.resumed,
           x.completed, x.compensated, x.compensation_failed, x.stuck, x.joined,
           x.answered_from_log, x.refused_busy, x.refused_invalid_id,
           x.refused_input_too_large, x.step_tries, x.compensation_tries,
           x.late_verdicts, x.oversized_results, x.log_writes, x.log_records,
           x.compactions, x.forgotten, x.running, x.retained, x.log_bytes);
}

} // namespace bulwark
