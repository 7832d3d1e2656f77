// Counts answered calls against an objective (objective_config.hpp) and
// turns them into error-budget burn rates over the SRE workbook's windows
// (objective_window.hpp): burn rate = (bad calls / calls in the window) /
// (1 - target). Calls are counted in two rings of time buckets, 10 s wide for
// the windows up to an hour and 5 min wide for the longer ones, so recording
// is O(1), memory is fixed (~40 KB, allocated only while the objective is
// enabled: every dependency has a tracker, and an idle dependency actor costs
// a few KB) and a window is exact to its bucket (the 5 m window covers 4 min
// 50 s to 5 min). Pure: time is an argument.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/objective/objective_config.hpp"
#include "bulwark/runtime/objective/objective_stats.hpp"

namespace bulwark {

class objective_tracker {
 public:
  explicit objective_tracker(const objective_config& cfg = {});

  const objective_config& config() const noexcept {
    return cfg_;
  }

  /// New targets apply to the calls already counted (the counts are the
  /// same calls; only what a budget is changes), except a new latency
  /// threshold: the calls counted slow under the old one start afresh.
  /// Disabling frees the windows (enabling again starts them empty); the
  /// counters since start stay.
  void reconfigure(const objective_config& cfg);

  /// A call was answered after `latency`, successfully or not. Ignored
  /// while the objective is disabled.
  void record(bool ok, duration latency, time_point now) noexcept;

  /// Counters and burn rates as of `now`.
  objective_stats snapshot(time_point now) const noexcept;

  /// The burn rate of one objective over one window at `now` (tests, the
  /// dashboard's text).
  double availability_burn(objective_window w, time_point now) const noexcept;
  double latency_burn(objective_window w, time_point now) const noexcept;

  /// Buckets held (0 while disabled: every dependency has a tracker).
  std::size_t buckets_held() const noexcept {
    return fine_.buckets.size() + coarse_.buckets.size();
  }

 private:
  struct bucket {
    std::int64_t index = -1;
    std::uint64_t events = 0;
    std::uint64_t bad_availability = 0;
    std::uint64_t bad_latency = 0;
  };

  struct ring {
    duration width;
    std::size_t count;
    // `count` buckets while the objective is enabled, none otherwise.
    std::vector<bucket> buckets;

    ring(duration w, std::size_t n) : width(w), count(n) {}
    std::int64_t index_of(time_point t) const noexcept {
      return t.time_since_epoch() / width;
    }
    bucket& at(time_point t) noexcept;
    /// Sums the buckets of the last `n` (the current one included).
    bucket sum(std::size_t n, time_point now) const noexcept;
  };

  const ring& ring_for(objective_window w) const noexcept;
  bucket window(objective_window w, time_point now) const noexcept;

  objective_config cfg_;
  ring fine_;
  ring coarse_;
  std::uint64_t events_ = 0;
  std::uint64_t bad_availability_ = 0;
  std::uint64_t bad_latency_ = 0;
};

} // namespace bulwark
