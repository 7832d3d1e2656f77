// A circuit breaker for one downstream: it stops sending calls to a
// dependency whose recent calls mostly fail (or are mostly slow), waits, lets
// a few probe calls through, and resumes when they succeed. Semantics follow
// Resilience4j's CircuitBreakerStateMachine: a count- or time-based sliding
// window, minimum calls, failure-rate and slow-call-rate thresholds, a bounded
// number of half-open probes, forced_open and disabled states; plus an open
// duration that grows across consecutive failed probes.
//
// Pure and single-threaded: the owner (one actor) passes `now` into every
// call. Every state change goes through one private function that checks
// `legal_breaker_transitions` and emits a `breaker_event`. The hot path
// (try_acquire + record while closed) is inline, O(1) and never allocates.
//
// Contract: every `try_acquire` that returned true is followed by exactly one
// `record` (the call produced a result) or `release` (it ended without one).
// The breaker counts calls in flight to keep that bookkeeping straight across
// state changes: calls admitted before the breaker went half-open never take a
// probe slot (see `record`).
#pragma once

#include <cstdint>

#include "bulwark/runtime/breaker/breaker_config.hpp"
#include "bulwark/runtime/breaker/breaker_event.hpp"
#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/window/count_window.hpp"
#include "bulwark/runtime/window/time_window.hpp"
#include "bulwark/runtime/window/window_snapshot.hpp"

namespace bulwark {

/// Monotonic counters for metrics. Results count in every state; only results
/// recorded while closed (or, as probes, while half_open) move the breaker.
struct breaker_counters {
  /// `try_acquire` returned true.
  std::uint64_t permitted_calls = 0;
  /// `try_acquire` returned false (open, forced_open, no probe slot left).
  std::uint64_t rejected_calls = 0;
  /// Results recorded as successes (including failure classes outside
  /// `record_failures_on`).
  std::uint64_t successful_calls = 0;
  /// Results whose failure class is in `record_failures_on`.
  std::uint64_t failed_calls = 0;
  /// Results with latency >= `slow_call_duration` (successful or failed).
  std::uint64_t slow_calls = 0;
  /// Results ignored because their class is `cancelled` or `rejected_locally`.
  std::uint64_t ignored_calls = 0;
  /// `release` calls.
  std::uint64_t released_calls = 0;
  /// State changes (one per emitted event).
  std::uint64_t transitions = 0;
  /// Requested state changes that the table refused. A logic error: always 0
  /// unless the breaker has a bug (debug builds assert instead).
  std::uint64_t illegal_transitions = 0;
};

class circuit_breaker {
 public:
  /// Starts closed, or forced_open / disabled when `cfg.mode` says so.
  /// Allocates the sliding window; nothing else ever allocates.
  explicit circuit_breaker(const breaker_config& cfg);

  circuit_breaker(circuit_breaker&&) noexcept = default;
  circuit_breaker& operator=(circuit_breaker&&) noexcept = default;

  /// Applies a new configuration. Keeps the state and the window's contents
  /// where it can: the window is rebuilt (emptied) only when its kind or size
  /// changed; an open breaker keeps its open_until; a changed `mode` moves the
  /// breaker to forced_open / disabled, or from those back to closed. A
  /// half-open breaker whose probe count shrank decides at once if it can.
  void reconfigure(const breaker_config& cfg, time_point now);

  /// Receives every state change; nullptr for none. Not owned.
  void set_listener(breaker_listener* listener) noexcept {
    listener_ = listener;
  }

  /// Whether a call may go to the downstream now. closed, disabled: yes.
  /// open: no until `open_until()`; at that instant the breaker moves to
  /// half_open and admits probes. half_open: yes while fewer than
  /// `half_open_probes` probes are in flight or recorded and fewer than
  /// `half_open_max_in_flight` (when set) are in flight; once it has been
  /// half_open for `max_half_open_duration` (when set) without a verdict it
  /// reopens instead. forced_open: no.
  bool try_acquire(time_point now) noexcept {
    if (state_ == breaker_state::closed || state_ == breaker_state::disabled) {
      ++in_flight_;
      ++counters_.permitted_calls;
      return true;
    }
    return try_acquire_slow(now);
  }

  /// Records the result of a permitted call. Failures whose class is in
  /// `record_failures_on` count as failures; other failures count as
  /// successes, except `cancelled` and `rejected_locally`, which are ignored
  /// entirely (exactly like `release`). A call is slow when `latency` >=
  /// `slow_call_duration`. While closed, the breaker opens once the window
  /// holds at least `minimum_calls` and a rate reaches its threshold. While
  /// half_open, the result is a probe result, unless calls admitted before
  /// the breaker went half_open are still outstanding: completions are then
  /// attributed to those first, which never frees a probe slot early. Results
  /// arriving while open, forced_open or disabled only update the counters.
  void record(const outcome& o, duration latency, time_point now) noexcept {
    if (!o.success
        && (o.cls == failure_class::cancelled
            || o.cls == failure_class::rejected_locally)) {
      ++counters_.ignored_calls;
      complete();
      return;
    }
    bool failed = !o.success && cfg_.record_failures_on.contains(o.cls);
    bool slow = latency >= cfg_.slow_call_duration;
    ++(failed ? counters_.failed_calls : counters_.successful_calls);
    counters_.slow_calls += slow ? 1u : 0u;
    bool probe = complete();
    if (state_ == breaker_state::closed) {
      std::uint64_t calls;
      std::uint64_t failures;
      std::uint64_t slow_calls;
      if (cfg_.window == window_kind::count_based) {
        count_window_.record(failed, slow);
        calls = count_window_.calls();
        failures = count_window_.failures();
        slow_calls = count_window_.slow_calls();
      } else {
        time_window_.record(failed, slow, now);
        calls = time_window_.calls();
        failures = time_window_.failures();
        slow_calls = time_window_.slow_calls();
      }
      if (calls >= cfg_.minimum_calls
          && (reaches(failures, calls, failure_units_)
              || reaches(slow_calls, calls, slow_units_)))
        trip(failures, calls, now);
    } else if (probe) {
      if (half_open_expired(now))
        transition_to(breaker_state::open, transition_reason::half_open_timeout,
                      now);
      else
        record_probe(failed, slow, now);
    }
  }

  /// A permitted call ended without a result worth recording (cancelled):
  /// returns its probe slot if it held one.
  void release(time_point) noexcept {
    ++counters_.released_calls;
    complete();
  }

  /// Holds the breaker open (rejecting everything) until `reset` or
  /// `disable`. No-op when already forced_open.
  void force_open(time_point now);

  /// An active health probe pauses (`on`) or resumes the path. The probe's
  /// hold and the operator's (`force_open`, config mode `forced_open`) are
  /// kept apart: the breaker is forced_open while either holds, so a probe
  /// resuming never undoes an operator's forced-open, and an operator's
  /// reset never resumes a path the probe keeps paused. Pausing moves to
  /// forced_open and resuming (nothing else holding) to closed, both with
  /// reason `probe`. While disabled the hold is only remembered: it applies
  /// when the breaker leaves disabled.
  void hold_for_probe(bool on, time_point now);

  /// Admits everything and records nothing until `reset` or `force_open`.
  /// No-op when already disabled.
  void disable(time_point now);

  /// Back to closed with an empty window and the base open duration. From
  /// closed it only clears (no event). Ends the operator's hold only: a
  /// probe's hold keeps (or puts) the breaker forced_open.
  void reset(time_point now);

  /// Whether an active health probe holds the breaker open.
  bool probe_hold() const noexcept {
    return held_by_probe_;
  }

  /// Whether `force_open` (or config mode `forced_open`) holds it open.
  bool operator_hold() const noexcept {
    return held_by_operator_;
  }

  // -- observers ----------------------------------------------------------------

  breaker_state state() const noexcept {
    return state_;
  }

  /// The sliding window as of the last recorded call. While open it still
  /// shows the calls that opened the breaker; it is emptied on entering
  /// closed.
  window_snapshot snapshot() const noexcept;

  /// The sliding window aged to `now` (time-based windows drop old seconds).
  window_snapshot snapshot(time_point now) const noexcept;

  /// The probe results recorded in the current half-open period.
  window_snapshot probe_snapshot() const noexcept {
    return window_snapshot::of(probes_recorded_, probe_failures_, probe_slow_);
  }

  /// When an open breaker starts admitting probes. `no_deadline` while
  /// forced_open; `time_point::min()` in every other state.
  time_point open_until() const noexcept;

  /// The open duration of the current (or, when not open, the most recent)
  /// open period: `open_duration` multiplied once per consecutive failed
  /// probe round, capped at `max_open_duration`, back to `open_duration` when
  /// the breaker closes.
  duration current_open_duration() const noexcept {
    return current_open_duration_;
  }

  /// Probe calls admitted in this half-open period and not yet completed.
  std::uint32_t probes_in_flight() const noexcept {
    return probes_in_flight_;
  }

  /// Permitted calls not yet recorded or released.
  std::uint64_t calls_in_flight() const noexcept {
    return in_flight_;
  }

  const breaker_counters& counters() const noexcept {
    return counters_;
  }

  const breaker_config& config() const noexcept {
    return cfg_;
  }

 private:
  /// Whether part / whole >= threshold, exactly: the threshold is in units
  /// of 10^-8 (breaker_threshold_scale), so "opens exactly at the threshold"
  /// holds for every percentage the parser accepts (six decimals). 128-bit
  /// products: a time window's call count times 10^8 may exceed 64 bits.
  static bool reaches(std::uint64_t part, std::uint64_t whole,
                      std::uint64_t threshold_units) noexcept {
    __extension__ using u128 = unsigned __int128;
    return u128{part} * breaker_threshold_scale
           >= u128{threshold_units} * whole;
  }

  /// Bookkeeping for one completed permitted call; true if the call is
  /// attributed to a half-open probe.
  bool complete() noexcept {
    if (in_flight_ > 0)
      --in_flight_;
    if (state_ != breaker_state::half_open)
      return false;
    if (stale_in_flight_ > 0) {
      --stale_in_flight_;
      return false;
    }
    if (probes_in_flight_ > 0) {
      --probes_in_flight_;
      return true;
    }
    return false;
  }

  bool try_acquire_slow(time_point now) noexcept;

  /// half_open for max_half_open_duration (when set) without a verdict.
  bool half_open_expired(time_point now) const noexcept {
    return state_ == breaker_state::half_open
           && cfg_.max_half_open_duration > duration{0}
           && now - half_open_since_ >= cfg_.max_half_open_duration;
  }

  /// closed -> open, naming the failure rate when both rates are reached.
  void trip(std::uint64_t failures, std::uint64_t calls,
            time_point now) noexcept;

  void record_probe(bool failed, bool slow, time_point now) noexcept;

  /// Closes or reopens a half-open breaker once its probes decide.
  void decide_half_open(time_point now) noexcept;

  void apply(const breaker_config& cfg);

  void build_window();

  void clear_window() noexcept;

  /// The one place the state changes: checks the table, runs the entry
  /// actions of `to`, emits the event.
  void transition_to(breaker_state to, transition_reason reason,
                     time_point now) noexcept;

  breaker_config cfg_;
  std::uint64_t failure_units_ = 0;
  std::uint64_t slow_units_ = 0;
  breaker_state state_ = breaker_state::closed;
  count_window count_window_;
  time_window time_window_;
  time_point open_until_ = time_point::min();
  time_point half_open_since_ = time_point::min();
  duration current_open_duration_{0};
  std::uint64_t in_flight_ = 0;
  std::uint64_t stale_in_flight_ = 0; // half_open: admitted before it began
  std::uint32_t probes_in_flight_ = 0;
  std::uint32_t probes_recorded_ = 0;
  std::uint32_t probe_failures_ = 0;
  std::uint32_t probe_slow_ = 0;
  breaker_counters counters_;
  breaker_listener* listener_ = nullptr;
  // Who holds the breaker forced_open (see hold_for_probe).
  bool held_by_operator_ = false;
  bool held_by_probe_ = false;
};

} // namespace bulwark
