// The HTTP service over real loopback sockets in a real (threaded) actor
// system.
// purity: real time — the service turns a relative deadline header into an
// absolute time with the real clock, and a test checks that against the
// clock; waits poll with a bound and never sleep.
#include "bulwark/actors/http/http_service.hpp"

#include "bulwark/actors/http/call_reply_response.hpp"
#include "bulwark/actors/http/downstream_call.hpp"
#include "bulwark/actors/protocol/atoms.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <malloc.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <caf/all.hpp>

#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

// Generous: a wait that is not over by then is a failure, not a delay.
constexpr auto bound = std::chrono::seconds(10);

using release_atom = caf::atom_constant<caf::atom("release")>;

/// Counts calls of a test route actor and lets the test wait for them.
struct probe {
  std::mutex mtx;
  std::condition_variable cv;
  int calls = 0;
  std::vector<service_request> seen;

  void called(const service_request& req) {
    std::lock_guard<std::mutex> guard{mtx};
    ++calls;
    seen.push_back(req);
    cv.notify_all();
  }

  int count() {
    std::lock_guard<std::mutex> guard{mtx};
    return calls;
  }

  /// True once at least `n` calls happened (false after `bound`).
  bool wait_calls(int n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, bound, [&] { return calls >= n; });
  }
};

using probe_ptr = std::shared_ptr<probe>;

/// Answers at once: 200, body "<method> <path> <n>", header X-Call: n.
caf::behavior counting_actor(caf::event_based_actor*, probe_ptr p) {
  return {[p](service_request& req) -> service_response {
    p->called(req);
    service_response res;
    res.content_type = "text/plain";
    auto n = std::to_string(p->count());
    res.body = req.method + " " + req.path + " " + n;
    res.headers.emplace_back("X-Call", n);
    return res;
  }};
}

struct held_state {
  std::vector<caf::response_promise> held;
};

/// Holds every request until `(release_atom, body)` answers them all 200.
caf::behavior held_actor(caf::stateful_actor<held_state>* self, probe_ptr p) {
  return {
    [self, p](service_request& req) -> caf::response_promise {
      auto rp = self->make_response_promise();
      self->state.held.push_back(rp);
      p->called(req);
      return rp;
    },
    [self](release_atom, const std::string& body) {
      for (auto& rp : self->state.held) {
        service_response res;
        res.content_type = "text/plain";
        res.body = body;
        rp.deliver(res);
      }
      self->state.held.clear();
    },
  };
}

caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  std::vector<caf::actor> spawned;
  std::unique_ptr<http_service> svc;

  ~fixture() {
    svc.reset();
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  http_service& make(http_service_options opts = {}) {
    svc = std::make_unique<http_service>(sys, std::move(opts));
    return *svc;
  }

  caf::actor counting(probe_ptr p) {
    spawned.push_back(sys.spawn(counting_actor, std::move(p)));
    return spawned.back();
  }

  caf::actor held(probe_ptr p) {
    spawned.push_back(sys.spawn(held_actor, std::move(p)));
    return spawned.back();
  }

  std::uint16_t port() const {
    return svc->port();
  }
};

http_request
request(http::verb method, std::string target, std::string body = {},
        std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto req = make_request(method, std::move(target), std::move(body));
  for (auto& [name, value] : headers)
    req.set(name, value);
  req.prepare_payload();
  return req;
}

/// A call on its own thread; the future is waited for with `bound`.
std::future<std::optional<http_response>> call_async(std::uint16_t port,
                                                     http_request req) {
  return std::async(std::launch::async, [port, req = std::move(req)]() mutable {
    return http_call(port, std::move(req));
  });
}

std::optional<http_response>
get_result(std::future<std::optional<http_response>>& f) {
  if (f.wait_for(bound) != std::future_status::ready)
    return std::nullopt;
  return f.get();
}

/// The raw bytes of the answer to `req` sent with `Connection: close`.
std::string raw_call(std::uint16_t port, http_request req) {
  req.set(http::field::connection, "close");
  http_test_client client{port};
  if (!client.connect() || !client.send(std::move(req)))
    return {};
  return client.read_all();
}

std::string header_of(const http_response& res, std::string_view name) {
  auto i = res.find(boost::beast::string_view{name.data(), name.size()});
  if (i == res.end())
    return {};
  return std::string{i->value()};
}

/// Polls `pred` without sleeping; false when `bound` passes first.
bool eventually(const std::function<bool()>& pred) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::yield();
  }
  return true;
}

service_request json_request(std::string body) {
  service_request req;
  req.method = "POST";
  req.path = "/x";
  req.body = std::move(body);
  return req;
}

} // namespace

TEST_CASE("routes match exact paths before prefixes and the longest prefix "
          "wins; unknown paths answer 404 and other methods 405",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto actor = f.counting(p);
  svc.route("GET", "/items", actor);
  svc.route("POST", "/items", actor);
  svc.route("GET", "/items/*", actor);
  svc.route("GET", "/items/special/*",
            service_function{[](const service_request&) {
              service_response res;
              res.body = "special";
              return res;
            }});
  svc.start();
  REQUIRE(f.port() != 0);

  auto list = http_get(f.port(), "/items");
  REQUIRE(list);
  CHECK(list->result_int() == 200);
  CHECK(list->body() == "GET /items 1");
  CHECK(header_of(*list, "X-Call") == "1");
  CHECK(header_of(*list, "Content-Type") == "text/plain");

  auto item = http_get(f.port(), "/items/42?color=red&size=2");
  REQUIRE(item);
  CHECK(item->body() == "GET /items/42 2");
  REQUIRE(p->seen.size() == 2);
  CHECK(p->seen[1].query == "color=red&size=2");
  CHECK(p->seen[1].attempt == 1);
  REQUIRE(p->seen[1].header("host"));
  CHECK(*p->seen[1].header("HOST") == "127.0.0.1");

  auto special = http_get(f.port(), "/items/special/7");
  REQUIRE(special);
  CHECK(special->body() == "special");

  auto post = http_call(f.port(), request(http::verb::post, "/items", "x"));
  REQUIRE(post);
  CHECK(post->body() == "POST /items 3");

  auto missing = http_get(f.port(), "/nothing");
  REQUIRE(missing);
  CHECK(missing->result_int() == 404);
  CHECK(missing->body() == R"({"error":"no route for /nothing"})");

  auto wrong = http_call(f.port(), request(http::verb::delete_, "/items"));
  REQUIRE(wrong);
  CHECK(wrong->result_int() == 405);
  CHECK(header_of(*wrong, "Allow") == "GET, POST");
  CHECK(p->count() == 3);

  auto st = svc.stats();
  CHECK(st.received == 6);
  CHECK(st.dispatched == 4);
  CHECK(st.not_found == 1);
  CHECK(st.method_not_allowed == 1);
}

TEST_CASE("routes are checked when they are added", "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  auto actor = f.counting(std::make_shared<probe>());
  svc.route("GET", "/a", actor);
  CHECK_THROWS_AS(svc.route("GET", "/a", actor), std::invalid_argument);
  CHECK_THROWS_AS(svc.route("GET", "a", actor), std::invalid_argument);
  CHECK_THROWS_AS(svc.route("", "/b", actor), std::invalid_argument);
  CHECK_THROWS_AS(svc.route("GET", "/c", caf::actor{}), std::invalid_argument);
  svc.start();
  CHECK_THROWS_AS(svc.route("GET", "/d", actor), std::logic_error);
  CHECK_THROWS_AS(svc.start(), std::logic_error);
}

TEST_CASE("a JSON route echoes its body and bad JSON is answered 400 naming "
          "the problem",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  std::atomic<int> calls{0};
  svc.json_route(
    "POST", "/echo",
    [&calls](const boost::json::value& body, const service_request&) {
      ++calls;
      boost::json::object out;
      out["got"] = body;
      return json_reply(out, 201);
    });
  svc.start();

  auto ok = http_call(f.port(), request(http::verb::post, "/echo",
                                        R"({"sku": "a-1", "qty": 2})"));
  REQUIRE(ok);
  CHECK(ok->result_int() == 201);
  CHECK(header_of(*ok, "Content-Type") == "application/json");
  CHECK(boost::json::parse(ok->body())
        == boost::json::parse(R"({"got": {"sku": "a-1", "qty": 2}})"));

  auto bad =
    http_call(f.port(), request(http::verb::post, "/echo", R"({"sku": })"));
  REQUIRE(bad);
  CHECK(bad->result_int() == 400);
  CHECK(bad->body().find("request body is not valid JSON")
        != std::string::npos);
  CHECK(bad->body().find("at byte 8") != std::string::npos);

  auto empty = http_call(f.port(), request(http::verb::post, "/echo"));
  REQUIRE(empty);
  CHECK(empty->result_int() == 400);
  CHECK(empty->body()
        == R"j({"error":"request body is empty (expected JSON)"})j");
  CHECK(calls == 1);
  CHECK(svc.stats().bad_requests == 2);
}

TEST_CASE("parse_json_body names the problem and where parsing stopped",
          "[actors][http][service]") {
  struct row {
    std::string body;
    std::string error;
  };
  std::vector<row> rows{
    {"", R"j({"error":"request body is empty (expected JSON)"})j"},
    {"[1, 2",
     R"j({"error":"request body is not valid JSON: incomplete JSON (at byte 5)"})j"},
    {"{\"a\": tru}",
     R"j({"error":"request body is not valid JSON: syntax error (at byte 6)"})j"},
    {"{} {}",
     R"j({"error":"request body is not valid JSON: extra data (at byte 3)"})j"},
  };
  for (auto& r : rows) {
    CAPTURE(r.body);
    service_response error;
    auto v = parse_json_body(json_request(r.body), error);
    CHECK_FALSE(v);
    CHECK(error.status == 400);
    CHECK(error.content_type == "application/json");
    CHECK(error.body == r.error);
  }
  service_response untouched;
  auto v = parse_json_body(json_request(" {\"a\": [1, true]} "), untouched);
  REQUIRE(v);
  CHECK(*v == boost::json::parse(R"({"a": [1, true]})"));
  CHECK(untouched == service_response{});
}

TEST_CASE("an expired deadline is answered 504 before the route actor runs, "
          "and a live one reaches it as an absolute deadline",
          "[actors][http][service]") {
  fixture f;
  http_service_options opts;
  opts.request_timeout = std::chrono::seconds(20);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  svc.route("POST", "/work", f.counting(p));
  svc.start();

  auto late =
    http_call(f.port(), request(http::verb::post, "/work", "x",
                                {{std::string{deadline_ms_header}, "0"}}));
  REQUIRE(late);
  CHECK(late->result_int() == 504);
  CHECK(late->body() == R"({"error":"deadline already passed on arrival"})");
  CHECK(p->count() == 0);
  CHECK(svc.stats().expired_on_arrival == 1);

  auto garbled =
    http_call(f.port(), request(http::verb::post, "/work", "x",
                                {{std::string{deadline_ms_header}, "soon"}}));
  REQUIRE(garbled);
  CHECK(garbled->result_int() == 400);
  CHECK(p->count() == 0);

  auto before = std::chrono::steady_clock::now();
  auto live =
    http_call(f.port(), request(http::verb::post, "/work", "x",
                                {{std::string{deadline_ms_header}, "5000"},
                                 {std::string{attempt_header}, "3"}}));
  auto after = std::chrono::steady_clock::now();
  REQUIRE(live);
  CHECK(live->result_int() == 200);
  REQUIRE(p->count() == 1);
  auto& seen = p->seen[0];
  CHECK(seen.attempt == 3);
  CHECK(seen.deadline
        > before + std::chrono::milliseconds(5000) - (after - before));
  CHECK(seen.deadline <= after + std::chrono::milliseconds(5000));

  // A deadline beyond request_timeout is capped; no header gets the cap.
  auto capped = http_call(
    f.port(), request(http::verb::post, "/work", "x",
                      {{std::string{deadline_ms_header}, "999999999"}}));
  REQUIRE(capped);
  auto none = http_call(f.port(), request(http::verb::post, "/work", "x"));
  REQUIRE(none);
  auto done = std::chrono::steady_clock::now();
  REQUIRE(p->count() == 3);
  CHECK(p->seen[1].deadline <= done + std::chrono::seconds(20));
  CHECK(p->seen[2].deadline <= done + std::chrono::seconds(20));
  CHECK(p->seen[2].deadline > before + std::chrono::seconds(19));
}

TEST_CASE("a route actor that misses the deadline is answered 504",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/slow", slow);
  svc.start();
  auto res =
    http_call(f.port(), request(http::verb::get, "/slow", {},
                                {{std::string{deadline_ms_header}, "100"}}));
  REQUIRE(res);
  CHECK(res->result_int() == 504);
  CHECK(res->body() == R"({"error":"deadline exceeded"})");
  CHECK(p->count() == 1);
  CHECK(svc.stats().timed_out == 1);
  CHECK(svc.in_flight() == 0);
}

TEST_CASE("a ledger route executes a key once and answers its duplicate with "
          "identical bytes",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/charge", f.counting(p), ropts);
  svc.start();

  auto charge = [&](std::string key, std::string attempt) {
    return raw_call(f.port(),
                    request(http::verb::post, "/charge", "10 EUR",
                            {{std::string{idempotency_key_header}, key},
                             {std::string{attempt_header}, attempt}}));
  };
  auto first = charge("order-1", "1");
  auto second = charge("order-1", "2");
  REQUIRE(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(first.find("X-Call: 1\r\n") != std::string::npos);
  CHECK(first.find("POST /charge 1") != std::string::npos);
  CHECK(second == first);
  CHECK(p->count() == 1);

  auto other = charge("order-2", "1");
  CHECK(other.find("POST /charge 2") != std::string::npos);
  CHECK(p->count() == 2);
  auto st = svc.stats();
  CHECK(st.ledger_executed == 2);
  CHECK(st.ledger_duplicates == 1);
}

TEST_CASE("concurrent duplicates of a key wait for the first execution and "
          "get its answer",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/pay", slow, ropts);
  svc.start();
  auto pay = [&] {
    return call_async(f.port(),
                      request(http::verb::post, "/pay", "5",
                              {{std::string{idempotency_key_header}, "k-7"}}));
  };
  auto a = pay();
  REQUIRE(p->wait_calls(1));
  auto b = pay();
  auto c = pay();
  REQUIRE(eventually([&] { return svc.stats().ledger_waits == 2; }));
  caf::anon_send(slow, release_atom::value, std::string{"paid once"});
  auto ra = get_result(a);
  auto rb = get_result(b);
  auto rc = get_result(c);
  REQUIRE(ra);
  REQUIRE(rb);
  REQUIRE(rc);
  for (auto* r : {&ra, &rb, &rc}) {
    CHECK((*r)->result_int() == 200);
    CHECK((*r)->body() == "paid once");
  }
  CHECK(p->count() == 1);
  CHECK(svc.stats().ledger_executed == 1);
}

TEST_CASE("a ledger route answers 400 without an Idempotency-Key",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/charge", f.counting(p), ropts);
  svc.start();
  auto res = http_call(f.port(), request(http::verb::post, "/charge", "1"));
  REQUIRE(res);
  CHECK(res->result_int() == 400);
  CHECK(res->body()
        == R"({"error":"this route needs an Idempotency-Key header"})");
  CHECK(p->count() == 0);
}

TEST_CASE("a ledger answer marked not_executed is not recorded, so the retry "
          "executes",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  std::atomic<int> calls{0};
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/once", service_function{[&calls](const service_request&) {
              if (++calls == 1) {
                auto res = error_reply(503, "busy, did nothing");
                res.not_executed = true;
                res.retry_after = std::chrono::seconds(2);
                return res;
              }
              service_response res;
              res.body = "done";
              return res;
            }},
            ropts);
  svc.start();
  auto once = [&] {
    return http_call(f.port(),
                     request(http::verb::post, "/once", "",
                             {{std::string{idempotency_key_header}, "z"}}));
  };
  auto r1 = once();
  REQUIRE(r1);
  CHECK(r1->result_int() == 503);
  CHECK(header_of(*r1, "Retry-After") == "2");
  auto r2 = once();
  REQUIRE(r2);
  CHECK(r2->result_int() == 200);
  auto r3 = once();
  REQUIRE(r3);
  CHECK(r3->body() == "done");
  CHECK(calls == 2);
}

TEST_CASE("beyond max_in_flight the service answers 503 with Retry-After and "
          "tells retries to stop",
          "[actors][http][service]") {
  fixture f;
  http_service_options opts;
  opts.max_in_flight = 1;
  opts.retry_after = std::chrono::seconds(7);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/busy", slow);
  svc.start();

  auto a = call_async(f.port(), request(http::verb::get, "/busy"));
  REQUIRE(p->wait_calls(1));
  auto first = http_call(f.port(), request(http::verb::get, "/busy"));
  REQUIRE(first);
  CHECK(first->result_int() == 503);
  CHECK(header_of(*first, "Retry-After") == "7");
  CHECK(header_of(*first, service_do_not_retry_header).empty());
  auto retry =
    http_call(f.port(), request(http::verb::get, "/busy", {},
                                {{std::string{attempt_header}, "2"}}));
  REQUIRE(retry);
  CHECK(retry->result_int() == 503);
  CHECK(header_of(*retry, "Retry-After") == "7");
  CHECK(header_of(*retry, service_do_not_retry_header) == "1");

  caf::anon_send(slow, release_atom::value, std::string{"finally"});
  auto ra = get_result(a);
  REQUIRE(ra);
  CHECK(ra->result_int() == 200);
  CHECK(ra->body() == "finally");
  CHECK(p->count() == 1);
  CHECK(svc.stats().overloaded == 2);

  // With the slot free again, the next request is served.
  auto after = call_async(f.port(), request(http::verb::get, "/busy"));
  REQUIRE(p->wait_calls(2));
  caf::anon_send(slow, release_atom::value, std::string{"again"});
  auto rafter = get_result(after);
  REQUIRE(rafter);
  CHECK(rafter->body() == "again");
}

TEST_CASE("a route actor that dies is answered 503, during and after",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto doomed = f.held(p);
  svc.route("GET", "/doomed", doomed);
  svc.start();
  auto a = call_async(f.port(), request(http::verb::get, "/doomed"));
  REQUIRE(p->wait_calls(1));
  caf::anon_send_exit(doomed, caf::exit_reason::kill);
  auto ra = get_result(a);
  REQUIRE(ra);
  CHECK(ra->result_int() == 503);
  CHECK(header_of(*ra, "Retry-After") == "1");
  CHECK(ra->body() == R"({"error":"route actor is not running"})");
  auto rb = http_call(f.port(), request(http::verb::get, "/doomed"));
  REQUIRE(rb);
  CHECK(rb->result_int() == 503);
  CHECK(svc.stats().unavailable == 2);
  CHECK(svc.in_flight() == 0);
}

TEST_CASE("a function route that throws answers 500 and the route goes on",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  std::atomic<int> calls{0};
  svc.route("GET", "/flaky", service_function{[&calls](const service_request&) {
              if (++calls == 1)
                throw std::runtime_error("boom");
              service_response res;
              res.body = "fine";
              return res;
            }});
  svc.start();
  auto r1 = http_get(f.port(), "/flaky");
  REQUIRE(r1);
  CHECK(r1->result_int() == 500);
  CHECK(r1->body() == R"({"error":"handler failed: boom"})");
  auto r2 = http_get(f.port(), "/flaky");
  REQUIRE(r2);
  CHECK(r2->body() == "fine");
}

TEST_CASE("stop stops accepting and lets an in-flight slow request finish",
          "[actors][http][service]") {
  fixture f;
  http_service_options opts;
  opts.grace = std::chrono::seconds(10);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/slow", slow);
  svc.start();
  auto port = f.port();
  auto a = call_async(port, request(http::verb::get, "/slow"));
  REQUIRE(p->wait_calls(1));
  auto stopper = std::async(std::launch::async, [&svc] { svc.stop(); });
  // Once the listening socket is closed, stop() is draining.
  REQUIRE(eventually([port] {
    http_test_client probe_client{port, std::chrono::seconds(1)};
    return !probe_client.connect();
  }));
  CHECK(stopper.wait_for(std::chrono::milliseconds(0))
        == std::future_status::timeout);
  caf::anon_send(slow, release_atom::value, std::string{"made it"});
  auto ra = get_result(a);
  REQUIRE(ra);
  CHECK(ra->result_int() == 200);
  CHECK(ra->body() == "made it");
  REQUIRE(stopper.wait_for(bound) == std::future_status::ready);
  CHECK(svc.stats().shut_down == 0);
}

TEST_CASE(
  "stop answers 503 to what is still running when the grace period ends",
  "[actors][http][service]") {
  fixture f;
  http_service_options opts;
  opts.grace = std::chrono::milliseconds(100);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  svc.route("GET", "/stuck", f.held(p));
  svc.start();
  auto a = call_async(f.port(), request(http::verb::get, "/stuck"));
  REQUIRE(p->wait_calls(1));
  auto stopper = std::async(std::launch::async, [&svc] { svc.stop(); });
  auto ra = get_result(a);
  REQUIRE(ra);
  CHECK(ra->result_int() == 503);
  CHECK(ra->body() == R"({"error":"service is shutting down"})");
  CHECK(header_of(*ra, "Retry-After") == "1");
  REQUIRE(stopper.wait_for(bound) == std::future_status::ready);
  CHECK(svc.stats().shut_down == 1);
  CHECK(svc.in_flight() == 0);
}

TEST_CASE("to_string names every overload_signal", "[actors][http][service]") {
  CHECK(to_string(overload_signal::never) == "never");
  CHECK(to_string(overload_signal::retries) == "retries");
  CHECK(to_string(overload_signal::always) == "always");
}

TEST_CASE("an execution that outlives its caller's deadline is still recorded, "
          "so the caller's retry gets its answer",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/ship", slow, ropts);
  svc.start();
  auto ship = [&](std::string deadline_ms) {
    return http_call(f.port(),
                     request(http::verb::post, "/ship", "box",
                             {{std::string{idempotency_key_header}, "s-1"},
                              {std::string{deadline_ms_header}, deadline_ms}}));
  };
  auto first = ship("100");
  REQUIRE(first);
  CHECK(first->result_int() == 504);
  CHECK(p->count() == 1);
  caf::anon_send(slow, release_atom::value, std::string{"shipped"});
  auto retry = ship("5000");
  REQUIRE(retry);
  CHECK(retry->result_int() == 200);
  CHECK(retry->body() == "shipped");
  CHECK(p->count() == 1);
}

TEST_CASE("a ledger route answers each caller 504 at its own deadline, an "
          "earlier deadline that arrives later first",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto stuck = f.held(p);
  route_options ropts;
  ropts.ledger = ledger_config{};
  svc.route("POST", "/ship", stuck, ropts);
  svc.start();
  auto ship = [&](std::string key, std::string deadline_ms) {
    return call_async(
      f.port(), request(http::verb::post, "/ship", "box",
                        {{std::string{idempotency_key_header}, key},
                         {std::string{deadline_ms_header}, deadline_ms}}));
  };
  // The ledger keeps one timer for the earliest caller deadline: the later
  // request's shorter deadline has to move it forward.
  auto slow = ship("a", "1500");
  REQUIRE(p->wait_calls(1));
  auto fast = ship("b", "100");
  REQUIRE(p->wait_calls(2));
  auto rf = get_result(fast);
  REQUIRE(rf);
  CHECK(rf->result_int() == 504);
  CHECK(slow.wait_for(std::chrono::seconds(0)) != std::future_status::ready);
  auto rs = get_result(slow);
  REQUIRE(rs);
  CHECK(rs->result_int() == 504);
  CHECK(svc.stats().timed_out == 2);
  CHECK(svc.in_flight() == 0);
  caf::anon_send(stuck, release_atom::value, std::string{"late"});
}

TEST_CASE("waiters of an execution that exceeds in_progress_timeout are told "
          "to retry, and a full waiter list rejects at once",
          "[actors][http][service][ledger]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  auto stuck = f.held(p);
  route_options slow_ledger;
  slow_ledger.ledger = ledger_config{};
  slow_ledger.ledger->in_progress_timeout = std::chrono::milliseconds(200);
  svc.route("POST", "/stuck", stuck, slow_ledger);
  route_options no_waiters;
  no_waiters.ledger = ledger_config{};
  no_waiters.ledger->max_waiters_per_key = 0;
  svc.route("POST", "/alone", stuck, no_waiters);
  svc.start();
  auto post = [&](std::string path) {
    return call_async(f.port(),
                      request(http::verb::post, path, "",
                              {{std::string{idempotency_key_header}, "k"}}));
  };
  auto a = post("/stuck");
  REQUIRE(p->wait_calls(1));
  auto b = post("/stuck");
  auto rb = get_result(b);
  REQUIRE(rb);
  CHECK(rb->result_int() == 503);
  CHECK(header_of(*rb, "Retry-After") == "1");
  CHECK(rb->body().find("did not finish in time; retry") != std::string::npos);

  auto c = post("/alone");
  REQUIRE(p->wait_calls(2));
  auto d = post("/alone");
  auto rd = get_result(d);
  REQUIRE(rd);
  CHECK(rd->result_int() == 503);
  CHECK(rd->body() == R"({"error":"idempotency ledger is full"})");
  CHECK(svc.stats().ledger_rejected == 1);
  caf::anon_send(stuck, release_atom::value, std::string{"late"});
  auto ra = get_result(a);
  auto rc = get_result(c);
  REQUIRE(ra);
  REQUIRE(rc);
  CHECK(rc->body() == "late");
}

TEST_CASE("concurrent clients on kept-alive connections each get exactly one "
          "answer",
          "[actors][http][service]") {
  fixture f;
  http_service_options opts;
  opts.server.threads = 2;
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  svc.route("POST", "/n/*", f.counting(p));
  svc.start();
  constexpr int clients = 6;
  constexpr int per_client = 40;
  std::vector<std::future<int>> done;
  for (int c = 0; c < clients; ++c)
    done.push_back(std::async(std::launch::async, [port = f.port(), c] {
      http_test_client client{port};
      if (!client.connect())
        return -1;
      int ok = 0;
      for (int i = 0; i < per_client; ++i) {
        auto path = "/n/" + std::to_string(c) + "/" + std::to_string(i);
        auto res = client.roundtrip(request(http::verb::post, path, "x"));
        if (res && res->result_int() == 200
            && res->body().rfind("POST " + path + " ", 0) == 0)
          ++ok;
      }
      return ok;
    }));
  for (auto& d : done) {
    REQUIRE(d.wait_for(bound) == std::future_status::ready);
    CHECK(d.get() == per_client);
  }
  CHECK(p->count() == clients * per_client);
  CHECK(svc.stats().dispatched == clients * per_client);
  CHECK(svc.in_flight() == 0);
}

TEST_CASE("a route actor that does not understand service_request answers 500",
          "[actors][http][service]") {
  fixture f;
  auto& svc = f.make();
  f.spawned.push_back(
    f.sys.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; }));
  svc.route("GET", "/confused", f.spawned.back());
  svc.start();
  auto res =
    http_call(f.port(), request(http::verb::get, "/confused", {},
                                {{std::string{deadline_ms_header}, "5000"}}));
  REQUIRE(res);
  CHECK(res->result_int() == 500);
  CHECK(res->body().find("route actor failed") != std::string::npos);
}

// -- trust at the edge (issue 12) -------------------------------------------------

namespace {

/// A route actor like a careless keyed service: it counts a side effect,
/// then reads `amount` as an integer, which throws for 1.5 (Boost.JSON's
/// to_number refuses an inexact conversion) and ends the actor.
caf::behavior throwing_actor(caf::event_based_actor*, probe_ptr p) {
  return {[p](service_request& req) -> service_response {
    p->called(req);
    auto v = boost::json::parse(req.body);
    auto amount = v.at("amount").to_number<long>();
    return json_reply(boost::json::object{{"charged", amount}});
  }};
}

} // namespace

TEST_CASE("a factory route whose actor throws answers that request 500, "
          "starts a new actor and keeps serving",
          "[actors][http][service][hostile]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  std::atomic<int> made{0};
  svc.route("POST", "/charge",
            route_actor_factory{[p, &made](caf::actor_system& sys) {
              ++made;
              return sys.spawn(throwing_actor, p);
            }});
  svc.start();
  auto bad = http_call(
    f.port(), request(http::verb::post, "/charge", R"({"amount": 1.5})"));
  REQUIRE(bad);
  CHECK(bad->result_int() == 500);
  CHECK(bad->body().find("route actor failed") != std::string::npos);
  // The next request is served by a new incarnation (polled: the keeper
  // restarts it when the down message arrives).
  std::optional<http_response> good;
  CHECK(eventually([&] {
    good = http_call(f.port(),
                     request(http::verb::post, "/charge", R"({"amount": 7})"));
    return good && good->result_int() == 200;
  }));
  REQUIRE(good);
  CHECK(good->body() == R"({"charged":7})");
  CHECK(made == 2);
  CHECK(svc.stats().route_restarts == 1);
  CHECK(svc.stats().route_failures == 1);
}

TEST_CASE("on a ledger route a failed handler commits nothing: the key is "
          "forgotten and its retry executes once",
          "[actors][http][service][hostile]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  route_options keyed;
  keyed.ledger = ledger_config{};
  svc.route("POST", "/charge", route_actor_factory{[p](caf::actor_system& sys) {
              return sys.spawn(throwing_actor, p);
            }},
            keyed);
  std::atomic<int> fn_calls{0};
  svc.route("POST", "/refund", service_function{[&](const service_request&) {
              if (++fn_calls == 1)
                throw std::runtime_error("bad\r\ninput\xff");
              return json_reply(boost::json::object{{"refunded", true}});
            }},
            keyed);
  svc.start();
  auto key = std::pair<std::string, std::string>{"Idempotency-Key", "o-1"};
  auto r1 = http_call(f.port(), request(http::verb::post, "/charge",
                                        R"({"amount": 1.5})", {key}));
  REQUIRE(r1);
  CHECK(r1->result_int() == 500);
  std::optional<http_response> r2;
  CHECK(eventually([&] {
    r2 = http_call(f.port(), request(http::verb::post, "/charge",
                                     R"({"amount": 5})", {key}));
    return r2 && r2->result_int() == 200;
  }));
  REQUIRE(r2);
  CHECK(r2->body() == R"({"charged":5})");
  // A duplicate now gets the committed answer without executing.
  auto calls = p->count();
  auto r3 = http_call(
    f.port(), request(http::verb::post, "/charge", R"({"amount": 9})", {key}));
  REQUIRE(r3);
  CHECK(r3->body() == R"({"charged":5})");
  CHECK(p->count() == calls);
  // A function route that throws: 500 with the message made safe (one line,
  // valid UTF-8), not recorded, the retry executes.
  auto f1 = http_call(f.port(), request(http::verb::post, "/refund", "{}",
                                        {{"Idempotency-Key", "o-1-refund"}}));
  REQUIRE(f1);
  CHECK(f1->result_int() == 500);
  CHECK(f1->body() == R"({"error":"handler failed: bad\\x0D\\x0Ainput\\xFF"})");
  auto f2 = http_call(f.port(), request(http::verb::post, "/refund", "{}",
                                        {{"Idempotency-Key", "o-1-refund"}}));
  REQUIRE(f2);
  CHECK(f2->result_int() == 200);
  CHECK(fn_calls == 2);
  // Only the two committed executions count.
  CHECK(svc.stats().ledger_executed == 2);
  CHECK(svc.stats().route_failures == 2);
}

TEST_CASE("an invalid or repeated Idempotency-Key is answered 400 before any "
          "route runs",
          "[actors][http][service][hostile]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  svc.route("POST", "/charge", f.counting(p));
  svc.start();
  auto call_with = [&](std::vector<std::pair<std::string, std::string>> h) {
    auto res = http_call(
      f.port(), request(http::verb::post, "/charge", "{}", std::move(h)));
    REQUIRE(res);
    return std::make_pair(res->result_int(), res->body());
  };
  auto [s1, b1] = call_with({{"Idempotency-Key", "a b"}});
  CHECK(s1 == 400);
  CHECK(b1
        == R"x({"error":"bad Idempotency-Key header: contains a space )x"
           R"x((0x20) at byte 1; allowed: visible ASCII 0x21-0x7E"})x");
  CHECK(call_with({{"Idempotency-Key", std::string(256, 'k')}}).first == 400);
  CHECK(call_with({{"Idempotency-Key", "caf\xc3\xa9"}}).first == 400);
  auto req = request(http::verb::post, "/charge", "{}");
  req.insert("Idempotency-Key", "k1");
  req.insert("idempotency-key", "k2");
  auto dup = http_call(f.port(), std::move(req));
  REQUIRE(dup);
  CHECK(dup->result_int() == 400);
  CHECK(dup->body() == R"({"error":"more than one Idempotency-Key header"})");
  CHECK(p->count() == 0);
  CHECK(call_with({{"Idempotency-Key", "ok-1"}}).first == 200);
  CHECK(svc.stats().bad_requests == 4);
}

TEST_CASE("invalid_body_reply lists every error with its JSON Pointer",
          "[actors][http][service][hostile]") {
  error_list errs;
  errs.add(json_path{} / "order_id", "contains a NUL (0x00) at byte 5");
  errs.add(json_path{} / "qty", "must be an integer (got: 1.5E0)");
  auto res = invalid_body_reply(errs);
  CHECK(res.status == 400);
  CHECK(res.body
        == R"x({"error":"invalid request body: /order_id: contains a NUL )x"
           R"x((0x00) at byte 5","errors":["/order_id: contains a NUL (0x00) )x"
           R"x(at byte 5","/qty: must be an integer (got: 1.5E0)"]})x");
}

#if !defined(__SANITIZE_ADDRESS__)
namespace {

/// Bytes malloc has handed out and not got back (arenas + mmapped chunks).
std::size_t malloc_in_use() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

} // namespace
#endif

// Each request runs in a bridge actor that monitors the service's anchor and
// the route actor. CAF 0.17 keeps a monitor after its monitoring actor ends,
// and the monitor's weak reference keeps that actor's storage (~1.2 KB)
// allocated as long as the monitored actor lives, so a bridge that quits
// without demonitoring leaked ~1.2 KB per request (issue #7).
TEST_CASE("requests served one after another leave no memory behind per "
          "request",
          "[actors][http][service]") {
#if defined(__SANITIZE_ADDRESS__)
  SUCCEED("mallinfo2 does not see the sanitizer's allocator");
#else
  fixture f;
  auto& svc = f.make();
  f.spawned.push_back(f.sys.spawn([]() -> caf::behavior {
    return {[](service_request&) {
      service_response res;
      res.content_type = "text/plain";
      res.body = "ok";
      return res;
    }};
  }));
  svc.route("GET", "/item", f.spawned.back());
  svc.start();
  http_test_client client{f.port()};
  REQUIRE(client.connect());
  auto run = [&](int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      auto res = client.roundtrip(request(http::verb::get, "/item"));
      if (res && res->result_int() == 200)
        ++ok;
    }
    return ok;
  };
  // Warm-up: connection buffers, thread caches, CAF's per-thread pools.
  REQUIRE(run(500) == 500);
  REQUIRE(eventually([&] { return svc.in_flight() == 0; }));
  auto before = malloc_in_use();
  constexpr int n = 4000;
  REQUIRE(run(n) == n);
  REQUIRE(eventually([&] { return svc.in_flight() == 0; }));
  auto after = malloc_in_use();
  auto per_request =
    after > before ? static_cast<double>(after - before) / n : 0.0;
  CAPTURE(before, after, per_request);
  // Leaking bridges cost ~1,200 bytes per request; what is left is noise
  // from allocator caches (tens of bytes per request at most).
  CHECK(per_request < 150.0);
  CHECK(svc.stats().dispatched == 500 + n);
#endif
}

TEST_CASE("criticality and trace context reach the route: a valid "
          "traceparent is the parent, anything else starts a new trace",
          "[actors][http][service][context]") {
  fixture f;
  http_service_options opts;
  opts.trace_seed = 7;
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  svc.route("POST", "/work", f.counting(p));
  svc.start();
  const std::string tp =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto traced = http_call(
    f.port(), request(http::verb::post, "/work", "x",
                      {{std::string{criticality_header}, "sheddable"},
                       {std::string{traceparent_header}, tp},
                       {std::string{tracestate_header}, "rojo=1 , congo=2"}}));
  REQUIRE(traced);
  CHECK(traced->result_int() == 200);
  REQUIRE(p->count() == 1);
  // A copy: the requests below grow `p->seen`, which moves its elements.
  const auto seen = p->seen[0];
  CHECK(seen.crit == criticality::sheddable);
  CHECK(to_string(seen.trace.trace) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(seen.trace.parent_id == 0x00f067aa0ba902b7ULL);
  CHECK(seen.trace.flags == 1);
  CHECK(seen.trace.tracestate == "rojo=1,congo=2");
  CHECK(seen.span_id != 0);
  CHECK(seen.span_id != seen.trace.parent_id);

  // Invalid, repeated or absent: a new trace here, no parent, no state.
  auto bad_tp = tp;
  bad_tp[3] = 'X';
  auto twice = request(http::verb::post, "/work", "x",
                       {{std::string{traceparent_header}, tp}});
  twice.insert(traceparent_header, tp);
  for (auto& req : {request(http::verb::post, "/work", "x",
                            {{std::string{traceparent_header}, bad_tp},
                             {std::string{tracestate_header}, "rojo=1"}}),
                    twice, request(http::verb::post, "/work", "x")}) {
    auto res = http_call(f.port(), req);
    REQUIRE(res);
    CHECK(res->result_int() == 200);
  }
  REQUIRE(p->count() == 4);
  for (int i = 1; i < 4; ++i) {
    auto& x = p->seen[static_cast<std::size_t>(i)];
    CHECK_FALSE(x.trace.empty());
    CHECK(x.trace.parent_id == 0);
    CHECK(x.trace.tracestate.empty());
    CHECK(x.trace.trace != seen.trace.trace);
    CHECK(x.span_id != 0);
    CHECK(x.crit == criticality::standard);
  }
  // An invalid tracestate is dropped, the traceparent kept.
  auto dropped = http_call(
    f.port(), request(http::verb::post, "/work", "x",
                      {{std::string{traceparent_header}, tp},
                       {std::string{tracestate_header}, "Bad Key=1"}}));
  REQUIRE(dropped);
  REQUIRE(p->count() == 5);
  CHECK(p->seen[4].trace.parent_id == 0x00f067aa0ba902b7ULL);
  CHECK(p->seen[4].trace.tracestate.empty());

  // An unknown criticality is a 400 naming the header; the route never runs.
  auto unknown =
    http_call(f.port(), request(http::verb::post, "/work", "x",
                                {{std::string{criticality_header}, "urgent"}}));
  REQUIRE(unknown);
  CHECK(unknown->result_int() == 400);
  CHECK(unknown->body()
        == R"({"error":"bad Bulwark-Criticality header: expected critical, )"
           R"(standard or sheddable"})");
  CHECK(p->count() == 5);
}

namespace {

std::string request_header(const service_request& req, std::string_view name) {
  for (auto& [n, v] : req.headers)
    if (boost::beast::iequals(n, name))
      return v;
  return {};
}

} // namespace

TEST_CASE("with overload control a slow route under overload starts the "
          "newest request first, sheds sheddable work but not critical, "
          "answers expired work 504 and every request exactly once",
          "[actors][http][service][overload]") {
  fixture f;
  http_service_options opts;
  opts.retry_after = std::chrono::seconds(3);
  opts.overload.enabled = true;
  opts.overload.max_concurrent_per_route = 1;
  // Small, so the test's queue is overloaded within milliseconds; the shed
  // level reaches "every sheddable request" after two overloaded intervals
  // and never comes down while the test looks.
  opts.overload.queue.target = std::chrono::milliseconds(1);
  opts.overload.queue.interval = std::chrono::milliseconds(10);
  opts.overload.queue.shed_step_up = 0.5;
  opts.overload.queue.shed_step_down = 0;
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/slow", slow);
  svc.start();

  auto with = [](std::string crit, std::string order,
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back(std::string{criticality_header}, std::move(crit));
    extra.emplace_back("X-Order", std::move(order));
    return request(http::verb::get, "/slow", {}, std::move(extra));
  };
  // The one slot is taken and held.
  auto first = call_async(f.port(), with("critical", "first"));
  REQUIRE(p->wait_calls(1));
  // Three critical requests queue up behind it, in a known order.
  std::vector<std::future<std::optional<http_response>>> critical;
  for (int i = 1; i <= 3; ++i) {
    critical.push_back(
      call_async(f.port(), with("critical", "c" + std::to_string(i))));
    REQUIRE(eventually([&] { return svc.stats().queued == std::uint64_t(i); }));
  }
  // One whose caller gives up after 40 ms: answered 504 at its deadline,
  // never run.
  auto expiring =
    call_async(f.port(), with("critical", "expiring",
                              {{std::string{deadline_ms_header}, "40"}}));
  auto rexp = get_result(expiring);
  REQUIRE(rexp);
  CHECK(rexp->result_int() == 504);
  // Sheddable requests are shed (on arrival or from the queue) while the
  // critical ones keep waiting.
  auto s1 = call_async(f.port(), with("sheddable", "s1"));
  auto s2 = call_async(f.port(), with("sheddable", "s2"));
  for (auto* fut : {&s1, &s2}) {
    auto r = get_result(*fut);
    REQUIRE(r);
    CHECK(r->result_int() == 503);
    CHECK(header_of(*r, "Retry-After") == "3");
    CHECK(header_of(*r, service_do_not_retry_header) == "1");
  }
  auto mid = svc.stats();
  CHECK(mid.queued == 3);
  CHECK(mid.overloaded_routes == 1);
  CHECK(mid.shed_sheddable == 2);
  CHECK(mid.shed_critical == 0);
  CHECK(mid.expired_in_queue == 1);
  CHECK(p->count() == 1);

  // Each release frees the slot: the newest waiting request starts next.
  std::vector<std::string> order;
  for (int i = 2; i <= 4; ++i) {
    caf::anon_send(slow, release_atom::value, std::string{"done"});
    REQUIRE(p->wait_calls(i));
    std::lock_guard<std::mutex> guard{p->mtx};
    order.push_back(request_header(p->seen.back(), "X-Order"));
  }
  caf::anon_send(slow, release_atom::value, std::string{"done"});
  CHECK(order == std::vector<std::string>{"c3", "c2", "c1"});
  auto rfirst = get_result(first);
  REQUIRE(rfirst);
  CHECK(rfirst->result_int() == 200);
  for (auto& c : critical) {
    auto r = get_result(c);
    REQUIRE(r);
    CHECK(r->result_int() == 200);
  }
  // Exactly one answer each: 4 served, 2 shed, 1 expired, nothing else.
  REQUIRE(eventually([&] { return svc.in_flight() == 0; }));
  auto end = svc.stats();
  CHECK(end.received == 7);
  CHECK(end.shed_sheddable + end.shed_standard + end.shed_critical == 2);
  CHECK(end.expired_in_queue == 1);
  CHECK(end.timed_out == 0);
  CHECK(end.started_newest_first >= 2);
  CHECK(end.queued == 0);
  CHECK(p->count() == 4);
  // Drained, the route turns calm at its next interval's end.
  CHECK(eventually([&] { return svc.stats().overloaded_routes == 0; }));
}

TEST_CASE("overload control is off by default and refuses a config it cannot "
          "run",
          "[actors][http][service][overload]") {
  http_service_options defaults;
  CHECK_FALSE(defaults.overload.enabled);
  fixture f;
  http_service_options opts;
  opts.overload.enabled = true;
  opts.overload.max_concurrent_per_route = 0;
  CHECK_THROWS_AS(f.make(opts), std::invalid_argument);
  opts.overload.max_concurrent_per_route = 1;
  opts.overload.queue.interval = duration{0};
  CHECK_THROWS_AS(f.make(opts), std::invalid_argument);
}

TEST_CASE("with overload control and no overload a route serves its requests "
          "in arrival order, one at a time",
          "[actors][http][service][overload]") {
  fixture f;
  http_service_options opts;
  opts.overload.enabled = true;
  // A target no test run reaches: never overloaded.
  opts.overload.queue.target = std::chrono::seconds(60);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/slow", slow);
  svc.start();
  auto get = [&](std::string order) {
    return call_async(
      f.port(), request(http::verb::get, "/slow", {},
                        {{"X-Order", std::move(order)},
                         {std::string{criticality_header}, "sheddable"}}));
  };
  auto a = get("a");
  REQUIRE(p->wait_calls(1));
  std::vector<std::future<std::optional<http_response>>> rest;
  for (int i = 1; i <= 3; ++i) {
    rest.push_back(get("q" + std::to_string(i)));
    REQUIRE(eventually([&] { return svc.stats().queued == std::uint64_t(i); }));
  }
  // Held in the queue, not in the route actor's mailbox.
  CHECK(p->count() == 1);
  std::vector<std::string> order;
  for (int i = 2; i <= 4; ++i) {
    caf::anon_send(slow, release_atom::value, std::string{"done"});
    REQUIRE(p->wait_calls(i));
    std::lock_guard<std::mutex> guard{p->mtx};
    order.push_back(request_header(p->seen.back(), "X-Order"));
  }
  caf::anon_send(slow, release_atom::value, std::string{"done"});
  CHECK(order == std::vector<std::string>{"q1", "q2", "q3"});
  for (auto& r : rest) {
    auto res = get_result(r);
    REQUIRE(res);
    CHECK(res->result_int() == 200);
  }
  CHECK(svc.stats().shed_sheddable == 0);
  CHECK(svc.stats().started_newest_first == 0);
}

TEST_CASE("stop answers requests waiting in an overload-control queue 503 and "
          "takes them out of the queued gauge",
          "[actors][http][service][overload]") {
  fixture f;
  http_service_options opts;
  opts.overload.enabled = true;
  opts.grace = std::chrono::milliseconds(0);
  auto& svc = f.make(opts);
  auto p = std::make_shared<probe>();
  auto slow = f.held(p);
  svc.route("GET", "/slow", slow);
  svc.start();
  auto a = call_async(f.port(), request(http::verb::get, "/slow"));
  REQUIRE(p->wait_calls(1));
  auto b = call_async(f.port(), request(http::verb::get, "/slow"));
  auto c = call_async(f.port(), request(http::verb::get, "/slow"));
  REQUIRE(eventually([&] { return svc.stats().queued == 2; }));
  svc.stop();
  for (auto* fut : {&a, &b, &c}) {
    auto r = get_result(*fut);
    REQUIRE(r);
    CHECK(r->result_int() == 503);
  }
  CHECK(eventually([&] { return svc.stats().queued == 0; }));
  CHECK(svc.stats().shut_down == 3);
  CHECK(p->count() == 1);
}

TEST_CASE("a service's objectives count 5xx answers and the 503s of "
          "admission, not 4xx",
          "[actors][http][service][objective]") {
  fixture f;
  http_service_options opts;
  opts.objective.enabled = true;
  opts.objective.availability = 0.9;
  auto& svc = f.make(opts);
  svc.route("GET", "/ok", service_function{[](const service_request&) {
              return service_response{};
            }});
  svc.route("GET", "/broken", service_function{[](const service_request&) {
              service_response res;
              res.status = 500;
              return res;
            }});
  svc.start();
  for (int i = 0; i < 3; ++i)
    REQUIRE(http_get(f.port(), "/ok"));
  auto broken = http_get(f.port(), "/broken");
  REQUIRE(broken);
  CHECK(broken->result_int() == 500);
  // Not a route: answered 404 before admission, the caller's mistake.
  REQUIRE(http_get(f.port(), "/nothing"));
  auto o = svc.stats().objective;
  CHECK(o.events == 4);
  CHECK(o.bad_availability == 1);
  CHECK(o.availability_target_ppm == 900000);
  // 1 of 4 bad against a 10% budget.
  CHECK(o.availability_burn_milli[0] == 2500);
}

TEST_CASE("a service refuses objective targets out of range",
          "[actors][http][service][objective]") {
  fixture f;
  http_service_options opts;
  opts.objective.availability = 1.0;
  CHECK_THROWS_AS(f.make(opts), std::invalid_argument);
}

// -- progressive answers ----------------------------------------------------------

namespace {

/// A route actor calling a dependency progressively, as a handler would:
/// it relays the preliminary reply with to_preliminary_response at once
/// (twice: the service must take only the first) and answers the final one
/// on `(release_atom, body)` as text/plain.
caf::behavior progressive_actor(caf::stateful_actor<held_state>* self,
                                probe_ptr p) {
  return {
    [self, p](service_request& req) -> caf::response_promise {
      // Before make_response_promise, which takes the sender (CAF 0.17).
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      call_reply prelim;
      prelim.ok = true;
      prelim.payload = R"({"price":2})";
      prelim.source = reply_source::stale_cache;
      prelim.preliminary = true;
      prelim.reason = preliminary_reason::retrying;
      prelim.age_ns = 2'500'000'000;
      auto res = to_preliminary_response(std::move(prelim));
      res.content_type = "application/json";
      self->send(requester, preliminary_atom::value, res);
      res.body = "a second preliminary";
      self->send(requester, preliminary_atom::value, res);
      self->state.held.push_back(rp);
      p->called(req);
      return rp;
    },
    [self](release_atom, const std::string& body) {
      for (auto& rp : self->state.held) {
        service_response res;
        res.content_type = "text/plain";
        res.body = body;
        rp.deliver(res);
      }
      self->state.held.clear();
    },
  };
}

const std::string prelim_doc =
  R"({"preliminary":true,"status":200,"reason":"retrying","age_ms":2500,)"
  R"("body":{"price":2}})";

/// The final body: a CR LF in it must not break an event or a line.
const std::string final_body = "line one\r\n\r\nevent: final\r\nline two";
const std::string final_doc =
  R"({"preliminary":false,"status":200,)"
  R"("body":"line one\r\n\r\nevent: final\r\nline two"})";

struct progressive_fixture : fixture {
  probe_ptr p = std::make_shared<probe>();
  caf::actor route_actor;

  explicit progressive_fixture(progressive_mode mode,
                               http_service_options opts = {}) {
    auto& svc = make(std::move(opts));
    spawned.push_back(sys.spawn(progressive_actor, p));
    route_actor = spawned.back();
    route_options ropts;
    ropts.progressive = mode;
    svc.route("GET", "/price", route_actor, ropts);
    svc.start();
  }

  void release() {
    caf::anon_send(route_actor, release_atom::value, final_body);
  }
};

http_request accepting(std::string accept) {
  return request(http::verb::get, "/price", {},
                 {{"Accept", std::move(accept)}});
}

/// The token in a `Link: </bulwark/final/<token>>; rel="bulwark-final"`.
std::string token_of(const http_response& res) {
  auto link = header_of(res, "Link");
  const std::string prefix = "</bulwark/final/";
  const std::string suffix = R"(>; rel="bulwark-final")";
  if (link.size() != prefix.size() + 32 + suffix.size()
      || link.compare(0, prefix.size(), prefix) != 0
      || link.compare(prefix.size() + 32, suffix.size(), suffix) != 0)
    return {};
  return link.substr(prefix.size(), 32);
}

bool lower_hex(const std::string& x) {
  return std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

} // namespace

TEST_CASE("an SSE client gets the preliminary event at once and the final "
          "event when it lands, then the stream ends",
          "[actors][http][service][progressive]") {
  progressive_fixture f{progressive_mode::stream};
  http_test_client client{f.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send(accepting("text/event-stream")));
  // The preliminary arrives while the final is still held.
  REQUIRE(
    client.read_until("event: preliminary\ndata: " + prelim_doc + "\n\n"));
  CHECK(f.svc->stats().preliminary_answers == 1);
  CHECK(f.svc->in_flight() == 1);
  f.release();
  auto res = client.read_response(); // Beast checks the chunked framing
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(header_of(*res, "Content-Type") == "text/event-stream");
  CHECK(res->chunked());
  // Exactly one preliminary (the second was dropped) and one final; the
  // final body's CR LF are escaped inside its one data line.
  CHECK(res->body()
        == "event: preliminary\ndata: " + prelim_doc
             + "\n\nevent: final\ndata: " + final_doc + "\n\n");
  CHECK(f.svc->stats().preliminary_answers == 1);
  CHECK(eventually([&] { return f.svc->in_flight() == 0; }));
  // The connection serves the next request.
  REQUIRE(client.send(accepting("text/event-stream")));
  REQUIRE(client.read_until("event: preliminary"));
  f.release();
  auto again = client.read_response();
  REQUIRE(again);
  CHECK(again->body().find("event: final") != std::string::npos);
}

TEST_CASE("an NDJSON client gets one JSON document per line: the preliminary "
          "then the final",
          "[actors][http][service][progressive]") {
  progressive_fixture f{progressive_mode::stream};
  auto reply = call_async(
    f.port(), accepting("application/json;q=0.5, application/x-ndjson"));
  REQUIRE(f.p->wait_calls(1));
  f.release();
  auto res = get_result(reply);
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(header_of(*res, "Content-Type") == "application/x-ndjson");
  CHECK(res->body() == prelim_doc + "\n" + final_doc + "\n");
  auto lines = res->body();
  auto first = boost::json::parse(lines.substr(0, lines.find('\n')));
  CHECK(first.at("preliminary").as_bool());
  CHECK(first.at("reason").as_string() == "retrying");
  CHECK(first.at("age_ms").as_int64() == 2500);
  CHECK(f.svc->stats().preliminary_answers == 1);
}

TEST_CASE("plain mode answers the preliminary with its header and a link, "
          "and the link answers 202 until the final is there, then the final",
          "[actors][http][service][progressive]") {
  auto mode = GENERATE(progressive_mode::plain, progressive_mode::stream);
  INFO("mode " << to_string(mode) << " (stream without a stream Accept)");
  progressive_fixture f{mode};
  auto res = http_call(f.port(), accepting("application/json"));
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(res->body() == R"({"price":2})");
  CHECK(header_of(*res, "Bulwark-Preliminary") == "retrying; age=2500");
  auto token = token_of(*res);
  REQUIRE(token.size() == 32);
  CHECK(lower_hex(token));
  auto before = http_get(f.port(), "/bulwark/final/" + token);
  REQUIRE(before);
  CHECK(before->result_int() == 202);
  CHECK(header_of(*before, "Retry-After") == "1");
  f.release();
  std::optional<http_response> after;
  CHECK(eventually([&] {
    after = http_get(f.port(), "/bulwark/final/" + token);
    return after && after->result_int() != 202;
  }));
  REQUIRE(after);
  CHECK(after->result_int() == 200);
  CHECK(after->body() == final_body);
  CHECK(header_of(*after, "Bulwark-Final") == "1");
  CHECK(header_of(*after, "Content-Type") == "text/plain");
  // Fetching again gets the same final until it expires.
  auto again = http_get(f.port(), "/bulwark/final/" + token);
  REQUIRE(again);
  CHECK(again->body() == final_body);
  auto s = f.svc->stats();
  CHECK(s.preliminary_answers == 1);
  CHECK(s.finals_fetched == 2);
  CHECK(s.finals_expired == 0);
  CHECK(s.in_flight == 0);
  // Another method on the final's path is refused.
  auto post =
    http_call(f.port(), request(http::verb::post, "/bulwark/final/" + token));
  REQUIRE(post);
  CHECK(post->result_int() == 405);
}

TEST_CASE("a final is gone once its TTL passed or the count cap evicted it",
          "[actors][http][service][progressive]") {
  http_service_options opts;
  SECTION("TTL") {
    opts.final_store.ttl = std::chrono::milliseconds(1);
    progressive_fixture f{progressive_mode::plain, opts};
    auto res = http_call(f.port(), accepting("*/*"));
    REQUIRE(res);
    auto token = token_of(*res);
    REQUIRE(!token.empty());
    f.release();
    // 202 while pending, then 200 for at most 1 ms, then 404 for good.
    CHECK(eventually([&] {
      auto r = http_get(f.port(), "/bulwark/final/" + token);
      return r && r->result_int() == 404;
    }));
    auto gone = http_get(f.port(), "/bulwark/final/" + token);
    REQUIRE(gone);
    CHECK(gone->result_int() == 404);
    CHECK(gone->body().find(token) == std::string::npos);
    CHECK(f.svc->stats().finals_expired == 1);
  }
  SECTION("count cap") {
    opts.final_store.max_entries = 1;
    progressive_fixture f{progressive_mode::plain, opts};
    auto first = http_call(f.port(), accepting("*/*"));
    auto second = http_call(f.port(), accepting("*/*"));
    REQUIRE(first);
    REQUIRE(second);
    auto old_token = token_of(*first);
    auto new_token = token_of(*second);
    REQUIRE(!old_token.empty());
    CHECK(old_token != new_token);
    auto evicted = http_get(f.port(), "/bulwark/final/" + old_token);
    REQUIRE(evicted);
    CHECK(evicted->result_int() == 404);
    auto kept = http_get(f.port(), "/bulwark/final/" + new_token);
    REQUIRE(kept);
    CHECK(kept->result_int() == 202);
    CHECK(f.svc->stats().finals_expired == 1);
    f.release();
  }
}

TEST_CASE("hostile and unknown final tokens are answered 400 or 404 without "
          "echoing them",
          "[actors][http][service][progressive]") {
  progressive_fixture f{progressive_mode::plain};
  auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 gen{seed};
  std::vector<std::string> corpus{
    "",
    std::string(31, 'a'),
    std::string(33, 'a'),
    std::string(64, 'b'),
    std::string(32, 'A'),
    std::string(31, 'a') + "g",
    "..",
    "../../etc/passwd",
    "%2e%2e%2f%2e%2e",
    std::string(29, 'a') + "%0a",
    std::string(26, 'a') + "%0d%0a",
    std::string(30, 'a') + "/x",
    std::string(32, 'a') + "/",
    std::string(32, 'a') + "?x=1", // the query is not the token: 404
    "<script>alert(1)</script>",
  };
  const std::string alphabet = "0123456789abcdefABCDEF.%/-_~!$&'()*+,;=:@gz";
  for (int i = 0; i < 200; ++i) {
    std::uniform_int_distribution<std::size_t> len{0, 40};
    std::uniform_int_distribution<std::size_t> pick{0, alphabet.size() - 1};
    std::string t;
    for (auto n = len(gen); n > 0; --n)
      t += alphabet[pick(gen)];
    corpus.push_back(t);
  }
  for (auto& t : corpus) {
    INFO("token [" << t << "]");
    auto res = http_get(f.port(), "/bulwark/final/" + t);
    REQUIRE(res);
    bool valid = t.size() >= 32 && lower_hex(t.substr(0, 32))
                 && (t.size() == 32 || t[32] == '?');
    CHECK(res->result_int() == (valid ? 404 : 400));
    if (t.size() >= 8)
      CHECK(res->body().find(t) == std::string::npos);
  }
  // CR LF in the target never reach the service (the server refuses them).
  http_test_client client{f.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw("GET /bulwark/final/" + std::string(16, 'a')
                          + "\r\nX-Evil: " + std::string(16, 'b')
                          + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto out = client.read_all();
  CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(out.find(std::string(16, 'b')) == std::string::npos);
  CHECK(f.svc->stats().finals_fetched == 0);
}

TEST_CASE("a route without the progressive option answers only the final",
          "[actors][http][service][progressive]") {
  progressive_fixture f{progressive_mode::off};
  auto reply = call_async(f.port(), accepting("text/event-stream"));
  REQUIRE(f.p->wait_calls(1));
  f.release();
  auto res = get_result(reply);
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(res->body() == final_body);
  CHECK(header_of(*res, "Bulwark-Preliminary").empty());
  CHECK(header_of(*res, "Link").empty());
  CHECK_FALSE(res->chunked());
  CHECK(f.svc->stats().preliminary_answers == 0);
  // Without progressive routes the final path is no route of the service.
  auto none = http_get(f.port(), "/bulwark/final/" + std::string(32, 'a'));
  REQUIRE(none);
  CHECK(none->result_int() == 404);
  CHECK(none->body().find("no route") != std::string::npos);
}

TEST_CASE("a final that comes before any preliminary is a plain answer, "
          "except to an SSE client, which gets a stream with the final event",
          "[actors][http][service][progressive]") {
  fixture f;
  auto& svc = f.make();
  auto p = std::make_shared<probe>();
  route_options ropts;
  ropts.progressive = progressive_mode::stream;
  svc.route("GET", "/price", f.counting(p), ropts);
  svc.start();
  auto sse = http_call(f.port(), accepting("text/event-stream"));
  REQUIRE(sse);
  CHECK(header_of(*sse, "Content-Type") == "text/event-stream");
  CHECK(sse->body()
        == "event: final\ndata: "
           R"({"preliminary":false,"status":200,"body":"GET /price 1"})"
           "\n\n");
  auto nd = http_call(f.port(), accepting("application/x-ndjson"));
  REQUIRE(nd);
  CHECK(header_of(*nd, "Content-Type") == "text/plain");
  CHECK(nd->body() == "GET /price 2");
  auto plain = http_call(f.port(), accepting("*/*"));
  REQUIRE(plain);
  CHECK(plain->body() == "GET /price 3");
  CHECK(header_of(*plain, "Link").empty());
  CHECK(svc.stats().preliminary_answers == 0);
}

TEST_CASE("progressive options are checked when the service and its routes "
          "are made",
          "[actors][http][service][progressive]") {
  CHECK(to_string(progressive_mode::off) == "off");
  CHECK(to_string(progressive_mode::stream) == "stream");
  CHECK(to_string(progressive_mode::plain) == "plain");
  {
    fixture f;
    http_service_options opts;
    opts.final_store.max_entries = 0;
    CHECK_THROWS_AS(f.make(opts), std::invalid_argument);
  }
  fixture f;
  auto& svc = f.make();
  route_options ropts;
  ropts.progressive = progressive_mode::plain;
  ropts.ledger = ledger_config{};
  CHECK_THROWS_AS(
    svc.route("POST", "/pay", f.counting(std::make_shared<probe>()), ropts),
    std::invalid_argument);
}

namespace {

// The route actor of docs/http_service.md ("Progressive answers"), as
// written there.
struct price_route_state {
  std::uint64_t next_id = 1;
  // The service's bridge that asked, by call id.
  std::unordered_map<std::uint64_t, caf::actor> requester;
};

caf::behavior price_route(caf::stateful_actor<price_route_state>* self,
                          caf::actor pricing) {
  return {
    [=](service_request& req) -> caf::response_promise {
      auto call = downstream_call(req, "get_price", req.query);
      call.id = self->state.next_id++;
      call.progressive = true; // a preliminary at the soft deadline
      // Before make_response_promise: in CAF 0.17 it takes the sender.
      self->state.requester[call.id] =
        caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      auto id = call.id;
      // The service answers 504 at the request's deadline anyway.
      self->request(pricing, caf::infinite, std::move(call))
        .then([=](call_reply& r) mutable {
          self->state.requester.erase(id);
          rp.deliver(to_service_response(std::move(r)));
        });
      return rp;
    },
    // An ordinary message from the dependency actor, before the final reply.
    [=](preliminary_atom, call_reply& r) {
      auto i = self->state.requester.find(r.id);
      if (i != self->state.requester.end())
        self->send(i->second, preliminary_atom::value,
                   to_preliminary_response(std::move(r)));
    },
  };
}

struct fake_dependency_state {
  std::vector<std::pair<std::uint64_t, caf::response_promise>> held;
};

/// Speaks the dependency actor's progressive protocol: a progressive call
/// gets `(preliminary_atom, call_reply)` from the stale cache at once and
/// its final reply on `(release_atom, payload)`.
caf::behavior
fake_dependency(caf::stateful_actor<fake_dependency_state>* self) {
  return {
    [self](call_request& req) -> caf::response_promise {
      auto caller = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      if (req.progressive) {
        call_reply prelim;
        prelim.id = req.id;
        prelim.ok = true;
        prelim.payload = "2";
        prelim.source = reply_source::stale_cache;
        prelim.preliminary = true;
        prelim.reason = preliminary_reason::awaiting_answer;
        prelim.age_ns = 40'000'000'000;
        self->send(caller, preliminary_atom::value, prelim);
      }
      self->state.held.emplace_back(req.id, rp);
      return rp;
    },
    [self](release_atom, const std::string& payload) {
      for (auto& [id, rp] : self->state.held) {
        call_reply final_reply;
        final_reply.id = id;
        final_reply.ok = true;
        final_reply.payload = payload;
        rp.deliver(final_reply);
      }
      self->state.held.clear();
    },
  };
}

} // namespace

TEST_CASE("the documented route actor relays a progressive dependency call's "
          "preliminary and final replies to an SSE client",
          "[actors][http][service][progressive]") {
  fixture f;
  auto& svc = f.make();
  f.spawned.push_back(f.sys.spawn(fake_dependency));
  auto pricing = f.spawned.back();
  f.spawned.push_back(f.sys.spawn(price_route, pricing));
  route_options ropts;
  ropts.progressive = progressive_mode::stream;
  svc.route("GET", "/price", f.spawned.back(), ropts);
  svc.start();
  http_test_client client{f.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send(accepting("text/event-stream")));
  REQUIRE(client.read_until("event: preliminary\ndata: "
                            R"({"preliminary":true,"status":200,)"
                            R"("reason":"awaiting_answer","age_ms":40000,)"
                            R"("body":"2"})"
                            "\n\n"));
  caf::anon_send(pricing, release_atom::value, std::string{"3"});
  auto res = client.read_response();
  REQUIRE(res);
  CHECK(res->body().find("event: final\ndata: "
                         R"({"preliminary":false,"status":200,"body":"3"})"
                         "\n\n")
        != std::string::npos);
  CHECK(svc.stats().preliminary_answers == 1);
}

namespace {

/// Answers at once, and sends a preliminary before or after the final (by
/// the request's `order` query: "before", "after", "none"), so the service
/// sees both orders; a preliminary after the final must never reach anyone.
caf::behavior racing_actor(caf::event_based_actor* self) {
  return {
    [self](service_request& req) -> caf::response_promise {
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      service_response prelim;
      prelim.content_type = "text/plain";
      prelim.body = "old";
      prelim.headers.emplace_back("Bulwark-Preliminary", "retrying; age=5");
      service_response final_res;
      final_res.content_type = "text/plain";
      final_res.body = "new";
      if (req.query == "order=before")
        self->send(requester, preliminary_atom::value, prelim);
      rp.deliver(final_res);
      if (req.query == "order=after")
        self->send(requester, preliminary_atom::value, prelim);
      return rp;
    },
  };
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + what.size()))
    ++n;
  return n;
}

} // namespace

TEST_CASE("concurrent progressive requests each get exactly one final and at "
          "most one preliminary, never after the final",
          "[actors][http][service][progressive]") {
  fixture f;
  auto& svc = f.make();
  f.spawned.push_back(f.sys.spawn(racing_actor));
  route_options ropts;
  ropts.progressive = progressive_mode::stream;
  svc.route("GET", "/race", f.spawned.back(), ropts);
  svc.start();
  auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::vector<std::future<std::vector<std::string>>> clients;
  for (unsigned c = 0; c < 4; ++c)
    clients.push_back(std::async(std::launch::async, [c, seed,
                                                      port = f.port()] {
      std::mt19937 gen{seed + c};
      const char* orders[] = {"before", "after", "none"};
      std::vector<std::string> problems;
      http_test_client client{port};
      if (!client.connect())
        return std::vector<std::string>{"connect failed"};
      for (int i = 0; i < 25; ++i) {
        auto order = orders[gen() % 3];
        auto res = client.roundtrip(
          request(http::verb::get, std::string{"/race?order="} + order, {},
                  {{"Accept", "text/event-stream"}}));
        if (!res) {
          problems.push_back(std::string{order} + ": no answer");
          continue;
        }
        auto& body = res->body();
        auto finals = occurrences(body, "event: final\n");
        auto prelims = occurrences(body, "event: preliminary\n");
        if (finals != 1 || prelims > 1
            || (prelims == 1
                && body.find("event: preliminary") > body.find("event: final"))
            || body.find(R"("body":"new")") == std::string::npos)
          problems.push_back(std::string{order} + ": " + body);
      }
      return problems;
    }));
  for (auto& c : clients) {
    REQUIRE(c.wait_for(bound) == std::future_status::ready);
    auto problems = c.get();
    for (auto& p : problems)
      UNSCOPED_INFO(p);
    CHECK(problems.empty());
  }
  auto s = svc.stats();
  CHECK(s.preliminary_answers <= 100);
  CHECK(s.in_flight == 0);
}

TEST_CASE("stop answers an open progressive stream with a 503 final event "
          "and ends it",
          "[actors][http][service][progressive]") {
  http_service_options opts;
  opts.grace = std::chrono::milliseconds(50);
  progressive_fixture f{progressive_mode::stream, opts};
  http_test_client client{f.port()};
  REQUIRE(client.connect());
  REQUIRE(client.send(accepting("text/event-stream")));
  REQUIRE(client.read_until("event: preliminary"));
  f.svc->stop(); // the route actor still holds the request
  auto res = client.read_response();
  REQUIRE(res);
  CHECK(occurrences(res->body(), "event: final\n") == 1);
  CHECK(res->body().find(R"("preliminary":false,"status":503)")
        != std::string::npos);
  CHECK(f.svc->stats().shut_down == 1);
}
