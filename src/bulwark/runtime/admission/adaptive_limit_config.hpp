// The configuration of a dependency's adaptive concurrency limit: whether the
// bulkhead's `max_concurrent` is learned from what the dependency does
// instead of fixed, which algorithm learns it (a latency gradient in the
// style of Netflix's Gradient2 and TCP Vegas, or AIMD), its bounds, how often
// it moves, and the healthy-latency guard that keeps it from growing back
// while the dependency stays slow (failsafe-go#127, concurrency-limits#134).
// Off by default: a static limit is what operators expect until they ask.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class adaptive_limit_kind : std::uint8_t {
  /// Latency-based: shrinks in proportion as the window's latency rises
  /// above `tolerance` times the no-load latency, grows by a small queue
  /// allowance while it does not.
  gradient,
  /// Additive increase (one per window), multiplicative decrease on a drop
  /// (an attempt that failed as `overloaded` or `timeout`).
  aimd,
};

/// @relates adaptive_limit_kind
std::string to_string(adaptive_limit_kind x);

struct adaptive_limit_config {
  bool enabled = false;
  adaptive_limit_kind kind = adaptive_limit_kind::gradient;
  /// The limit before anything was learned; 0: the bulkhead's
  /// max_concurrent (clamped into [min_limit, max_limit]), so switching the
  /// adaptive limit on starts from the limit operators already chose.
  std::uint32_t initial_limit = 0;
  std::uint32_t min_limit = 2;
  std::uint32_t max_limit = 1000;
  /// A window closes (and the limit may move) once it lasted this long and
  /// saw `min_samples` results.
  duration window = seconds(1);
  std::uint32_t min_samples = 10;
  /// gradient: latency up to tolerance x the no-load latency counts as no
  /// queueing (absorbs the noise of a window's mean).
  double tolerance = 1.1;
  /// Queueing below this is not overload, whatever the ratio (for the
  /// gradient and for the guard)
  /// (DAGOR declares overload at 20 ms of queueing, CoDel targets 5 ms): a
  /// dependency answering in microseconds would otherwise be throttled for
  /// queueing that costs nobody anything.
  duration min_queueing = milliseconds(1);
  /// gradient: the weight of a window's proposal in the new limit (0..1].
  double smoothing = 0.2;
  /// The factor a drop multiplies the limit by (at most once per window).
  double backoff_ratio = 0.5;
  /// The guard: the limit does not grow while the window's mean latency is
  /// above this times the healthy latency.
  double healthy_latency_ratio = 1.5;
  /// How slowly the healthy (no-load) latency follows a lasting rise: its
  /// time constant. It follows a fall at once.
  duration healthy_window = minutes(10);
  /// gradient: how often the no-load latency is measured again by halving
  /// the limit for one window (also done at once when the guard trips), so
  /// a queue the limit itself keeps full cannot pass for the no-load
  /// latency.
  duration probe_interval = seconds(30);

  friend bool operator==(const adaptive_limit_config& a,
                         const adaptive_limit_config& b) {
    return a.enabled == b.enabled && a.kind == b.kind
           && a.initial_limit == b.initial_limit && a.min_limit == b.min_limit
           && a.max_limit == b.max_limit && a.window == b.window
           && a.min_samples == b.min_samples && a.tolerance == b.tolerance
           && a.min_queueing == b.min_queueing && a.smoothing == b.smoothing
           && a.backoff_ratio == b.backoff_ratio
           && a.healthy_latency_ratio == b.healthy_latency_ratio
           && a.healthy_window == b.healthy_window
           && a.probe_interval == b.probe_interval;
  }
  friend bool operator!=(const adaptive_limit_config& a,
                         const adaptive_limit_config& b) {
    return !(a == b);
  }
};

/// Reads an adaptive_limit object. Cross-field rule: min_limit <=
/// initial_limit <= max_limit when initial_limit is not 0 (the error names
/// the key that breaks it).
adaptive_limit_config parse_adaptive_limit_config(const boost::json::value& v,
                                                  const json_path& at,
                                                  error_list& errors);

/// @relates adaptive_limit_config
boost::json::object to_json(const adaptive_limit_config& cfg);

} // namespace bulwark
