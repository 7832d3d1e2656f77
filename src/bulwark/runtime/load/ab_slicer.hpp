// How an A/B load run shares time between two targets: the run is cut into
// slices of equal length, and each slice goes to one side in the order
// A B B A, A B B A, ... ("ABBA"), so both sides see the same parts of the run
// and a linear drift (a machine warming up, another program starting to
// compile) lands on both alike instead of on whichever side ran second.
// A request belongs to the side of the slice its intended send time falls
// in. Pure: a function of the offset.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class ab_side : std::uint8_t { a, b };

/// @relates ab_side
std::string to_string(ab_side x);

class ab_slicer {
 public:
  /// `slice` must be positive (a non-positive slice counts as 1 ms).
  explicit ab_slicer(duration slice) noexcept;

  /// The side whose slice contains `offset` (relative to the run's start).
  ab_side side_at(duration offset) const noexcept;

  /// Index of the slice containing `offset`.
  std::uint64_t slice_index(duration offset) const noexcept;

  duration slice() const noexcept {
    return slice_;
  }

 private:
  duration slice_;
};

} // namespace bulwark
