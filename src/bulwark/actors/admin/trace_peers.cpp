#include "bulwark/actors/admin/trace_peers.hpp"

#include "bulwark/actors/http/beast.hpp"

#include <memory>
#include <stdexcept>
#include <string_view>

namespace bulwark {

namespace {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// The entry, cut short and printable, for an error message.
std::string shown(std::string_view s) {
  std::string out{s.substr(0, 64)};
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e)
      c = '?';
  return s.size() > 64 ? out + "..." : out;
}

std::optional<trace_peer> parse_peer(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) == scheme)
    url.remove_prefix(scheme.size());
  if (!url.empty() && url.back() == '/')
    url.remove_suffix(1);
  auto colon = url.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto host = url.substr(0, colon);
  auto port = url.substr(colon + 1);
  if (host.empty() || host.size() > 253 || host.front() == '-'
      || host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
                                "RSTUVWXYZ0123456789.-")
           != std::string_view::npos)
    return std::nullopt;
  if (port.empty() || port.size() > 5
      || port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  auto number = std::stoul(std::string{port});
  if (number == 0 || number > 65535)
    return std::nullopt;
  trace_peer p;
  p.host = std::string{host};
  p.port = std::to_string(number);
  p.label = p.host + ":" + p.port;
  return p;
}

/// One fetch in flight.
struct peer_fetch {
  explicit peer_fetch(boost::asio::io_context& io) : resolver(io), stream(io) {}
  tcp::resolver resolver;
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response_parser<http::string_body> parser;
  bool done = false;
  peer_trace_answer answer;
  std::string too_slow;

  void fail(const std::string& why) {
    if (done)
      return;
    done = true;
    answer.error = why;
  }

  void fail(boost::beast::error_code ec) {
    fail(ec == boost::beast::error::timeout ? too_slow : ec.message());
  }
};

} // namespace

std::vector<trace_peer>
parse_trace_peers(const std::vector<std::string>& urls) {
  if (urls.size() > max_trace_peers)
    throw std::invalid_argument(
      "admin server: trace_peers lists " + std::to_string(urls.size())
      + " peers, at most " + std::to_string(max_trace_peers) + " are allowed");
  std::vector<trace_peer> out;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    auto p = parse_peer(urls[i]);
    if (!p)
      throw std::invalid_argument(
        "admin server: trace_peers[" + std::to_string(i) + "] (\""
        + shown(urls[i])
        + "\") is not http://HOST:PORT or HOST:PORT (HOST an address or DNS "
          "name, PORT 1-65535)");
    out.push_back(std::move(*p));
  }
  return out;
}

std::vector<peer_trace_answer>
fetch_peer_traces(const std::vector<trace_peer>& peers,
                  const std::string& target, std::chrono::milliseconds timeout,
                  std::size_t max_body) {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<peer_fetch>> fetches;
  auto too_slow =
    "did not answer within " + std::to_string(timeout.count()) + "ms";
  for (auto& peer : peers) {
    fetches.push_back(std::make_unique<peer_fetch>(io));
    auto* f = fetches.back().get();
    f->too_slow = too_slow;
    f->req = {http::verb::get, target, 11};
    f->req.set(http::field::host, peer.label);
    f->req.set(http::field::connection, "close");
    f->parser.body_limit(max_body);
    f->stream.expires_after(timeout);
    f->resolver.async_resolve(
      peer.host, peer.port,
      [f](boost::beast::error_code ec, tcp::resolver::results_type results) {
        if (ec)
          return f->fail(ec);
        f->stream.async_connect(results, [f](boost::beast::error_code ec,
                                             const tcp::endpoint&) {
          if (ec)
            return f->fail(ec);
          http::async_write(
            f->stream, f->req, [f](boost::beast::error_code ec, std::size_t) {
              if (ec)
                return f->fail(ec);
              http::async_read(
                f->stream, f->buffer, f->parser,
                [f](boost::beast::error_code ec, std::size_t) {
                  if (ec)
                    return f->fail(ec);
                  auto& res = f->parser.get();
                  if (res.result_int() != 200)
                    return f->fail("HTTP " + std::to_string(res.result_int()));
                  if (f->done) // the deadline came first
                    return;
                  f->done = true;
                  f->answer.body = std::move(res.body());
                });
            });
        });
      });
  }
  // The stream's expiry does not cover name resolution: one timer bounds
  // every fetch as a whole.
  boost::asio::steady_timer deadline{io, timeout};
  deadline.async_wait([&](boost::beast::error_code ec) {
    if (ec)
      return;
    for (auto& f : fetches) {
      if (f->done)
        continue;
      f->fail(too_slow);
      f->resolver.cancel();
      f->stream.cancel();
    }
  });
  std::size_t pending = fetches.size();
  while (pending > 0 && io.run_one() > 0) {
    pending = 0;
    for (auto& f : fetches)
      pending += f->done ? 0 : 1;
  }
  deadline.cancel();
  for (auto& f : fetches) {
    f->resolver.cancel();
    f->stream.close();
  }
  io.run(); // the cancelled handlers
  std::vector<peer_trace_answer> out;
  for (auto& f : fetches) {
    if (!f->done)
      f->fail(too_slow);
    out.push_back(std::move(f->answer));
  }
  return out;
}

} // namespace bulwark
