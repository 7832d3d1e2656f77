// A transport whose answers the test decides, for dependency-actor tests
// under virtual time. Every attempt is recorded. Attempts are answered from
// a script of steps, in arrival order: "answer with this result after this
// much (virtual) time" or "hold" (never answer unless the test says so).
// When the script runs out, attempts get the default answer if one is set and
// are held otherwise. The test answers a held attempt explicitly with
// `answer`, so exact failure sequences, slow attempts, lost replies, late
// replies after a cancel and hedges racing each other can all be written
// down step by step.
#pragma once

#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/runtime/core/time.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace bulwark {

/// One attempt as the scripted transport saw it.
struct scripted_attempt {
  attempt_request request;
  /// Who sent it (weak: recording never keeps a sender alive).
  caf::actor_addr sender;
  /// Clock time of arrival (virtual under the test scheduler).
  time_point received_at;
  /// No answer was scheduled: it waits for the test's `answer`.
  bool held = false;
  /// Set once a result went out (scheduled answers count when they fire).
  bool answered = false;
  /// A `(cancel_atom, attempt_id)` arrived for it.
  bool cancelled = false;
};

/// The shared state between a test and its scripted transport actor. All
/// members are thread-safe; accessors return copies.
class transport_script {
 public:
  /// Answers the next unscripted attempt with `result` once `delay` passed.
  /// A result whose `latency_ns` is 0 gets the delay as its latency.
  void push(attempt_result result, duration delay = duration{0});

  /// Holds the next unscripted attempt until the test answers it.
  void push_hold();

  /// Answer for attempts arriving after the script ran out (instead of
  /// holding them).
  void set_default_answer(attempt_result result, duration delay = duration{0});

  /// Back to holding attempts once the script runs out.
  void clear_default_answer();

  /// Every attempt received, in arrival order.
  std::vector<scripted_attempt> attempts() const;

  /// Number of attempts received.
  std::size_t attempt_count() const;

  /// The attempt ids of held attempts not answered yet, oldest first.
  std::vector<std::uint64_t> held() const;

  /// The attempt ids for which a cancel hint arrived, in arrival order.
  std::vector<std::uint64_t> cancelled() const;

  /// Script steps not used yet.
  std::size_t steps_left() const;

  // -- used by the transport actor --------------------------------------------

  struct step {
    /// nullopt: hold.
    std::optional<attempt_result> result;
    duration delay{0};
  };

  /// Records an attempt and returns its index and the step to apply.
  std::pair<std::size_t, step>
  on_attempt(attempt_request req, caf::actor_addr sender, time_point now);

  /// Marks the oldest unanswered attempt with this id as answered and
  /// returns a copy of it, or nullopt if there is none.
  std::optional<scripted_attempt> take_for_answer(std::uint64_t attempt_id);

  /// Marks attempt `index` as answered unless it already is; returns a copy
  /// of it when this call answered it.
  std::optional<scripted_attempt> take_index(std::size_t index);

  void on_cancel(std::uint64_t attempt_id);

 private:
  mutable std::mutex mtx_;
  std::deque<step> steps_;
  std::optional<step> default_;
  std::vector<scripted_attempt> attempts_;
  std::vector<std::uint64_t> cancelled_;
};

/// Behavior of the scripted transport: serves the attempt protocol from
/// `script`; `(answer_atom, attempt_id, attempt_result)` answers the oldest
/// unanswered attempt with that id, held or scheduled (a scheduled answer
/// that fires later is then dropped); the result goes to that attempt's
/// sender, `attempt_id` filled in, `latency_ns` set to the time since arrival
/// if 0. Unknown or already answered ids are ignored. Cancel hints are recorded
/// and otherwise ignored, so a test can still answer a cancelled attempt late.
caf::behavior
scripted_transport_actor(caf::event_based_actor* self,
                         std::shared_ptr<transport_script> script);

/// A scripted transport actor together with its script.
class scripted_transport {
 public:
  static scripted_transport spawn(caf::actor_system& sys);

  const caf::actor& handle() const noexcept {
    return handle_;
  }

  transport_script& script() const noexcept {
    return *script_;
  }

  /// See transport_script::push.
  void push(attempt_result result, duration delay = duration{0}) const {
    script_->push(std::move(result), delay);
  }

  /// See transport_script::push_hold.
  void push_hold() const {
    script_->push_hold();
  }

  /// Answers attempt `attempt_id` now, held or scheduled (the message is
  /// delivered on the next `run()`).
  void answer(std::uint64_t attempt_id, attempt_result result) const;

  /// Answers the oldest held attempt; false if none is held.
  bool answer_oldest(attempt_result result) const;

  std::vector<scripted_attempt> attempts() const {
    return script_->attempts();
  }

  std::vector<std::uint64_t> held() const {
    return script_->held();
  }

  std::vector<std::uint64_t> cancelled() const {
    return script_->cancelled();
  }

 private:
  scripted_transport(caf::actor handle, std::shared_ptr<transport_script> s)
    : handle_(std::move(handle)),
      script_(std::move(s)) {
    // nop
  }

  caf::actor handle_;
  std::shared_ptr<transport_script> script_;
};

} // namespace bulwark
