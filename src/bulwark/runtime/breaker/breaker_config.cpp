#include "bulwark/runtime/breaker/breaker_config.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(breaker_mode x) {
  switch (x) {
    case breaker_mode::automatic:
      return "automatic";
    case breaker_mode::forced_open:
      return "forced_open";
    case breaker_mode::disabled:
      return "disabled";
  }
  return "invalid";
}

std::string to_string(window_kind x) {
  switch (x) {
    case window_kind::count_based:
      return "count_based";
    case window_kind::time_based:
      return "time_based";
  }
  return "invalid";
}

std::uint64_t breaker_threshold_units(double fraction) noexcept {
  if (!(fraction > 0.0))
    return 1; // a threshold of 0 would trip on nothing at all: the smallest
  if (fraction >= 1.0)
    return breaker_threshold_scale;
  return std::max<std::uint64_t>(
    1, static_cast<std::uint64_t>(std::llround(
         fraction * static_cast<double>(breaker_threshold_scale))));
}

bool operator==(const breaker_config& a, const breaker_config& b) {
  return a.mode == b.mode && a.window == b.window
         && a.window_size == b.window_size && a.minimum_calls == b.minimum_calls
         && a.failure_rate_threshold == b.failure_rate_threshold
         && a.slow_call_rate_threshold == b.slow_call_rate_threshold
         && a.slow_call_duration == b.slow_call_duration
         && a.open_duration == b.open_duration
         && a.open_duration_multiplier == b.open_duration_multiplier
         && a.max_open_duration == b.max_open_duration
         && a.half_open_probes == b.half_open_probes
         && a.half_open_max_in_flight == b.half_open_max_in_flight
         && a.max_half_open_duration == b.max_half_open_duration
         && a.record_failures_on == b.record_failures_on;
}

namespace {

// Reads a percentage that must be above 0 (a threshold of 0 % would open the
// breaker on the first call; Resilience4j rejects it as well) and have at
// most six decimals, so the breaker compares it exactly.
void read_threshold(object_reader& r, std::string_view key, double& out) {
  auto before = r.errors().size();
  auto fallback = out;
  r.read_percent(key, out);
  if (r.errors().size() != before || r.find(key) == nullptr)
    return;
  if (!(out > 0.0)) {
    r.errors().add(
      r.path(key),
      fmt::format("must be greater than 0 and at most 100 (got: {})",
                  describe_json(*r.find(key))));
    out = fallback;
    return;
  }
  // In millionths of a percent a value with six decimals is a whole number
  // (to within a double's error, far below 10^-6).
  auto millionths = r.find(key)->to_number<double>() * 1e6;
  if (std::fabs(millionths - std::round(millionths)) > 1e-6) {
    r.errors().add(r.path(key),
                   fmt::format("must have at most 6 decimal places, so that "
                               "it compares exactly (got: {})",
                               describe_json(*r.find(key))));
    out = fallback;
  }
}

// Whole numbers as integers, so to_json prints 50 rather than 5E1.
boost::json::value json_number(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9.0e15)
    return static_cast<std::int64_t>(x);
  return x;
}

} // namespace

breaker_config parse_breaker_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  const breaker_config defaults;
  breaker_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"mode", "window", "window_size", "minimum_calls",
                   "failure_rate_threshold", "slow_call_rate_threshold",
                   "slow_call_duration", "open_duration",
                   "open_duration_multiplier", "max_open_duration",
                   "half_open_probes", "half_open_max_in_flight",
                   "max_half_open_duration", "record_failures_on"}};
  if (!r.valid())
    return cfg;
  r.read_enum("mode", cfg.mode,
              {breaker_mode::automatic, breaker_mode::forced_open,
               breaker_mode::disabled});
  r.read_enum("window", cfg.window,
              {window_kind::count_based, window_kind::time_based});
  r.read("window_size", cfg.window_size, 1, breaker_config::max_count_window);
  r.read("minimum_calls", cfg.minimum_calls, 1,
         breaker_config::max_count_window);
  read_threshold(r, "failure_rate_threshold", cfg.failure_rate_threshold);
  read_threshold(r, "slow_call_rate_threshold", cfg.slow_call_rate_threshold);
  r.read("slow_call_duration", cfg.slow_call_duration, milliseconds(1),
         hours(1));
  r.read("open_duration", cfg.open_duration, milliseconds(1), hours(1));
  r.read("open_duration_multiplier", cfg.open_duration_multiplier, 1.0, 10.0);
  r.read("max_open_duration", cfg.max_open_duration, milliseconds(1),
         hours(24));
  r.read("half_open_probes", cfg.half_open_probes, 1, 1000);
  r.read("half_open_max_in_flight", cfg.half_open_max_in_flight, 0, 1000);
  r.read("max_half_open_duration", cfg.max_half_open_duration, duration{0},
         hours(1));
  r.read("record_failures_on", cfg.record_failures_on);

  // -- cross-field rules --------------------------------------------------------
  if (cfg.window == window_kind::time_based
      && cfg.window_size > breaker_config::max_time_window) {
    errors.add(r.path("window_size"),
               fmt::format("must be between 1 and {} seconds for a time_based "
                           "window (got: {})",
                           breaker_config::max_time_window,
                           describe_json(*r.find("window_size"))));
    cfg.window_size = defaults.window_size;
  }
  if (cfg.window == window_kind::count_based
      && cfg.minimum_calls > cfg.window_size) {
    if (r.find("minimum_calls") != nullptr) {
      errors.add(r.path("minimum_calls"),
                 fmt::format("must not exceed window_size ({}) for a "
                             "count_based window (got: {})",
                             cfg.window_size,
                             describe_json(*r.find("minimum_calls"))));
    }
    // The default, lowered to fit: a window of N calls never holds more than
    // N, so it is judged when full.
    cfg.minimum_calls = std::min(defaults.minimum_calls, cfg.window_size);
  }
  if (cfg.max_open_duration < cfg.open_duration) {
    if (r.find("max_open_duration") != nullptr) {
      errors.add(r.path("max_open_duration"),
                 fmt::format("must not be shorter than open_duration ({}) "
                             "(got: {})",
                             format_duration(cfg.open_duration),
                             describe_json(*r.find("max_open_duration"))));
    }
    // The default cap, raised to open_duration when that is longer: a lone
    // long open_duration then means "no backoff" rather than an error.
    cfg.max_open_duration =
      std::max(defaults.max_open_duration, cfg.open_duration);
  }
  if (cfg.record_failures_on.contains(failure_class::cancelled)
      || cfg.record_failures_on.contains(failure_class::rejected_locally)) {
    auto& arr = r.find("record_failures_on")->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      failure_class cls;
      auto* s = arr[i].if_string();
      if (s != nullptr
          && from_string(std::string_view{s->data(), s->size()}, cls)
          && (cls == failure_class::cancelled
              || cls == failure_class::rejected_locally))
        errors.add(r.path("record_failures_on") / i,
                   fmt::format("must not be \"{}\": such outcomes say nothing "
                               "about the downstream and are never recorded",
                               to_string(cls)));
    }
    cfg.record_failures_on = defaults.record_failures_on;
  }
  return cfg;
}

boost::json::object to_json(const breaker_config& cfg) {
  boost::json::array classes;
  for (auto cls : all_failure_classes)
    if (cfg.record_failures_on.contains(cls))
      classes.emplace_back(to_string(cls));
  boost::json::object result;
  result["mode"] = to_string(cfg.mode);
  result["window"] = to_string(cfg.window);
  result["window_size"] = cfg.window_size;
  result["minimum_calls"] = cfg.minimum_calls;
  result["failure_rate_threshold"] =
    json_number(cfg.failure_rate_threshold * 100.0);
  result["slow_call_rate_threshold"] =
    json_number(cfg.slow_call_rate_threshold * 100.0);
  result["slow_call_duration"] = format_duration(cfg.slow_call_duration);
  result["open_duration"] = format_duration(cfg.open_duration);
  result["open_duration_multiplier"] =
    json_number(cfg.open_duration_multiplier);
  result["max_open_duration"] = format_duration(cfg.max_open_duration);
  result["half_open_probes"] = cfg.half_open_probes;
  result["half_open_max_in_flight"] = cfg.half_open_max_in_flight;
  result["max_half_open_duration"] =
    format_duration(cfg.max_half_open_duration);
  result["record_failures_on"] = std::move(classes);
  return result;
}

} // namespace bulwark
