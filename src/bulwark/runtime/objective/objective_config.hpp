// The service-level objectives of one dependency or one HTTP service: the
// share of calls that must be answered successfully (availability) and the
// share that must be answered within a latency threshold, over every call the
// component answers. From them come error-budget burn rates over the SRE
// workbook's windows (objective_tracker.hpp), exported as metrics and alerted
// on with multi-window, multi-burn-rate rules (docs/alerts). Off by default.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct objective_config {
  bool enabled = false;
  /// Share of calls answered successfully (a stale cache value or a
  /// fallback counts: the caller got an answer), as a fraction. Below 1: a
  /// target of 100% has no error budget to burn.
  double availability = 0.999;
  /// Calls answered after this count against the latency objective; 0: no
  /// latency objective.
  duration latency_threshold{0};
  /// Share of calls answered within `latency_threshold`, as a fraction.
  double latency = 0.99;

  bool has_latency() const noexcept {
    return latency_threshold > duration{0};
  }

  friend bool operator==(const objective_config& a, const objective_config& b) {
    return a.enabled == b.enabled && a.availability == b.availability
           && a.latency_threshold == b.latency_threshold
           && a.latency == b.latency;
  }
  friend bool operator!=(const objective_config& a, const objective_config& b) {
    return !(a == b);
  }
};

/// Reads an objective object (keys: enabled, availability and latency as
/// percentages in [50, 99.999], latency_threshold as a duration, "0s" for
/// none).
objective_config parse_objective_config(const boost::json::value& v,
                                        const json_path& at,
                                        error_list& errors);

/// @relates objective_config
boost::json::object to_json(const objective_config& cfg);

} // namespace bulwark
