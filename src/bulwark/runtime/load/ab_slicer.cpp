#include "bulwark/runtime/load/ab_slicer.hpp"

namespace bulwark {

std::string to_string(ab_side x) {
  switch (x) {
    case ab_side::a:
      return "a";
    case ab_side::b:
      return "b";
  }
  return "invalid";
}

ab_slicer::ab_slicer(duration slice) noexcept
  : slice_(slice > duration::zero() ? slice : milliseconds(1)) {}

std::uint64_t ab_slicer::slice_index(duration offset) const noexcept {
  if (offset < duration::zero())
    return 0;
  return static_cast<std::uint64_t>(offset / slice_);
}

ab_side ab_slicer::side_at(duration offset) const noexcept {
  auto k = slice_index(offset);
  // ABBA: within each group of four the pattern is a, b, b, a.
  switch (k % 4) {
    case 0:
    case 3:
      return ab_side::a;
    default:
      return ab_side::b;
  }
}

} // namespace bulwark
