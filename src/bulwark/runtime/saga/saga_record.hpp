// One event of a saga as the saga log keeps it. The log is the truth: every
// action that has an effect (a step or compensation try, an answer) is
// preceded by its record, appended and synced, so a saga is rebuilt after a
// crash by feeding its records back to a fresh saga_core
// (bulwark/runtime/saga/saga_core.hpp). Steps are indices into the saga's
// config here; the log file names them (bulwark/actors/saga/saga_log.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bulwark/runtime/saga/saga_outcome.hpp"
#include "bulwark/runtime/saga/saga_verdict.hpp"

namespace bulwark {

enum class saga_record_kind : std::uint8_t {
  /// The saga began; `data` is its input.
  started,
  /// Try `attempt` of step `step` is about to run.
  step_started,
  /// Try `attempt` of step `step` ended with `verdict` and `data`.
  step_result,
  /// Try `attempt` of the compensation of step `step` is about to run.
  compensation_started,
  /// That try ended with `verdict` and `data`.
  compensation_result,
  /// The saga ended with `outcome`; it is answered from this record.
  finished,
};

inline constexpr std::size_t saga_record_kind_count = 6;

/// @relates saga_record_kind
std::string to_string(saga_record_kind x);

/// @relates saga_record_kind
bool from_string(std::string_view str, saga_record_kind& x);

struct saga_record {
  saga_record_kind kind = saga_record_kind::started;
  /// Step index (not for started, finished).
  std::uint32_t step = 0;
  /// Try number, from 1 (not for started, finished).
  std::uint32_t attempt = 0;
  /// Results only.
  saga_verdict verdict = saga_verdict::done;
  /// started: the input; results: the result data (why, for a failure).
  std::string data;
  /// finished only.
  saga_outcome outcome;
};

bool operator==(const saga_record& a, const saga_record& b);

inline bool operator!=(const saga_record& a, const saga_record& b) {
  return !(a == b);
}

} // namespace bulwark
