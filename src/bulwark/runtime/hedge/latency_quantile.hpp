// An estimate of a quantile (say the 95th percentile) of recent attempt
// latencies, which sets the hedge delay. Latencies go into a log-linear
// histogram in the style of HdrHistogram: values below 64ns are exact, above
// that each power of two is split into 32 equal buckets, so any value lies in
// a bucket at most 1/32 of its lower bound wide and the bucket midpoint that
// is reported is within 1.6% of the true value. "Recent" is two rotating
// histograms: the one of the current `period` and the one of the period
// before, so the estimate always covers between one and two periods of
// history and forgets older samples completely. We prefer this to a decaying
// histogram because it is exact within its window, needs no floating-point
// decay of 1,152 counters, and is easy to reason about in tests; the price is
// a window whose length varies between one and two periods.
//
// Cost: recording is O(1) (a few counter updates; at a period change, one
// clear of a 4.7 KB histogram); a quantile query scans at most 36 group
// counters and 32 buckets, from the top for tail quantiles. Nothing
// allocates: the histograms live inside the object.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

class latency_quantile {
 public:
  // -- constants --------------------------------------------------------------

  /// log2 of the buckets per power of two.
  static constexpr unsigned sub_bucket_bits = 5;
  static constexpr std::uint32_t sub_buckets = 1u << sub_bucket_bits;
  /// Latencies at or above 2^40 ns (about 18 minutes) count as 2^40 - 1 ns.
  static constexpr unsigned max_value_bits = 40;
  static constexpr std::int64_t max_trackable_ns =
    (std::int64_t{1} << max_value_bits) - 1;
  static constexpr std::uint32_t bucket_count =
    (max_value_bits - 1 - sub_bucket_bits) * sub_buckets + 2 * sub_buckets;
  static constexpr std::uint32_t group_count = bucket_count / sub_buckets;

  // -- constructors -----------------------------------------------------------

  /// `period` > 0 is the length of one histogram's window.
  explicit latency_quantile(duration period = seconds(10)) noexcept;

  // -- modifiers --------------------------------------------------------------

  /// Adds one latency observed at `now`. Negative latencies count as 0. A
  /// `now` earlier than a previous one counts in the latest period seen.
  void record(duration latency, time_point now) noexcept;

  /// Forgets every sample.
  void reset() noexcept;

  // -- observers --------------------------------------------------------------

  /// The q-quantile (0 <= q <= 1, clamped) of the samples of the current and
  /// the previous period at `now`, by the nearest-rank rule: the value of the
  /// ceil(q * n)-th smallest sample, reported as the midpoint of its bucket.
  /// Zero when there are no samples.
  duration quantile(double q, time_point now) const noexcept;

  /// Number of samples the estimate at `now` is based on.
  std::uint64_t samples(time_point now) const noexcept;

  duration period() const noexcept {
    return period_;
  }

  // -- bucket arithmetic (public for tests) -----------------------------------

  /// The bucket of a value in nanoseconds (0 <= ns <= max_trackable_ns).
  static std::uint32_t bucket_of(std::int64_t ns) noexcept;

  /// Smallest value in bucket `index`.
  static std::int64_t bucket_low(std::uint32_t index) noexcept;

  /// Number of values in bucket `index`.
  static std::int64_t bucket_width(std::uint32_t index) noexcept;

 private:
  struct histogram {
    std::array<std::uint32_t, bucket_count> counts{};
    /// Sum of each run of `sub_buckets` buckets, so a query skips whole
    /// powers of two at once.
    std::array<std::uint32_t, group_count> groups{};
    std::uint64_t total = 0;
    /// The highest group with a sample, where a top-down query starts.
    std::uint32_t top_group = 0;
    /// The period this histogram holds.
    std::int64_t epoch = no_epoch;

    void clear(std::int64_t new_epoch) noexcept;
  };

  static constexpr std::int64_t no_epoch =
    std::numeric_limits<std::int64_t>::min();

  std::int64_t epoch_of(time_point now) const noexcept;

  /// The histograms valid at `now` (null when not valid).
  void select(time_point now, const histogram*& current,
              const histogram*& previous) const noexcept;

  duration period_;
  std::int64_t latest_epoch_ = no_epoch;
  /// [start, end) of the latest period in clock ticks; records inside it
  /// skip computing their period.
  std::int64_t latest_start_ = 0;
  std::int64_t latest_end_ = 0;
  /// Period e lives in hists_[e & 1]; the other one holds period e - 1 or
  /// something older, which `select` ignores.
  std::array<histogram, 2> hists_;
};

} // namespace bulwark
