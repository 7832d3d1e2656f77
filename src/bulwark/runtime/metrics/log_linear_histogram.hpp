// A precise latency histogram for load generators, in the manner of
// HdrHistogram: values 0..2048 ns are counted exactly, and every power of two
// above is split into 1,024 equal buckets, so a bucket is never wider than
// 1/1024 of its lower bound. A quantile is reported as the middle of its
// bucket (clamped to the exact min and max), which is within 1/2048 (0.05%)
// of the true sample quantile: p50 to p99.99 keep three significant digits
// from nanoseconds to hours. `latency_histogram` (25 Prometheus buckets) is
// for dashboards; this one is for claims like "p99 within 2%". Values are
// nanoseconds up to `max_value` (~4.9 hours); larger ones are clamped and
// counted in `clamped()`. Memory: ~280 KB of counters per histogram; `record`
// is a count-leading-zeros and two additions, with no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bulwark {

class log_linear_histogram {
 public:
  /// Values below this are counted exactly (one bucket per nanosecond).
  static constexpr std::int64_t exact_below = 2048;

  /// Buckets per power of two above `exact_below`.
  static constexpr std::int64_t buckets_per_octave = 1024;

  /// The largest value recorded as itself (2^44 - 1 ns, about 4.9 hours).
  static constexpr std::int64_t max_value = (std::int64_t{1} << 44) - 1;

  /// Upper bound of the relative error of `value_at_quantile` against the
  /// sample quantile (half a bucket's relative width).
  static constexpr double max_relative_error = 1.0 / 2048.0;

  log_linear_histogram();

  /// Adds `count` observations of `value`. Negative values count as 0;
  /// values above `max_value` as `max_value` (and in `clamped()`).
  void record(std::int64_t value, std::uint64_t count = 1) noexcept;

  /// Adds every observation of `other`.
  void merge(const log_linear_histogram& other) noexcept;

  /// Forgets every observation.
  void reset() noexcept;

  std::uint64_t count() const noexcept {
    return count_;
  }

  /// Observations that were above `max_value`.
  std::uint64_t clamped() const noexcept {
    return clamped_;
  }

  /// Exact smallest and largest recorded value (0 when empty).
  std::int64_t min() const noexcept {
    return count_ == 0 ? 0 : min_;
  }
  std::int64_t max() const noexcept {
    return max_;
  }

  /// Mean of the recorded values (exact up to double rounding; 0 if empty).
  double mean() const noexcept;

  /// The nearest-rank quantile (the ceil(q * count)-th smallest value) to
  /// within `max_relative_error`: q <= 0 gives min(), q >= 1 max(); 0 when
  /// empty.
  std::int64_t value_at_quantile(double q) const noexcept;

  /// Observations <= `value` (exact at bucket bounds, else the bucket's
  /// count is included whole).
  std::uint64_t count_at_or_below(std::int64_t value) const noexcept;

  /// The bucket index of a value in [0, max_value].
  static std::size_t index_of(std::int64_t value) noexcept;

  /// Smallest and largest value of bucket `index`.
  static std::int64_t lowest_in(std::size_t index) noexcept;
  static std::int64_t highest_in(std::size_t index) noexcept;

  /// Number of buckets.
  static std::size_t bucket_count() noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t clamped_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  // Sum as whole seconds plus a remainder, so it cannot overflow.
  std::uint64_t sum_seconds_ = 0;
  std::uint64_t sum_ns_ = 0;
};

} // namespace bulwark
