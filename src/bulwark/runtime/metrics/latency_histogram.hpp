// A latency histogram with fixed Prometheus buckets: the form in which a
// dependency actor keeps the durations of its requests and attempts, so that
// `/metrics` can expose them as `*_duration_seconds` histograms and dashboards
// can estimate percentiles from them. Unlike `latency_quantile` (a sliding,
// fine-grained window that drives hedging), this one is cumulative since start,
// as Prometheus counters must be, and its buckets are few and fixed, because
// every bucket is a time series in the monitoring system. The 25 upper bounds
// run from 50 µs to 60 s in a 1-2-3-5 progression per decade (at most a factor
// of two between neighbours), which brackets p50 to p99.9 of calls from an
// in-process cache hit to a minute-long deadline within a factor of two, and a
// value can be placed inside its bucket by linear interpolation.
//
// Cost: `record` is a branch-free binary search over 32 padded bounds and three
// integer additions: no allocation, no lock (the owning actor is the only
// writer; readers get a copy through the actor's stats message).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

namespace detail {

inline constexpr std::array<std::int64_t, 25> latency_bounds_ns{{
  50'000,        100'000,        200'000,        300'000,        500'000,
  1'000'000,     2'000'000,      3'000'000,      5'000'000,      10'000'000,
  20'000'000,    30'000'000,     50'000'000,     100'000'000,    200'000'000,
  300'000'000,   500'000'000,    1'000'000'000,  2'000'000'000,  3'000'000'000,
  5'000'000'000, 10'000'000'000, 20'000'000'000, 30'000'000'000, 60'000'000'000,
}};

// The bounds padded to 32 entries with "infinity", for a branch-free search.
constexpr std::array<std::int64_t, 32> pad_latency_bounds() noexcept {
  std::array<std::int64_t, 32> result{};
  for (std::size_t i = 0; i < result.size(); ++i)
    result[i] = i < latency_bounds_ns.size()
                  ? latency_bounds_ns[i]
                  : std::numeric_limits<std::int64_t>::max();
  return result;
}

inline constexpr std::array<std::int64_t, 32> padded_latency_bounds =
  pad_latency_bounds();

} // namespace detail

class latency_histogram {
 public:
  // -- constants --------------------------------------------------------------

  /// Number of finite upper bounds (`le` labels other than +Inf).
  static constexpr std::size_t bound_count = 25;

  /// Number of buckets: one per bound plus the overflow bucket (+Inf).
  static constexpr std::size_t bucket_count = bound_count + 1;

  /// The upper bounds in nanoseconds (inclusive, as Prometheus' `le`):
  /// 50µs 100µs 200µs 300µs 500µs, 1ms 2ms 3ms 5ms, 10ms 20ms 30ms 50ms,
  /// 100ms 200ms 300ms 500ms, 1s 2s 3s 5s, 10s 20s 30s 60s.
  static constexpr std::array<std::int64_t, bound_count> bounds_ns =
    detail::latency_bounds_ns;

  /// Upper bound `i` (< bound_count) in seconds.
  static double bound_seconds(std::size_t i) noexcept {
    return static_cast<double>(bounds_ns[i]) / 1e9;
  }

  /// The bucket a duration falls in: the first bound >= `ns`, or
  /// `bound_count` (overflow) above the last bound. Negative values count 0.
  static std::size_t bucket_of(std::int64_t ns) noexcept {
    // Branch-free lower bound over the bounds padded to 32 with "infinity".
    std::size_t base = 0;
    for (std::size_t half = 16; half > 0; half /= 2)
      base += (detail::padded_latency_bounds[base + half - 1] < ns) ? half : 0;
    return base;
  }

  // -- modifiers --------------------------------------------------------------

  /// Adds one observed duration. Negative durations count as 0; durations
  /// above `max_recorded` count as `max_recorded` (in the overflow bucket).
  void record(duration d) noexcept {
    auto ns = d.count();
    ns = ns < 0 ? 0 : (ns > max_recorded_ns ? max_recorded_ns : ns);
    ++counts_[bucket_of(ns)];
    ++count_;
    add_sum(static_cast<std::uint64_t>(ns));
  }

  /// Adds every observation of `other` (counts and sums add up exactly).
  void merge(const latency_histogram& other) noexcept;

  /// Forgets every observation.
  void reset() noexcept;

  // -- observers --------------------------------------------------------------

  /// Number of observations (the +Inf bucket and `_count`).
  std::uint64_t count() const noexcept {
    return count_;
  }

  /// Sum of all observations in seconds (`_sum`).
  double sum() const noexcept {
    return static_cast<double>(sum_folds_) * (fold_ns / 1e9)
           + static_cast<double>(sum_ns_) / 1e9;
  }

  /// Observations in bucket `i` alone (i <= bound_count; bound_count is the
  /// overflow bucket).
  std::uint64_t bucket(std::size_t i) const noexcept {
    return counts_[i];
  }

  /// Observations <= bound `i` (i < bound_count), i.e. `_bucket{le=...}`;
  /// `i == bound_count` gives `count()`.
  std::uint64_t cumulative(std::size_t i) const noexcept;

  /// The q-quantile estimate (q clamped to [0, 1]) the way Prometheus'
  /// `histogram_quantile` computes it: find the bucket holding rank q * count,
  /// then interpolate linearly between its lower and upper bound (the first
  /// bucket's lower bound is 0). A rank in the overflow bucket gives the last
  /// bound (60 s). Zero without observations.
  duration quantile(double q) const noexcept;

  friend bool operator==(const latency_histogram& x,
                         const latency_histogram& y) noexcept {
    return x.counts_ == y.counts_ && x.count_ == y.count_
           && x.sum_ns_ == y.sum_ns_ && x.sum_folds_ == y.sum_folds_;
  }

  friend bool operator!=(const latency_histogram& x,
                         const latency_histogram& y) noexcept {
    return !(x == y);
  }

  /// The exact state, for carrying a histogram in a message
  /// (bulwark/actors/protocol/stats_messages.hpp): the count of every bucket
  /// and the sum in nanoseconds, as `sum_folds` multiples of 10^18 plus
  /// `sum_ns`.
  struct exact_state {
    std::array<std::uint64_t, bucket_count> counts{};
    std::uint64_t sum_ns = 0;
    std::uint64_t sum_folds = 0;
  };

  exact_state state() const noexcept {
    return exact_state{counts_, sum_ns_, sum_folds_};
  }

  /// The histogram of `s`; false (and `out` unchanged) when `s` could not
  /// come from `state()` (`sum_ns` not below 10^18, or a count overflow).
  static bool from_state(const exact_state& s,
                         latency_histogram& out) noexcept {
    if (s.sum_ns >= fold_ns)
      return false;
    std::uint64_t count = 0;
    for (auto c : s.counts) {
      if (count + c < count)
        return false;
      count += c;
    }
    out.counts_ = s.counts;
    out.count_ = count;
    out.sum_ns_ = s.sum_ns;
    out.sum_folds_ = s.sum_folds;
    return true;
  }

  /// Durations above this (about 13 days) are recorded as this: it keeps the
  /// exact nanosecond sum from overflowing.
  static constexpr std::int64_t max_recorded_ns = std::int64_t{1} << 50;

 private:
  // The sum is kept exact in integer nanoseconds: `sum_ns_` below `fold_ns`
  // plus `sum_folds_` multiples of it, so a busy dependency running for years
  // neither overflows nor loses the small latencies to rounding (a double
  // sum would, once it is large).
  static constexpr std::uint64_t fold_ns = 1'000'000'000'000'000'000ULL;

  void add_sum(std::uint64_t ns) noexcept {
    sum_ns_ += ns;
    if (sum_ns_ >= fold_ns) {
      sum_ns_ -= fold_ns;
      ++sum_folds_;
    }
  }

  friend bool from_json(const boost::json::value& v, latency_histogram& out);

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
  std::uint64_t sum_folds_ = 0;
};

/// The histogram as JSON:
///   {"count": N, "sum": seconds,
///    "bounds": [0.00005, ..., 60],          // upper bounds in seconds
///    "cumulative": [c0, ..., c24],          // observations <= each bound
///    "quantiles": {"0.5": s, "0.9": s, "0.99": s, "0.999": s}}
/// `quantiles` are estimates for dashboards; `from_json` ignores them.
/// @relates latency_histogram
boost::json::object to_json(const latency_histogram& x);

/// Reads what `to_json` wrote. Returns false (and leaves `out` unchanged)
/// unless `v` is an object with a non-negative integer `count`, a
/// non-negative number `sum`, `bounds` equal to `latency_histogram::bounds_ns`
/// and `cumulative` of the same length, non-decreasing and at most `count`.
/// Other keys are ignored.
/// @relates latency_histogram
bool from_json(const boost::json::value& v, latency_histogram& out);

} // namespace bulwark
