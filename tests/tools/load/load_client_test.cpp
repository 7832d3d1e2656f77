// purity: real time — the load generator is measured against real servers on
// loopback; every run is bounded by its duration and drain time, and the
// timing checks use generous bounds (this is a shared, noisy machine; the
// precise figures come from `bulwark-bench --scenario=tools`).
#include "tools/load/load_client.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/http/http_server.hpp"
#include "tools/chaos/chaos_proxy.hpp"
#include "tools/load/latency_server.hpp"

using namespace bulwark;

namespace {

latency_config fixed(duration d) {
  latency_config c;
  c.kind = latency_kind::fixed;
  c.value = d;
  return c;
}

http_target target(std::uint16_t port, const std::string& path = "/") {
  std::string error;
  auto t =
    parse_target_url("http://127.0.0.1:" + std::to_string(port) + path, error);
  INFO(error);
  REQUIRE(t);
  return *t;
}

double p99_ms(const load_stats& s) {
  return static_cast<double>(s.latency.value_at_quantile(0.99)) / 1e6;
}

} // namespace

TEST_CASE("target URLs are http://HOST:PORT/PATH with an IPv4 host or "
          "localhost",
          "[tools][load][url]") {
  std::string error;
  auto t = parse_target_url("http://localhost:8080/checkout?x=1", error);
  REQUIRE(t);
  CHECK(t->host == "127.0.0.1");
  CHECK(t->port == 8080);
  CHECK(t->path == "/checkout?x=1");
  CHECK(parse_target_url("http://10.0.0.1", error)->port == 80);
  CHECK_FALSE(parse_target_url("https://x", error));
  CHECK(error.find("http://") != std::string::npos);
  CHECK_FALSE(parse_target_url("http://example.com/", error));
  CHECK_FALSE(parse_target_url("http://127.0.0.1:99999/", error));
  CHECK_FALSE(parse_target_url("http://127.0.0.1/a b", error));
}

TEST_CASE("an open loop below saturation holds its rate and measures the "
          "server's latency",
          "[tools][load][open]") {
  latency_server_options so;
  so.latency = fixed(milliseconds(20));
  latency_server server{so};
  server.start();
  load_options opts;
  opts.targets = {target(server.port())};
  opts.rate_per_s = 200;
  opts.duration = seconds(2);
  opts.connections = 16;
  auto r = run_load(opts);
  REQUIRE(r.error.empty());
  auto& s = r.per_target.at(0);
  CHECK(s.count(request_end::ok) == 400);
  CHECK(r.sent_in_time.at(0) >= 390);
  CHECK(r.verdict.achieved_per_s == Approx(200).epsilon(0.05));
  auto p50 = static_cast<double>(s.latency.value_at_quantile(0.5)) / 1e6;
  CHECK(p50 >= 20.0);
  CHECK(p50 < 30.0);
  CHECK_FALSE(r.intervals.empty());
}

TEST_CASE("a one-second server stall shows in the open loop's p99 and is "
          "hidden by a closed loop on the same server",
          "[tools][load][stall]") {
  latency_server_options so;
  so.stall_start = milliseconds(1'000);
  so.stall_length = milliseconds(1'000);
  latency_server open_server{so};
  open_server.start();
  load_options opts;
  opts.targets = {target(open_server.port())};
  opts.rate_per_s = 500;
  opts.duration = seconds(3);
  opts.connections = 32;
  auto open = run_load(opts);
  REQUIRE(open.error.empty());
  INFO("open p99 " << p99_ms(open.per_target[0]) << " ms");
  CHECK(p99_ms(open.per_target[0]) >= 500.0);

  latency_server closed_server{so};
  closed_server.start();
  opts.targets = {target(closed_server.port())};
  opts.closed_loop = true;
  opts.connections = 4;
  auto closed = run_load(opts);
  REQUIRE(closed.error.empty());
  INFO("closed p99 " << p99_ms(closed.per_target[0]) << " ms, "
                     << closed.per_target[0].finished() << " requests");
  CHECK(closed.per_target[0].finished() > 1000);
  CHECK(p99_ms(closed.per_target[0]) < 200.0);
  // The stall is still there in the closed loop's max.
  CHECK(closed.per_target[0].latency.max() >= 500'000'000);
}

TEST_CASE("a rate the target cannot take is reported as saturated",
          "[tools][load][verdict]") {
  latency_server_options so;
  so.latency = fixed(milliseconds(100));
  latency_server server{so};
  server.start();
  load_options opts;
  opts.targets = {target(server.port())};
  opts.rate_per_s = 200; // two connections at 100 ms take 20/s
  opts.duration = seconds(1);
  opts.connections = 2;
  opts.drain = milliseconds(500);
  auto r = run_load(opts);
  REQUIRE(r.error.empty());
  CHECK_FALSE(r.verdict.held);
  CHECK(r.verdict.message.find("the generator or the target is saturated")
        != std::string::npos);
  // Requests still waiting at the end are counted, not forgotten.
  CHECK(r.per_target[0].count(request_end::unfinished) > 0);
}

TEST_CASE("an A/B run alternates two targets in one run and both sides are "
          "measured",
          "[tools][load][ab]") {
  latency_server_options fast_opts;
  fast_opts.latency = fixed(milliseconds(5));
  latency_server fast{fast_opts};
  fast.start();
  latency_server_options slow_opts;
  slow_opts.latency = fixed(milliseconds(15));
  latency_server slow{slow_opts};
  slow.start();
  load_options opts;
  opts.targets = {target(fast.port()), target(slow.port())};
  opts.rate_per_s = 200;
  opts.duration = seconds(2);
  opts.slice = milliseconds(100);
  opts.connections = 8;
  auto r = run_load(opts);
  REQUIRE(r.error.empty());
  REQUIRE(r.per_target.size() == 2);
  CHECK(r.per_target[0].count(request_end::ok) == Approx(200).margin(5));
  CHECK(r.per_target[1].count(request_end::ok) == Approx(200).margin(5));
  CHECK(fast.answered() > 0);
  CHECK(slow.answered() > 0);
  auto ratios =
    ab_ratios(r.per_target[0], r.active[0], r.per_target[1], r.active[1]);
  auto p50_ratio = ratios.at("p50_ratio").as_double();
  CHECK(p50_ratio > 2.0);
  CHECK(p50_ratio < 3.5);
}

TEST_CASE("templated requests carry unique idempotency keys: the proxy in "
          "front of the service counts no duplicate",
          "[tools][load][template]") {
  latency_server server{latency_server_options{}};
  server.start();
  chaos_proxy_options po;
  po.upstream_port = server.port();
  chaos_proxy proxy{po};
  proxy.start();
  REQUIRE(
    proxy.put_fault("orders", boost::json::parse(R"({"path": "/"})")).empty());
  load_options opts;
  opts.targets = {target(proxy.port(), "/orders/{seq}")};
  opts.rate_per_s = 300;
  opts.duration = seconds(1);
  opts.method = "POST";
  std::string error;
  opts.body = *request_template::parse(R"({"order": "o-{run}-{seq}"})", error);
  opts.headers.emplace_back("Idempotency-Key",
                            *request_template::parse("{uuid}", error));
  auto r = run_load(opts);
  REQUIRE(r.error.empty());
  auto route = proxy.route("orders");
  CHECK(route.requests == 300);
  CHECK(route.keyed == 300);
  CHECK(route.duplicates == 0);
}

TEST_CASE("a kept-alive connection the server closed while idle is "
          "replaced and its request resent, not counted as an error",
          "[tools][load][keepalive]") {
  http_server_options so;
  so.read_timeout = std::chrono::milliseconds(150); // drops idle connections
  http_server server{[](http_request, http_responder respond) {
                       respond.respond(http_status::ok, "text/plain", "ok");
                     },
                     so};
  server.start();
  load_options opts;
  opts.targets = {target(server.port())};
  opts.rate_per_s = 4; // a request every 250 ms: each finds its connection
  opts.duration = milliseconds(1'500); // closed by the server
  opts.connections = 2;
  auto r = run_load(opts);
  REQUIRE(r.error.empty());
  auto& s = r.per_target[0];
  CHECK(s.count(request_end::ok) == 6);
  CHECK(s.count(request_end::transport_error) == 0);
  CHECK(s.sent > 6); // some were resent
}

TEST_CASE("a target nobody listens on is a clear error, not a run",
          "[tools][load][error]") {
  std::uint16_t port = 0;
  {
    latency_server gone{latency_server_options{}};
    gone.start();
    port = gone.port();
  }
  load_options opts;
  opts.targets = {target(port)};
  opts.duration = milliseconds(100);
  auto r = run_load(opts);
  CHECK(r.error.find("cannot connect to http://127.0.0.1:") == 0);
}
