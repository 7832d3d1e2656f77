// The five states of a circuit breaker and the table of legal moves between
// them. The breaker changes state in exactly one place, and that place checks
// this table, so the table is the complete specification of its life cycle
// (Resilience4j `CircuitBreaker.StateTransition`). It is public so that docs
// and tests can render and check it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace bulwark {

enum class breaker_state : std::uint8_t {
  /// Calls pass; their results fill the sliding window.
  closed,
  /// Calls are rejected until the open duration has elapsed.
  open,
  /// A bounded number of probe calls pass; their results decide closed/open.
  half_open,
  /// An operator (or the config `mode`) holds the breaker open: all calls are
  /// rejected and time never moves it to half_open.
  forced_open,
  /// The breaker is switched off: all calls pass and nothing is recorded.
  disabled,
};

inline constexpr breaker_state all_breaker_states[] = {
  breaker_state::closed,      breaker_state::open,     breaker_state::half_open,
  breaker_state::forced_open, breaker_state::disabled,
};

/// @relates breaker_state
std::string to_string(breaker_state x);

/// Every legal (from, to) pair. Self-transitions are not in it: asking for the
/// state the breaker is already in changes nothing and emits nothing.
///
/// Beyond the automatic cycle (closed -> open -> half_open -> closed|open) and
/// the manual states, one pair needs a justification: open -> closed, which
/// only `reset()` takes. An operator who knows the downstream is healthy again
/// must not be forced to wait for the open duration and a round of probes.
inline constexpr std::array<std::pair<breaker_state, breaker_state>, 15>
  legal_breaker_transitions{{
    // automatic
    {breaker_state::closed, breaker_state::open},
    {breaker_state::open, breaker_state::half_open},
    {breaker_state::half_open, breaker_state::closed},
    {breaker_state::half_open, breaker_state::open},
    // force_open() from any other state
    {breaker_state::closed, breaker_state::forced_open},
    {breaker_state::open, breaker_state::forced_open},
    {breaker_state::half_open, breaker_state::forced_open},
    {breaker_state::disabled, breaker_state::forced_open},
    // disable() from any other state
    {breaker_state::closed, breaker_state::disabled},
    {breaker_state::open, breaker_state::disabled},
    {breaker_state::half_open, breaker_state::disabled},
    {breaker_state::forced_open, breaker_state::disabled},
    // reset() back to closed (half_open -> closed is listed above)
    {breaker_state::open, breaker_state::closed},
    {breaker_state::forced_open, breaker_state::closed},
    {breaker_state::disabled, breaker_state::closed},
  }};

/// Whether `from -> to` is in `legal_breaker_transitions`.
constexpr bool is_legal_transition(breaker_state from,
                                   breaker_state to) noexcept {
  for (auto& pair : legal_breaker_transitions)
    if (pair.first == from && pair.second == to)
      return true;
  return false;
}

} // namespace bulwark
