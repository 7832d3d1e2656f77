// One fault of the fault proxy (`bulwark-chaos`): which requests it applies
// to (a method and a path prefix) and what it does to them. It extends the
// fault schedule (bulwark/runtime/chaos/fault_schedule.hpp: error rates per
// failure class with Retry-After, latency distributions with slow tails,
// outage, brownout and slowdown windows, crash_at) with what only a proxy
// between two real services can do: reset the connection, swallow the request
// (a black hole), trickle the response body (slow bodies) and cap the response
// bandwidth. An injected failure class becomes an HTTP status (`statuses`).
// `decide_proxy` draws one request's fate from a seeded generator, so a run
// can be replayed; a fault's windows count from the moment it was added.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// What the proxy does with one request (HTTP) or connection (TCP).
enum class proxy_action : std::uint8_t {
  /// Pass it on to the upstream (after `latency`).
  forward,
  /// Answer it with an error status (after `latency`); never forwarded.
  error,
  /// Close the client's connection with a TCP reset (after `latency`).
  reset,
  /// Read and drop everything, answer nothing, until the client gives up.
  black_hole,
};

/// @relates proxy_action
std::string to_string(proxy_action x);

/// The faults the proxy counts, one counter each per route.
enum class injected_fault : std::uint8_t {
  transient,
  timeout,
  overloaded,
  persistent,
  reset,
  black_hole,
  /// A response body trickled at `slow_body.bytes_per_s`.
  slow_body,
  /// A request delayed by a non-zero drawn latency.
  latency,
};

/// @relates injected_fault
std::string to_string(injected_fault x);

inline constexpr std::size_t injected_fault_count = 8;

/// The HTTP status of each injected failure class, indexed by the position
/// of the class in chaos_failure_classes.
using status_table = std::array<int, 4>;

/// transient 502, timeout 504, overloaded 503 (with Retry-After),
/// persistent 400: what bulwark's default classifier reads back as the same
/// classes, except 504, which it counts as transient like most clients.
inline constexpr status_table default_fault_statuses{{502, 504, 503, 400}};

struct proxy_fault_config {
  /// Requests with this method only; empty = every method.
  std::string method;
  /// Requests whose path (without the query) starts with this.
  std::string path_prefix = "/";
  /// Error rates, Retry-After, latency, windows and crash_at.
  fault_schedule schedule;
  status_table statuses = default_fault_statuses;
  /// Fractions 0..1 of requests whose connection is reset / black-holed.
  /// They share one draw with the error rates: the shares add up (<= 1).
  double reset_rate = 0.0;
  double black_hole_rate = 0.0;
  /// Fraction of answered requests whose body is sent at
  /// `slow_body_bytes_per_s`.
  double slow_body_rate = 0.0;
  std::uint64_t slow_body_bytes_per_s = 1024;
  /// Every response body of the route at most this fast; 0 = unlimited.
  std::uint64_t bandwidth_bytes_per_s = 0;

  friend bool operator==(const proxy_fault_config& a,
                         const proxy_fault_config& b) {
    return a.method == b.method && a.path_prefix == b.path_prefix
           && a.schedule == b.schedule && a.statuses == b.statuses
           && a.reset_rate == b.reset_rate
           && a.black_hole_rate == b.black_hole_rate
           && a.slow_body_rate == b.slow_body_rate
           && a.slow_body_bytes_per_s == b.slow_body_bytes_per_s
           && a.bandwidth_bytes_per_s == b.bandwidth_bytes_per_s;
  }
};

/// One drawn fate.
struct proxy_decision {
  proxy_action action = proxy_action::forward;
  /// action == error: the injected class, its status and Retry-After.
  failure_class failure = failure_class::transient;
  int status = 0;
  duration retry_after = duration::zero();
  /// Wait before acting (forward, error, reset); scaled by slowdowns.
  duration latency = duration::zero();
  /// The response body at most this fast (bytes per second); 0 = unlimited.
  std::uint64_t body_bytes_per_s = 0;
  bool slow_body = false;
};

/// Draws the fate of a request arriving at `now` under a fault added at
/// `added`. One uniform draw picks the action: the first active outage
/// fails it with its class; otherwise reset, black hole and the error rates
/// (baseline plus active brownouts) are tried in that order, the shares
/// adding up (capped at 100%). After crash_at every request is reset. Then
/// the latency (times active slowdowns) and one draw for a slow body.
/// Deterministic for a seed.
proxy_decision decide_proxy(const proxy_fault_config& cfg, time_point added,
                            time_point now, rng& gen) noexcept;

/// Whether `cfg` applies to a request (method and path without query).
bool matches(const proxy_fault_config& cfg, std::string_view method,
             std::string_view path) noexcept;

/// Reads one fault: `method`, `path`, `statuses`, `reset`, `black_hole`,
/// `slow_body` {rate, bytes_per_s}, `bandwidth` {bytes_per_s}, plus the
/// fault schedule's keys (errors, retry_after, latency, windows, crash_at).
proxy_fault_config parse_proxy_fault(const boost::json::value& v,
                                     const json_path& at, error_list& errors);

/// @relates proxy_fault_config
boost::json::object to_json(const proxy_fault_config& cfg);

} // namespace bulwark
