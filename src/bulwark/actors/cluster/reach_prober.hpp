// A TCP reachability probe with a deadline, run before a connect is handed
// to CAF's middleman (issue 17). CAF 0.17.6 connects in one middleman actor
// with a blocking connect() and no timeout, so a single host that drops SYNs
// would delay every other connect of the process; a probe answers "can a TCP
// connection be opened within `deadline`" without blocking anybody. The
// prober owns one io_context and one thread (Boost.Asio, kept in the .cpp)
// and knows nothing about CAF. A probe opens a non-blocking connection and
// closes it as soon as it is established, without sending a byte. The host
// must be an IP literal (IPv4 dotted quad or IPv6) or "localhost"
// (127.0.0.1): there is no DNS lookup, because a slow or hostile resolver
// must not block the io thread; anything else is refused at once with an
// error that quotes the host escaped and cut. The number of probes in flight
// is bounded (`max_concurrent`); a probe over the bound is refused at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace bulwark {

/// What one probe found out.
struct probe_result {
  /// True when a TCP connection was established within the deadline.
  bool ok = false;
  /// Why not (empty when `ok`): refused input, a connect error, the deadline
  /// or "prober stopped".
  std::string error;
  /// From the call of `probe` to the result (steady clock).
  std::chrono::nanoseconds took{0};
};

/// Probes TCP reachability on its own io thread; see the file comment.
class reach_prober {
 public:
  /// Default bound on probes in flight.
  static constexpr std::size_t default_max_concurrent = 64;

  /// Longest host text accepted (an IPv6 literal with a zone id fits).
  static constexpr std::size_t max_host_bytes = 64;

  /// Starts the io thread. `max_concurrent` must be at least 1.
  explicit reach_prober(std::size_t max_concurrent = default_max_concurrent);

  /// Stops the io thread; every probe still in flight gets its `done` called
  /// once with ok=false and error "prober stopped" before this returns. Must
  /// not run concurrently with `probe` from another thread (a `done` may
  /// still call `probe`: it is refused with "prober stopped").
  ~reach_prober();

  reach_prober(const reach_prober&) = delete;
  reach_prober& operator=(const reach_prober&) = delete;

  /// Probes `host`:`port` within `deadline` (> 0). Thread-safe. `done` is
  /// called exactly once, always on the io thread and never inside this
  /// call, also for input refused at once (not an IP literal, port 0, a
  /// deadline <= 0, over the concurrency bound). It must be quick and
  /// thread-safe, e.g. an anon_send to an actor: it runs on the io thread
  /// that serves every other probe. It must not destroy the prober; an
  /// exception from it is dropped. An empty `done` throws
  /// std::invalid_argument.
  void probe(std::string host, std::uint16_t port,
             std::chrono::nanoseconds deadline,
             std::function<void(probe_result)> done);

  /// Probes in flight now (started and not yet answered).
  std::size_t in_flight() const noexcept;

  /// The bound given to the constructor.
  std::size_t max_concurrent() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bulwark
