#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::uint32_t bulkhead_config::reserved_slots() const noexcept {
  // The epsilon keeps products such as 100 * 0.29 (28.999...) from losing a
  // slot to binary rounding.
  auto x = std::floor(static_cast<double>(max_concurrent)
                        * std::clamp(critical_reserve, 0.0, 1.0)
                      + 1e-9);
  return std::min(max_concurrent, static_cast<std::uint32_t>(x));
}

bulkhead_config parse_bulkhead_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors) {
  bulkhead_config cfg;
  object_reader r{
    v,
    at,
    errors,
    {"max_concurrent", "max_queue", "max_queue_wait", "critical_reserve"}};
  if (!r.valid())
    return cfg;
  auto before = errors.size();
  r.read("max_concurrent", cfg.max_concurrent, 1, 100000);
  r.read("max_queue", cfg.max_queue, 0, 100000);
  r.read("max_queue_wait", cfg.max_queue_wait, duration{0}, seconds(60));
  r.read_percent("critical_reserve", cfg.critical_reserve);
  if (errors.size() != before)
    return cfg;
  // Judge relations only when every value was readable (a bad one already
  // has its error). Both rules can only be broken by the value named.
  if (cfg.max_queue > 0 && cfg.max_queue_wait <= duration{0}) {
    errors.add(r.path("max_queue_wait"),
               fmt::format("must be greater than 0s when max_queue is greater "
                           "than 0 (got: {})",
                           describe_json(*r.find("max_queue_wait"))));
    cfg.max_queue_wait = bulkhead_config{}.max_queue_wait;
  }
  if (cfg.reserved_slots() >= cfg.max_concurrent) {
    errors.add(r.path("critical_reserve"),
               fmt::format("must leave at least one of the {} slots to "
                           "standard and sheddable requests (got: {})",
                           cfg.max_concurrent,
                           describe_json(*r.find("critical_reserve"))));
    cfg.critical_reserve = bulkhead_config{}.critical_reserve;
  }
  return cfg;
}

boost::json::object to_json(const bulkhead_config& cfg) {
  boost::json::object obj;
  obj["max_concurrent"] = cfg.max_concurrent;
  obj["max_queue"] = cfg.max_queue;
  obj["max_queue_wait"] = format_duration(cfg.max_queue_wait);
  auto pct = cfg.critical_reserve * 100.0;
  // Whole percents as integers: `10`, not Boost.JSON's `1E1`.
  if (std::floor(pct) == pct)
    obj["critical_reserve"] = static_cast<std::int64_t>(pct);
  else
    obj["critical_reserve"] = pct;
  return obj;
}

} // namespace bulwark
