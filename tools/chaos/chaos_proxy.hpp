// The fault proxy behind `bulwark-chaos`: a reverse proxy in front of one
// HTTP/1.1 service (or, in TCP mode, any TCP service) that injects the faults
// of its live fault table (bulwark/runtime/chaos/proxy_fault_table.hpp) into
// the traffic that passes: error statuses with Retry-After, added latency with
// slow tails, outage and brownout windows, connection resets, black holes,
// slow bodies and bandwidth caps; and counts per route what it saw,
// duplicates of idempotency keys included
// (bulwark/runtime/chaos/proxy_stats.hpp). It runs on Boost.Asio with its own
// io threads (one io_context and one SO_REUSEPORT acceptor per thread, so a
// connection and its upstream pool live on one thread and need no locks);
// decisions and counters sit behind one mutex, drawn from one seeded generator,
// so a run with one client in order replays exactly. Everything a client sends
// is bounded: header and body sizes, the time to send a request, open
// connections, how long a black hole holds a connection. No CAF.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/chaos/proxy_stats.hpp"
#include "bulwark/runtime/config/config_error.hpp"

namespace bulwark {

enum class proxy_mode : std::uint8_t {
  /// HTTP/1.1 reverse proxy: faults per request and route.
  http,
  /// Plain TCP: faults per connection (the fault whose path is "/" and
  /// that names no method); an injected error status becomes a reset.
  tcp,
};

/// @relates proxy_mode
std::string to_string(proxy_mode x);

struct chaos_proxy_options {
  proxy_mode mode = proxy_mode::http;
  /// Where clients connect (an IP address or "localhost").
  std::string listen_host = "127.0.0.1";
  /// 0 picks a free port (see `chaos_proxy::port`).
  std::uint16_t listen_port = 0;
  /// The service behind the proxy (an IP address or "localhost").
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  /// io threads, each with its own acceptor and upstream pool.
  std::size_t threads = 1;
  /// Client connections open at once; more are closed at once (HTTP mode
  /// answers them 503 first).
  std::size_t max_connections = 1024;
  /// Request or response line plus header fields.
  std::size_t max_header_bytes = 16 * 1024;
  /// Request and response bodies (413 for a request, 502 for a response).
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  /// A whole request from a client must arrive within this (also the wait
  /// for the next request on a kept-alive connection).
  std::chrono::milliseconds read_timeout{30'000};
  /// Connecting to the upstream.
  std::chrono::milliseconds connect_timeout{5'000};
  /// The upstream's whole response (beyond it: 504 to the client).
  std::chrono::milliseconds upstream_timeout{60'000};
  /// The longest a black hole holds a connection.
  std::chrono::milliseconds black_hole_timeout{120'000};
  /// TCP mode: a connection with no bytes either way for this long closes.
  std::chrono::milliseconds tcp_idle_timeout{600'000};
  /// Idle kept-alive upstream connections per thread at most, and their age.
  std::size_t upstream_pool = 256;
  std::chrono::milliseconds upstream_idle{5'000};
  /// Seeds every fault decision.
  std::uint64_t seed = 1;
  /// Idempotency keys remembered for duplicate counting.
  std::size_t key_memory = 1'000'000;
};

class chaos_proxy {
 public:
  explicit chaos_proxy(chaos_proxy_options opts);

  /// Stops the proxy (see `stop`).
  ~chaos_proxy();

  chaos_proxy(const chaos_proxy&) = delete;
  chaos_proxy& operator=(const chaos_proxy&) = delete;

  /// Resolves the upstream, binds the listener and starts the io threads.
  /// Throws std::invalid_argument for a bad host, boost::system::system_error
  /// when binding fails, std::logic_error when called twice.
  void start();

  /// Stops accepting, closes every connection and joins the io threads.
  /// Idempotent.
  void stop();

  /// The bound port (0 before `start`).
  std::uint16_t port() const noexcept;

  const chaos_proxy_options& options() const noexcept;

  // -- the fault table and counters (thread-safe) -----------------------------

  /// Adds or replaces fault `name`; returns the errors (none: applied).
  error_list put_fault(std::string_view name, const boost::json::value& fault);

  /// Replaces every fault with `doc` = {"faults": {name: fault}}.
  error_list replace_faults(const boost::json::value& doc);

  /// Removes fault `name`; false when there is none.
  bool remove_fault(std::string_view name);

  /// {"faults": {...}}.
  boost::json::object faults_json() const;

  /// The counters (proxy_stats::to_json) plus "connections": open now.
  boost::json::object stats_json() const;

  /// One route's counters.
  route_stats route(std::string_view name) const;

  /// Forgets every counter and remembered key.
  void clear_stats();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

} // namespace bulwark
