// A circuit breaker's state change as a fact: from, to, why, when, and the
// rates that justified it. Events go to one `breaker_listener` through a plain
// virtual call, so emitting one never allocates and costs nothing when nobody
// listens; the owner (the dependency actor) turns them into logs and metrics.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class transition_reason : std::uint8_t {
  /// closed -> open: the window's failure rate reached the threshold.
  failure_rate_exceeded,
  /// closed -> open: the window's slow-call rate reached the threshold.
  slow_call_rate_exceeded,
  /// open -> half_open: the open duration has elapsed.
  open_duration_elapsed,
  /// half_open -> closed: the probes stayed below both thresholds.
  probes_succeeded,
  /// half_open -> open: the probes reached a threshold.
  probe_failed,
  /// -> forced_open: `force_open()` or config mode `forced_open`.
  forced,
  /// -> disabled: `disable()` or config mode `disabled`.
  disabled,
  /// -> closed: `reset()` or config mode back to `automatic`.
  reset,
  /// half_open -> open: no verdict within `max_half_open_duration`.
  half_open_timeout,
  /// -> forced_open: an active health probe paused the path; forced_open ->
  /// closed: the probe resumed it (nothing else held it open).
  probe,
};

/// @relates transition_reason
inline std::string to_string(transition_reason x) {
  switch (x) {
    case transition_reason::failure_rate_exceeded:
      return "failure_rate_exceeded";
    case transition_reason::slow_call_rate_exceeded:
      return "slow_call_rate_exceeded";
    case transition_reason::open_duration_elapsed:
      return "open_duration_elapsed";
    case transition_reason::probes_succeeded:
      return "probes_succeeded";
    case transition_reason::probe_failed:
      return "probe_failed";
    case transition_reason::forced:
      return "forced";
    case transition_reason::disabled:
      return "disabled";
    case transition_reason::reset:
      return "reset";
    case transition_reason::half_open_timeout:
      return "half_open_timeout";
    case transition_reason::probe:
      return "probe";
  }
  return "invalid";
}

struct breaker_event {
  breaker_state from;
  breaker_state to;
  transition_reason reason;
  time_point at;
  /// Fractions in [0, 1]: over the probes for transitions out of half_open,
  /// over the sliding window otherwise.
  double failure_rate;
  double slow_call_rate;
};

/// Receives every state change of the breakers it is set on. Called
/// synchronously from inside the breaker: implementations must not call back
/// into the breaker that emitted the event.
struct breaker_listener {
  virtual ~breaker_listener() = default;
  virtual void on_breaker_event(const breaker_event&) = 0;
};

} // namespace bulwark
