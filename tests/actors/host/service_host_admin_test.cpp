// The service host behind its admin server, over real loopback HTTP in a real
// (threaded) actor system — the admin server is the subject, so CAF's
// deterministic scheduler cannot drive it: a member restarted after
// `PUT /config` runs the new configuration and `/config`, `/flags`,
// `/metrics` and `/journeys` address its new incarnation; a `PUT /config`
// changing a supervisor's failover shows in the calls, and a bad one
// changes nothing. Every wait is bounded; nothing sleeps.
// purity: real time — the restart of a member is awaited by a bounded loop
// of actor round trips against a real clock deadline.
#include "bulwark/actors/host/service_host.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "tests/actors/admin/admin_fixture.hpp"
#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

constexpr auto bound = admin_test_bound;

std::string document(int a_attempts, const std::string& s_extra = "") {
  return R"({"dependencies": {
    "a": {"idempotency": "idempotent", "breaker": {"mode": "disabled"},
          "retry": {"max_attempts": )"
         + std::to_string(a_attempts) + R"(, "per_attempt_timeout": "1s",
            "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}}},
    "b": {"idempotency": "idempotent"}},
  "supervisors": {"s": {"members": ["a", "b"],
    "outlier_detection": {"enabled": false},
    "restart": {"min_backoff": "0s", "random_factor": 0})"
         + s_extra + "}}}";
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  std::shared_ptr<std::atomic<int>> a_attempts =
    std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<service_host> host;

  fixture() {
    service_host_options o;
    auto count = a_attempts;
    o.transports.emplace("a", [count](caf::actor_system& s) {
      return spawn_function_transport(s, [count](const attempt_request&) {
        ++*count;
        return status_result(500);
      });
    });
    o.transports.emplace("b", [](caf::actor_system& s) {
      return spawn_function_transport(
        s, [](const attempt_request&) { return success_result("b"); });
    });
    o.admin.emplace();
    o.journey_sample = 1;
    auto r = service_host::start(sys, document(1), std::move(o));
    INFO(boost::json::serialize(boost::json::value_from(r.errors)));
    REQUIRE(r.ok());
    host = std::move(r.host);
    REQUIRE(host->admin() != nullptr);
  }

  ~fixture() {
    host.reset();
  }

  std::uint16_t port() const {
    return host->admin()->port();
  }

  std::optional<http_response> put_config(const std::string& body) {
    auto req = make_request(http::verb::put, "/config", body);
    req.set(http::field::content_type, "application/json");
    return http_call(port(), std::move(req));
  }

  boost::json::value get_json(const std::string& target) {
    auto res = http_get(port(), target);
    REQUIRE(res);
    INFO(res->body());
    REQUIRE(res->result() == http_status::ok);
    return body_json(*res);
  }

  call_reply call(std::uint64_t id) {
    call_request req;
    req.id = id;
    req.operation = "get";
    req.idempotency_key = "key-" + std::to_string(id);
    return call_and_wait(sys, host->supervisor("s"), req);
  }

  std::vector<caf::actor> members() {
    caf::scoped_actor self{sys};
    std::vector<caf::actor> out;
    self->request(host->supervisor("s"), bound, members_atom::value)
      .receive([&](members_atom, std::vector<caf::actor>& xs) { out = xs; },
               [&](caf::error& err) { FAIL_CHECK(sys.render(err)); });
    return out;
  }

  /// Kills member a and waits (bounded) until its supervisor runs a new one.
  void crash_a() {
    auto old = host->find("a");
    REQUIRE(old);
    {
      caf::scoped_actor self{sys};
      self->monitor(old);
      self->send_exit(old, caf::exit_reason::kill);
      bool down = false;
      self->receive([&](caf::down_msg&) { down = true; },
                    caf::after(bound) >> [] {});
      REQUIRE(down);
    }
    auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      auto xs = members();
      if (xs.size() == 2 && xs[0] && xs[0] != old)
        break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
    }
    CHECK(host->find("a") != old);
    CHECK(host->registry()->incarnation("a") == 2);
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a member restarted after PUT /config runs the new "
                 "configuration and every admin endpoint addresses it",
                 "[actors][host][admin]") {
  auto res = put_config(document(3));
  REQUIRE(res);
  INFO(res->body());
  REQUIRE(res->result() == http_status::ok);
  crash_a();
  // Behaviour: the new incarnation of a makes three attempts.
  auto before = a_attempts->load();
  bool failed_at_a = false;
  std::uint64_t journey = 0;
  for (std::uint64_t id = 1; id <= 2 && !failed_at_a; ++id) {
    auto r = call(id);
    CHECK(r.ok); // b answers after a failed
    if (a_attempts->load() > before) {
      failed_at_a = true;
      journey = r.journey_id;
    }
  }
  REQUIRE(failed_at_a);
  CHECK(a_attempts->load() - before == 3);
  // /config shows the document the new incarnation runs.
  auto config = get_json("/config");
  CHECK(config.at("dependencies").at("a").at("retry").at("max_attempts") == 3);
  // /flags, /metrics, /journeys reach the new incarnation (a dead handle
  // would show as "is not running", no series, no journey).
  auto flags = get_json("/flags");
  CHECK(flags.at("dependencies").at("a").is_object());
  auto metrics = http_get(port(), "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body().find("dependency=\"a\"") != std::string::npos);
  CHECK(metrics->body().find("supervisor=\"s\"") != std::string::npos);
  auto failed = get_json("/journeys?failed=1");
  CHECK(failed.at("unavailable").as_object().empty());
  CHECK_FALSE(failed.at("failed").at("a").as_array().empty());
  auto one = get_json("/journeys/" + std::to_string(journey));
  CHECK(one.at("journeys").as_object().contains("a"));
}

TEST_CASE_METHOD(fixture,
                 "PUT /config changing a supervisor's failover shows in the "
                 "calls, and a bad one changes nothing",
                 "[actors][host][admin]") {
  // Failover on: a's failures go to b, every call succeeds.
  for (std::uint64_t id = 1; id <= 2; ++id)
    CHECK(call(id).ok);
  auto bad = put_config(document(1, R"(, "failover": false, "routing": "x")"));
  REQUIRE(bad);
  CHECK(bad->result() == http_status::bad_request);
  for (std::uint64_t id = 3; id <= 4; ++id)
    CHECK(call(id).ok);
  auto good = put_config(document(1, R"(, "failover": false)"));
  REQUIRE(good);
  INFO(good->body());
  REQUIRE(good->result() == http_status::ok);
  // Round robin without failover: one of two calls starts at a and fails.
  int failures = 0;
  for (std::uint64_t id = 5; id <= 6; ++id)
    failures += call(id).ok ? 0 : 1;
  CHECK(failures == 1);
}

TEST_CASE_METHOD(fixture,
                 "an attached HTTP service is exported by the admin server "
                 "and stopped before the actors",
                 "[actors][host][admin]") {
  http_service_options so;
  auto& svc = host->attach("front", std::make_unique<http_service>(sys, so));
  svc.route("GET", "/ok", service_function{[](const service_request&) {
              service_response r;
              r.body = "ok";
              return r;
            }});
  svc.start();
  REQUIRE(http_get(svc.port(), "/ok"));
  REQUIRE(http_get(svc.port(), "/missing"));
  auto res = http_get(port(), "/metrics");
  REQUIRE(res);
  auto& text = res->body();
  CHECK(text.find("bulwark_http_service_requests_total{service=\"front\"} 2\n")
        != std::string::npos);
  CHECK(text.find("bulwark_http_service_rejected_total{service=\"front\","
                  "reason=\"not_found\"} 1\n")
        != std::string::npos);
  // What the host restarts itself is there too, so giving up is visible.
  CHECK(text.find("bulwark_host_given_up{actor=\"a\",kind=\"transport\"} 0\n")
        != std::string::npos);
  CHECK(
    text.find("bulwark_host_crashes_total{actor=\"s\",kind=\"supervisor\"} 0\n")
    != std::string::npos);
  // The dependencies are still there, in the same scrape.
  CHECK(text.find("bulwark_requests_total{dependency=\"a\"}")
        != std::string::npos);
  // Names are checked; one name once.
  CHECK_THROWS_AS(host->attach("front", std::make_unique<http_service>(sys)),
                  std::invalid_argument);
  CHECK_THROWS_AS(host->attach("a b", std::make_unique<http_service>(sys)),
                  std::invalid_argument);
  CHECK_THROWS_AS(host->attach("", std::make_unique<http_service>(sys)),
                  std::invalid_argument);
  CHECK_THROWS_AS(host->attach("x", nullptr), std::invalid_argument);
  // stop_services() stops the service and nothing else: the dependencies
  // still answer.
  auto port_of_svc = svc.port();
  host->stop_services();
  CHECK_FALSE(http_get(port_of_svc, "/ok"));
  CHECK(call(1).ok);
  CHECK(host->alias("s"));
  CHECK_FALSE(host->alias("nope"));
}
