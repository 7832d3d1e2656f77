#include "bulwark/runtime/metrics/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json/array.hpp>

namespace bulwark {

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_folds_ += other.sum_folds_;
  // Both parts are below fold_ns (1e18), so their sum fits in 64 bits and
  // folds at most once.
  add_sum(other.sum_ns_);
}

void latency_histogram::reset() noexcept {
  *this = latency_histogram{};
}

std::uint64_t latency_histogram::cumulative(std::size_t i) const noexcept {
  if (i >= bound_count)
    return count_;
  std::uint64_t total = 0;
  for (std::size_t j = 0; j <= i; ++j)
    total += counts_[j];
  return total;
}

duration latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0)
    return duration{0};
  if (!(q >= 0.0)) // also NaN
    q = 0.0;
  if (q > 1.0)
    q = 1.0;
  auto rank = q * static_cast<double>(count_);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < bound_count; ++i) {
    auto in_bucket = counts_[i];
    auto upto = below + in_bucket;
    // The first non-empty bucket whose cumulative count reaches the rank
    // (skipping empty buckets keeps q = 0 at the smallest observation's
    // bucket rather than at 0).
    if (in_bucket > 0 && static_cast<double>(upto) >= rank) {
      auto lower = i == 0 ? 0.0 : static_cast<double>(bounds_ns[i - 1]);
      auto upper = static_cast<double>(bounds_ns[i]);
      auto frac =
        (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
      frac = std::clamp(frac, 0.0, 1.0);
      return duration{static_cast<duration::rep>(
        std::llround(lower + (upper - lower) * frac))};
    }
    below = upto;
  }
  // Only the overflow bucket is left: Prometheus reports the highest bound.
  return duration{bounds_ns[bound_count - 1]};
}

boost::json::object to_json(const latency_histogram& x) {
  boost::json::array bounds;
  boost::json::array cumulative;
  bounds.reserve(latency_histogram::bound_count);
  cumulative.reserve(latency_histogram::bound_count);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < latency_histogram::bound_count; ++i) {
    total += x.bucket(i);
    bounds.emplace_back(latency_histogram::bound_seconds(i));
    cumulative.emplace_back(total);
  }
  boost::json::object quantiles;
  quantiles["0.5"] = to_seconds(x.quantile(0.5));
  quantiles["0.9"] = to_seconds(x.quantile(0.9));
  quantiles["0.99"] = to_seconds(x.quantile(0.99));
  quantiles["0.999"] = to_seconds(x.quantile(0.999));
  return boost::json::object{
    {"count", x.count()},
    {"sum", x.sum()},
    {"bounds", std::move(bounds)},
    {"cumulative", std::move(cumulative)},
    {"quantiles", std::move(quantiles)},
  };
}

namespace {

// A JSON number as a non-negative integer count (integral doubles too, as
// other JSON writers may produce them).
bool read_count(const boost::json::value& v, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.get_uint64();
    return true;
  }
  if (v.is_int64()) {
    if (v.get_int64() < 0)
      return false;
    out = static_cast<std::uint64_t>(v.get_int64());
    return true;
  }
  if (v.is_double()) {
    auto d = v.get_double();
    if (!(d >= 0.0) || d >= 18446744073709551616.0 || std::floor(d) != d)
      return false;
    out = static_cast<std::uint64_t>(d);
    return true;
  }
  return false;
}

bool read_number(const boost::json::value& v, double& out) {
  if (v.is_double())
    out = v.get_double();
  else if (v.is_int64())
    out = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    out = static_cast<double>(v.get_uint64());
  else
    return false;
  return std::isfinite(out);
}

} // namespace

bool from_json(const boost::json::value& v, latency_histogram& out) {
  using hist = latency_histogram;
  auto* obj = v.if_object();
  if (obj == nullptr)
    return false;
  auto* count_v = obj->if_contains("count");
  auto* sum_v = obj->if_contains("sum");
  auto* bounds_v = obj->if_contains("bounds");
  auto* cumulative_v = obj->if_contains("cumulative");
  if (!count_v || !sum_v || !bounds_v || !cumulative_v)
    return false;
  hist result;
  double sum = 0;
  if (!read_count(*count_v, result.count_) || !read_number(*sum_v, sum)
      || sum < 0)
    return false;
  auto* bounds = bounds_v->if_array();
  auto* cumulative = cumulative_v->if_array();
  if (!bounds || !cumulative || bounds->size() != hist::bound_count
      || cumulative->size() != hist::bound_count)
    return false;
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < hist::bound_count; ++i) {
    double bound = 0;
    if (!read_number((*bounds)[i], bound))
      return false;
    auto expected = hist::bound_seconds(i);
    if (std::fabs(bound - expected) > expected * 1e-9)
      return false;
    std::uint64_t cum = 0;
    if (!read_count((*cumulative)[i], cum) || cum < prev || cum > result.count_)
      return false;
    result.counts_[i] = cum - prev;
    prev = cum;
  }
  result.counts_[hist::bound_count] = result.count_ - prev;
  // Back to exact nanoseconds, split so that the integer part never overflows.
  auto folds = std::floor(sum / (static_cast<double>(hist::fold_ns) / 1e9));
  auto rest_ns = std::llround(
    (sum - folds * (static_cast<double>(hist::fold_ns) / 1e9)) * 1e9);
  result.sum_folds_ = static_cast<std::uint64_t>(folds);
  result.add_sum(static_cast<std::uint64_t>(std::max<long long>(0, rest_ns)));
  out = result;
  return true;
}

} // namespace bulwark
