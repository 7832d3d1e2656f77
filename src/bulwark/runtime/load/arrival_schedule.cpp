#include "bulwark/runtime/load/arrival_schedule.hpp"

#include <cmath>

namespace bulwark {

std::string to_string(arrival_kind x) {
  switch (x) {
    case arrival_kind::constant:
      return "constant";
    case arrival_kind::poisson:
      return "poisson";
  }
  return "invalid";
}

bool from_string(const std::string& text, arrival_kind& x) {
  for (auto k : {arrival_kind::constant, arrival_kind::poisson})
    if (to_string(k) == text) {
      x = k;
      return true;
    }
  return false;
}

arrival_schedule::arrival_schedule(arrival_kind kind, double rate_per_s,
                                   std::uint64_t seed)
  : kind_(kind),
    rate_(rate_per_s > 0.0 && std::isfinite(rate_per_s) ? rate_per_s : 1.0),
    gen_(seed) {
  // The first request goes at offset 0 for both kinds, so a run starts at
  // once and its length is (n - 1) gaps.
  upcoming_ = duration{0};
}

duration arrival_schedule::draw_next() noexcept {
  auto i = issued_; // index of the request after the one just handed out
  if (kind_ == arrival_kind::constant)
    return duration{static_cast<duration::rep>(
      std::llround(static_cast<double>(i) * 1e9 / rate_))};
  auto u = 1.0 - gen_.uniform(); // (0, 1]: log stays finite
  poisson_ns_ += -std::log(u) * 1e9 / rate_;
  return duration{static_cast<duration::rep>(std::llround(poisson_ns_))};
}

duration arrival_schedule::next() noexcept {
  auto result = upcoming_;
  ++issued_;
  upcoming_ = draw_next();
  return result;
}

} // namespace bulwark
