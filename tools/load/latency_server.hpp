// A test HTTP/1.1 server whose answers take a known time: each request is
// answered after a latency drawn from a latency distribution
// (bulwark/runtime/chaos/fault_schedule.hpp's latency_config) with a seeded
// generator, and during an optional stall window every answer waits for the
// window's end, like a service stopped by a garbage collection pause. It
// keeps a precise histogram of the latencies it injected, so a load
// generator's measurement can be compared with the truth. One io thread,
// Boost.Asio; sizes bounded like any server here. For tests and benchmarks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/metrics/log_linear_histogram.hpp"

namespace bulwark {

struct latency_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// Latency of every answer (fixed 0 by default: answered at once).
  latency_config latency;
  std::uint64_t seed = 1;
  /// Requests arriving in [stall_start, stall_start + stall_length) after
  /// `start()` are answered no earlier than the stall's end.
  std::chrono::nanoseconds stall_start{0};
  std::chrono::nanoseconds stall_length{0};
  /// Response body.
  std::string body = "ok";
  std::size_t max_connections = 4096;
};

class latency_server {
 public:
  explicit latency_server(latency_server_options opts);
  ~latency_server();

  latency_server(const latency_server&) = delete;
  latency_server& operator=(const latency_server&) = delete;

  void start();
  void stop();

  std::uint16_t port() const noexcept;

  /// Requests answered so far.
  std::uint64_t answered() const noexcept;

  /// The latencies drawn so far (stalls not included).
  log_linear_histogram injected() const;

  /// Forgets the injected latencies (e.g. after a warm-up).
  void clear_injected();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

} // namespace bulwark
