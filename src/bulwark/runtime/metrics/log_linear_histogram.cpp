#include "bulwark/runtime/metrics/log_linear_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace bulwark {

namespace {

constexpr int exact_bits = 11; // exact_below = 2^11
constexpr int octave_bits = 10; // buckets_per_octave = 2^10
constexpr int max_bits = 44; // max_value = 2^44 - 1

constexpr std::size_t total_buckets =
  static_cast<std::size_t>(log_linear_histogram::exact_below)
  + static_cast<std::size_t>(max_bits - exact_bits)
      * static_cast<std::size_t>(log_linear_histogram::buckets_per_octave);

constexpr std::uint64_t ns_per_s = 1'000'000'000;

} // namespace

log_linear_histogram::log_linear_histogram() : counts_(total_buckets, 0) {}

std::size_t log_linear_histogram::bucket_count() noexcept {
  return total_buckets;
}

std::size_t log_linear_histogram::index_of(std::int64_t value) noexcept {
  auto v = static_cast<std::uint64_t>(value);
  if (value < exact_below)
    return static_cast<std::size_t>(v);
  int msb = 63 - __builtin_clzll(v); // >= exact_bits
  int shift = msb - octave_bits; // >= 1
  auto within = (v >> shift) - static_cast<std::uint64_t>(buckets_per_octave);
  return static_cast<std::size_t>(exact_below)
         + static_cast<std::size_t>(shift - 1)
             * static_cast<std::size_t>(buckets_per_octave)
         + static_cast<std::size_t>(within);
}

std::int64_t log_linear_histogram::lowest_in(std::size_t index) noexcept {
  if (index < static_cast<std::size_t>(exact_below))
    return static_cast<std::int64_t>(index);
  auto rest = index - static_cast<std::size_t>(exact_below);
  auto shift = static_cast<int>(rest / buckets_per_octave) + 1;
  auto within = static_cast<std::int64_t>(rest % buckets_per_octave);
  return (buckets_per_octave + within) << shift;
}

std::int64_t log_linear_histogram::highest_in(std::size_t index) noexcept {
  if (index < static_cast<std::size_t>(exact_below))
    return static_cast<std::int64_t>(index);
  auto rest = index - static_cast<std::size_t>(exact_below);
  auto shift = static_cast<int>(rest / buckets_per_octave) + 1;
  return lowest_in(index) + (std::int64_t{1} << shift) - 1;
}

void log_linear_histogram::record(std::int64_t value,
                                  std::uint64_t count) noexcept {
  if (count == 0)
    return;
  if (value < 0)
    value = 0;
  if (value > max_value) {
    value = max_value;
    clamped_ += count;
  }
  counts_[index_of(value)] += count;
  if (count_ == 0 || value < min_)
    min_ = value;
  if (value > max_)
    max_ = value;
  count_ += count;
  // value < 2^44 and count is modest: split to keep the sum exact.
  auto v = static_cast<std::uint64_t>(value);
  sum_seconds_ += (v / ns_per_s) * count;
  sum_ns_ += (v % ns_per_s) * count;
  sum_seconds_ += sum_ns_ / ns_per_s;
  sum_ns_ %= ns_per_s;
}

void log_linear_histogram::merge(const log_linear_histogram& other) noexcept {
  if (other.count_ == 0)
    return;
  for (std::size_t i = 0; i < total_buckets; ++i)
    counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_)
    min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  clamped_ += other.clamped_;
  sum_seconds_ += other.sum_seconds_;
  sum_ns_ += other.sum_ns_;
  sum_seconds_ += sum_ns_ / ns_per_s;
  sum_ns_ %= ns_per_s;
}

void log_linear_histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  clamped_ = 0;
  min_ = 0;
  max_ = 0;
  sum_seconds_ = 0;
  sum_ns_ = 0;
}

double log_linear_histogram::mean() const noexcept {
  if (count_ == 0)
    return 0.0;
  return (static_cast<double>(sum_seconds_) * 1e9
          + static_cast<double>(sum_ns_))
         / static_cast<double>(count_);
}

std::int64_t log_linear_histogram::value_at_quantile(double q) const noexcept {
  if (count_ == 0)
    return 0;
  if (!(q > 0.0))
    return min_;
  if (q >= 1.0)
    return max_;
  auto rank =
    static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < total_buckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      auto lo = lowest_in(i);
      auto hi = highest_in(i);
      auto mid = lo + (hi - lo + 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::uint64_t
log_linear_histogram::count_at_or_below(std::int64_t value) const noexcept {
  if (value < 0)
    return 0;
  if (value >= max_value)
    return count_;
  auto last = index_of(value);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= last; ++i)
    total += counts_[i];
  return total;
}

} // namespace bulwark
