#include "bulwark/runtime/retry/backoff.hpp"

#include <algorithm>
#include <limits>

namespace bulwark {

namespace {

using rep = duration::rep;

constexpr rep rep_max = std::numeric_limits<rep>::max();

rep non_negative(duration d) noexcept {
  return d.count() < 0 ? 0 : d.count();
}

/// A uniform whole number in [lo, hi] (lo <= hi, both >= 0).
rep uniform_between(rng& gen, rep lo, rep hi) noexcept {
  auto span = static_cast<std::uint64_t>(hi - lo);
  // span + 1 cannot overflow: hi - lo <= rep_max < 2^64 - 1.
  return lo + static_cast<rep>(gen.below(span + 1));
}

} // namespace

duration base_delay(const backoff_config& cfg,
                    std::uint32_t retry_number) noexcept {
  const rep base = non_negative(cfg.base);
  const rep cap = non_negative(cfg.cap);
  const std::uint32_t n = retry_number == 0 ? 1 : retry_number;
  rep d = base;
  switch (cfg.kind) {
    case backoff_kind::constant:
      break;
    case backoff_kind::linear:
      // base * n, saturating: n > cap / base means the product exceeds cap.
      d = (base != 0 && static_cast<rep>(n) > cap / base) ? cap : base * n;
      break;
    case backoff_kind::exponential: {
      if (base == 0)
        break; // 0 * anything; avoids 0 * inf = NaN below
      // base * multiplier^(n-1) by squaring in double: O(log n), and a
      // product that overflows to infinity (or a NaN multiplier) compares
      // "not below cap" and saturates.
      double factor = 1.0;
      double b = cfg.multiplier;
      const double limit = static_cast<double>(cap);
      for (std::uint32_t e = n - 1; e != 0; e >>= 1) {
        if (e & 1u)
          factor *= b;
        b *= b;
        if (!(static_cast<double>(base) * factor < limit))
          break;
      }
      const double x = static_cast<double>(base) * factor;
      d = (x < limit) ? static_cast<rep>(x) : cap;
      break;
    }
  }
  return duration{std::min(d, cap)};
}

duration next_backoff(const backoff_config& cfg, std::uint32_t retry_number,
                      duration previous_delay, rng& gen) noexcept {
  switch (cfg.jitter) {
    case jitter_kind::none:
      return base_delay(cfg, retry_number);
    case jitter_kind::full: {
      const rep d = base_delay(cfg, retry_number).count();
      return duration{uniform_between(gen, 0, d)};
    }
    case jitter_kind::equal: {
      const rep d = base_delay(cfg, retry_number).count();
      const rep half = d / 2;
      // half + uniform(0, d - half): d - half covers odd nanoseconds too, so
      // the upper end is exactly d.
      return duration{half + uniform_between(gen, 0, d - half)};
    }
    case jitter_kind::decorrelated: {
      const rep base = non_negative(cfg.base);
      const rep cap = non_negative(cfg.cap);
      const rep prev = retry_number <= 1 ? base : non_negative(previous_delay);
      const rep tripled = prev > rep_max / 3 ? rep_max : prev * 3;
      const rep hi = std::max(base, tripled);
      return duration{std::min(cap, uniform_between(gen, base, hi))};
    }
  }
  return base_delay(cfg, retry_number);
}

} // namespace bulwark
