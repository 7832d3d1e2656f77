// The decisions of a dependency's active health probe, without actors: when
// to send a probe, when one timed out, and when consecutive results pause or
// resume the path. Events in (`advance(now)`, `on_result`, `reconfigure`),
// actions out (`send_probe`, `pause`, `resume`); the owner (the dependency
// actor) sends the probe through the dependency's transport and turns
// pause/resume into the breaker's probe hold
// (circuit_breaker::hold_for_probe, reason `probe`). Probes go straight to
// the transport: no breaker, budget, throttle or concurrency limit sees
// them, and they never count as calls. A fixed cadence: a probe is sent
// every `interval` while none is in flight; one without a result after
// `timeout` counts as a `timeout` failure. Pure: time is an argument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/probe/probe_config.hpp"

namespace bulwark {

enum class probe_action_kind : std::uint8_t {
  /// Send probe `id` (what `probe_config` names) with deadline `deadline`.
  send_probe,
  /// Consecutive failures reached `unhealthy_threshold`: pause the path.
  pause,
  /// Consecutive successes reached `healthy_threshold` on a paused path, or
  /// probing was switched off while it was paused: resume it.
  resume,
};

/// @relates probe_action_kind
std::string to_string(probe_action_kind x);

struct probe_action {
  probe_action_kind kind = probe_action_kind::send_probe;
  /// send_probe: the probe's correlation id (`probe_core::is_probe_id`).
  std::uint64_t id = 0;
  /// send_probe: when the probe times out.
  time_point deadline = no_deadline;
};

using probe_action_list = std::vector<probe_action>;

/// How each probe ended, and what the probe did to the path.
struct probe_counters {
  std::uint64_t sent = 0;
  std::uint64_t successes = 0;
  /// Results whose failure class is in `failure_on`.
  std::uint64_t failures = 0;
  /// No result within `timeout` (a failure too when `failure_on` holds
  /// `timeout`).
  std::uint64_t timeouts = 0;
  /// Results with a failure class outside `failure_on`: neither way.
  std::uint64_t ignored = 0;
  /// Results for a probe no longer waited for (timed out, switched off).
  std::uint64_t late = 0;
  std::uint64_t pauses = 0;
  std::uint64_t resumes = 0;
};

class probe_core {
 public:
  explicit probe_core(const probe_config& cfg = {}) : cfg_(cfg) {
    // nop
  }

  /// Whether `id` is a probe's: slot all ones and index 0, which no call's
  /// attempt has (attempt numbers start at 1).
  static constexpr bool is_probe_id(std::uint64_t id) noexcept {
    return correlation_id::slot(id) == probe_slot
           && correlation_id::index(id) == 0;
  }

  /// Applies a new configuration. Switching probing on sends the first
  /// probe at `now`; switching it off resumes a paused path (a `resume`
  /// action) and forgets the probe in flight. A changed configuration that
  /// stays on keeps the pause and the streaks (the new thresholds apply from
  /// the next result); a shorter interval brings the next probe forward.
  void reconfigure(const probe_config& cfg, time_point now,
                   probe_action_list& out);

  /// Runs what is due at `now`: a probe in flight past its deadline ends as
  /// a timeout; a probe is sent when the interval has passed and none is in
  /// flight.
  void advance(time_point now, probe_action_list& out);

  /// The transport answered probe `id` with `o`. A result for another id
  /// (late, or from before a reconfiguration) is counted and dropped.
  void on_result(std::uint64_t id, const outcome& o, time_point now,
                 probe_action_list& out);

  /// When `advance` has something to do next; `no_deadline` while off.
  time_point next_deadline() const noexcept;

  bool enabled() const noexcept {
    return cfg_.enabled;
  }
  bool paused() const noexcept {
    return paused_;
  }
  bool in_flight() const noexcept {
    return in_flight_;
  }
  std::uint32_t consecutive_failures() const noexcept {
    return bad_;
  }
  std::uint32_t consecutive_successes() const noexcept {
    return good_;
  }
  const probe_counters& counters() const noexcept {
    return counters_;
  }
  const probe_config& config() const noexcept {
    return cfg_;
  }

 private:
  static constexpr std::uint32_t probe_slot = 0xffffffffu;

  /// A failed (`failed`) or good probe result moves the streaks.
  void verdict(bool failed, probe_action_list& out);

  void reset_streaks() noexcept {
    good_ = 0;
    bad_ = 0;
  }

  probe_config cfg_;
  bool paused_ = false;
  bool in_flight_ = false;
  std::uint64_t current_id_ = 0;
  std::uint32_t sequence_ = 0;
  std::uint32_t good_ = 0;
  std::uint32_t bad_ = 0;
  // min(): the first probe goes at the first `advance` after switching on.
  time_point next_probe_at_ = time_point::min();
  time_point probe_deadline_ = no_deadline;
  probe_counters counters_;
};

} // namespace bulwark
