// How a supervisor decides that one of its members (replicas of one service)
// is an outlier and takes it out of rotation for a while: Envoy's outlier
// detection (consecutive errors, and a success-rate comparison across members
// at every interval; ejection time growing with each ejection, capped; at most
// a percentage of members out at once). Keys, units and defaults are Envoy's
// `OutlierDetection` ones, in bulwark's JSON style (durations as strings), so
// an Envoy user can carry numbers over; docs/configuration/outlier_detection.md
// lists the correspondence and bulwark's two departures (probe readmission,
// worst-first success-rate ejection).
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct outlier_config {
  /// Off: nothing is counted and every ejected member is readmitted.
  bool enabled = true;
  /// Eject a member after this many failures in a row (Envoy
  /// `consecutive_5xx`).
  std::uint32_t consecutive_errors = 5;
  /// Length of one success-rate analysis period; also how often the ejection
  /// multiplier of a healthy member decays (Envoy `interval`).
  duration interval = seconds(10);
  /// Ejection time of the first ejection; the k-th lasts k times as long
  /// (Envoy `base_ejection_time`).
  duration base_ejection_time = seconds(30);
  /// Cap on the ejection time (Envoy `max_ejection_time`; when absent from a
  /// document, the larger of 300s and `base_ejection_time`, as in Envoy).
  duration max_ejection_time = seconds(300);
  /// At most this percentage of members may be out at once; one member may
  /// always be ejected whatever the percentage (Envoy
  /// `max_ejection_percent` with `always_eject_one_host`).
  std::uint32_t max_ejection_percent = 10;
  /// Success-rate analysis needs at least this many members with enough
  /// requests in the interval (Envoy `success_rate_minimum_hosts`).
  std::uint32_t success_rate_minimum_hosts = 5;
  /// A member takes part in the success-rate analysis with at least this
  /// many requests in the interval (Envoy `success_rate_request_volume`).
  std::uint32_t success_rate_request_volume = 100;
  /// Threshold = mean - (this / 1000) * stddev (Envoy
  /// `success_rate_stdev_factor`, in thousandths: 1900 is 1.9).
  std::uint32_t success_rate_stdev_factor = 1900;
  /// Percent chance that a consecutive-errors detection really ejects
  /// (Envoy `enforcing_consecutive_5xx`).
  std::uint32_t enforcing_consecutive_errors = 100;
  /// Percent chance that a success-rate detection really ejects (Envoy
  /// `enforcing_success_rate`).
  std::uint32_t enforcing_success_rate = 100;

  friend bool operator==(const outlier_config& a, const outlier_config& b) {
    return a.enabled == b.enabled
           && a.consecutive_errors == b.consecutive_errors
           && a.interval == b.interval
           && a.base_ejection_time == b.base_ejection_time
           && a.max_ejection_time == b.max_ejection_time
           && a.max_ejection_percent == b.max_ejection_percent
           && a.success_rate_minimum_hosts == b.success_rate_minimum_hosts
           && a.success_rate_request_volume == b.success_rate_request_volume
           && a.success_rate_stdev_factor == b.success_rate_stdev_factor
           && a.enforcing_consecutive_errors == b.enforcing_consecutive_errors
           && a.enforcing_success_rate == b.enforcing_success_rate;
  }
  friend bool operator!=(const outlier_config& a, const outlier_config& b) {
    return !(a == b);
  }
};

/// Reads an outlier-detection object (every key optional). Cross-field rule:
/// an explicit `max_ejection_time` below `base_ejection_time` is an error at
/// `max_ejection_time` (Envoy rejects it too).
outlier_config parse_outlier_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// @relates outlier_config
boost::json::object to_json(const outlier_config& cfg);

} // namespace bulwark
