// dependency_route over real loopback sockets in a real (threaded) actor
// system, and a page using its progressive answers in headless Chromium.
// purity: real time — real sockets, a real browser and a chaos transport's
// real latency; waits are bounded and never sleep.
#include "bulwark/actors/http/dependency_route.hpp"

#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "tests/actors/admin/headless_chromium.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/json/parse.hpp>

#include <caf/all.hpp>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

// One dependency "d" behind `transport`, configured by `config` (the JSON
// object of /dependencies/d), on a service host.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  std::unique_ptr<service_host> host;
  std::unique_ptr<http_service> svc;

  fixture(transport_factory transport, const std::string& config) {
    service_host_options o;
    o.transports.emplace("d", std::move(transport));
    auto started = service_host::start(
      sys, R"({"dependencies": {"d": )" + config + "}}", std::move(o));
    REQUIRE(started.ok());
    host = std::move(started.host);
    svc = std::make_unique<http_service>(sys);
  }

  ~fixture() {
    svc.reset();
    host->stop();
  }

  caf::actor dependency() const {
    return caf::actor_cast<caf::actor>(host->dependency("d"));
  }
};

transport_factory answering(std::string suffix) {
  return [suffix](caf::actor_system& s) {
    return spawn_function_transport(s, [suffix](const attempt_request& req) {
      return success_result(req.payload + suffix);
    });
  };
}

} // namespace

TEST_CASE("a dependency route answers with the dependency's payload under "
          "its content type, the query string being the call's payload",
          "[actors][http][dependency_route]") {
  fixture f{answering("!"), R"({"idempotency": "idempotent"})"};
  dependency_route_options o;
  o.operation = "get";
  o.content_type = "text/plain";
  f.svc->route("GET", "/echo", dependency_route(f.dependency(), o));
  f.svc->start();
  auto res = http_get(f.svc->port(), "/echo?sku=7");
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(res->body() == "sku=7!");
  CHECK(res->at(boost::beast::http::field::content_type) == "text/plain");
}

TEST_CASE("a dependency route answers a failed call with its failure class's "
          "status, a request its payload function refuses with that answer "
          "(no call made), and one whose payload function throws with 500 "
          "while the route keeps serving",
          "[actors][http][dependency_route]") {
  auto calls = std::make_shared<std::atomic<int>>(0);
  fixture f{[calls](caf::actor_system& s) {
              return spawn_function_transport(
                s, [calls](const attempt_request&) {
                  ++*calls;
                  return class_result(failure_class::persistent);
                });
            },
            R"({"idempotency": "idempotent"})"};
  dependency_route_options o;
  o.operation = "get";
  o.payload = [](const service_request& req) -> route_payload {
    if (req.query == "boom")
      throw std::runtime_error("bad query");
    if (req.query != "ok")
      return error_reply(400, "query must be ok");
    return req.query;
  };
  f.svc->route("GET", "/x", dependency_route(f.dependency(), o));
  f.svc->start();
  auto failed = http_get(f.svc->port(), "/x?ok");
  REQUIRE(failed);
  CHECK(failed->result_int() == 502);
  CHECK(calls->load() == 1);
  auto refused = http_get(f.svc->port(), "/x?nope");
  REQUIRE(refused);
  CHECK(refused->result_int() == 400);
  CHECK(refused->body().find("query must be ok") != std::string::npos);
  CHECK(calls->load() == 1);
  auto thrown = http_get(f.svc->port(), "/x?boom");
  REQUIRE(thrown);
  CHECK(thrown->result_int() == 500);
  // The service starts the route actor again at once; a request that
  // reaches the dead one first is answered 503 (bounded wait, no sleep).
  auto again = http_get(f.svc->port(), "/x?ok");
  for (int i = 0; i < 10'000 && again && again->result_int() == 503; ++i)
    again = http_get(f.svc->port(), "/x?ok");
  REQUIRE(again);
  CHECK(again->result_int() == 502);
  CHECK(calls->load() == 2);
}

TEST_CASE("a dependency route answers 503 once its dependency actor is down",
          "[actors][http][dependency_route]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  // A stand-in dependency that never answers, then dies.
  auto dep = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](call_atom, call_request&) {}};
  });
  http_service svc{sys};
  dependency_route_options o;
  o.operation = "get";
  svc.route("GET", "/x", dependency_route(dep, o));
  svc.start();
  http_test_client client{svc.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send(make_request(boost::beast::http::verb::get, "/x", "")));
  // The request is in flight at the dependency when it goes down.
  caf::anon_send_exit(dep, caf::exit_reason::kill);
  auto res = client.read_response();
  REQUIRE(res);
  CHECK(res->result_int() == 503);
  CHECK(res->body().find("dependency actor is down") != std::string::npos);
  auto later = http_get(svc.port(), "/x");
  REQUIRE(later);
  CHECK(later->result_int() == 503);
  svc.stop();
}

TEST_CASE("dependency_route refuses a null dependency",
          "[actors][http][dependency_route]") {
  CHECK_THROWS_AS(dependency_route(caf::actor{}, {}), std::invalid_argument);
}

namespace {

// A product page: the price streamed from a progressive route (Server-Sent
// Events), shown as it comes, each event logged in order.
const char* const price_page = R"html(<!DOCTYPE html>
<html><head><title>price</title></head><body>
<p>price: <span id="price" data-state="loading">loading</span></p>
<ol id="log"></ol>
<script>
var es = new EventSource("/price");
function show(kind, e) {
  var d = JSON.parse(e.data);
  var body = typeof d.body === "string" ? JSON.parse(d.body) : d.body;
  var price = document.getElementById("price");
  price.textContent = String(body.price);
  price.setAttribute("data-state", kind);
  var li = document.createElement("li");
  li.setAttribute("data-kind", kind);
  li.textContent = kind + " " + body.price + (d.reason ? " (" + d.reason + ")" : "");
  document.getElementById("log").appendChild(li);
}
es.addEventListener("preliminary", function (e) { show("preliminary", e); });
es.addEventListener("final", function (e) { show("final", e); es.close(); });
</script>
</body></html>
)html";

} // namespace

TEST_CASE("headless Chromium renders a progressive route's preliminary price "
          "and then the final one from the event stream",
          "[actors][http][dependency_route][progressive][chromium]") {
  require_chromium();
  // Prices 1, 2, ... each 300 ms after the ask: the 20 ms soft deadline
  // passes first, and the stale cached price answers preliminarily.
  error_list errors;
  auto schedule = parse_fault_schedule(
    boost::json::parse(R"({"latency": {"kind": "fixed", "value": "300ms"}})"),
    json_path{}, errors);
  REQUIRE(errors.empty());
  auto prices = std::make_shared<std::atomic<int>>(0);
  fixture f{[schedule, prices](caf::actor_system& s) {
              auto inner =
                spawn_function_transport(s, [prices](const attempt_request&) {
                  return success_result(
                    "{\"price\": " + std::to_string(++*prices) + "}");
                });
              return chaos_transport::spawn(s, schedule, 1, inner).handle();
            },
            R"({"idempotency": "idempotent",
                "cache": {"enabled": true, "ttl": "1ms",
                          "stale_if_error": "60s"},
                "progressive": {"enabled": true, "soft_deadline": "20ms",
                                "preliminary": ["stale_cache"]}})"};
  dependency_route_options o;
  o.operation = "price";
  o.content_type = "application/json";
  o.progressive = true;
  route_options ro;
  ro.progressive = progressive_mode::stream;
  f.svc->route("GET", "/price", dependency_route(f.dependency(), o), ro);
  f.svc->route("GET", "/page", service_function{[](const service_request&) {
                 service_response r;
                 r.content_type = "text/html; charset=utf-8";
                 r.body = price_page;
                 return r;
               }});
  f.svc->start();
  // Fill the cache: price 1 (nothing to answer preliminarily yet).
  auto first = http_get(f.svc->port(), "/price");
  REQUIRE(first);
  REQUIRE(first->result_int() == 200);
  REQUIRE(first->body() == R"({"price": 1})");
  auto dir = artifact_dir("progressive_page");
  auto dom_file = dir / "page.dom.html";
  run_chromium(dir,
               "http://127.0.0.1:" + std::to_string(f.svc->port()) + "/page",
               {"--dump-dom"}, dom_file);
  auto dom = read_text(dom_file);
  INFO("DOM: " << dom_file.string());
  // The stale price first, then the fresh one, and the page shows the final.
  CHECK(dom.find(R"(<li data-kind="preliminary">preliminary 1 )"
                 R"((awaiting_answer)</li><li data-kind="final">final 2</li>)")
        != std::string::npos);
  CHECK(dom.find(R"(<span id="price" data-state="final">2</span>)")
        != std::string::npos);
}
