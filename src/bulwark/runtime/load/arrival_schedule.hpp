// When an open-loop load generator means to send each request: at a
// constant rate (the i-th request at i / rate) or as a Poisson process
// (exponential gaps with mean 1 / rate, drawn from a seeded generator). Latency
// is measured from these intended times, not from when a request actually
// left (wrk2's rule): a generator that falls behind a stalled server would
// otherwise send fewer requests exactly while things are slow and hide the
// stall ("coordinated omission"). Offsets are relative to the start of the
// run; the schedule never reads a clock.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class arrival_kind : std::uint8_t {
  /// The i-th request at exactly i / rate.
  constant,
  /// Exponentially distributed gaps with mean 1 / rate.
  poisson,
};

/// @relates arrival_kind
std::string to_string(arrival_kind x);

/// @relates arrival_kind
bool from_string(const std::string& text, arrival_kind& x);

class arrival_schedule {
 public:
  /// `rate_per_s` must be > 0 (a non-positive rate is treated as 1/s).
  arrival_schedule(arrival_kind kind, double rate_per_s, std::uint64_t seed);

  /// The intended offset of the next request, then advances. Constant
  /// offsets are computed from the index (no accumulated rounding drift).
  duration next() noexcept;

  /// The offset `next()` will return, without advancing.
  duration peek() const noexcept {
    return upcoming_;
  }

  /// Requests handed out so far.
  std::uint64_t issued() const noexcept {
    return issued_;
  }

  arrival_kind kind() const noexcept {
    return kind_;
  }
  double rate_per_s() const noexcept {
    return rate_;
  }

 private:
  duration draw_next() noexcept;

  arrival_kind kind_;
  double rate_;
  rng gen_;
  std::uint64_t issued_ = 0;
  double poisson_ns_ = 0.0;
  duration upcoming_{0};
};

} // namespace bulwark
