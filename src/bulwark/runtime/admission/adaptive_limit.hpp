// A concurrency limit learned from the dependency's answers, for the bulkhead
// (bulwark/runtime/bulkhead/bulkhead.hpp) to enforce: the owner feeds it one
// sample per finished attempt (its latency, the calls in flight, whether it
// was a drop: `overloaded` or `timeout`) and resizes the bulkhead when
// `on_sample` says the limit moved. The bulkhead keeps queueing and the
// critical reserve, which now applies to the learned limit, so critical work
// keeps its share however low the limit falls.
//
// Samples are gathered in windows (`window` long, at least `min_samples`).
// Two latencies are learned from the windows' means:
// A window's mean is judged with its noise (two standard errors): it lowers
// a learned latency only when below it by more than that (to mean + noise),
// and the guard trips or lets go only when the mean is beyond its threshold
// by more than that; in between the guard stays as it was. The lowest of
// many noisy means is far below the true one, and the limit's own small
// queue would then pass for a brownout.
// - the no-load latency (gradient only) drops at once to a lower window
//   mean, and is measured again by a probe: every `probe_interval`, and at
//   once when the guard trips, the limit is halved for one window (after the
//   calls sent under the old limit have come back), that window's mean
//   replaces it, and the limit is restored. Without the probe a limit stuck
//   above the capacity keeps the queue full and its own latency passes for
//   the no-load one (Envoy's minRTT measurement, gentler: half, not 3).
//   No probe while a window's whole mean latency is below `min_queueing`:
//   there is no queue worth measuring;
// - the healthy latency (the guard) drops at once too but rises only slowly
//   (time constant `healthy_window`), so a long brownout cannot become the
//   new normal: while a window's mean is above `healthy_latency_ratio` x the
//   healthy latency the limit never grows (failsafe-go#127,
//   concurrency-limits#134: limits that grow back during long brownouts).
//   A probe for the guard that finds the latency at half the limit clearly
//   below the threshold shows the limit's own queue tripped it: no slow
//   start back to the level it tripped at.
// When a window closes:
// - gradient: proposal = limit x clamp(max(tolerance x no-load, no-load +
//   min_queueing) / mean, 0.5, 1) + max(1, log10(limit)), smoothed in
//   (`smoothing`). Until the first push back (a gradient below 1, the guard,
//   a drop) growth doubles per window instead (slow start);
// - aimd: +1;
// - growth needs the limit to be used: at least half of it in flight at
//   some sample of the window (otherwise an idle dependency's limit would
//   climb to max_limit and protect nothing when load comes).
// A drop multiplies the limit by `backoff_ratio` at once, at most once per
// window (a burst of timeouts from one overload is one signal, as in TCP),
// and the window does not grow. After an unhealthy stretch (guard tripped or
// a drop), growth back up to the limit the stretch started from doubles per
// window (TCP's slow start up to ssthresh): recovery takes a few windows, not
// minutes of +1.
//
// Pure: time is an argument, no clock, no allocation.
#pragma once

#include <cstdint>

#include "bulwark/runtime/admission/adaptive_limit_config.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

class adaptive_limit {
 public:
  explicit adaptive_limit(const adaptive_limit_config& cfg = {});

  const adaptive_limit_config& config() const noexcept {
    return cfg_;
  }

  /// The current limit, in [min_limit, max_limit].
  std::uint32_t limit() const noexcept {
    return published_;
  }

  /// An attempt finished after `rtt` with `in_flight` calls in flight
  /// (before it freed its slot); `dropped` when the dependency refused or
  /// timed it out. Returns whether `limit()` changed.
  bool on_sample(duration rtt, std::uint32_t in_flight, bool dropped,
                 time_point now) noexcept;

  /// A new config. The same kind keeps what was learned (clamped into the
  /// new bounds); a new kind, or enabling it, starts from initial_limit.
  /// Returns whether `limit()` changed.
  bool reconfigure(const adaptive_limit_config& cfg) noexcept;

  // -- observers (tests, stats) -----------------------------------------------

  /// The no-load latency estimate (gradient); 0 before the first window.
  duration no_load_latency() const noexcept {
    return duration{static_cast<duration::rep>(no_load_ns_)};
  }
  /// The healthy latency the guard compares with; 0 before the first window.
  duration healthy_latency() const noexcept {
    return duration{static_cast<duration::rep>(healthy_ns_)};
  }
  /// The mean latency of the last closed window (0: none yet).
  duration window_latency() const noexcept {
    return duration{static_cast<duration::rep>(last_mean_ns_)};
  }
  /// Whether the guard held the last closed window (latency elevated).
  bool guarded() const noexcept {
    return guarded_;
  }
  std::uint64_t windows() const noexcept {
    return windows_;
  }
  /// Probes completed.
  std::uint64_t probes() const noexcept {
    return probes_;
  }
  /// Whether a probe runs (the limit is halved for it).
  bool probing() const noexcept {
    return probe_ != probe_phase::none;
  }

 private:
  enum class probe_phase : std::uint8_t { none, draining, measuring };

  void reset() noexcept;
  void start_probe() noexcept;
  bool close_window(time_point now) noexcept;
  bool publish() noexcept;

  adaptive_limit_config cfg_;
  double limit_ = 0;
  std::uint32_t published_ = 0;
  // The current window.
  time_point window_start_{};
  bool window_open_ = false;
  std::uint32_t samples_ = 0;
  std::uint32_t latency_samples_ = 0;
  double latency_sum_ns_ = 0;
  double latency_sq_sum_ns_ = 0;
  std::uint32_t max_in_flight_ = 0;
  bool dropped_ = false;
  // What was learned.
  double no_load_ns_ = 0;
  double healthy_ns_ = 0;
  double last_mean_ns_ = 0;
  bool guarded_ = false;
  // The limit an unhealthy stretch started from (0: none to recover to).
  double recover_to_ = 0;
  std::uint64_t windows_ = 0;
  // The probe: its phase, the calls still to come back from before it, the
  // limit to restore, and when the last one ended (or none yet).
  probe_phase probe_ = probe_phase::none;
  std::uint32_t drain_ = 0;
  double saved_limit_ = 0;
  time_point last_probe_{};
  bool probed_ = false;
  bool probe_for_guard_ = false;
  // Slow start (gradient): until the first push back, growth doubles.
  bool starting_ = true;
  std::uint64_t probes_ = 0;
};

} // namespace bulwark
