// purity: real time — the proxy is tested on real loopback sockets; waits
// are bounded by socket deadlines (a hung proxy fails a test, never hangs it).
#include "tools/chaos/chaos_proxy.hpp"

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "tests/actors/http/http_test_client.hpp"
#include "tools/chaos/chaos_control.hpp"
#include "tools/load/latency_server.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

// An upstream (answers "ok" at once) with a proxy in front of it.
struct proxied {
  latency_server upstream{latency_server_options{}};
  std::unique_ptr<chaos_proxy> proxy;

  explicit proxied(proxy_mode mode = proxy_mode::http) {
    upstream.start();
    chaos_proxy_options opts;
    opts.mode = mode;
    opts.upstream_port = upstream.port();
    opts.black_hole_timeout = std::chrono::milliseconds(2'000);
    opts.max_header_bytes = 4 * 1024;
    proxy = std::make_unique<chaos_proxy>(opts);
    proxy->start();
  }

  void fault(const std::string& name, const std::string& json) {
    auto errors = proxy->put_fault(name, boost::json::parse(json));
    INFO(errors.to_string());
    REQUIRE(errors.empty());
  }

  std::optional<http_response> call(http::verb verb, const std::string& target,
                                    const std::string& key = {}) {
    auto req = make_request(verb, target, verb == http::verb::post ? "{}" : "");
    if (!key.empty())
      req.set("Idempotency-Key", key);
    return http_call(proxy->port(), std::move(req));
  }
};

} // namespace

TEST_CASE("the proxy forwards requests and answers unchanged and counts "
          "them per route",
          "[tools][chaos][proxy]") {
  proxied p;
  p.fault("charge", R"({"method": "POST", "path": "/charge"})");
  for (int i = 0; i < 3; ++i) {
    auto res = p.call(http::verb::post, "/charge");
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->body() == "ok");
  }
  REQUIRE(p.call(http::verb::get, "/other"));
  CHECK(p.upstream.answered() == 4);
  CHECK(p.proxy->route("charge").requests == 3);
  CHECK(p.proxy->route("charge").forwarded == 3);
  CHECK(p.proxy->route("(none)").requests == 1);
  // A client that waits for 100 Continue gets it from the proxy.
  http_test_client waiting{p.proxy->port()};
  REQUIRE(waiting.connect());
  REQUIRE(
    waiting.send_raw("POST /charge HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto cont = waiting.read_response();
  REQUIRE(cont);
  CHECK(cont->result_int() == 100);
  REQUIRE(waiting.send_raw("abc"));
  auto after = waiting.read_response();
  REQUIRE(after);
  CHECK(after->result_int() == 200);
  // Keep-alive: several requests on one client connection.
  http_test_client client{p.proxy->port()};
  REQUIRE(client.connect());
  for (int i = 0; i < 3; ++i) {
    auto res = client.roundtrip(make_request(http::verb::get, "/ka"));
    REQUIRE(res);
    CHECK(res->result_int() == 200);
  }
}

TEST_CASE("an injected error is answered by the proxy with its status and "
          "Retry-After and never reaches the service",
          "[tools][chaos][proxy]") {
  proxied p;
  p.fault("busy", R"({"errors": {"overloaded": 100}, "retry_after": "2s"})");
  auto res = p.call(http::verb::get, "/x");
  REQUIRE(res);
  CHECK(res->result_int() == 503);
  CHECK((*res)["Retry-After"] == "2");
  CHECK((*res)["Bulwark-Chaos-Fault"] == "busy");
  CHECK(p.upstream.answered() == 0);
  CHECK(p.proxy->route("busy").count(injected_fault::overloaded) == 1);
}

TEST_CASE("a reset closes the client's connection without an answer and a "
          "black hole answers nothing until the client gives up",
          "[tools][chaos][proxy]") {
  proxied p;
  p.fault("reset", R"({"path": "/reset", "reset": 100})");
  p.fault("hole", R"({"path": "/hole", "black_hole": 100})");
  CHECK_FALSE(p.call(http::verb::get, "/reset"));
  http_test_client client{p.proxy->port(), std::chrono::milliseconds(300)};
  REQUIRE(client.connect());
  REQUIRE(client.send(make_request(http::verb::get, "/hole")));
  CHECK_FALSE(client.read_response());
  CHECK(client.timed_out());
  CHECK(p.upstream.answered() == 0);
  CHECK(p.proxy->route("reset").count(injected_fault::reset) == 1);
  CHECK(p.proxy->route("hole").count(injected_fault::black_hole) == 1);
}

TEST_CASE("a key forwarded twice is counted as a duplicate that reached the "
          "service, a retry after an injected error is not",
          "[tools][chaos][proxy]") {
  proxied p;
  p.fault("pay", R"({"path": "/pay"})");
  REQUIRE(p.call(http::verb::post, "/pay", "order-1"));
  REQUIRE(p.call(http::verb::post, "/pay", "order-1"));
  REQUIRE(p.call(http::verb::post, "/pay", "order-2"));
  REQUIRE(p.call(http::verb::post, "/pay", "bad key"));
  auto r = p.proxy->route("pay");
  CHECK(r.keyed == 3);
  CHECK(r.duplicates == 1);
  CHECK(r.repeated_keys == 1);
  CHECK(r.invalid_keys == 1);
}

TEST_CASE("a client that gives up during an injected delay and retries "
          "sends its key to the service twice: a duplicate",
          "[tools][chaos][proxy]") {
  proxied p;
  p.fault("slow", R"({"latency": {"kind": "fixed", "value": "300ms"}})");
  http_test_client impatient{p.proxy->port(), std::chrono::milliseconds(50)};
  REQUIRE(impatient.connect());
  auto first = make_request(http::verb::post, "/pay", "{}");
  first.set("Idempotency-Key", "order-9");
  REQUIRE(impatient.send(std::move(first)));
  CHECK_FALSE(impatient.read_response());
  CHECK(impatient.timed_out());
  REQUIRE(p.call(http::verb::post, "/pay", "order-9")); // the retry
  auto r = p.proxy->route("slow");
  CHECK(r.forwarded == 2);
  CHECK(r.duplicates == 1);
  CHECK(r.count(injected_fault::latency) == 2);
}

TEST_CASE("a slow body trickles at its rate and oversized headers are "
          "answered 431",
          "[tools][chaos][proxy]") {
  latency_server_options so;
  so.body = std::string(2'000, 'x');
  latency_server upstream{so};
  upstream.start();
  chaos_proxy_options opts;
  opts.upstream_port = upstream.port();
  opts.max_header_bytes = 1024;
  chaos_proxy proxy{opts};
  proxy.start();
  REQUIRE(
    proxy
      .put_fault("slow",
                 boost::json::parse(
                   R"({"slow_body": {"rate": 100, "bytes_per_s": 10000}})"))
      .empty());
  auto t0 = std::chrono::steady_clock::now();
  auto res = http_call(proxy.port(), make_request(http::verb::get, "/"));
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(res);
  CHECK(res->body().size() == 2'000);
  // 2,000 bytes at 10,000 B/s: at least ~200 ms (generous lower bound).
  CHECK(took >= std::chrono::milliseconds(150));
  auto big = make_request(http::verb::get, "/");
  big.set("X-Big", std::string(2'000, 'a'));
  auto refused = http_call(proxy.port(), std::move(big));
  REQUIRE(refused);
  CHECK(refused->result_int() == 431);
}

TEST_CASE("an upstream that is down is answered 502 and counted",
          "[tools][chaos][proxy]") {
  chaos_proxy_options opts;
  {
    latency_server gone{latency_server_options{}};
    gone.start();
    opts.upstream_port = gone.port();
  } // stopped: nothing listens there now
  chaos_proxy proxy{opts};
  proxy.start();
  auto res = http_call(proxy.port(), make_request(http::verb::get, "/"));
  REQUIRE(res);
  CHECK(res->result_int() == 502);
  CHECK(proxy.route("(none)").upstream_errors == 1);
}

TEST_CASE("in TCP mode bytes pass both ways and a reset fault resets the "
          "connection",
          "[tools][chaos][proxy]") {
  proxied p{proxy_mode::tcp};
  auto res = http_call(p.proxy->port(), make_request(http::verb::get, "/a"));
  REQUIRE(res);
  CHECK(res->body() == "ok");
  p.fault("down", R"({"reset": 100})");
  CHECK_FALSE(http_call(p.proxy->port(), make_request(http::verb::get, "/")));
  CHECK(p.proxy->route("down").count(injected_fault::reset) == 1);
}

TEST_CASE("the control API lists, adds and removes faults, and a bad change "
          "is refused with every error and changes nothing",
          "[tools][chaos][control]") {
  proxied p;
  auto control = start_chaos_control(*p.proxy, "127.0.0.1", 0);
  auto put = [&](const std::string& target, const std::string& body) {
    return http_call(control->port(),
                     make_request(http::verb::put, target, body));
  };
  auto ok = put("/faults/charge", R"({"method": "POST", "path": "/charge",
                                      "errors": {"transient": 10}})");
  REQUIRE(ok);
  CHECK(ok->result_int() == 200);
  auto bad = put("/faults", R"({"faults": {"a": {"reset": 300},
                                          "b": {"latency": {"kind": "x"}}}})");
  REQUIRE(bad);
  CHECK(bad->result_int() == 400);
  auto body = boost::json::parse(bad->body()).as_object();
  CHECK(body.at("error").as_string()
        == "faults rejected (2 errors); nothing changed");
  CHECK(body.at("errors").as_array().size() == 2);
  CHECK(bad->body().find("/faults/a/reset") != std::string::npos);
  CHECK(bad->body().find("/faults/b/latency/kind") != std::string::npos);
  auto listed = http_get(control->port(), "/faults");
  REQUIRE(listed);
  auto faults = boost::json::parse(listed->body()).at("faults").as_object();
  CHECK(faults.size() == 1);
  CHECK(faults.contains("charge"));
  auto not_json = put("/faults/x", "{nope");
  REQUIRE(not_json);
  CHECK(not_json->result_int() == 400);
  auto bad_name = put("/faults/a%20b", "{}");
  REQUIRE(bad_name);
  CHECK(bad_name->result_int() == 400);
  auto del = http_call(control->port(),
                       make_request(http::verb::delete_, "/faults/charge"));
  REQUIRE(del);
  CHECK(del->result_int() == 200);
  auto again = http_call(control->port(),
                         make_request(http::verb::delete_, "/faults/charge"));
  REQUIRE(again);
  CHECK(again->result_int() == 404);
  REQUIRE(p.call(http::verb::get, "/"));
  auto stats = http_get(control->port(), "/stats");
  REQUIRE(stats);
  auto s = boost::json::parse(stats->body());
  auto& none = s.at("routes").at("(none)");
  CHECK(none.at("requests").to_number<std::uint64_t>() == 1);
  CHECK_THROWS_AS(start_chaos_control(*p.proxy, "0.0.0.0", 0),
                  std::invalid_argument);
}
