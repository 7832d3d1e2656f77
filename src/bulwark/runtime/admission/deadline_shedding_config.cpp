#include "bulwark/runtime/admission/deadline_shedding_config.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

deadline_shedding_config
parse_deadline_shedding_config(const boost::json::value& v, const json_path& at,
                               error_list& errors) {
  deadline_shedding_config cfg;
  object_reader r{v, at, errors, {"enabled", "quantile", "min_samples"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  auto before = errors.size();
  double q = cfg.quantile;
  r.read_percent("quantile", q);
  if (errors.size() == before) {
    // A 0th percentile would shed on the fastest call ever seen.
    if (q <= 0.0)
      errors.add(r.path("quantile"),
                 fmt::format("must be greater than 0 (got: {})",
                             describe_json(*r.find("quantile"))));
    else
      cfg.quantile = q;
  }
  r.read("min_samples", cfg.min_samples, 1, 1000000);
  return cfg;
}

boost::json::object to_json(const deadline_shedding_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  auto pct = cfg.quantile * 100.0;
  if (std::floor(pct) == pct)
    obj["quantile"] = static_cast<std::int64_t>(pct);
  else
    obj["quantile"] = pct;
  obj["min_samples"] = cfg.min_samples;
  return obj;
}

} // namespace bulwark
