// The state machine of one saga, without actors or I/O: events in (start, a
// verdict of a step or compensation try, a timer), a list of actions out
// (append this record to the log, run this try, set a timer, answer), time
// passed in. It is shaped like bulwark/runtime/supervise/supervisor_core: the
// saga coordinator (bulwark/actors/saga/saga_coordinator.hpp) translates
// messages and callbacks into these calls and the actions into I/O, and the
// tests drive the very same object through every rule, every crash point and
// thousands of random runs.
//
// One instance per saga, not a table: sagas share nothing but their config,
// so a per-saga object is rebuilt from that saga's records alone and the
// coordinator keeps the table (lookup by id, the running bound, retention)
// where the ids and the file are.
//
// The rules (docs/saga.md):
//   - forward: step i done -> step i+1, or `completed` after the last;
//   - a compensable step that fails (`not_executed` or `unknown`) ->
//     compensate, in reverse order, every earlier step, and step i itself
//     when it may have taken effect (`unknown`); compensations are
//     idempotent and a no-op for a step that never executed;
//   - a non-compensable step: `not_executed` on every try so far of the
//     pivot (the first one) -> compensate the earlier steps; once any try
//     was `unknown`, or after the pivot is done, the saga only goes forward:
//     the step is retried after the forward backoff up to its `max_tries`,
//     then the saga ends `stuck` (never compensated);
//   - a compensation: done -> the next one; failed -> retried after the
//     compensation backoff up to `max_compensation_tries`, then the saga
//     ends `compensation_failed` naming the step;
//   - a try without a verdict after `step_timeout` is `unknown`;
//   - resume after a crash: a try that was started but has no recorded
//     result is `unknown`, and the same rules apply.
// Every action with an effect (run_step, run_compensation, finish) is
// preceded, in the same action list, by the log action of its record; the
// coordinator appends and syncs before it acts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/saga/saga_config.hpp"
#include "bulwark/runtime/saga/saga_outcome.hpp"
#include "bulwark/runtime/saga/saga_record.hpp"
#include "bulwark/runtime/saga/saga_verdict.hpp"

namespace bulwark {

enum class saga_action_kind : std::uint8_t {
  /// Append `record` to the saga log (and sync) before the actions after it.
  log,
  /// Run try `attempt` of step `step`; report with `on_step_result`.
  run_step,
  /// Run try `attempt` of the compensation of step `step`; report with
  /// `on_compensation_result`.
  run_compensation,
  /// Call `on_timer(timer, now)` at `at` (an earlier timer of this saga is
  /// void: it is ignored if it still fires).
  set_timer,
  /// The saga ended: answer every caller with `outcome()`.
  finish,
};

/// @relates saga_action_kind
std::string to_string(saga_action_kind x);

struct saga_action {
  saga_action_kind kind = saga_action_kind::log;
  /// log only.
  saga_record record;
  /// run_step, run_compensation.
  std::uint32_t step = 0;
  std::uint32_t attempt = 0;
  /// set_timer.
  time_point at{};
  std::uint64_t timer = 0;
};

enum class saga_phase : std::uint8_t {
  /// Nothing started or restored yet.
  idle,
  /// Running steps.
  forward,
  /// Running compensations.
  compensating,
  /// Ended; `outcome()` is final.
  finished,
};

/// @relates saga_phase
std::string to_string(saga_phase x);

class saga_core {
 public:
  using action_list = std::vector<saga_action>;

  /// `cfg` must be valid (validate_saga_config) and outlive the core. The
  /// seed drives the backoff jitter.
  saga_core(const saga_config& cfg, std::uint64_t seed);

  // -- events -----------------------------------------------------------------

  /// Begins the saga (phase idle only; otherwise does nothing).
  void start(std::string input, time_point now, action_list& out);

  /// The verdict of try `attempt` of step `step`. Returns false, and does
  /// nothing, when that try is not the one outstanding (late, after its
  /// timeout or a restart, or unknown).
  bool on_step_result(std::uint32_t step, std::uint32_t attempt,
                      saga_verdict verdict, std::string data, time_point now,
                      action_list& out);

  /// The verdict of try `attempt` of the compensation of step `step`; as
  /// on_step_result.
  bool on_compensation_result(std::uint32_t step, std::uint32_t attempt,
                              saga_verdict verdict, std::string data,
                              time_point now, action_list& out);

  /// A timer set by a `set_timer` action fired. Void timers are ignored.
  void on_timer(std::uint64_t timer, time_point now, action_list& out);

  // -- rebuilding from the log ------------------------------------------------

  /// Applies one record of this saga, in log order, without acting. Returns
  /// false with `error` set when the record cannot follow the ones before
  /// (a log written for another configuration, or damaged); the state is
  /// unchanged then. A `finished` record may come alone (what compaction
  /// keeps of a finished saga).
  bool restore(const saga_record& r, std::string& error);

  /// After `restore`: continues the saga. A try started without a recorded
  /// result is `unknown` (its result record is logged); a retry that was
  /// waiting waits its delay again from `now`.
  void resume(time_point now, action_list& out);

  // -- observers --------------------------------------------------------------

  saga_phase phase() const noexcept {
    return phase_;
  }
  bool finished() const noexcept {
    return phase_ == saga_phase::finished;
  }
  /// Final once finished(); before that the steps and compensations done so
  /// far, status `running`.
  const saga_outcome& outcome() const noexcept {
    return outcome_;
  }
  const std::string& input() const noexcept {
    return input_;
  }
  /// Result data of each step (empty for steps not done).
  const std::vector<std::string>& results() const noexcept {
    return results_;
  }
  /// Tries started of step i / of its compensation.
  std::uint32_t tries(std::uint32_t step) const noexcept {
    return tries_[step];
  }
  std::uint32_t compensation_tries(std::uint32_t step) const noexcept {
    return comp_tries_[step];
  }
  /// A try of a step or compensation is out (started, no verdict yet).
  bool outstanding() const noexcept {
    return out_.active;
  }
  const saga_config& config() const noexcept {
    return *cfg_;
  }

 private:
  enum class move_kind : std::uint8_t {
    none,
    step,
    step_later,
    compensation,
    compensation_later,
    finish,
  };

  struct move {
    move_kind kind = move_kind::none;
    std::uint32_t step = 0;
    saga_status status = saga_status::running;
  };

  struct try_ref {
    bool active = false;
    bool compensation = false;
    std::uint32_t step = 0;
    std::uint32_t attempt = 0;
  };

  // Pure state updates, shared by live events and `restore`.
  void apply_step_result(std::uint32_t step, std::uint32_t attempt,
                         saga_verdict v, const std::string& data);
  void apply_compensation_result(std::uint32_t step, std::uint32_t attempt,
                                 saga_verdict v, const std::string& data);
  void begin_compensation(std::uint32_t failed, bool include_failed);

  // Acting: emits actions.
  void execute(time_point now, action_list& out);
  void log(saga_record r, action_list& out);
  void set_timer(time_point at, action_list& out);
  void finish(saga_status status, action_list& out);
  std::string describe(std::uint32_t step, std::uint32_t attempt,
                       saga_verdict v, const std::string& data) const;

  const saga_config* cfg_;
  rng gen_;
  saga_phase phase_ = saga_phase::idle;
  std::string input_;
  std::vector<std::uint32_t> tries_;
  std::vector<std::uint32_t> comp_tries_;
  /// A try of the step was `unknown` (or `done`): it may have taken effect.
  std::vector<bool> may_have_executed_;
  std::vector<std::string> results_;
  /// A non-compensable step is done: no compensation any more.
  bool forward_only_ = false;
  /// Steps to compensate, in the order to do it, and the next one's index.
  std::vector<std::uint32_t> to_compensate_;
  std::size_t comp_pos_ = 0;
  saga_outcome outcome_;
  try_ref out_;
  move next_;
  /// The one live timer (0: none) and the last id handed out.
  std::uint64_t timer_ = 0;
  std::uint64_t timer_seq_ = 0;
  duration prev_delay_{0};
};

} // namespace bulwark
