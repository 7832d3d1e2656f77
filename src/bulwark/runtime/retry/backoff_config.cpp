#include "bulwark/runtime/retry/backoff_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(backoff_kind x) {
  switch (x) {
    case backoff_kind::constant:
      return "constant";
    case backoff_kind::linear:
      return "linear";
    case backoff_kind::exponential:
      return "exponential";
  }
  return "invalid";
}

std::string to_string(jitter_kind x) {
  switch (x) {
    case jitter_kind::none:
      return "none";
    case jitter_kind::full:
      return "full";
    case jitter_kind::equal:
      return "equal";
    case jitter_kind::decorrelated:
      return "decorrelated";
  }
  return "invalid";
}

backoff_config parse_backoff_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  backoff_config cfg;
  object_reader r{
    v, at, errors, {"kind", "jitter", "base", "multiplier", "cap"}};
  if (!r.valid())
    return cfg;
  r.read_enum(
    "kind", cfg.kind,
    {backoff_kind::constant, backoff_kind::linear, backoff_kind::exponential});
  r.read_enum("jitter", cfg.jitter,
              {jitter_kind::none, jitter_kind::full, jitter_kind::equal,
               jitter_kind::decorrelated});
  r.read("base", cfg.base, duration{0}, hours(1));
  r.read("multiplier", cfg.multiplier, 1.0, 10.0);
  auto errors_before = errors.size();
  r.read("cap", cfg.cap, duration{0}, hours(1));
  // Judge the relation only when both were readable (a bad value already has
  // its own error), and report it where the user wrote the offending value:
  // at `cap` when given, else at `base` (which then exceeds the default cap).
  if (errors.size() == errors_before && cfg.cap < cfg.base) {
    if (auto* given = r.find("cap"))
      errors.add(r.path("cap"),
                 fmt::format("must be at least base ({}) (got: {})",
                             format_duration(cfg.base), describe_json(*given)));
    else
      errors.add(r.path("base"),
                 fmt::format("must not exceed cap ({}) (got: {})",
                             format_duration(cfg.cap),
                             describe_json(*r.find("base"))));
    // Keep a consistent pair: the defaults.
    cfg.base = backoff_config{}.base;
    cfg.cap = backoff_config{}.cap;
  }
  return cfg;
}

boost::json::object to_json(const backoff_config& cfg) {
  boost::json::object obj;
  obj["kind"] = to_string(cfg.kind);
  obj["jitter"] = to_string(cfg.jitter);
  obj["base"] = format_duration(cfg.base);
  obj["multiplier"] = cfg.multiplier;
  obj["cap"] = format_duration(cfg.cap);
  return obj;
}

} // namespace bulwark
