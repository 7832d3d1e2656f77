#include "bulwark/runtime/admission/adaptive_limit_config.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(adaptive_limit_kind x) {
  switch (x) {
    case adaptive_limit_kind::gradient:
      return "gradient";
    case adaptive_limit_kind::aimd:
      return "aimd";
  }
  return "invalid";
}

namespace {

// Whole numbers as integers (`2`, not Boost.JSON's `2E0`).
boost::json::value json_number(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9.0e15)
    return static_cast<std::int64_t>(x);
  return x;
}

} // namespace

adaptive_limit_config parse_adaptive_limit_config(const boost::json::value& v,
                                                  const json_path& at,
                                                  error_list& errors) {
  adaptive_limit_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "kind", "initial_limit", "min_limit", "max_limit",
                   "window", "min_samples", "tolerance", "min_queueing",
                   "smoothing", "backoff_ratio", "healthy_latency_ratio",
                   "healthy_window", "probe_interval"}};
  if (!r.valid())
    return cfg;
  auto before = errors.size();
  r.read("enabled", cfg.enabled);
  r.read_enum("kind", cfg.kind,
              {adaptive_limit_kind::gradient, adaptive_limit_kind::aimd});
  r.read("initial_limit", cfg.initial_limit, 0, 100000);
  r.read("min_limit", cfg.min_limit, 1, 100000);
  r.read("max_limit", cfg.max_limit, 1, 100000);
  r.read("window", cfg.window, milliseconds(1), seconds(60));
  r.read("min_samples", cfg.min_samples, 1, 100000);
  r.read("tolerance", cfg.tolerance, 1.0, 10.0);
  r.read("min_queueing", cfg.min_queueing, duration{0}, seconds(10));
  r.read("smoothing", cfg.smoothing, 0.01, 1.0);
  r.read("backoff_ratio", cfg.backoff_ratio, 0.1, 0.95);
  r.read("healthy_latency_ratio", cfg.healthy_latency_ratio, 1.0, 100.0);
  r.read("healthy_window", cfg.healthy_window, seconds(1), hours(24));
  r.read("probe_interval", cfg.probe_interval, seconds(1), hours(1));
  if (errors.size() != before)
    return cfg;
  // Relations are judged only when every value was readable; the error
  // names the key whose value breaks the order.
  if (cfg.min_limit > cfg.max_limit) {
    errors.add(r.path("min_limit"),
               fmt::format("must not be greater than max_limit ({}) (got: {})",
                           cfg.max_limit, cfg.min_limit));
    cfg = adaptive_limit_config{};
    return cfg;
  }
  if (cfg.initial_limit != 0
      && (cfg.initial_limit < cfg.min_limit
          || cfg.initial_limit > cfg.max_limit)) {
    errors.add(r.path("initial_limit"),
               fmt::format("must be between min_limit ({}) and max_limit ({}) "
                           "(got: {})",
                           cfg.min_limit, cfg.max_limit, cfg.initial_limit));
    cfg = adaptive_limit_config{};
  }
  return cfg;
}

boost::json::object to_json(const adaptive_limit_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["kind"] = to_string(cfg.kind);
  obj["initial_limit"] = cfg.initial_limit;
  obj["min_limit"] = cfg.min_limit;
  obj["max_limit"] = cfg.max_limit;
  obj["window"] = format_duration(cfg.window);
  obj["min_samples"] = cfg.min_samples;
  obj["tolerance"] = json_number(cfg.tolerance);
  obj["min_queueing"] = format_duration(cfg.min_queueing);
  obj["smoothing"] = json_number(cfg.smoothing);
  obj["backoff_ratio"] = json_number(cfg.backoff_ratio);
  obj["healthy_latency_ratio"] = json_number(cfg.healthy_latency_ratio);
  obj["healthy_window"] = format_duration(cfg.healthy_window);
  obj["probe_interval"] = format_duration(cfg.probe_interval);
  return obj;
}

} // namespace bulwark
