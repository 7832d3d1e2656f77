#include "bulwark/runtime/supervise/restart_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

restart_config parse_restart_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  restart_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "max_restarts", "within", "min_backoff",
                   "max_backoff", "random_factor", "reset_after"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read("max_restarts", cfg.max_restarts, 0,
         restart_config::max_restarts_limit);
  auto within_ok = errors.size();
  r.read("within", cfg.within, duration{0}, hours(1));
  within_ok = within_ok == errors.size();
  auto backoff_ok = errors.size();
  r.read("min_backoff", cfg.min_backoff, duration{0}, hours(1));
  r.read("max_backoff", cfg.max_backoff, duration{0}, hours(1));
  backoff_ok = backoff_ok == errors.size();
  r.read("random_factor", cfg.random_factor, 0, 100);
  r.read("reset_after", cfg.reset_after, duration{0}, hours(24));
  // A window of 0 forgets each restart at once, so the limit would never
  // hold; it is a mistake, not a way to say "unlimited".
  if (within_ok && cfg.within <= duration{0}) {
    errors.add(r.path("within"),
               fmt::format("must be greater than 0s (got: {})",
                           describe_json(*r.find("within"))));
    cfg.within = restart_config{}.within;
  }
  // Judged only when both bounds were readable (a bad one has its error).
  // The error names min_backoff, the bound that starts the doubling, unless
  // only max_backoff was written: then that is the value to fix. Both fall
  // back to their defaults, which are consistent with each other.
  if (backoff_ok && cfg.min_backoff > cfg.max_backoff) {
    if (auto* min = r.find("min_backoff"))
      errors.add(r.path("min_backoff"),
                 fmt::format("must not be greater than max_backoff ({}) "
                             "(got: {})",
                             format_duration(cfg.max_backoff),
                             describe_json(*min)));
    else
      errors.add(r.path("max_backoff"),
                 fmt::format("must not be less than min_backoff ({}) "
                             "(got: {})",
                             format_duration(cfg.min_backoff),
                             describe_json(*r.find("max_backoff"))));
    cfg.min_backoff = restart_config{}.min_backoff;
    cfg.max_backoff = restart_config{}.max_backoff;
  }
  return cfg;
}

boost::json::object to_json(const restart_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["max_restarts"] = cfg.max_restarts;
  obj["within"] = format_duration(cfg.within);
  obj["min_backoff"] = format_duration(cfg.min_backoff);
  obj["max_backoff"] = format_duration(cfg.max_backoff);
  obj["random_factor"] = cfg.random_factor;
  obj["reset_after"] = format_duration(cfg.reset_after);
  return obj;
}

} // namespace bulwark
