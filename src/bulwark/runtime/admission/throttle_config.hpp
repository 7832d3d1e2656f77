// The configuration of a dependency's client-side adaptive throttling (Google
// SRE book, "Handling Overload"): the client rejects a share of new calls
// locally, before they reach the dependency, as soon as the dependency
// accepts fewer than 1/K of the requests sent to it over the last `window`.
// Off by default.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct throttle_config {
  bool enabled = false;
  /// K: P(reject) = max(0, (requests - K * accepts) / (requests + 1)). The
  /// SRE book's value 2 lets through up to twice what the backend accepts;
  /// lower rejects sooner and wastes less of the backend on rejections.
  double k = 2.0;
  /// The history both counts cover (the book: "two minutes").
  duration window = seconds(120);

  friend bool operator==(const throttle_config& a, const throttle_config& b) {
    return a.enabled == b.enabled && a.k == b.k && a.window == b.window;
  }
  friend bool operator!=(const throttle_config& a, const throttle_config& b) {
    return !(a == b);
  }
};

/// Reads a throttle object (keys: enabled, k, window).
throttle_config parse_throttle_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors);

/// @relates throttle_config
boost::json::object to_json(const throttle_config& cfg);

} // namespace bulwark
