// Order statistics the model's scenarios report (metastable, adaptive): a
// median and a nearest-rank quantile of a sample, 0 for an empty one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace bulwark::bench::model {

/// The middle value (the mean of the two middle ones for an even count).
inline double median_of(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// The smallest value with at least a share `q` of the sample at or below
/// it (nearest rank: p99 of 100 values is the 99th).
inline double nearest_rank(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank =
    static_cast<std::size_t>(std::ceil(q * static_cast<double>(xs.size())));
  return xs[std::min(xs.size(), std::max<std::size_t>(rank, 1)) - 1];
}

} // namespace bulwark::bench::model
