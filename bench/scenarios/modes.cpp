#include "bench/scenarios/modes.hpp"

#include <algorithm>
#include <stdexcept>

#include "bulwark/runtime/config/bulwark_config.hpp"

namespace bulwark::bench {

std::string to_string(bench_mode x) {
  switch (x) {
    case bench_mode::bulwark:
      return "bulwark";
    case bench_mode::naive:
      return "naive";
    case bench_mode::none:
      return "none";
  }
  return "?";
}

std::string mode_config_text(bench_mode m, const mode_settings& s,
                             const std::string& name) {
  auto q = [](const std::string& x) { return "\"" + x + "\""; };
  auto limit = std::min<std::uint32_t>(s.max_concurrent, 100000);
  std::string common = q("idempotency") + ": \"idempotent\", "
                       + q("default_timeout") + ": " + q(s.default_timeout)
                       + ", \"bulkhead\": {\"max_concurrent\": "
                       + std::to_string(limit) + ", \"max_queue\": 0}";
  std::string attempts = std::to_string(s.max_attempts);
  std::string per_attempt = q(s.per_attempt_timeout);
  std::string policies;
  switch (m) {
    case bench_mode::bulwark:
      // Full jitter keeps retries of many failing calls from arriving
      // together; the cap (100x the base) bounds the wait of a third
      // attempt. The budget allows `percent_can_retry` retries per 100
      // requests on top of a reserve of 10/s. The breaker opens at 50%
      // failures over the last 100 attempts (at least 20) and stays open
      // for a fixed `open_duration` (multiplier 1), then admits 5 probes.
      policies = "\"retry\": {\"max_attempts\": " + attempts
                 + ", \"per_attempt_timeout\": " + per_attempt
                 + ", \"backoff\": {\"kind\": \"exponential\", \"jitter\": "
                   "\"full\", \"base\": "
                 + q(s.backoff_base)
                 + ", \"multiplier\": 2, \"cap\": \"100ms\"}}, "
                   "\"budget\": {\"mode\": \"finagle\", \"finagle\": "
                   "{\"ttl\": \"10s\", \"min_retries_per_second\": 10, "
                   "\"percent_can_retry\": "
                 + std::to_string(s.percent_can_retry)
                 + "}}, \"breaker\": {\"mode\": \"automatic\", \"window\": "
                   "\"count_based\", \"window_size\": 100, "
                   "\"minimum_calls\": 20, \"failure_rate_threshold\": 50, "
                   "\"open_duration\": "
                 + q(s.open_duration)
                 + ", \"open_duration_multiplier\": 1, \"max_open_duration\": "
                 + q(s.open_duration) + ", \"half_open_probes\": 5}";
      break;
    case bench_mode::naive:
      policies = "\"retry\": {\"max_attempts\": " + attempts
                 + ", \"per_attempt_timeout\": " + per_attempt
                 + ", \"backoff\": {\"kind\": \"constant\", \"jitter\": "
                   "\"none\", \"base\": \"0s\", \"cap\": \"0s\"}}, "
                   "\"budget\": {\"mode\": \"unlimited\"}, "
                   "\"breaker\": {\"mode\": \"disabled\"}";
      break;
    case bench_mode::none:
      policies = "\"retry\": {\"enabled\": false, \"per_attempt_timeout\": "
                 + per_attempt
                 + "}, \"budget\": {\"mode\": \"unlimited\"}, "
                   "\"breaker\": {\"mode\": \"disabled\"}";
      break;
  }
  return "{\"dependencies\": {" + q(name) + ": {" + common + ", " + policies
         + "}}}";
}

dependency_config mode_config(bench_mode m, const mode_settings& s,
                              const std::string& name) {
  auto result = parse_bulwark_config(mode_config_text(m, s, name));
  if (!result.ok())
    throw std::runtime_error("config of mode " + to_string(m)
                             + " invalid: " + result.errors.to_string());
  return result.config->dependencies.at(0);
}

} // namespace bulwark::bench
