// A blocking HTTP/1.1 test client over real loopback sockets, for the tests
// of the HTTP and admin servers. Every operation has a deadline (the stream's
// own timer, not a sleep): an operation that does not finish in time fails
// and reports `timed_out()`, so a hanging server fails a test instead of
// hanging it. Raw bytes can be sent to exercise malformed requests, and the
// sending side can be half-closed.
#pragma once

#include "bulwark/actors/http/http_server.hpp"

// GCC 12 with -fsanitize=address reports a maybe-uninitialized
// boost::optional inside Beast's parser (a false positive in code inlined
// from Boost's headers); -Werror would fail the sanitizer build on it.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::testing {

class http_test_client {
 public:
  explicit http_test_client(
    std::uint16_t port,
    std::chrono::milliseconds timeout = std::chrono::seconds(10))
    : port_(port),
      timeout_(timeout) {}

  /// Connects to 127.0.0.1:port.
  bool connect() {
    boost::asio::ip::tcp::endpoint ep{
      boost::asio::ip::make_address("127.0.0.1"), port_};
    stream_.expires_after(timeout_);
    bool ok = false;
    stream_.async_connect(ep, [&](boost::beast::error_code ec) {
      ok = !ec;
      last_ = ec;
    });
    run();
    return ok;
  }

  /// Writes `bytes` as they are.
  bool send_raw(std::string_view bytes) {
    stream_.expires_after(timeout_);
    bool ok = false;
    boost::asio::async_write(stream_,
                             boost::asio::buffer(bytes.data(), bytes.size()),
                             [&](boost::beast::error_code ec, std::size_t) {
                               ok = !ec;
                               last_ = ec;
                             });
    run();
    return ok;
  }

  bool send(http_request req) {
    req.prepare_payload();
    stream_.expires_after(timeout_);
    bool ok = false;
    boost::beast::http::async_write(
      stream_, req, [&](boost::beast::error_code ec, std::size_t) {
        ok = !ec;
        last_ = ec;
      });
    run();
    return ok;
  }

  /// Reads one response; nullopt on error, end of stream or timeout.
  std::optional<http_response> read_response() {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream_.expires_after(timeout_);
    bool ok = false;
    boost::beast::http::async_read(
      stream_, buffer_, parser, [&](boost::beast::error_code ec, std::size_t) {
        ok = !ec;
        last_ = ec;
      });
    run();
    if (!ok)
      return std::nullopt;
    return parser.release();
  }

  std::optional<http_response> roundtrip(http_request req) {
    if (!send(std::move(req)))
      return std::nullopt;
    return read_response();
  }

  /// Shrinks the socket's send buffer (call after connect), so that a
  /// server that stops reading stops a long send soon, instead of the
  /// kernel buffering megabytes for it.
  void limit_send_buffer(int bytes) {
    boost::beast::error_code ignored;
    stream_.socket().set_option(
      boost::asio::socket_base::send_buffer_size(bytes), ignored);
  }

  /// Half-closes: the server sees the end of the stream.
  void shutdown_send() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send,
                              ignored);
  }

  /// Closes with a reset (SO_LINGER 0): an abrupt client.
  void reset() {
    boost::beast::error_code ignored;
    stream_.socket().set_option(boost::asio::socket_base::linger(true, 0),
                                ignored);
    stream_.socket().close(ignored);
  }

  /// Reads until what arrived (and is not consumed yet) contains `needle`;
  /// false on error, end of stream or timeout. The bytes stay buffered for
  /// the next read.
  bool read_until(std::string_view needle) {
    stream_.expires_after(timeout_);
    for (;;) {
      std::string_view have{static_cast<const char*>(buffer_.data().data()),
                            buffer_.size()};
      if (have.find(needle) != std::string_view::npos)
        return true;
      bool ok = false;
      stream_.async_read_some(buffer_.prepare(8192),
                              [&](boost::beast::error_code ec, std::size_t n) {
                                buffer_.commit(n);
                                ok = !ec;
                                last_ = ec;
                              });
      run();
      if (!ok)
        return false;
    }
  }

  /// Reads until the server closes (or resets) the connection; what was
  /// buffered comes first. `timed_out()` tells whether the deadline passed.
  std::string read_all() {
    std::string out(static_cast<const char*>(buffer_.data().data()),
                    buffer_.size());
    buffer_.consume(buffer_.size());
    stream_.expires_after(timeout_);
    char chunk[8192];
    for (;;) {
      bool done = false;
      stream_.async_read_some(boost::asio::buffer(chunk),
                              [&](boost::beast::error_code ec, std::size_t n) {
                                out.append(chunk, n);
                                last_ = ec;
                                done = static_cast<bool>(ec);
                              });
      run();
      if (done)
        return out;
    }
  }

  bool timed_out() const {
    return last_ == boost::beast::error::timeout;
  }

  boost::beast::error_code last_error() const {
    return last_;
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_{ioc_};
  boost::beast::flat_buffer buffer_;
  boost::beast::error_code last_;
};

/// A request with the Host header set.
inline http_request make_request(boost::beast::http::verb method,
                                 std::string target, std::string body = {}) {
  http_request req{method, target, 11};
  req.set(boost::beast::http::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

/// One request on a fresh connection; nullopt when anything failed.
inline std::optional<http_response> http_call(std::uint16_t port,
                                              http_request req) {
  http_test_client client{port};
  if (!client.connect())
    return std::nullopt;
  return client.roundtrip(std::move(req));
}

inline std::optional<http_response> http_get(std::uint16_t port,
                                             std::string target) {
  return http_call(
    port, make_request(boost::beast::http::verb::get, std::move(target)));
}

} // namespace bulwark::testing
