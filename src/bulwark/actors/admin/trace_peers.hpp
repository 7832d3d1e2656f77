// The other admin servers an admin server asks when it assembles a trace
// (`GET /traces/<id>/tree`, docs/tracing.md): a fixed list validated at
// start, so a request can never make the server fetch an address it chose
// (no SSRF). `fetch_peer_traces` asks every peer at once for
// `/traces/<id>`, each fetch bounded in time and size; it blocks its caller,
// so the admin server runs it on a detached worker, never on an actor or io
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bulwark {

/// One peer admin server.
struct trace_peer {
  std::string host;
  std::string port;
  /// "host:port", how the assembled tree names the process.
  std::string label;
};

/// At most this many peers.
inline constexpr std::size_t max_trace_peers = 16;

/// Parses `http://HOST:PORT` or `HOST:PORT` (a trailing '/' allowed; HOST
/// an IPv4 address or a DNS name, PORT 1-65535). Throws
/// std::invalid_argument naming the entry (by position and, cut short, its
/// text) for anything else, or for more than `max_trace_peers` entries.
std::vector<trace_peer> parse_trace_peers(const std::vector<std::string>& urls);

/// What one peer answered.
struct peer_trace_answer {
  /// The body of a 200 answer; empty when `error` is set.
  std::string body;
  /// Why there is no body ("HTTP 404", "did not answer within 2000ms", a
  /// socket error); empty on success.
  std::string error;
};

/// GET `target` from every peer concurrently, each within `timeout` and
/// `max_body` bytes of body; answers in the order of `peers`. Blocks.
std::vector<peer_trace_answer>
fetch_peer_traces(const std::vector<trace_peer>& peers,
                  const std::string& target, std::chrono::milliseconds timeout,
                  std::size_t max_body);

} // namespace bulwark
