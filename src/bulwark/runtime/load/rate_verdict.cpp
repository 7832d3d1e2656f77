#include "bulwark/runtime/load/rate_verdict.hpp"

#include <cmath>

#include <fmt/format.h>

namespace bulwark {

std::string format_thousands(double x) {
  if (!std::isfinite(x))
    return "0";
  auto n = static_cast<long long>(std::llround(x));
  bool negative = n < 0;
  auto digits = std::to_string(negative ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

rate_verdict judge_rate(double target_per_s, std::uint64_t sent_in_time,
                        duration scheduled, double tolerance) {
  rate_verdict v;
  v.target_per_s = target_per_s;
  auto secs = to_seconds(scheduled);
  v.achieved_per_s =
    secs > 0.0 ? static_cast<double>(sent_in_time) / secs : 0.0;
  v.rate_error = target_per_s > 0.0
                   ? std::fabs(v.achieved_per_s - target_per_s) / target_per_s
                   : 0.0;
  v.held = v.achieved_per_s >= (1.0 - tolerance) * target_per_s;
  if (v.held)
    v.message =
      fmt::format("held {} req/s (achieved {})", format_thousands(target_per_s),
                  format_thousands(v.achieved_per_s));
  else
    v.message = fmt::format("achieved {} req/s of {}: the generator or the "
                            "target is saturated",
                            format_thousands(v.achieved_per_s),
                            format_thousands(target_per_s));
  return v;
}

} // namespace bulwark
