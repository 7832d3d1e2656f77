// Decides which members of a supervisor's group (replicas of one service) are
// outliers and keeps them out of ordinary traffic for a while, so one sick
// replica stops costing callers retries and latency while the others serve.
// It is Envoy's outlier detection: a member is ejected after
// `consecutive_errors` failures in a row, or at the end of an `interval` when
// its success rate falls below mean - factor x stddev of its peers'; the k-th
// ejection lasts k x `base_ejection_time` (capped), and at most
// `max_ejection_percent` of the members are out at once. Where Envoy simply
// returns a host to service when its time is up, bulwark first lets ONE probe
// request through (`probing`): a success readmits the member, a failure ejects
// it again for longer, so a member still broken never gets a full share of
// traffic back. Pure: the supervisor owns one detector, passes the time and a
// generator, and turns the returned events into journeys and stats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/supervise/outlier_config.hpp"

namespace bulwark {

/// Where a member stands. Only `healthy` members get ordinary traffic.
enum class member_health : std::uint8_t {
  healthy,
  /// Out of rotation until its ejection time has elapsed.
  ejected,
  /// Ejection time elapsed: still out of rotation, but one probe may go.
  probing,
};

/// @relates member_health
std::string to_string(member_health x);

/// Why a member was ejected.
enum class ejection_reason : std::uint8_t {
  /// `consecutive_errors` failures in a row (Envoy consecutive_5xx).
  consecutive_errors,
  /// Below the success-rate threshold at the end of an interval.
  success_rate,
  /// Its readmission probe failed (bulwark's addition; ejected for longer).
  probe_failed,
};

/// @relates ejection_reason
std::string to_string(ejection_reason x);

/// A change the supervisor records in journeys and stats.
struct outlier_event {
  enum kind_t : std::uint8_t {
    /// The member left rotation for `ejection_time`, because of `reason`.
    ejected,
    /// The member's ejection time elapsed: the supervisor may `take_probe`.
    probe_ready,
    /// The member's probe succeeded (or detection was switched off): back
    /// in rotation.
    readmitted,
  };

  kind_t kind;
  std::size_t member;
  /// Meaningful for `ejected`; for the others, the reason of the ejection
  /// that just ended.
  ejection_reason reason;
  /// How long the ejection lasts (`ejected` only; zero otherwise).
  duration ejection_time;

  friend bool operator==(const outlier_event& a, const outlier_event& b) {
    return a.kind == b.kind && a.member == b.member && a.reason == b.reason
           && a.ejection_time == b.ejection_time;
  }
};

/// @relates outlier_event
std::string to_string(outlier_event::kind_t x);

/// "ejected member 2 for 30s (consecutive_errors)", for logs and tests.
/// @relates outlier_event
std::string to_string(const outlier_event& x);

class outlier_detector {
 public:
  outlier_detector(const outlier_config& cfg, std::size_t members);

  /// Takes a new configuration (a reload). Per-member state is kept:
  /// ejections in progress keep their end time, the current interval keeps
  /// its end; new values apply from the next ejection / interval. Switching
  /// `enabled` off makes the next `advance` readmit every member (with
  /// events); switched on again, detection starts a fresh interval.
  void reconfigure(const outlier_config& cfg);

  /// Members are appended (healthy) or removed at the end; a removed
  /// member's ejection (and outstanding probe) is forgotten.
  void resize(std::size_t members);

  /// `member` starts over as a new, healthy member (a supervisor reuses the
  /// index of a removed member for one added by a reload): its ejection,
  /// probe, multiplier and counters are forgotten.
  void reset(std::size_t member);

  /// One finished request to `member`. `success` = not an outlier failure
  /// (the caller decides which failure classes count). O(1), no allocation.
  /// A healthy member may be ejected (the event is returned), within
  /// `max_ejection_percent` and `enforcing_consecutive_errors`. A probing
  /// member with a probe outstanding takes this as the probe's result: a
  /// success readmits it, a failure ejects it again for longer. Results for
  /// an ejected member, or a probing one without a probe outstanding (late
  /// replies to requests sent before the ejection), are counted but change
  /// nothing. Ignored when disabled or `member >= size()`.
  std::optional<outlier_event> record(std::size_t member, bool success,
                                      time_point now, rng& gen);

  /// Runs what is due at `now`: ejected members whose time elapsed become
  /// probing (`probe_ready`); when an interval ended, the success-rate
  /// analysis (ejections) and the decay of healthy members' ejection
  /// multipliers, then the interval counters restart. The first call starts
  /// the first interval. Appends events to `out` (the caller reuses the
  /// vector; no allocation once it has capacity).
  void advance(time_point now, rng& gen, std::vector<outlier_event>& out);

  /// Next time `advance` has something to do: the end of the interval or
  /// the earliest end of an ejection. `time_point{}` (i.e. "now") before the
  /// first `advance` (also the first after detection was switched back on),
  /// or when disabled with members still out; `no_deadline` when disabled
  /// and nothing is pending.
  time_point next_deadline() const noexcept;

  /// `healthy` for a member out of range.
  member_health health(std::size_t member) const noexcept;

  /// May ordinary traffic go to `member`? (healthy only)
  bool available(std::size_t member) const noexcept;

  /// If `member` is probing and no probe is outstanding, marks a probe
  /// outstanding and returns true: the caller sends one request there.
  bool take_probe(std::size_t member) noexcept;

  /// The probe request was never answered by the member (e.g. the member
  /// crashed, the request was cancelled): the member may be probed again.
  void release_probe(std::size_t member) noexcept;

  /// Whether `member` has a probe outstanding.
  bool probe_outstanding(std::size_t member) const noexcept;

  /// Times `member` was ejected so far (never decreases; Envoy
  /// num_ejections).
  std::uint32_t ejections(std::size_t member) const noexcept;

  /// The current ejection-time multiplier of `member`: the next ejection
  /// lasts min(base x (multiplier + 1), max) unless it has decayed first.
  std::uint32_t ejection_multiplier(std::size_t member) const noexcept;

  /// Requests and successes recorded for `member` in the current interval.
  std::uint64_t interval_requests(std::size_t member) const noexcept;
  std::uint64_t interval_successes(std::size_t member) const noexcept;

  /// Members out of ordinary traffic (ejected or probing): what
  /// `max_ejection_percent` limits.
  std::size_t ejected_count() const noexcept {
    return ejected_count_;
  }

  std::size_t size() const noexcept {
    return members_.size();
  }

  const outlier_config& config() const noexcept {
    return cfg_;
  }

 private:
  struct member_state {
    member_health health = member_health::healthy;
    bool probe_outstanding = false;
    bool ever_readmitted = false;
    ejection_reason reason = ejection_reason::consecutive_errors;
    std::uint32_t consecutive_failures = 0;
    std::uint32_t multiplier = 0;
    std::uint32_t ejections = 0;
    std::uint64_t requests = 0;
    std::uint64_t successes = 0;
    time_point ejection_end{};
    time_point readmitted_at{};
  };

  /// Whether one more member may leave rotation (max_ejection_percent, with
  /// Envoy's at-least-one rule).
  bool may_eject() const noexcept;

  /// Whether a detection is enforced: a draw against `percent`.
  static bool enforce(std::uint32_t percent, rng& gen) noexcept;

  /// Every ejection goes through here: grows the multiplier, sets the end.
  outlier_event eject(std::size_t member, ejection_reason reason,
                      time_point now) noexcept;

  outlier_event readmit(std::size_t member, time_point now) noexcept;

  void analyze_success_rates(rng& gen, time_point now,
                             std::vector<outlier_event>& out);

  void recompute_earliest_end() noexcept;

  outlier_config cfg_;
  std::vector<member_state> members_;
  /// Scratch for the success-rate analysis (rate in percent, member),
  /// reserved to the member count so `advance` does not allocate.
  std::vector<std::pair<double, std::size_t>> rates_;
  std::size_t ejected_count_ = 0;
  bool started_ = false;
  time_point interval_end_{};
  /// Earliest `ejection_end` of an ejected member; `no_deadline` if none.
  time_point earliest_end_ = no_deadline;
};

} // namespace bulwark
