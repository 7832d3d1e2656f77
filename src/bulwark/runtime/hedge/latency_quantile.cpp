#include "bulwark/runtime/hedge/latency_quantile.hpp"

#include <algorithm>
#include <cmath>

namespace bulwark {

latency_quantile::latency_quantile(duration period) noexcept
  : period_(period.count() > 0 ? period : duration{1}) {
  // nop
}

// -- bucket arithmetic --------------------------------------------------------

std::uint32_t latency_quantile::bucket_of(std::int64_t ns) noexcept {
  auto v = static_cast<std::uint64_t>(ns);
  if (v < 2 * sub_buckets)
    return static_cast<std::uint32_t>(v);
  auto msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
  auto shift = msb - sub_bucket_bits;
  // (v >> shift) lies in [sub_buckets, 2 * sub_buckets).
  return static_cast<std::uint32_t>(shift * sub_buckets + (v >> shift));
}

std::int64_t latency_quantile::bucket_low(std::uint32_t index) noexcept {
  if (index < 2 * sub_buckets)
    return index;
  auto shift = index / sub_buckets - 1;
  auto mantissa = index - shift * sub_buckets;
  return static_cast<std::int64_t>(std::uint64_t{mantissa} << shift);
}

std::int64_t latency_quantile::bucket_width(std::uint32_t index) noexcept {
  if (index < 2 * sub_buckets)
    return 1;
  return std::int64_t{1} << (index / sub_buckets - 1);
}

// -- modifiers ----------------------------------------------------------------

void latency_quantile::histogram::clear(std::int64_t new_epoch) noexcept {
  counts.fill(0);
  groups.fill(0);
  total = 0;
  top_group = 0;
  epoch = new_epoch;
}

std::int64_t latency_quantile::epoch_of(time_point now) const noexcept {
  auto t = now.time_since_epoch().count();
  auto p = period_.count();
  // Floor division, so a time before the clock's epoch is not folded into
  // period 0.
  auto q = t / p;
  return (t % p != 0 && t < 0) ? q - 1 : q;
}

void latency_quantile::record(duration latency, time_point now) noexcept {
  // Most records fall into the latest period: skip the 64-bit division then.
  auto t = now.time_since_epoch().count();
  if (t < latest_start_ || t >= latest_end_) {
    auto epoch = std::max(epoch_of(now), latest_epoch_);
    latest_epoch_ = epoch;
    latest_start_ = epoch * period_.count();
    latest_end_ =
      latest_start_ > std::numeric_limits<std::int64_t>::max() - period_.count()
        ? std::numeric_limits<std::int64_t>::max()
        : latest_start_ + period_.count();
  }
  auto epoch = latest_epoch_;
  auto& h = hists_[static_cast<std::size_t>(epoch & 1)];
  if (h.epoch != epoch)
    h.clear(epoch);
  auto ns = std::clamp<std::int64_t>(latency.count(), 0, max_trackable_ns);
  auto index = bucket_of(ns);
  auto group = index / sub_buckets;
  ++h.counts[index];
  ++h.groups[group];
  ++h.total;
  h.top_group = std::max(h.top_group, group);
}

void latency_quantile::reset() noexcept {
  for (auto& h : hists_)
    h.clear(no_epoch);
  latest_epoch_ = no_epoch;
  latest_start_ = 0;
  latest_end_ = 0;
}

// -- observers ----------------------------------------------------------------

void latency_quantile::select(time_point now, const histogram*& current,
                              const histogram*& previous) const noexcept {
  auto epoch = epoch_of(now);
  auto& a = hists_[static_cast<std::size_t>(epoch & 1)];
  auto& b = hists_[static_cast<std::size_t>((epoch - 1) & 1)];
  // An empty histogram instead of null keeps the query loops branch-free.
  static const histogram empty{};
  current = a.epoch == epoch ? &a : &empty;
  previous = b.epoch == epoch - 1 ? &b : &empty;
}

std::uint64_t latency_quantile::samples(time_point now) const noexcept {
  const histogram* cur;
  const histogram* prev;
  select(now, cur, prev);
  return cur->total + prev->total;
}

duration latency_quantile::quantile(double q, time_point now) const noexcept {
  const histogram* cur;
  const histogram* prev;
  select(now, cur, prev);
  auto n = cur->total + prev->total;
  if (n == 0)
    return duration{0};
  if (!(q > 0.0)) // also catches NaN
    q = 0.0;
  q = std::min(q, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::uint64_t>(rank, 1, n);
  // The answer is the smallest bucket i with count(<= i) >= rank. Tail
  // quantiles are found faster from the top, where most groups are empty:
  // there the answer is the first bucket i (going down) whose count plus
  // the count above it exceeds n - rank.
  auto group_total = [&](std::uint32_t g) -> std::uint64_t {
    return std::uint64_t{cur->groups[g]} + prev->groups[g];
  };
  auto bucket_total = [&](std::uint32_t i) -> std::uint64_t {
    return std::uint64_t{cur->counts[i]} + prev->counts[i];
  };
  std::uint32_t index = 0;
  if (rank > n / 2) {
    auto limit = n - rank;
    std::uint64_t above = 0;
    // Groups above the highest one ever recorded are empty.
    auto g = std::max(cur->top_group, prev->top_group);
    for (; g > 0; --g) {
      auto c = group_total(g);
      if (above + c > limit)
        break;
      above += c;
    }
    index = g * sub_buckets + sub_buckets - 1;
    for (; index > g * sub_buckets; --index) {
      auto c = bucket_total(index);
      if (above + c > limit)
        break;
      above += c;
    }
  } else {
    std::uint64_t seen = 0;
    std::uint32_t g = 0;
    for (; g + 1 < group_count; ++g) {
      auto c = group_total(g);
      if (seen + c >= rank)
        break;
      seen += c;
    }
    index = g * sub_buckets;
    for (auto last = index + sub_buckets - 1; index < last; ++index) {
      seen += bucket_total(index);
      if (seen >= rank)
        break;
    }
  }
  return duration{bucket_low(index) + (bucket_width(index) - 1) / 2};
}

} // namespace bulwark
