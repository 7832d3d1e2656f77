// A small HTTP/1.1 server on Boost.Beast, for bulwark's admin endpoints and
// for services built on bulwark. It owns its io_context and the threads that
// run it, so embedding it never borrows anybody's scheduler; it knows nothing
// about CAF. A handler gets each request together with a responder it may
// call later, from any thread: handlers that ask actors or other services
// never block an io thread. Every request gets exactly one response (a
// responder dropped without being called answers 500). A response may also
// be streamed: a head first, then body pieces written as they come (chunked
// in HTTP/1.1, the body up to the close in HTTP/1.0), then the end; what a
// stream may hold for a client that does not read is bounded
// (`max_stream_pending_bytes`; over it the connection is closed).
//
// Everything that arrives is hostile, and every part of a request is bounded
// here, once (defaults in http_server_options): the head (request line,
// empty lines before it, every field line and the final CRLF, counted
// together: `max_header_bytes`, and `max_header_fields` lines; 431), each
// chunk-size line with its extensions (`max_chunk_line_bytes`; 400), the
// trailer section (the same two head limits; 431, "trailer ..."), the body
// (`max_body_bytes`; 413, before reading it when Content-Length says so),
// the time to receive a whole request (`read_timeout`; closed without an
// answer) and the open connections (`max_connections`; 503). The session
// drives Beast's parser itself and reads at most what the parser may still
// need (the head up to its limit + 1 byte, a body in pieces of at most 16
// KiB), so the memory a connection holds is bounded by these limits. The
// head is checked by http_head_scanner before Beast sees it (RFC 9112):
// bare CR/LF, obs-fold, whitespace before the first field, control
// characters in values, a bad request line or target, a missing, repeated
// or invalid Host in HTTP/1.1, repeated or invalid Content-Length, and a
// Transfer-Encoding that does not end in chunked, comes with Content-Length
// or in HTTP/1.0 are answered 400 (501 for codings other than chunked).
// Absolute-form targets (`http://host/p?q`) reach the handler as origin-form
// (`/p?q`) with Host set to their authority. Trailer fields are checked and
// dropped, never merged into the header the handler sees. Every such answer
// says what was wrong, and the connection is closed after it (lingering
// briefly so that the client reads the answer); it never stops the server.
#pragma once

// GCC 12 with -fsanitize=address reports a maybe-uninitialized
// boost::optional inside Beast's parser (a false positive in code inlined
// from Boost's headers); -Werror would fail the sanitizer build on it.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace bulwark {

using http_request =
  boost::beast::http::request<boost::beast::http::string_body>;
using http_response =
  boost::beast::http::response<boost::beast::http::string_body>;
using http_status = boost::beast::http::status;

namespace detail {
struct http_response_slot;
} // namespace detail

/// Answers one request. Copyable; any copy may be called, from any thread.
/// Only the first answer counts (later calls return false and do nothing);
/// a started stream is the answer. When the last copy is destroyed without
/// an answer, the client gets a 500; destroyed in the middle of a stream,
/// the pieces written so far are sent and the connection is closed without
/// the last chunk (the client sees a truncated response, never a second
/// one). After the server stopped, calls are accepted and dropped.
class http_responder {
 public:
  http_responder() = default; // answers nothing: for placeholders only

  explicit http_responder(std::shared_ptr<detail::http_response_slot> slot);

  /// Sends `res`. The server sets the version, `Connection`, `Server` and
  /// `Content-Length`. Returns false when an answer was already given.
  bool respond(http_response res) const;

  /// Sends `body` with `status` and `content_type`.
  bool respond(http_status status, std::string_view content_type,
               std::string body) const;

  bool operator()(http_response res) const {
    return respond(std::move(res));
  }

  /// True once any copy answered (a started stream counts).
  bool responded() const noexcept;

  /// Starts a streamed answer with the status and header fields of `head`
  /// (its body is ignored). The server sets the version, `Connection`,
  /// `Server` and `Transfer-Encoding: chunked` (HTTP/1.1; for HTTP/1.0 the
  /// body ends with the connection). Returns false when an answer was
  /// already given.
  bool start_stream(http_response head) const;

  /// Appends `piece` to the stream this responder started; pieces reach the
  /// client in the order of the calls (an empty piece sends nothing).
  /// Returns false when there is no open stream: not started, finished, or
  /// ended by the server (the client closed, a write timed out, or more
  /// than `max_stream_pending_bytes` waited for a client that does not
  /// read, which closes the connection; so a piece must be smaller than
  /// that cap).
  bool write(std::string piece) const;

  /// Ends the stream (the last chunk); the connection may serve the next
  /// request. Returns false when there is no open stream.
  bool finish() const;

 private:
  std::shared_ptr<detail::http_response_slot> slot_;
};

/// Called on an io thread for every complete, well-formed request. It must
/// not block: hand the work elsewhere and answer through the responder.
/// An exception escaping it answers 500.
using http_handler =
  std::function<void(http_request req, http_responder respond)>;

struct http_server_options {
  /// Threads running the server's io_context.
  std::size_t threads = 1;
  /// The request head in bytes: request line, header fields and the empty
  /// line ending them, all counted together (431). Also bounds a chunked
  /// body's trailer section.
  std::size_t max_header_bytes = 8 * 1024;
  /// Header field lines of a request, and trailer field lines (431).
  std::size_t max_header_fields = 100;
  /// A chunk-size line with its chunk extensions and CRLF (400).
  std::size_t max_chunk_line_bytes = 4 * 1024;
  /// Larger bodies are answered 413 (before they are read when the
  /// Content-Length says so).
  std::size_t max_body_bytes = 1 << 20;
  /// A whole request (or the wait for the next one on a kept-alive
  /// connection) must arrive within this; otherwise the connection is
  /// closed. Also bounds writing a response (each write of a stream) to a
  /// client that does not read.
  std::chrono::milliseconds read_timeout{10'000};
  /// Bytes of a streamed answer written by the handler but not yet taken
  /// by the client's socket; a stream over it is ended and its connection
  /// closed (a client that does not read cannot make the server grow).
  std::size_t max_stream_pending_bytes = 1 << 20;
  /// Open connections beyond this are answered 503 and closed at once.
  std::size_t max_connections = 256;
  /// How long `stop()` lets requests already handed to the handler finish.
  std::chrono::milliseconds shutdown_grace{2'000};
  /// Value of the `Server` header.
  std::string server_name = "bulwark";
};

/// The HTTP/1.1 server. Not copyable, not movable (io threads refer to it).
class http_server {
 public:
  explicit http_server(http_handler handler, http_server_options opts = {});

  /// Stops the server (see `stop`).
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds `host` (an IP address or "localhost") and `port` (0 picks a free
  /// one, see `port()`) and starts the io threads. Throws
  /// std::invalid_argument for a bad host, boost::system::system_error when
  /// binding fails, std::logic_error when called twice.
  void start(const std::string& host = "127.0.0.1", std::uint16_t port = 0);

  /// Stops accepting, closes idle connections, lets requests already handed
  /// to the handler answer (and open streams finish) for up to
  /// `shutdown_grace`, then closes every
  /// connection and joins the io threads. Idempotent. Must not be called
  /// from a handler (it joins the thread running it).
  void stop();

  /// The bound port (0 before `start`).
  std::uint16_t port() const noexcept;

  /// Connections currently open.
  std::size_t connections() const;

  /// Waits up to `bound` until at most `at_most` connections are open;
  /// whether that happened. A client's close reaches the server's io
  /// threads a moment later, so a drain is awaited, not sampled.
  bool await_connections(std::size_t at_most,
                         std::chrono::milliseconds bound) const;

  /// Requests handed to the handler whose response is not written yet.
  std::size_t in_flight() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// -- helpers for handlers -------------------------------------------------------

/// `{"error": message}` as JSON text.
std::string json_error_body(std::string_view message);

/// A response with a JSON body.
http_response json_response(http_status status, std::string body);

/// A response whose body is `{"error": message}`.
http_response json_error(http_status status, std::string_view message);

/// True for addresses a remote machine cannot reach: 127.0.0.0/8, ::1 and
/// "localhost". Anything that does not parse as an address is not loopback.
bool is_loopback_host(const std::string& host);

} // namespace bulwark
