// The configuration of a dependency's active health probe: what to send (a
// call operation through the dependency's own transport, which works for
// every transport, or, for HTTP transports, a GET of a path on the
// dependency's base URL), how often, how long to wait for it, and how many
// consecutive failed or good probes pause or resume the path. A paused path
// is the dependency's breaker forced open with reason `probe`
// (bulwark/runtime/probe/probe_core.hpp). Off by default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct probe_config {
  /// Longest accepted `http_path` (it goes into every probe's request line).
  static constexpr std::size_t max_http_path_length = 256;

  bool enabled = false;
  /// The call operation a probe sends through the transport (empty: none).
  std::string operation;
  /// For HTTP transports: the path a probe GETs on the base URL (empty:
  /// none). Exactly one of `operation` and `http_path` is set when enabled.
  std::string http_path;
  duration interval = seconds(10);
  /// A probe without a result after this long failed as `timeout`.
  duration timeout = seconds(1);
  /// Consecutive failed probes that pause the path.
  std::uint32_t unhealthy_threshold = 3;
  /// Consecutive good probes that resume a paused path.
  std::uint32_t healthy_threshold = 2;
  /// Failure classes that count as a failed probe; a probe failing with
  /// another class (e.g. `rejected_locally`: it never reached the
  /// downstream) counts neither way.
  failure_class_set failure_on{failure_class::transient, failure_class::timeout,
                               failure_class::overloaded,
                               failure_class::persistent};

  friend bool operator==(const probe_config& a, const probe_config& b) {
    return a.enabled == b.enabled && a.operation == b.operation
           && a.http_path == b.http_path && a.interval == b.interval
           && a.timeout == b.timeout
           && a.unhealthy_threshold == b.unhealthy_threshold
           && a.healthy_threshold == b.healthy_threshold
           && a.failure_on == b.failure_on;
  }
  friend bool operator!=(const probe_config& a, const probe_config& b) {
    return !(a == b);
  }
};

/// What is wrong with `path` as a probe's HTTP path, or "" when nothing:
/// it must be absolute ('/' first), at most `max_http_path_length` bytes of
/// visible ASCII (no CR, LF, space or control), name no host ("//" first),
/// and contain no ".." segment, no backslash, no '#' and no percent-encoded
/// dot (a ".." in disguise).
std::string http_path_problem(std::string_view path);

/// Reads a probe object (keys: enabled, operation, http_path, interval,
/// timeout, unhealthy_threshold, healthy_threshold, failure_on).
probe_config parse_probe_config(const boost::json::value& v,
                                const json_path& at, error_list& errors);

/// @relates probe_config
boost::json::object to_json(const probe_config& cfg);

} // namespace bulwark
