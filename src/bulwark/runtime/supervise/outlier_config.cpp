#include "bulwark/runtime/supervise/outlier_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

outlier_config parse_outlier_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  outlier_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "consecutive_errors", "interval",
                   "base_ejection_time", "max_ejection_time",
                   "max_ejection_percent", "success_rate_minimum_hosts",
                   "success_rate_request_volume", "success_rate_stdev_factor",
                   "enforcing_consecutive_errors", "enforcing_success_rate"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read("consecutive_errors", cfg.consecutive_errors, 1, 10'000);
  // Envoy requires positive durations; the upper bounds only catch typos
  // ("10h" for "10s") that would silently switch detection off.
  r.read("interval", cfg.interval, milliseconds(1), hours(1));
  r.read("base_ejection_time", cfg.base_ejection_time, milliseconds(1),
         hours(1));
  bool explicit_max = r.find("max_ejection_time") != nullptr;
  auto before = errors.size();
  r.read("max_ejection_time", cfg.max_ejection_time, milliseconds(1),
         hours(24));
  if (!explicit_max) {
    // Envoy: "the default value (300s) or base_ejection_time, whatever is
    // larger", so raising only the base never makes the config invalid.
    cfg.max_ejection_time =
      std::max(cfg.max_ejection_time, cfg.base_ejection_time);
  } else if (errors.size() == before
             && cfg.max_ejection_time < cfg.base_ejection_time) {
    errors.add(r.path("max_ejection_time"),
               fmt::format("must not be less than base_ejection_time ({}) "
                           "(got: {})",
                           format_duration(cfg.base_ejection_time),
                           describe_json(*r.find("max_ejection_time"))));
    // Keep what an absent key would give, as for any bad value.
    cfg.max_ejection_time =
      std::max(outlier_config{}.max_ejection_time, cfg.base_ejection_time);
  }
  r.read("max_ejection_percent", cfg.max_ejection_percent, 0, 100);
  r.read("success_rate_minimum_hosts", cfg.success_rate_minimum_hosts, 1,
         100'000);
  r.read("success_rate_request_volume", cfg.success_rate_request_volume, 1,
         1'000'000'000);
  r.read("success_rate_stdev_factor", cfg.success_rate_stdev_factor, 0,
         100'000);
  r.read("enforcing_consecutive_errors", cfg.enforcing_consecutive_errors, 0,
         100);
  r.read("enforcing_success_rate", cfg.enforcing_success_rate, 0, 100);
  return cfg;
}

boost::json::object to_json(const outlier_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["consecutive_errors"] = cfg.consecutive_errors;
  obj["interval"] = format_duration(cfg.interval);
  obj["base_ejection_time"] = format_duration(cfg.base_ejection_time);
  obj["max_ejection_time"] = format_duration(cfg.max_ejection_time);
  obj["max_ejection_percent"] = cfg.max_ejection_percent;
  obj["success_rate_minimum_hosts"] = cfg.success_rate_minimum_hosts;
  obj["success_rate_request_volume"] = cfg.success_rate_request_volume;
  obj["success_rate_stdev_factor"] = cfg.success_rate_stdev_factor;
  obj["enforcing_consecutive_errors"] = cfg.enforcing_consecutive_errors;
  obj["enforcing_success_rate"] = cfg.enforcing_success_rate;
  return obj;
}

} // namespace bulwark
