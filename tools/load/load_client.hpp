// The HTTP load generator behind `bulwark-bench load`: sends templated
// requests to one target, or to two alternating in ABBA slices (an A/B run),
// over a keep-alive connection pool, and measures each request's latency.
// Open loop (the default): requests are due at constant or Poisson intended
// times (bulwark/runtime/load/arrival_schedule.hpp) whatever the target does,
// and a latency runs from the intended time, so a stalled target shows in the
// percentiles (wrk2's rule); a request due while every connection is busy
// waits for one, and that wait counts. Closed loop: each connection sends its
// next request when the last answer arrived (saturation throughput; a stall
// then delays only the requests in flight, which is why it hides stalls).
// One io thread on Boost.Asio, no CAF; every response is bounded in size
// and time. Reads the real clock: it is a benchmark tool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/runtime/load/ab_slicer.hpp"
#include "bulwark/runtime/load/arrival_schedule.hpp"
#include "bulwark/runtime/load/load_stats.hpp"
#include "bulwark/runtime/load/rate_verdict.hpp"
#include "bulwark/runtime/load/request_template.hpp"

namespace bulwark {

/// Where requests go: `http://HOST:PORT/PATH`.
struct http_target {
  /// An IP address or "localhost".
  std::string host = "127.0.0.1";
  std::uint16_t port = 80;
  /// The request target (path and query) template.
  std::string path = "/";
  /// The URL as given (for reports).
  std::string url;
};

/// Parses `http://HOST[:PORT][/PATH]`; HOST must be an IPv4 address or
/// localhost (nothing is resolved through DNS). nullopt with `error` set
/// (naming what was wrong, never quoting more than 100 bytes of the URL).
std::optional<http_target> parse_target_url(std::string_view url,
                                            std::string& error);

struct load_options {
  /// One target, or two for an A/B run.
  std::vector<http_target> targets;
  bool closed_loop = false;
  arrival_kind arrival = arrival_kind::constant;
  /// Open loop: requests per second (over both sides in an A/B run, each
  /// side getting the whole rate during its slices).
  double rate_per_s = 100.0;
  /// Length of the schedule (open loop) or of the run (closed loop).
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  /// Stop issuing after this many requests (0: no limit); the run ends
  /// when they are answered, or at `duration`, whichever is first.
  std::uint64_t max_requests = 0;
  /// Connections per target: the pool's bound (open loop) or the number
  /// of requests kept in flight (closed loop).
  std::size_t connections = 64;
  /// Open loop: requests waiting for a connection at most, per target;
  /// more are dropped (counted, never sent).
  std::size_t max_waiting = 1'000'000;
  /// A response must arrive within this after its request was written.
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  /// After the schedule ends, the longest the run waits for answers;
  /// requests still out then count as `unfinished`.
  std::chrono::nanoseconds drain = std::chrono::seconds(10);
  /// A/B: slice length.
  std::chrono::nanoseconds slice = std::chrono::milliseconds(100);
  std::string method = "GET";
  /// Body template (empty: no body).
  request_template body;
  std::string content_type = "application/json";
  /// Extra headers, values as templates (e.g. Idempotency-Key: {uuid}).
  std::vector<std::pair<std::string, request_template>> headers;
  /// Seeds the Poisson schedule and {uuid}.
  std::uint64_t seed = 1;
  /// {run} in templates.
  std::string run_id = "run";
  /// Limits on a response.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  /// Called on the io thread every `interval` with the latest slice of
  /// the run (for JSON lines and charts); may be empty.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
};

/// One target's requests that finished within one interval.
struct interval_summary {
  std::uint64_t requests = 0;
  /// Requests that did not end `ok`.
  std::uint64_t errors = 0;
  double p50_ms = 0.0;
  double p99_ms = 0.0;
  double max_ms = 0.0;
};

/// One interval of the run, per target.
struct load_interval {
  /// Seconds from the start to the interval's end.
  double at_s = 0.0;
  std::vector<interval_summary> per_target;
};

struct load_result {
  /// Per target (A first).
  std::vector<load_stats> per_target;
  /// Per target, the time its requests were scheduled over (open loop:
  /// its share of the slices; closed loop: the run's length, or its
  /// slices in A/B), for rates.
  std::vector<std::chrono::nanoseconds> active;
  /// Open loop: requests written within the schedule's duration, and
  /// dropped because too many waited, per target.
  std::vector<std::uint64_t> sent_in_time;
  std::vector<std::uint64_t> dropped;
  /// Open loop: whether the rate was held (over all targets).
  rate_verdict verdict;
  /// From the first intended send to the last answer.
  std::chrono::nanoseconds elapsed{0};
  std::vector<load_interval> intervals;
  /// Why the run could not start (a target refused every connection),
  /// or empty.
  std::string error;
};

/// Runs the load described by `opts` to the end (blocking the caller), and
/// calls `on_interval` (if set) after each interval from the io thread.
load_result
run_load(const load_options& opts,
         const std::function<void(const load_interval&)>& on_interval = {});

} // namespace bulwark
