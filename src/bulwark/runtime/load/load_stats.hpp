// What a load generator saw, per target: how many requests it sent and how
// they ended (HTTP status class, transport error, or still unanswered when
// the run gave up on them), and the latency of each in a precise
// log-linear histogram. In an open loop a latency runs from the request's
// intended send time, in a closed loop from its actual send. `to_json` gives
// the summary a report prints (p50 to p99.99, max, mean, counts);
// `ab_ratios` compares two sides of an A/B run.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/metrics/log_linear_histogram.hpp"

namespace bulwark {

/// How one request ended.
enum class request_end : std::uint8_t {
  /// An HTTP response with status 100-399.
  ok,
  /// An HTTP response with status 400-499.
  client_error,
  /// An HTTP response with status 500-599 (or a status out of range).
  server_error,
  /// No response: connect failed, the connection reset or closed, a
  /// malformed or oversized response.
  transport_error,
  /// Still unanswered when the run's drain time ran out.
  unfinished,
};

/// @relates request_end
std::string to_string(request_end x);

inline constexpr std::size_t request_end_count = 5;

/// The class of an HTTP status.
request_end end_of_status(int status) noexcept;

struct load_stats {
  /// Latency of every finished request (and of unfinished ones up to the
  /// moment the run gave up: a lower bound), nanoseconds.
  log_linear_histogram latency;
  /// Requests written to a connection.
  std::uint64_t sent = 0;
  /// Requests per ending, indexed by request_end.
  std::array<std::uint64_t, request_end_count> ends{};

  /// Responses per HTTP status.
  std::map<int, std::uint64_t> statuses;

  void record(request_end end, duration latency_ns) noexcept {
    ++ends[static_cast<std::size_t>(end)];
    latency.record(latency_ns.count());
  }

  /// A response with `status`: its ending and its status count.
  void record_status(int status, duration latency_ns) {
    ++statuses[status];
    record(end_of_status(status), latency_ns);
  }

  std::uint64_t count(request_end end) const noexcept {
    return ends[static_cast<std::size_t>(end)];
  }

  /// Requests with an ending (every kind).
  std::uint64_t finished() const noexcept;

  /// Share of finished requests that did not end `ok` (0 when none).
  double error_ratio() const noexcept;

  void merge(const load_stats& other) noexcept;
};

/// The summary of `stats` over `elapsed`: requests, per-ending counts,
/// `statuses` ({"200": n, ...}),
/// `rate_per_s` (finished requests per second), `error_ratio`, and
/// latencies in milliseconds: `p50_ms`, `p75_ms`, `p90_ms`, `p99_ms`,
/// `p99_9_ms`, `p99_99_ms`, `max_ms`, `mean_ms`.
boost::json::object to_json(const load_stats& stats, duration elapsed);

/// Side B over side A for `p50`, `p99`, `p99_9`, `mean` latency, `rate` and
/// `error_ratio` (fields `<name>_ratio`; null where A's value is 0).
boost::json::object ab_ratios(const load_stats& a, duration a_elapsed,
                              const load_stats& b, duration b_elapsed);

} // namespace bulwark
