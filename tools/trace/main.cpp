// bulwark-trace TRACE_ID URL...: fetches GET /traces/<TRACE_ID> from the
// admin server at each URL (http://host:port) and prints the assembled tree
// (bulwark/runtime/journey/trace_tree.hpp): which hop retried, hedged or fell
// back, and what each attempt returned. Every fetch is bounded (5 s, 1 MiB); a
// server that does not answer is reported and the others are still shown.
#include "bulwark/runtime/journey/trace_tree.hpp"
#include "bulwark/runtime/core/trace_context.hpp"

#include "bulwark/actors/http/beast.hpp"
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

struct endpoint {
  std::string host;
  std::string port;
};

std::optional<endpoint> parse_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme)
    return std::nullopt;
  url.remove_prefix(scheme.size());
  if (!url.empty() && url.back() == '/')
    url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos)
    return std::nullopt;
  auto colon = url.rfind(':');
  endpoint ep;
  ep.host = std::string{url.substr(0, colon)};
  ep.port =
    colon == std::string_view::npos ? "80" : std::string{url.substr(colon + 1)};
  if (ep.host.empty() || ep.port.empty()
      || ep.port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return ep;
}

/// GET `target`: true with the body, or false with an error message in
/// `body`.
bool fetch(const endpoint& ep, const std::string& target, std::string& body) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream{io};
  stream.expires_after(std::chrono::seconds(5));
  tcp::resolver resolver{io};
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, ep.host + ":" + ep.port);
  req.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  boost::beast::error_code failure;
  resolver.async_resolve(
    ep.host, ep.port, [&](auto ec, tcp::resolver::results_type results) {
      if (ec)
        return void(failure = ec);
      stream.async_connect(results, [&](auto ec, auto) {
        if (ec)
          return void(failure = ec);
        http::async_write(stream, req, [&](auto ec, std::size_t) {
          if (ec)
            return void(failure = ec);
          http::async_read(stream, buffer, parser,
                           [&](auto ec, std::size_t) { failure = ec; });
        });
      });
    });
  io.run();
  if (failure) {
    body = failure.message();
    return false;
  }
  auto& res = parser.get();
  if (res.result_int() != 200) {
    body = "HTTP " + std::to_string(res.result_int()) + ": " + res.body();
    return false;
  }
  body = std::move(res.body());
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bulwark-trace TRACE_ID URL...\n"
                         "  fetches GET /traces/TRACE_ID from each admin "
                         "server (http://host:port) and prints the tree\n");
    return 2;
  }
  bulwark::trace_id id;
  if (auto problem = bulwark::parse_trace_id(argv[1], id)) {
    std::fprintf(stderr, "bulwark-trace: %s\n", problem->c_str());
    return 2;
  }
  std::vector<bulwark::trace_source> sources;
  int failures = 0;
  for (int i = 2; i < argc; ++i) {
    auto ep = parse_url(argv[i]);
    if (!ep) {
      std::fprintf(stderr,
                   "bulwark-trace: argument %d is not http://host:port\n", i);
      return 2;
    }
    std::string body;
    if (!fetch(*ep, "/traces/" + to_string(id), body)) {
      ++failures;
      std::fprintf(stderr, "bulwark-trace: %s: %s\n", argv[i], body.c_str());
      continue;
    }
    boost::json::error_code ec;
    auto doc = boost::json::parse(body, ec);
    if (ec) {
      ++failures;
      std::fprintf(stderr, "bulwark-trace: %s: answer is not JSON\n", argv[i]);
      continue;
    }
    sources.push_back({ep->host + ":" + ep->port, std::move(doc)});
  }
  std::fputs(bulwark::render_trace_tree(sources).c_str(), stdout);
  return failures == 0 ? 0 : 1;
}
