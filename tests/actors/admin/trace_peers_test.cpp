// purity: real time — fetch_peer_traces talks to real HTTP servers on
// 127.0.0.1 and its timeout is a real steady-clock bound; the test measures
// that the slow peer costs one timeout, not one per peer. Nothing sleeps:
// the stalled requests are answered after the fetch returns.
#include "bulwark/actors/admin/trace_peers.hpp"

#include "bulwark/actors/http/http_server.hpp"
#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace bulwark;

namespace {

trace_peer peer_at(std::uint16_t port) {
  return parse_trace_peers({"127.0.0.1:" + std::to_string(port)}).at(0);
}

} // namespace

TEST_CASE("trace peers parse from http://HOST:PORT and HOST:PORT only",
          "[actors][admin][trace]") {
  auto peers = parse_trace_peers(
    {"http://127.0.0.1:9101", "admin-b.internal:9102/", "10.0.0.7:080"});
  REQUIRE(peers.size() == 3);
  CHECK(peers[0].host == "127.0.0.1");
  CHECK(peers[0].port == "9101");
  CHECK(peers[1].label == "admin-b.internal:9102");
  CHECK(peers[2].label == "10.0.0.7:80");
  CHECK(parse_trace_peers({}).empty());
  for (std::string bad : {"https://127.0.0.1:1", "127.0.0.1:", ":80",
                          "127.0.0.1:65536", "-x:1", "h:1?x=1", "h\r\n:1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_trace_peers({bad}), std::invalid_argument);
  }
  // The message names the entry, printable and cut short.
  try {
    parse_trace_peers({"127.0.0.1:1", "bad\x1b" + std::string(200, 'x')});
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    CHECK(what.find("trace_peers[1]") != std::string::npos);
    CHECK(what.find('\x1b') == std::string::npos);
    CHECK(what.find(std::string(100, 'x')) == std::string::npos);
  }
  CHECK_THROWS_WITH(
    parse_trace_peers(std::vector<std::string>(17, "127.0.0.1:1")),
    Catch::Contains("at most 16"));
}

TEST_CASE("every peer is asked at once, each bounded in time and size, and "
          "one that fails does not hide the others",
          "[actors][admin][trace]") {
  std::mutex mtx;
  std::vector<http_responder> stalled;
  auto serve = [&](std::string body, http_status status) {
    return [body, status](http_request, http_responder r) {
      r.respond(json_response(status, body));
    };
  };
  http_server good{serve(R"({"spans": []})", http_status::ok)};
  http_server missing{serve(R"({"error": "no"})", http_status::not_found)};
  http_server huge{serve(std::string(4096, ' ') + "{}", http_status::ok)};
  http_server slow{[&](http_request, http_responder r) {
    std::lock_guard<std::mutex> guard{mtx};
    stalled.push_back(std::move(r)); // answered after the fetch
  }};
  for (auto* s : {&good, &missing, &huge, &slow})
    s->start();
  auto down = bulwark::testing::free_loopback_port();
  std::vector<trace_peer> peers{peer_at(good.port()), peer_at(missing.port()),
                                peer_at(huge.port()), peer_at(slow.port()),
                                peer_at(down)};
  const auto timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  auto answers = fetch_peer_traces(peers, "/traces/x", timeout, 1024);
  auto took = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& r : stalled)
      r.respond(json_response(http_status::ok, "{}"));
  }
  REQUIRE(answers.size() == 5);
  CHECK(answers[0].error.empty());
  CHECK(answers[0].body == R"({"spans": []})");
  CHECK(answers[1].error == "HTTP 404");
  CHECK(answers[1].body.empty());
  CHECK_FALSE(answers[2].error.empty()); // over 1024 bytes
  CHECK(answers[2].body.empty());
  CHECK(answers[3].error == "did not answer within 300ms");
  CHECK_FALSE(answers[4].error.empty()); // refused
  // One timeout in all (concurrent), not one per peer.
  CHECK(took < 4 * timeout);
  CHECK(fetch_peer_traces({}, "/traces/x", timeout, 1024).empty());
}
