// A fault schedule: the seeded, replayable description of how a simulated
// downstream misbehaves. It says how often an attempt fails and with which
// failure class, how long the downstream takes to answer (fixed, uniform,
// log-normal, or a weighted mixture of those to model a slow tail), which
// windows of the run suffer an outage, a brownout or a slowdown, and when the
// serving actor crashes. Chaos tests need faults that can be replayed exactly,
// so `decide` is a pure function of the schedule, the run's start, the current
// time and a seeded `rng`: the same seed gives the same faults, run after run.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// The shape of a latency distribution.
enum class latency_kind : std::uint8_t {
  /// Always `value`.
  fixed,
  /// Uniform in [min, max].
  uniform,
  /// median * exp(sigma * Z), Z standard normal: a long right tail.
  log_normal,
  /// One of `parts`, picked with probability weight / sum of weights.
  mixture,
};

/// @relates latency_kind
std::string to_string(latency_kind x);

/// A latency distribution. Mixture parts are simple distributions (a part
/// cannot be a mixture itself); `weight` is only read on parts.
struct latency_config {
  latency_kind kind = latency_kind::fixed;
  duration value = duration::zero();
  duration min = duration::zero();
  duration max = duration::zero();
  duration median = duration::zero();
  double sigma = 0.0;
  double weight = 1.0;
  std::vector<latency_config> parts;

  friend bool operator==(const latency_config& a, const latency_config& b) {
    return a.kind == b.kind && a.value == b.value && a.min == b.min
           && a.max == b.max && a.median == b.median && a.sigma == b.sigma
           && a.weight == b.weight && a.parts == b.parts;
  }
  friend bool operator!=(const latency_config& a, const latency_config& b) {
    return !(a == b);
  }
};

/// What a window of the run does.
enum class fault_window_kind : std::uint8_t {
  /// Every attempt fails with `failure`.
  outage,
  /// `rate` is added to the error rate of `failure` (capped at 100% total).
  brownout,
  /// Every latency is multiplied by `factor`.
  slowdown,
};

/// @relates fault_window_kind
std::string to_string(fault_window_kind x);

/// A window [start, end) relative to the start of the run.
struct fault_window {
  fault_window_kind kind = fault_window_kind::outage;
  duration start = duration::zero();
  duration end = duration::zero();
  failure_class failure = failure_class::transient;
  /// brownout: extra error rate as a fraction 0..1 (a percent in JSON).
  double rate = 0.0;
  /// slowdown: latency multiplier.
  double factor = 1.0;

  friend bool operator==(const fault_window& a, const fault_window& b) {
    return a.kind == b.kind && a.start == b.start && a.end == b.end
           && a.failure == b.failure && a.rate == b.rate
           && a.factor == b.factor;
  }
};

/// The classes a fault schedule may inject: what a downstream can do to an
/// attempt (the others are decided on the caller's side).
inline constexpr failure_class chaos_failure_classes[] = {
  failure_class::transient,
  failure_class::timeout,
  failure_class::overloaded,
  failure_class::persistent,
};

struct fault_schedule {
  /// Baseline error rate per failure class, fractions 0..1 (percents in
  /// JSON), indexed by failure_class. Only chaos_failure_classes are used.
  std::array<double, failure_class_count> error_rate{};
  /// Retry-after hint attached to `overloaded` failures; zero means none.
  duration retry_after = duration::zero();
  /// Latency before the answer, for failures and successes alike.
  latency_config latency;
  /// Outages, brownouts and slowdowns, in document order.
  std::vector<fault_window> windows;
  /// The serving actor dies at start + crash_at; `duration::max()` = never.
  duration crash_at = duration::max();

  friend bool operator==(const fault_schedule& a, const fault_schedule& b) {
    return a.error_rate == b.error_rate && a.retry_after == b.retry_after
           && a.latency == b.latency && a.windows == b.windows
           && a.crash_at == b.crash_at;
  }
  friend bool operator!=(const fault_schedule& a, const fault_schedule& b) {
    return !(a == b);
  }
};

/// One drawn fault.
struct chaos_decision {
  /// Whether the attempt fails (with `failure`).
  bool fail = false;
  failure_class failure = failure_class::transient;
  /// How long to wait before answering (success or failure).
  duration latency = duration::zero();
  /// Retry-after hint for overloaded failures (zero = none).
  duration retry_after = duration::zero();
  /// The serving actor is dead at `now` (now >= start + crash_at); the other
  /// fields are then meaningless and no randomness is drawn.
  bool crashed = false;
};

/// Draws the fate of one attempt made at `now` in a run that started at
/// `start`. Outages win over everything (the first active one in document
/// order); otherwise the error rates (baseline plus active brownouts, total
/// capped at 1) are tried with one uniform draw, in the order of
/// chaos_failure_classes. The latency is drawn from `latency` and multiplied
/// by every active slowdown. Windows are half-open: active for
/// start <= now - run_start < end. Deterministic for a seed; does not
/// allocate.
chaos_decision decide(const fault_schedule& schedule, time_point start,
                      time_point now, rng& gen) noexcept;

/// Draws one latency from `cfg` (never negative).
duration draw_latency(const latency_config& cfg, rng& gen) noexcept;

/// Reads a latency object: `kind` plus the keys of that kind (fixed: value;
/// uniform: min, max; log_normal: median, sigma; mixture: parts). Keys of
/// another kind are rejected. `allow_weight` accepts `weight` (mixture parts).
latency_config parse_latency_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors,
                                    bool allow_weight = false);

/// @relates latency_config
boost::json::object to_json(const latency_config& cfg);

/// Reads a fault schedule (keys: errors, retry_after, latency, windows,
/// crash_at). See docs/configuration/chaos.md.
fault_schedule parse_fault_schedule(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// @relates fault_schedule
boost::json::object to_json(const fault_schedule& cfg);

} // namespace bulwark
