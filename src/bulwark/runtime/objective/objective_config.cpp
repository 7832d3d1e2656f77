#include "bulwark/runtime/objective/objective_config.hpp"

#include <cmath>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

namespace {

// A percentage in [50, 99.999]: at 100 there is no budget to burn, and
// below 50 a burn rate of 14.4 cannot be told from total failure.
void read_target(object_reader& r, std::string_view key, double& out) {
  double pct = out * 100.0;
  auto before = r.errors().size();
  r.read(key, pct, 50.0, 99.999);
  // Rounded to the percentage's 7 digits, so 99.9 reads back as 0.999.
  if (r.errors().size() == before)
    out = std::round(pct * 1e7) / 1e9;
}

// Back to the percentage that was read: 0.999 * 100 is 99.89999... in
// binary, and a config read back must say 99.9.
double as_percent(double fraction) {
  return std::round(fraction * 1e7) / 1e5;
}

} // namespace

objective_config parse_objective_config(const boost::json::value& v,
                                        const json_path& at,
                                        error_list& errors) {
  objective_config cfg;
  object_reader r{
    v, at, errors, {"enabled", "availability", "latency_threshold", "latency"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  read_target(r, "availability", cfg.availability);
  r.read("latency_threshold", cfg.latency_threshold, duration{0}, hours(1));
  read_target(r, "latency", cfg.latency);
  return cfg;
}

boost::json::object to_json(const objective_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["availability"] = as_percent(cfg.availability);
  obj["latency_threshold"] = format_duration(cfg.latency_threshold);
  obj["latency"] = as_percent(cfg.latency);
  return obj;
}

} // namespace bulwark
