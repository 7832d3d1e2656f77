// A saga: an ordered list of steps, each with an action and, for the steps
// before the pivot, a compensation that undoes it. The shape is the classic
// one (Garcia-Molina & Salem; Richardson's "compensatable, pivot,
// retriable"): compensable steps first; then the first non-compensable step,
// the pivot (once it may have executed the saga can only go forward); then
// non-compensable steps that are retried until done. How often a pivot or a
// later step is retried, how often a compensation is retried and how long
// each waits (backoff with a cap, bulwark/runtime/retry/backoff), when a try
// without a verdict counts as `unknown`, and the bounds the coordinator
// enforces (sagas at once, id and input sizes, retention) are all here. Parsed
// from JSON like every *_config (every error with its JSON Pointer, unknown
// keys rejected, durations as "250ms"), or built in C++ and checked with
// `validate_saga_config`. The state machine is
// bulwark/runtime/saga/saga_core.hpp; docs/saga.md has the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/backoff_config.hpp"

namespace bulwark {

struct saga_step_config {
  /// [A-Za-z0-9_.-], 1..64 characters, unique in the saga. Written to the
  /// saga log: renaming a step orphans the records of sagas in flight.
  std::string name;
  /// True: a failure of this step is undone by compensating it and the
  /// steps before it. False: the pivot (the first such step) or a step after
  /// it; once it may have executed the saga only goes forward.
  bool compensable = true;
  /// Non-compensable steps only (ignored for compensable ones): tries in all,
  /// the first included, before the saga ends `stuck`. A compensable step is
  /// tried once; its action may retry through its own dependency actor.
  std::uint32_t max_tries = 5;
};

struct saga_config {
  std::vector<saga_step_config> steps;
  /// A try of a step or a compensation with no verdict after this long is
  /// `unknown` (it may have taken effect); a verdict arriving later is
  /// dropped.
  duration step_timeout = seconds(30);
  /// The delay before retry n of a non-compensable step.
  backoff_config forward_backoff{backoff_kind::exponential, jitter_kind::equal,
                                 milliseconds(100), 2.0, seconds(2)};
  /// Tries of one compensation in all before the saga ends
  /// `compensation_failed` (reported, never retried forever).
  std::uint32_t max_compensation_tries = 10;
  /// The delay before retry n of a compensation.
  backoff_config compensation_backoff{backoff_kind::exponential,
                                      jitter_kind::equal, milliseconds(100),
                                      2.0, seconds(2)};

  // -- bounds the coordinator enforces (bulwark/actors/saga/saga_coordinator.hpp) ----
  /// Sagas running at once; a new id beyond it is refused ("busy").
  std::uint32_t max_running = 1024;
  /// Longest saga id in bytes (ids are printable ASCII without spaces).
  std::uint32_t max_id_bytes = 128;
  /// Largest saga input in bytes.
  std::uint32_t max_input_bytes = 64 * 1024;
  /// Largest result data of one step or compensation try; a larger result
  /// is recorded as `unknown` ("result data too large").
  std::uint32_t max_data_bytes = 64 * 1024;
  /// Finished sagas remembered (their outcome answers a re-sent id); the
  /// oldest beyond it is forgotten, and its id may run again.
  std::uint32_t retain_finished = 100'000;
  /// The log is compacted while running once it grew by this many records
  /// since the last compaction (it always is at open). 0: only at open.
  std::uint32_t compact_after = 100'000;

  /// Index of the step named `name`, or -1.
  int find(std::string_view name) const noexcept;

  /// Index of the pivot (the first non-compensable step), or steps.size().
  std::size_t pivot() const noexcept;
};

/// The largest number of steps.
inline constexpr std::size_t saga_max_steps = 32;
/// The largest max_tries and max_compensation_tries.
inline constexpr std::uint32_t saga_max_tries_limit = 1000;

/// Reads a saga object (keys: steps, step_timeout, forward_backoff,
/// max_compensation_tries, compensation_backoff, max_running, max_id_bytes,
/// max_input_bytes, max_data_bytes, retain_finished, compact_after; a step:
/// name, compensable, max_tries). Cross-field rules: names unique; no
/// compensable step after a non-compensable one; `max_tries` only on
/// non-compensable steps.
saga_config parse_saga_config(const boost::json::value& v, const json_path& at,
                              error_list& errors);

struct saga_config_result {
  std::optional<saga_config> config; // set only when there are no errors
  error_list errors;

  bool ok() const noexcept {
    return config.has_value();
  }
};

/// Parses a JSON text (UTF-8 checked, depth limited) holding one saga object.
saga_config_result parse_saga_config(std::string_view text);

/// Checks a config built in C++ by the rules parsing applies (ranges and
/// cross-field rules); paths name the fields as JSON would.
error_list validate_saga_config(const saga_config& cfg);

/// The document that parses back into `cfg`.
boost::json::object to_json(const saga_config& cfg);

} // namespace bulwark
