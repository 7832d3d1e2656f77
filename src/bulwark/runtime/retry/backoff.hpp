// The delay before retry number n, computed exactly as the AWS Architecture
// Blog's "Exponential Backoff And Jitter" describes: an un-jittered delay that
// grows with n (constant, linear, exponential) and is capped, then jitter so
// that many clients failing together do not retry together. Pure and
// allocation-free: randomness comes from the caller's seeded `rng`, so a run
// can be replayed, and large retry numbers saturate at the cap instead of
// overflowing.
#pragma once

#include <cstdint>

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/backoff_config.hpp"

namespace bulwark {

/// The un-jittered delay before retry `retry_number` (1 = first retry; 0 is
/// treated as 1): constant: base; linear: base*n; exponential:
/// base*multiplier^(n-1); always min(cap, .). Saturates at `cap` for any n,
/// never overflows, never negative (a negative base or cap counts as 0).
duration base_delay(const backoff_config& cfg,
                    std::uint32_t retry_number) noexcept;

/// The jittered delay before retry `retry_number`, with d = base_delay(cfg, n):
///   none:         d
///   full:         uniform(0, d)                  -> in [0, d]
///   equal:        d/2 + uniform(0, d/2)          -> in [d/2, d]
///   decorrelated: min(cap, uniform(base, previous_delay*3)), where
///                 previous_delay is replaced by base on the first retry
///                 -> in [base, cap] (when base <= cap)
/// Draws are whole nanoseconds, both ends inclusive. `previous_delay` is the
/// delay this function returned for the previous retry; only `decorrelated`
/// reads it. Consumes exactly one draw from `gen` unless jitter is `none`.
duration next_backoff(const backoff_config& cfg, std::uint32_t retry_number,
                      duration previous_delay, rng& gen) noexcept;

} // namespace bulwark
