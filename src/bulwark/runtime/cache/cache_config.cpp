#include "bulwark/runtime/cache/cache_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

cache_config parse_cache_config(const boost::json::value& v,
                                const json_path& at, error_list& errors) {
  cache_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "max_entries", "ttl", "stale_while_revalidate",
                   "stale_if_error"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read("max_entries", cfg.max_entries, 1, cache_max_entries_limit);
  auto errors_before_ttl = errors.size();
  r.read("ttl", cfg.ttl, duration{0}, cache_max_duration);
  bool ttl_readable = errors.size() == errors_before_ttl;
  r.read("stale_while_revalidate", cfg.stale_while_revalidate, duration{0},
         cache_max_duration);
  r.read("stale_if_error", cfg.stale_if_error, duration{0}, cache_max_duration);
  // A zero ttl makes every entry stale at birth; only judge it when ttl itself
  // was readable (a bad ttl already has its own error).
  if (cfg.enabled && ttl_readable && cfg.ttl == duration{0}) {
    auto* given = r.find("ttl");
    errors.add(r.path("ttl"),
               fmt::format("must be greater than 0s when the cache is enabled "
                           "(got: {})",
                           given != nullptr
                             ? describe_json(*given)
                             : "\"" + format_duration(cfg.ttl) + "\""));
  }
  return cfg;
}

boost::json::object to_json(const cache_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["max_entries"] = cfg.max_entries;
  obj["ttl"] = format_duration(cfg.ttl);
  obj["stale_while_revalidate"] = format_duration(cfg.stale_while_revalidate);
  obj["stale_if_error"] = format_duration(cfg.stale_if_error);
  return obj;
}

} // namespace bulwark
