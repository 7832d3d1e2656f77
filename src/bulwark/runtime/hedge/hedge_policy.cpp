#include "bulwark/runtime/hedge/hedge_policy.hpp"

#include <algorithm>

namespace bulwark {

hedge_policy::hedge_policy(const hedge_config& cfg) noexcept
  : cfg_(cfg),
    latencies_(cfg.window) {
  // nop
}

void hedge_policy::reconfigure(const hedge_config& cfg) noexcept {
  if (cfg.window != cfg_.window)
    latencies_ = latency_quantile{cfg.window};
  cfg_ = cfg;
}

void hedge_policy::record_latency(duration latency, time_point now) noexcept {
  latencies_.record(latency, now);
}

bool hedge_policy::using_quantile(time_point now) const noexcept {
  return cfg_.delay_kind == hedge_delay_kind::quantile
         && latencies_.samples(now) >= cfg_.min_samples;
}

duration hedge_policy::base_delay(time_point now) const noexcept {
  if (!using_quantile(now))
    return cfg_.delay;
  return std::max(cfg_.min_delay, latencies_.quantile(cfg_.quantile, now));
}

duration hedge_policy::hedge_delay(std::uint32_t n,
                                   time_point now) const noexcept {
  if (n == 0)
    return duration{0};
  auto d = base_delay(now);
  if (d.count() > duration::max().count() / n)
    return duration::max();
  return d * n;
}

bool hedge_policy::should_hedge(std::uint32_t hedges_sent,
                                idempotency op) const noexcept {
  return cfg_.enabled && may_hedge(op) && hedges_sent < cfg_.max_hedges;
}

} // namespace bulwark
