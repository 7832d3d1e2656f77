// A chaos transport: a decorator actor in front of any transport actor (or
// standing alone) that injects the faults of a `fault_schedule` — failures by
// class, latency with slow tails, outage/brownout/slowdown windows and a
// crash — drawn from its own seeded generator, so a fault run replays exactly
// from its seed. Every delay is a `delayed_send` to itself, so it follows
// CAF's clock: virtual under the test scheduler, real otherwise. It counts
// what it did (attempts, failures by class, attempts that reached the inner
// transport, i.e. executed side effects) so tests can check invariants such
// as "side effects == distinct keys".
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/core/failure_class.hpp"

namespace bulwark {

/// What a chaos transport did; shared with the test, thread-safe.
class chaos_stats {
 public:
  /// Attempts received (including ones that arrived after the crash time).
  std::uint64_t attempts() const noexcept {
    return attempts_.load();
  }
  /// Attempts answered with success.
  std::uint64_t successes() const noexcept {
    return successes_.load();
  }
  /// Injected failures of class `cls`.
  std::uint64_t failures(failure_class cls) const noexcept {
    return failures_[static_cast<std::size_t>(cls)].load();
  }
  /// Injected failures of every class.
  std::uint64_t failures() const noexcept;
  /// Attempts that reached the inner transport (or, standing alone, that
  /// succeeded): the side effects the downstream executed.
  std::uint64_t executed() const noexcept {
    return executed_.load();
  }
  /// Answers delivered to senders (successes, inner failures, injected ones).
  std::uint64_t answered() const noexcept {
    return answered_.load();
  }
  /// Whether the actor has crashed as scheduled.
  bool crashed() const noexcept {
    return crashed_.load();
  }

  // -- used by the actor ------------------------------------------------------
  void count_attempt() noexcept {
    ++attempts_;
  }
  void count_success() noexcept {
    ++successes_;
  }
  void count_failure(failure_class cls) noexcept {
    ++failures_[static_cast<std::size_t>(cls)];
  }
  void count_executed() noexcept {
    ++executed_;
  }
  void count_answered() noexcept {
    ++answered_;
  }
  void mark_crashed() noexcept {
    crashed_ = true;
  }

 private:
  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::uint64_t> successes_{0};
  std::array<std::atomic<std::uint64_t>, failure_class_count> failures_{};
  std::atomic<std::uint64_t> executed_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<bool> crashed_{false};
};

/// The exit reason of a chaos transport that crashed as scheduled.
inline constexpr caf::exit_reason chaos_crash_reason =
  caf::exit_reason::unhandled_exception;

/// Behavior of the chaos transport. The run starts when the actor starts
/// (windows and `crash_at` are relative to that). For each attempt it draws a
/// `chaos_decision` (one `decide` per attempt, in arrival order):
/// - failure: answers after the drawn latency with
///   `class_result(class, retry_after)`; the inner transport never sees it;
/// - success with an inner transport: forwards the attempt at once (under its
///   own attempt id, so ids of different senders cannot collide) and answers
///   with the inner result when both the inner answer has arrived and the
///   drawn latency has passed (total latency = max(drawn, inner));
/// - success without one: answers `success_result(request payload)` after
///   the drawn latency.
/// `latency_ns` of every answer is the time since the attempt arrived.
/// At start + crash_at the actor quits with `chaos_crash_reason`; attempts
/// not answered by then never are (the sender's monitor notices). Cancel
/// hints are ignored (allowed by the transport protocol).
caf::behavior chaos_transport_actor(caf::event_based_actor* self,
                                    fault_schedule schedule, std::uint64_t seed,
                                    caf::actor inner,
                                    std::shared_ptr<chaos_stats> stats);

/// A chaos transport actor together with its counters.
class chaos_transport {
 public:
  /// `inner` may be null: the chaos transport then answers successes itself.
  static chaos_transport spawn(caf::actor_system& sys, fault_schedule schedule,
                               std::uint64_t seed, caf::actor inner = {});

  const caf::actor& handle() const noexcept {
    return handle_;
  }
  const chaos_stats& stats() const noexcept {
    return *stats_;
  }

 private:
  chaos_transport(caf::actor handle, std::shared_ptr<chaos_stats> stats)
    : handle_(std::move(handle)),
      stats_(std::move(stats)) {
    // nop
  }

  caf::actor handle_;
  std::shared_ptr<chaos_stats> stats_;
};

} // namespace bulwark
