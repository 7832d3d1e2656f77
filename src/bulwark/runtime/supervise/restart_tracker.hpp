// The restart bookkeeping of one supervised member: on each crash it decides
// whether the supervisor restarts the member, and after what delay, or gives
// up and escalates. The limit is Erlang/OTP's restart intensity (a sliding
// window of restart times, kept in a fixed ring so a decision never
// allocates); the delay is Akka BackoffSupervisor's exponential backoff with
// a random factor, reset once the member has stayed up for `reset_after`.
// Pure: the time and the random generator are arguments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/supervise/restart_config.hpp"

namespace bulwark {

enum class restart_action : std::uint8_t {
  /// Start the member again after `restart_decision::delay`.
  restart,
  /// Do not restart: the failure goes up to the supervisor's own supervisor.
  escalate,
};

/// "restart", "escalate".
/// @relates restart_action
std::string to_string(restart_action x);

struct restart_decision {
  restart_action action;
  /// How long to wait before starting the member again; 0 on escalate.
  duration delay;
  /// Restarts inside the window ending at the crash: including this one on
  /// restart, the ones that used up the limit on escalate.
  std::uint32_t restarts_in_window;
};

class restart_tracker {
 public:
  explicit restart_tracker(const restart_config& cfg = {}) noexcept;

  /// New limits apply from the next crash; the restart history and the
  /// backoff progress are kept (a reload is not a reason to forgive crashes).
  /// A `max_restarts` above `restart_config::max_restarts_limit` is capped.
  void reconfigure(const restart_config& cfg) noexcept;

  const restart_config& config() const noexcept {
    return cfg_;
  }

  /// The member crashed at `now`. Restarts the member unless restarts are
  /// disabled or `max_restarts` restarts already happened in the window
  /// [now - within, now] (closed, as OTP's `Now =< Then + Period`: a restart
  /// exactly `within` ago still counts). The delay of the n-th
  /// consecutive restart is
  ///   min(max_backoff, min_backoff * 2^(n-1)) * (1 + random_factor% * u),
  /// u uniform in [0, 1) from `gen` (Akka BackoffSupervisor's
  /// calculateDelay), so it may exceed max_backoff by up to random_factor%.
  /// A crash at least `reset_after` after the last `on_started` starts a new
  /// run at n = 1. Consumes one draw from `gen` per restart when
  /// random_factor > 0, none otherwise and none on escalate. O(1) amortized,
  /// no allocation.
  restart_decision on_crash(time_point now, rng& gen) noexcept;

  /// The member was started again at `now` (after the delay).
  void on_started(time_point now) noexcept;

  /// Restarts decided since construction.
  std::uint32_t total_restarts() const noexcept {
    return total_;
  }

 private:
  // Drops restart times that left the window ending at `now`.
  void expire(time_point now) noexcept;

  restart_config cfg_;
  // Restart times, oldest first, in a ring; at most max_restarts of them, as
  // a crash beyond that escalates instead of adding one.
  std::array<time_point, restart_config::max_restarts_limit> times_{};
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  // Restarts in the current run of consecutive ones (the n of the backoff).
  std::uint32_t consecutive_ = 0;
  std::uint32_t total_ = 0;
  time_point started_{};
  bool started_known_ = false;
};

} // namespace bulwark
