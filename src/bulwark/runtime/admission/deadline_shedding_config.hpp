// The configuration of deadline-aware shedding: no attempt of a call starts
// when the time left before the call's deadline is shorter than the
// dependency's observed latency at a quantile (it would most likely come back
// too late, having spent the dependency's capacity for nothing), and a call
// waiting in the concurrency limit's queue leaves it as soon as it can no
// longer finish in time, with its one reply. Off by default.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"

namespace bulwark {

struct deadline_shedding_config {
  bool enabled = false;
  /// The latency quantile an attempt is expected to take (0..1; a percent
  /// in JSON). The median sheds only calls that would fail more often than
  /// not; 90 sheds a call that would miss its deadline one time in ten.
  double quantile = 0.9;
  /// Fewer successful attempts than this in the latency window: nothing is
  /// shed (no estimate yet).
  std::uint32_t min_samples = 20;

  friend bool operator==(const deadline_shedding_config& a,
                         const deadline_shedding_config& b) {
    return a.enabled == b.enabled && a.quantile == b.quantile
           && a.min_samples == b.min_samples;
  }
  friend bool operator!=(const deadline_shedding_config& a,
                         const deadline_shedding_config& b) {
    return !(a == b);
  }
};

/// Reads a deadline_shedding object (keys: enabled, quantile, min_samples).
deadline_shedding_config
parse_deadline_shedding_config(const boost::json::value& v, const json_path& at,
                               error_list& errors);

/// @relates deadline_shedding_config
boost::json::object to_json(const deadline_shedding_config& cfg);

} // namespace bulwark
