#include "actors/http/http_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "tests/actors/http/http_fuzz.hpp"
#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

// Generous: a future that is not ready by then is a failure, not a wait.
constexpr auto bound = std::chrono::seconds(10);

/// Answers "METHOD TARGET BODY".
void echo(http_request req, http_responder respond) {
  respond.respond(http_status::ok, "text/plain",
                  std::string{req.method_string()} + " "
                    + std::string{req.target()} + " " + req.body());
}

/// Hands every responder to the test instead of answering.
struct parked_requests {
  std::mutex mtx;
  std::vector<std::promise<http_responder>> waiting;
  std::vector<std::future<http_responder>> arrived;

  explicit parked_requests(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      waiting.emplace_back();
      arrived.push_back(waiting.back().get_future());
    }
  }

  http_handler handler() {
    return [this](http_request, http_responder r) {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& p : waiting) {
        try {
          p.set_value(r);
          return;
        } catch (const std::future_error&) {
          // already used: try the next one
        }
      }
    };
  }

  http_responder take(std::size_t i) {
    REQUIRE(arrived[i].wait_for(bound) == std::future_status::ready);
    return arrived[i].get();
  }
};

} // namespace

TEST_CASE("a handler's answer reaches the client and keep-alive serves the "
          "next request on the same connection",
          "[actors][http]") {
  http_server server{echo};
  server.start();
  REQUIRE(server.port() != 0);
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  auto first = client.roundtrip(make_request(http::verb::put, "/a", "x"));
  REQUIRE(first);
  CHECK(first->result() == http_status::ok);
  CHECK(first->body() == "PUT /a x");
  CHECK((*first)[http::field::server] == "bulwark");
  CHECK(first->keep_alive());
  auto second = client.roundtrip(make_request(http::verb::get, "/b"));
  REQUIRE(second);
  CHECK(second->body() == "GET /b ");
  CHECK(server.connections() == 1);
}

TEST_CASE("a HEAD answer has the length of the body but no body",
          "[actors][http]") {
  http_server server{echo};
  server.start();
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto out = client.read_all();
  CHECK_FALSE(client.timed_out());
  // "HEAD /h " is 8 bytes; the next answer follows the header directly.
  CHECK(out.find("Content-Length: 8\r\n\r\nHTTP/1.1 200 OK\r\n") != std::string::npos);
  CHECK(out.find("GET /g ") != std::string::npos);
  CHECK(out.find("HEAD /h ") == std::string::npos);
}

TEST_CASE("pipelined requests are answered in order", "[actors][http]") {
  http_server server{echo};
  server.start();
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  for (auto expected : {"GET /1 ", "GET /2 ", "GET /3 "}) {
    auto res = client.read_response();
    REQUIRE(res);
    CHECK(res->body() == expected);
  }
  CHECK(client.read_all().empty());
  CHECK_FALSE(client.timed_out());
}

TEST_CASE("an answer given later from another thread reaches the client",
          "[actors][http]") {
  parked_requests parked{1};
  http_server server{parked.handler()};
  server.start();
  auto reply = std::async(std::launch::async, [port = server.port()] {
    return http_get(port, "/later");
  });
  auto responder = parked.take(0);
  CHECK(server.in_flight() == 1);
  std::thread other{[responder] {
    responder.respond(http_status::accepted, "text/plain", "done");
  }};
  other.join();
  REQUIRE(reply.wait_for(bound) == std::future_status::ready);
  auto res = reply.get();
  REQUIRE(res);
  CHECK(res->result() == http_status::accepted);
  CHECK(res->body() == "done");
}

TEST_CASE("only the first answer counts", "[actors][http]") {
  http_server server{[](http_request, http_responder r) {
    auto copy = r;
    CHECK(r.respond(http_status::ok, "text/plain", "first"));
    CHECK(r.responded());
    CHECK_FALSE(copy.respond(http_status::not_found, "text/plain", "second"));
  }};
  server.start();
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  for (int i = 0; i < 2; ++i) {
    auto res = client.roundtrip(make_request(http::verb::get, "/"));
    REQUIRE(res);
    CHECK(res->result() == http_status::ok);
    CHECK(res->body() == "first");
  }
}

TEST_CASE("a responder dropped without an answer answers 500", "[actors][http]") {
  http_server server{[](http_request, http_responder) {}};
  server.start();
  auto res = http_get(server.port(), "/");
  REQUIRE(res);
  CHECK(res->result() == http_status::internal_server_error);
  CHECK(res->body().find("dropped the request") != std::string::npos);
  CHECK((*res)[http::field::content_type] == "application/json");
}

TEST_CASE("a handler that throws answers 500 and the server goes on",
          "[actors][http]") {
  http_server server{[](http_request req, http_responder r) {
    if (req.target() == "/boom")
      throw std::runtime_error("kaboom");
    r.respond(http_status::ok, "text/plain", "fine");
  }};
  server.start();
  auto res = http_get(server.port(), "/boom");
  REQUIRE(res);
  CHECK(res->result() == http_status::internal_server_error);
  CHECK(res->body() == R"({"error":"handler failed: kaboom"})");
  auto ok = http_get(server.port(), "/");
  REQUIRE(ok);
  CHECK(ok->body() == "fine");
}

TEST_CASE("a body over the limit is answered 413, announced or chunked",
          "[actors][http]") {
  http_server_options opts;
  opts.max_body_bytes = 1000;
  http_server server{echo, opts};
  server.start();
  SECTION("Content-Length over the limit is refused before the body") {
    http_test_client client{server.port()};
    REQUIRE(client.connect());
    REQUIRE(client.send_raw("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"));
    auto res = client.read_response();
    REQUIRE(res);
    CHECK(res->result() == http_status::payload_too_large);
    CHECK(res->body() == R"({"error":"request body larger than 1000 bytes"})");
    CHECK_FALSE(res->keep_alive());
  }
  SECTION("a chunked body that grows over the limit") {
    http_test_client client{server.port()};
    REQUIRE(client.connect());
    std::string chunk(600, 'a');
    REQUIRE(client.send_raw("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
    auto res = client.read_response();
    REQUIRE(res);
    CHECK(res->result() == http_status::payload_too_large);
  }
  SECTION("a body at the limit is fine") {
    auto res = http_call(server.port(),
                         make_request(http::verb::put, "/x", std::string(1000, 'b')));
    REQUIRE(res);
    CHECK(res->result() == http_status::ok);
    CHECK(res->body().size() == std::string("PUT /x ").size() + 1000);
  }
}

TEST_CASE("Expect: 100-continue gets an interim answer before the body",
          "[actors][http]") {
  http_server server{echo};
  server.start();
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw("PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                          "Expect: 100-continue\r\n\r\n"));
  auto interim = client.read_response();
  REQUIRE(interim);
  CHECK(interim->result() == http_status::continue_);
  REQUIRE(client.send_raw("body"));
  auto res = client.read_response();
  REQUIRE(res);
  CHECK(res->body() == "PUT /c body");
}

TEST_CASE("a header over the limit is answered 431", "[actors][http]") {
  http_server server{echo};
  server.start();
  http_test_client client{server.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
                          + std::string(9000, 'h') + "\r\n\r\n"));
  auto res = client.read_response();
  REQUIRE(res);
  CHECK(res->result() == http_status::request_header_fields_too_large);
  CHECK(res->body() == R"({"error":"request header larger than 8192 bytes"})");
}

TEST_CASE("malformed requests are answered 400 and closed, and the server goes on",
          "[actors][http]") {
  http_server server{echo};
  server.start();
  for (std::string bad : {"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET / HTTP/9.9\r\n\r\n",
                          "PUT / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                          "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"}) {
    CAPTURE(bad);
    http_test_client client{server.port()};
    REQUIRE(client.connect());
    REQUIRE(client.send_raw(bad));
    auto out = client.read_all();
    CHECK_FALSE(client.timed_out());
    CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(out.find("Connection: close") != std::string::npos);
    CHECK(out.find(R"({"error":"malformed HTTP request: )") != std::string::npos);
  }
  SECTION("a request cut short by a half-close") {
    http_test_client client{server.port()};
    REQUIRE(client.connect());
    REQUIRE(client.send_raw("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    client.shutdown_send();
    auto out = client.read_all();
    CHECK_FALSE(client.timed_out());
    CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(out.find("truncated request") != std::string::npos);
  }
  auto res = http_get(server.port(), "/still");
  REQUIRE(res);
  CHECK(res->body() == "GET /still ");
}

TEST_CASE("a slowloris client is disconnected by the read timeout",
          "[actors][http]") {
  http_server_options opts;
  opts.read_timeout = std::chrono::milliseconds(200);
  http_server server{echo, opts};
  server.start();
  // The client waits at most 5 s; the default server timeout (10 s) would
  // make this fail, so the configured 200 ms is what closes it.
  http_test_client client{server.port(), std::chrono::seconds(5)};
  REQUIRE(client.connect());
  SECTION("a header that never ends") {
    REQUIRE(client.send_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
  }
  SECTION("a body that never ends") {
    REQUIRE(client.send_raw("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"));
  }
  SECTION("an idle kept-alive connection") {
    auto res = client.roundtrip(make_request(http::verb::get, "/"));
    REQUIRE(res);
    CHECK(res->keep_alive());
  }
  auto out = client.read_all();
  CHECK_FALSE(client.timed_out());
  CHECK(out.empty());
  auto res = http_get(server.port(), "/after");
  REQUIRE(res);
  CHECK(res->body() == "GET /after ");
}

TEST_CASE("connections over the cap are answered 503", "[actors][http]") {
  http_server_options opts;
  opts.max_connections = 2;
  http_server server{echo, opts};
  server.start();
  std::vector<std::unique_ptr<http_test_client>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<http_test_client>(server.port()));
    REQUIRE(held.back()->connect());
    // A full round trip proves the server registered the connection.
    REQUIRE(held.back()->roundtrip(make_request(http::verb::get, "/")));
  }
  CHECK(server.connections() == 2);
  http_test_client extra{server.port()};
  REQUIRE(extra.connect());
  auto out = extra.read_all();
  CHECK_FALSE(extra.timed_out());
  CHECK(out.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(out.find("too many connections (limit 2)") != std::string::npos);
  // The held connections still work.
  auto res = held[0]->roundtrip(make_request(http::verb::get, "/held"));
  REQUIRE(res);
  CHECK(res->body() == "GET /held ");
}

TEST_CASE("stop lets a request in flight answer within the grace period",
          "[actors][http]") {
  parked_requests parked{1};
  http_server server{parked.handler()};
  server.start();
  auto port = server.port();
  auto reply = std::async(std::launch::async, [port] {
    return http_get(port, "/slow");
  });
  auto responder = parked.take(0);
  auto stopped = std::async(std::launch::async, [&server] { server.stop(); });
  // stop() waits for the answer (the grace period is 2 s).
  CHECK(stopped.wait_for(std::chrono::milliseconds(0))
        == std::future_status::timeout);
  responder.respond(http_status::ok, "text/plain", "made it");
  REQUIRE(reply.wait_for(bound) == std::future_status::ready);
  auto res = reply.get();
  REQUIRE(res);
  CHECK(res->body() == "made it");
  REQUIRE(stopped.wait_for(bound) == std::future_status::ready);
  stopped.get();
  http_test_client late{port};
  CHECK_FALSE(late.connect());
}

TEST_CASE("stop closes a request whose handler never answers after the grace "
          "period",
          "[actors][http]") {
  http_server_options opts;
  opts.shutdown_grace = std::chrono::milliseconds(100);
  parked_requests parked{1};
  http_server server{parked.handler(), opts};
  server.start();
  auto port = server.port();
  auto reply = std::async(std::launch::async, [port] {
    return http_get(port, "/never");
  });
  auto responder = parked.take(0);
  server.stop();
  REQUIRE(reply.wait_for(bound) == std::future_status::ready);
  CHECK_FALSE(reply.get());
  // Answering after the stop is harmless.
  responder.respond(http_status::ok, "text/plain", "too late");
  CHECK(server.connections() == 0);
}

TEST_CASE("a server with several threads serves concurrent clients",
          "[actors][http]") {
  http_server_options opts;
  opts.threads = 2;
  http_server server{echo, opts};
  server.start();
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 4; ++c)
    clients.push_back(std::async(std::launch::async, [c, port = server.port()] {
      http_test_client client{port};
      if (!client.connect())
        return 0;
      int ok = 0;
      for (int i = 0; i < 50; ++i) {
        auto target = "/" + std::to_string(c) + "/" + std::to_string(i);
        auto res = client.roundtrip(make_request(http::verb::get, target));
        ok += res && res->body() == "GET " + target + " ";
      }
      return ok;
    }));
  for (auto& f : clients) {
    REQUIRE(f.wait_for(bound) == std::future_status::ready);
    CHECK(f.get() == 50);
  }
}

TEST_CASE("start refuses a host that is not an address", "[actors][http]") {
  http_server server{echo};
  CHECK_THROWS_AS(server.start("example.invalid"), std::invalid_argument);
  http_server ok{echo};
  ok.start("localhost");
  CHECK_THROWS_AS(ok.start(), std::logic_error);
}

TEST_CASE("loopback hosts are recognised", "[actors][http]") {
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("localhost"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("::"));
  CHECK_FALSE(is_loopback_host("10.0.0.1"));
  CHECK_FALSE(is_loopback_host("example.com"));
}

TEST_CASE("thousands of hostile requests never stop the server",
          "[actors][http][fuzz]") {
  auto seed = fuzz_seed();
  INFO("seed " << seed);
  std::cout << "http_server fuzz seed " << seed << "\n";
  http_server_options opts;
  opts.read_timeout = std::chrono::milliseconds(200);
  http_server server{echo, opts};
  server.start();
  auto sum = run_fuzz(server.port(), seed, 3'000);
  std::cout << "http_server fuzz: " << describe(sum) << "\n";
  for (auto& p : sum.problems)
    UNSCOPED_INFO(p);
  CHECK(sum.problems.empty());
  CHECK(sum.answered > sum.cases / 2);
  auto res = http_get(server.port(), "/healthz");
  REQUIRE(res);
  CHECK(res->body() == "GET /healthz ");
}
