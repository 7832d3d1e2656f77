#include "bulwark/runtime/ledger/ledger_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

ledger_config parse_ledger_config(const boost::json::value& v,
                                  const json_path& at, error_list& errors) {
  ledger_config cfg;
  object_reader r{
    v,
    at,
    errors,
    {"max_entries", "retention", "in_progress_timeout", "max_waiters_per_key"}};
  if (!r.valid())
    return cfg;
  r.read("max_entries", cfg.max_entries, 1, ledger_max_entries_limit);
  auto before = errors.size();
  r.read("retention", cfg.retention, nanoseconds(1), ledger_max_duration);
  r.read("in_progress_timeout", cfg.in_progress_timeout, nanoseconds(1),
         ledger_max_duration);
  bool durations_readable = errors.size() == before;
  r.read("max_waiters_per_key", cfg.max_waiters_per_key, 0,
         ledger_max_waiters_limit);
  // Only judge the pair when both durations were readable (a bad one already
  // has its own error).
  if (durations_readable && cfg.in_progress_timeout > cfg.retention)
    errors.add(r.path("in_progress_timeout"),
               fmt::format("must not exceed retention ({}) (got: \"{}\")",
                           format_duration(cfg.retention),
                           format_duration(cfg.in_progress_timeout)));
  return cfg;
}

boost::json::object to_json(const ledger_config& cfg) {
  boost::json::object obj;
  obj["max_entries"] = cfg.max_entries;
  obj["retention"] = format_duration(cfg.retention);
  obj["in_progress_timeout"] = format_duration(cfg.in_progress_timeout);
  obj["max_waiters_per_key"] = cfg.max_waiters_per_key;
  return obj;
}

} // namespace bulwark
