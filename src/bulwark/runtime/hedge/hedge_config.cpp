#include "bulwark/runtime/hedge/hedge_config.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(hedge_delay_kind x) {
  switch (x) {
    case hedge_delay_kind::fixed:
      return "fixed";
    case hedge_delay_kind::quantile:
      return "quantile";
  }
  return "invalid";
}

hedge_config parse_hedge_config(const boost::json::value& v,
                                const json_path& at, error_list& errors) {
  hedge_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "delay_kind", "delay", "quantile", "min_delay",
                   "max_hedges", "min_samples", "window"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read_enum("delay_kind", cfg.delay_kind,
              {hedge_delay_kind::fixed, hedge_delay_kind::quantile});
  r.read("delay", cfg.delay, duration{0}, hours(1));
  auto errors_before_quantile = errors.size();
  double quantile = cfg.quantile;
  r.read_percent("quantile", quantile);
  if (r.find("quantile") != nullptr
      && errors.size() == errors_before_quantile) {
    // The 0th percentile would hedge every request at once and the 100th
    // is the slowest outlier ever seen: neither is a tail estimate.
    if (quantile <= 0.0 || quantile >= 1.0)
      errors.add(r.path("quantile"),
                 fmt::format("must be greater than 0 and less than 100 "
                             "(got: {})",
                             describe_json(*r.find("quantile"))));
    else
      cfg.quantile = quantile;
  }
  r.read("min_delay", cfg.min_delay, duration{0}, hours(1));
  r.read("max_hedges", cfg.max_hedges, 1, hedge_max_hedges_limit);
  r.read("min_samples", cfg.min_samples, 1, hedge_min_samples_limit);
  r.read("window", cfg.window, seconds(1), hours(1));
  return cfg;
}

boost::json::object to_json(const hedge_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["delay_kind"] = to_string(cfg.delay_kind);
  obj["delay"] = format_duration(cfg.delay);
  // A whole percentage is written as an integer ("95", not Boost's "9.5E1").
  auto percent = cfg.quantile * 100.0;
  if (std::floor(percent) == percent)
    obj["quantile"] = static_cast<std::int64_t>(percent);
  else
    obj["quantile"] = percent;
  obj["min_delay"] = format_duration(cfg.min_delay);
  obj["max_hedges"] = cfg.max_hedges;
  obj["min_samples"] = cfg.min_samples;
  obj["window"] = format_duration(cfg.window);
  return obj;
}

} // namespace bulwark
