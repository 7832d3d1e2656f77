// An HTTP/1.1 client transport: serves the attempt protocol
// (bulwark/actors/protocol/protocol.hpp) by sending each attempt as one HTTP
// request to one endpoint with Boost.Beast over Asio. Until an attempt crosses
// a socket the runtime is a simulation; this is the transport that makes it
// real. CAF's actor threads never block on I/O: the transport owns an
// `io_context` run by its own thread, the actor only posts attempts and cancel
// hints into it, and completions go straight back to the requester with
// `anon_send`. It keeps a bounded keep-alive connection pool (attempts beyond
// it wait in a bounded queue, then are rejected locally), enforces each
// attempt's deadline by closing the socket (a connection is never reused after
// a timeout, a cancel or any error), propagates the idempotency key, the
// remaining deadline, the attempt number, the criticality and the W3C trace
// context (the attempt's own span as parent) in request headers, and reports
// what it saw (status, transport error, Retry-After, a do-not-retry marker)
// without classifying it: the dependency actor's classifier does that. See
// docs/http_transport.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// Where and how one HTTP transport sends its attempts. One transport talks
/// to one endpoint (one pool); spawn one per replica.
struct http_transport_options {
  /// Host name or address of the endpoint (resolved per new connection).
  std::string host = "127.0.0.1";
  std::uint16_t port = 80;
  /// Method of operations that `methods` does not name.
  std::string default_method = "POST";
  /// Method per operation name (e.g. {"get_stock", "GET"}).
  std::map<std::string, std::string> methods;
  /// Request target; every `{operation}` is replaced by the operation name,
  /// percent-encoded outside [A-Za-z0-9-._~].
  std::string path_template = "/op/{operation}";
  /// Content-Type of request bodies.
  std::string content_type = "application/octet-stream";
  /// Open (or opening) connections at most (0 counts as 1); each carries
  /// one request at a time (no pipelining).
  std::size_t max_connections = 16;
  /// Attempts waiting for a connection at most; one more is answered at once
  /// with `rejected_locally` (it never reached the downstream). 0 = never wait.
  std::size_t max_queued = 256;
  /// Time to establish a TCP connection (bounded by the attempt's deadline).
  duration connect_timeout = milliseconds(1000);
  /// An idle keep-alive connection older than this is closed instead of
  /// reused (servers drop idle connections; a stale one costs an attempt).
  duration idle_timeout = seconds(30);
  /// Limit on the status line plus headers of a response.
  std::uint32_t max_header_bytes = 16 * 1024;
  /// Limit on a response body.
  std::uint64_t max_body_bytes = 4 * 1024 * 1024;
  /// Response header that marks "do not retry" when its value is `1` or
  /// `true` (any case).
  std::string do_not_retry_header = "Bulwark-Do-Not-Retry";
};

/// Counters of one HTTP transport; shared with its owner, thread-safe.
struct http_transport_stats {
  /// Attempts received.
  std::atomic<std::uint64_t> attempts{0};
  /// Requests written to a socket (stale-connection resends count twice).
  std::atomic<std::uint64_t> requests_sent{0};
  /// TCP connections the transport started to open.
  std::atomic<std::uint64_t> connections_opened{0};
  /// Requests sent on a kept-alive connection.
  std::atomic<std::uint64_t> reused{0};
  /// Attempts that had to wait for a connection.
  std::atomic<std::uint64_t> queued{0};
  /// Attempts rejected because the pool and its queue were full.
  std::atomic<std::uint64_t> pool_rejections{0};
  /// Attempts whose deadline passed before a response.
  std::atomic<std::uint64_t> timeouts{0};
  /// Attempts ended by a cancel hint.
  std::atomic<std::uint64_t> cancels{0};
  /// Responses that could not be parsed or broke the limits.
  std::atomic<std::uint64_t> protocol_errors{0};
  /// Requests resent once because a reused connection was found closed.
  std::atomic<std::uint64_t> stale_resends{0};
  /// Attempts refused before any byte was written because a value that
  /// would become a header (the idempotency key) is not a valid key: a CR,
  /// LF or NUL there would inject a request of the sender's choosing.
  std::atomic<std::uint64_t> refused_headers{0};
  /// Results sent back to requesters.
  std::atomic<std::uint64_t> answered{0};
};

/// Header names the transport writes and reads.
inline constexpr std::string_view idempotency_key_header = "Idempotency-Key";
inline constexpr std::string_view deadline_ms_header = "Bulwark-Deadline-Ms";
inline constexpr std::string_view attempt_header = "Bulwark-Attempt";
/// The call's criticality: `critical`, `standard` or `sheddable`.
inline constexpr std::string_view criticality_header = "Bulwark-Criticality";
/// W3C Trace Context (bulwark/runtime/core/trace_context.hpp).
inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";

/// Behavior of the HTTP transport actor:
/// - `(attempt_atom, attempt_request)`: starts the request; the sender gets
///   `(result_atom, attempt_result)` once, from the I/O thread;
/// - `(probe_atom, attempt_request)`: a health probe, `GET` of the path in
///   `operation` (refused as `persistent` unless `http_path_problem` accepts
///   it), no body; answered like an attempt;
/// - `(cancel_atom, attempt_id)` from the same sender: closes the attempt's
///   connection (or drops it from the queue) and sends no result.
/// The I/O thread starts with the actor and is stopped and joined when the
/// actor terminates (in-flight attempts then get no result).
caf::behavior http_transport_actor(caf::event_based_actor* self,
                                   http_transport_options opts,
                                   std::shared_ptr<http_transport_stats> stats);

/// An HTTP transport actor together with its counters.
class http_transport {
 public:
  /// Throws std::invalid_argument when an option that is written into every
  /// request (host, method, path template, content type, header names)
  /// holds a character HTTP does not allow there, naming the option.
  static http_transport spawn(caf::actor_system& sys,
                              http_transport_options opts);

  const caf::actor& handle() const noexcept {
    return handle_;
  }

  const http_transport_stats& stats() const noexcept {
    return *stats_;
  }

 private:
  http_transport(caf::actor handle, std::shared_ptr<http_transport_stats> s)
    : handle_(std::move(handle)),
      stats_(std::move(s)) {
    // nop
  }

  caf::actor handle_;
  std::shared_ptr<http_transport_stats> stats_;
};

/// The value of a `Retry-After` header as a delay from `now`: delta-seconds
/// ("120") or an HTTP-date in any of the three formats of RFC 9110 (a date in
/// the past gives 0). nullopt when the value is neither.
std::optional<duration>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now);

/// `path_template` with every `{operation}` replaced by the percent-encoded
/// operation name.
std::string expand_path(std::string_view path_template,
                        std::string_view operation);

} // namespace bulwark
