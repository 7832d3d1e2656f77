#include "bulwark/runtime/admission/throttle_config.hpp"

#include <cmath>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

throttle_config parse_throttle_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors) {
  throttle_config cfg;
  object_reader r{v, at, errors, {"enabled", "k", "window"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  // K below 1 would reject calls the backend is accepting.
  r.read("k", cfg.k, 1.0, 100.0);
  r.read("window", cfg.window, seconds(1), hours(1));
  return cfg;
}

boost::json::object to_json(const throttle_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  if (std::floor(cfg.k) == cfg.k)
    obj["k"] = static_cast<std::int64_t>(cfg.k);
  else
    obj["k"] = cfg.k;
  obj["window"] = format_duration(cfg.window);
  return obj;
}

} // namespace bulwark
