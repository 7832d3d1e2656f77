// The admin endpoints over real loopback sockets, in front of real dependency
// actors in a real (threaded) CAF actor system: the server does real I/O, so
// CAF's deterministic test scheduler cannot drive it. Every wait is bounded
// (the test client's deadline, request timeouts); nothing sleeps.
#include "bulwark/actors/admin/admin_server.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <caf/all.hpp>

#include <condition_variable>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"
#include "tests/actors/admin/admin_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/actors/admin/flags_fuzz.hpp"
#include "tests/actors/http/http_fuzz.hpp"
#include "tests/actors/http/hostile_run.hpp"
#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

constexpr auto bound = admin_test_bound;

// Two dependencies; "payments" starts with a single attempt and a 1 ms
// constant backoff, so a retry policy change shows in one call.
const std::string initial_document = R"({"dependencies": {
  "payments": {"idempotency": "idempotent",
               "retry": {"max_attempts": 1, "per_attempt_timeout": "1s",
                         "backoff": {"kind": "constant", "jitter": "none",
                                     "base": "1ms"}}},
  "inventory": {"idempotency": "idempotent"}
}})";

const std::string three_attempts_document = R"({"dependencies": {
  "payments": {"idempotency": "idempotent",
               "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
                         "backoff": {"kind": "constant", "jitter": "none",
                                     "base": "1ms"}}},
  "inventory": {"idempotency": "idempotent"}
}})";

/// Every error the validator reports for `text`, as "PATH: message".
std::vector<std::string> error_strings(const std::string& text) {
  auto result = parse_bulwark_config(text);
  std::vector<std::string> out;
  for (auto& e : result.errors.errors())
    out.push_back(e.to_string());
  return out;
}

/// Fails the first two attempts of every idempotency key, then succeeds.
struct flaky_downstream {
  std::mutex mtx;
  std::map<std::string, int> seen;

  attempt_result operator()(const attempt_request& req) {
    std::lock_guard<std::mutex> guard{mtx};
    if (++seen[req.idempotency_key] <= 2)
      return class_result(failure_class::transient);
    return success_result("paid " + req.payload);
  }
};

struct admin_fixture : admin_actors<flaky_downstream> {
  admin_fixture() : admin_actors(initial_document, 1) {}

  /// One call (operation "charge", payload = key), waited for with a bound.
  call_reply call(const std::string& dep, const std::string& key) {
    return admin_actors::call(dep, "charge", key, key);
  }

  std::optional<http_response> put_config(const std::string& body,
                                          const std::string& auth = {}) {
    auto req = make_request(http::verb::put, "/config", body);
    req.set(http::field::content_type, "application/json");
    if (!auth.empty())
      req.set(http::field::authorization, auth);
    return http_call(port(), std::move(req));
  }

  /// The stats object of dependency `name`, asked directly.
  boost::json::object stats(const std::string& name) {
    caf::scoped_actor self{sys};
    boost::json::object result;
    self->request(deps.at(name), bound, stats_atom::value)
      .receive([&](stats_atom, dependency_stats& s) { result = to_json(s); },
               [&](caf::error& err) { FAIL_CHECK(sys.render(err)); });
    return result;
  }

  /// Kills dependency `name` and waits until it is gone.
  void kill(const std::string& name) {
    caf::scoped_actor self{sys};
    auto handle = caf::actor_cast<caf::actor>(deps.at(name));
    self->monitor(handle);
    self->send_exit(handle, caf::exit_reason::kill);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(bound) >> [] {});
    REQUIRE(down);
  }
};

} // namespace

TEST_CASE_METHOD(admin_fixture, "GET /healthz answers while the process lives",
                 "[actors][admin]") {
  start();
  auto res = get("/healthz");
  REQUIRE(res);
  CHECK(res->result() == http_status::ok);
  CHECK((*res)[http::field::content_type] == "application/json");
  CHECK(res->body() == R"({"status":"alive"})");
}

TEST_CASE_METHOD(admin_fixture,
                 "GET /readyz is 200 when every dependency actor answers and "
                 "503 naming the one that does not",
                 "[actors][admin]") {
  start();
  auto ready = get("/readyz");
  REQUIRE(ready);
  CHECK(ready->result() == http_status::ok);
  CHECK(
    ready->body()
    == R"({"status":"ready","dependencies":{"inventory":"ready","payments":"ready"}})");
  kill("inventory");
  auto not_ready = get("/readyz");
  REQUIRE(not_ready);
  CHECK(not_ready->result() == http_status::service_unavailable);
  CHECK(error_of(*not_ready)
        == "not ready: dependency \"inventory\" is not running");
}

TEST_CASE_METHOD(admin_fixture,
                 "GET /metrics renders every dependency's stats as Prometheus "
                 "text",
                 "[actors][admin]") {
  start();
  call("payments", "m1");
  auto res = get("/metrics");
  REQUIRE(res);
  CHECK(res->result() == http_status::ok);
  CHECK((*res)[http::field::content_type]
        == "text/plain; version=0.0.4; charset=utf-8");
  auto& text = res->body();
  CHECK(text.find("# TYPE bulwark_requests_total counter")
        != std::string::npos);
  CHECK(text.find("bulwark_requests_total{dependency=\"payments\"} 1\n")
        != std::string::npos);
  CHECK(text.find("bulwark_requests_total{dependency=\"inventory\"} 0\n")
        != std::string::npos);
  SECTION("a custom renderer gets the stats of every dependency") {
    admin.reset();
    admin_options opts;
    opts.render_metrics =
      [](const std::vector<std::pair<std::string, dependency_stats>>& deps) {
        std::string out;
        for (auto& [name, stats] : deps)
          out += name + " " + std::to_string(stats.requests) + "\n";
        return out;
      };
    start(opts);
    auto custom = get("/metrics");
    REQUIRE(custom);
    CHECK(custom->body() == "inventory 0\npayments 1\n");
  }
}

TEST_CASE_METHOD(admin_fixture, "GET /config shows the current document",
                 "[actors][admin]") {
  start();
  auto res = get("/config");
  REQUIRE(res);
  CHECK(res->result() == http_status::ok);
  CHECK(res->body() == pretty_json(to_json(config)));
  auto again = parse_bulwark_config(res->body());
  REQUIRE(again.ok());
  CHECK(again.config->find("payments")->retry.max_attempts == 1);
}

TEST_CASE_METHOD(admin_fixture,
                 "PUT /config changes a running dependency's retry policy, "
                 "observed in its behaviour",
                 "[actors][admin]") {
  start();
  auto before = call("payments", "before");
  CHECK_FALSE(before.ok);
  CHECK(before.attempts == 1);

  auto res = put_config(three_attempts_document);
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::ok);
  CHECK(
    res->body()
    == R"({"status":"applied","applied":["inventory","payments"],"not_running":[]})");

  auto after = call("payments", "after");
  CHECK(after.ok);
  CHECK(after.attempts == 3);
  CHECK(after.payload == "paid after");

  auto shown = get("/config");
  REQUIRE(shown);
  CHECK(shown->body()
        == pretty_json(to_json(parse_ok(three_attempts_document))));
}

TEST_CASE_METHOD(admin_fixture,
                 "a bad PUT /config lists every error and changes nothing",
                 "[actors][admin]") {
  start();
  auto config_before = get("/config");
  REQUIRE(config_before);
  std::string bad;
  std::vector<std::string> expected;
  SECTION("several invalid values") {
    bad = R"({"dependencies": {
      "payments": {"idempotency": "idempotent", "bogus": 1,
                   "retry": {"max_attempts": 0, "per_attempt_timeout": "soon"}},
      "inventory": {"idempotency": "maybe"}}})";
    expected = error_strings(bad);
    REQUIRE(expected.size() >= 4);
    std::string all;
    for (auto& e : expected)
      all += e + "\n";
    for (auto path : {"/dependencies/payments/bogus",
                      "/dependencies/payments/retry/max_attempts",
                      "/dependencies/payments/retry/per_attempt_timeout",
                      "/dependencies/inventory/idempotency"})
      CHECK(all.find(std::string{path} + ": ") != std::string::npos);
  }
  SECTION("not JSON at all") {
    bad = R"({"dependencies": {"payments": )";
    expected = error_strings(bad);
    REQUIRE(expected.size() == 1);
  }
  SECTION("a running dependency left out") {
    bad = R"({"dependencies": {"inventory": {"idempotency": "idempotent"}}})";
    expected = {"/dependencies/payments: is required (a running dependency "
                "actor serves \"payments\")"};
  }
  SECTION("a cluster section the running process did not start with") {
    bad = R"({"dependencies": {"payments": {"idempotency": "idempotent"},
                               "inventory": {"idempotency": "idempotent"}},
              "cluster": {"node": "a"}})";
    expected = {"/cluster: changes need a restart"};
  }
  auto res = put_config(bad);
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::bad_request);
  auto body = body_json(*res).as_object();
  CHECK(std::string{body.at("error").as_string()}.rfind(
          "configuration rejected (", 0)
        == 0);
  std::vector<std::string> listed;
  for (auto& e : body.at("errors").as_array())
    listed.emplace_back(e.as_string());
  CHECK(listed == expected);

  // Nothing changed: the actor still makes one attempt, the document is the
  // same, and the actor saw no configuration at all.
  auto after = call("payments", "unchanged");
  CHECK_FALSE(after.ok);
  CHECK(after.attempts == 1);
  auto config_after = get("/config");
  REQUIRE(config_after);
  CHECK(config_after->body() == config_before->body());
  for (auto name : {"payments", "inventory"}) {
    CAPTURE(name);
    auto st = stats(name);
    CHECK(st.at("config_applied").to_number<int>() == 0);
    CHECK(st.at("config_rejected").to_number<int>() == 0);
  }
}

TEST_CASE_METHOD(admin_fixture,
                 "PUT /config skips dependency actors that are not running",
                 "[actors][admin]") {
  start();
  kill("inventory");
  auto res = put_config(three_attempts_document);
  REQUIRE(res);
  CHECK(res->result() == http_status::ok);
  CHECK(
    res->body()
    == R"({"status":"applied","applied":["payments"],"not_running":["inventory"]})");
  CHECK(call("payments", "k").attempts == 3);
}

TEST_CASE_METHOD(admin_fixture,
                 "concurrent PUT /config requests apply one after the other",
                 "[actors][admin]") {
  start();
  std::vector<std::future<std::optional<http_response>>> puts;
  for (int i = 0; i < 4; ++i)
    puts.push_back(std::async(std::launch::async, [this, i] {
      return put_config(i % 2 == 0 ? three_attempts_document
                                   : initial_document);
    }));
  for (auto& f : puts) {
    REQUIRE(f.wait_for(bound) == std::future_status::ready);
    auto res = f.get();
    REQUIRE(res);
    CHECK(res->result() == http_status::ok);
  }
  // Whatever the order, the document shown is the one the actor runs.
  auto shown = get("/config");
  REQUIRE(shown);
  auto attempts = parse_ok(shown->body()).find("payments")->retry.max_attempts;
  auto reply = call("payments", "final");
  CHECK(reply.attempts == attempts);
}

TEST_CASE_METHOD(admin_fixture,
                 "a PUT /config body over the limit is answered 413",
                 "[actors][admin]") {
  admin_options opts;
  opts.max_body = 1000;
  start(opts);
  auto res = put_config(std::string(2000, ' ') + three_attempts_document);
  REQUIRE(res);
  CHECK(res->result() == http_status::payload_too_large);
  CHECK(error_of(*res) == "request body larger than 1000 bytes");
  CHECK(call("payments", "k").attempts == 1);
}

TEST_CASE_METHOD(admin_fixture,
                 "a slowloris client is closed by the admin read timeout",
                 "[actors][admin]") {
  admin_options opts;
  opts.read_timeout = std::chrono::milliseconds(200);
  start(opts);
  http_test_client client{port(), std::chrono::seconds(5)};
  REQUIRE(client.connect());
  REQUIRE(client.send_raw(
    "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"depend"));
  auto out = client.read_all();
  CHECK_FALSE(client.timed_out());
  CHECK(out.empty());
  auto res = get("/healthz");
  REQUIRE(res);
  CHECK(res->result() == http_status::ok);
}

TEST_CASE_METHOD(
  admin_fixture,
  "journeys are served by id and as the failed list, and unknown "
  "ids are 404",
  "[actors][admin]") {
  start();
  auto failed = call("payments", "j1");
  REQUIRE_FALSE(failed.ok);
  auto id = failed.journey_id;
  REQUIRE(id != 0);

  auto list = get("/journeys?failed=1");
  REQUIRE(list);
  CHECK(list->result() == http_status::ok);
  auto body = body_json(*list).as_object();
  auto& payments = body.at("failed").as_object().at("payments").as_array();
  REQUIRE(payments.size() == 1);
  CHECK(payments[0].as_object().at("id").to_number<std::uint64_t>() == id);
  CHECK(payments[0].as_object().at("failed").as_bool());
  CHECK(body.at("failed").as_object().at("inventory").as_array().empty());

  auto one = get("/journeys/" + std::to_string(id));
  REQUIRE(one);
  CHECK(one->result() == http_status::ok);
  auto journey = body_json(*one).as_object();
  CHECK(journey.at("id").to_number<std::uint64_t>() == id);
  CHECK(journey.at("journeys")
          .as_object()
          .at("payments")
          .as_object()
          .at("id")
          .to_number<std::uint64_t>()
        == id);

  auto unknown = get("/journeys/987654321");
  REQUIRE(unknown);
  CHECK(unknown->result() == http_status::not_found);
  CHECK(error_of(*unknown)
        == "journey 987654321 not found (unknown, or no longer kept)");

  auto bad_id = get("/journeys/abc");
  REQUIRE(bad_id);
  CHECK(bad_id->result() == http_status::bad_request);
  CHECK(error_of(*bad_id)
        == R"(journey id must be an unsigned integer (got: "abc"))");

  auto no_filter = get("/journeys");
  REQUIRE(no_filter);
  CHECK(no_filter->result() == http_status::bad_request);
  CHECK(error_of(*no_filter)
        == "listing journeys needs ?failed=1 (one journey: /journeys/<id>)");
}

TEST_CASE_METHOD(admin_fixture,
                 "unknown paths are 404 and wrong methods 405 with Allow, "
                 "every error as JSON",
                 "[actors][admin]") {
  start();
  auto missing = get("/nope");
  REQUIRE(missing);
  CHECK(missing->result() == http_status::not_found);
  CHECK(error_of(*missing).rfind("no such endpoint: /nope", 0) == 0);

  struct row {
    http::verb method;
    std::string target;
    std::string allow;
  };
  for (auto& r : {row{http::verb::post, "/healthz", "GET"},
                  row{http::verb::delete_, "/config", "GET, PUT"},
                  row{http::verb::put, "/metrics", "GET"},
                  row{http::verb::post, "/readyz", "GET"},
                  row{http::verb::put, "/journeys/1", "GET"}}) {
    CAPTURE(r.target);
    auto res = http_call(port(), make_request(r.method, r.target));
    REQUIRE(res);
    CHECK(res->result() == http_status::method_not_allowed);
    CHECK((*res)[http::field::allow] == r.allow);
    CHECK(error_of(*res)
          == "method " + std::string{http::to_string(r.method)}
               + " is not allowed on " + r.target + " (allowed: " + r.allow
               + ")");
  }
}

TEST_CASE("control endpoints need a token off loopback", "[actors][admin]") {
  CHECK_FALSE(admin_requires_token("127.0.0.1", ""));
  CHECK_FALSE(admin_requires_token("::1", ""));
  CHECK(admin_requires_token("127.0.0.1", "t"));
  CHECK(admin_requires_token("0.0.0.0", ""));
  CHECK(admin_requires_token("10.1.2.3", "t"));
}

TEST_CASE_METHOD(admin_fixture,
                 "the admin server refuses a non-loopback address without a "
                 "token",
                 "[actors][admin]") {
  admin_options opts;
  opts.host = "0.0.0.0";
  try {
    start_admin_server(sys, config, deps, opts);
    FAIL("started without a token");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string{e.what()}
          == "admin server: refusing to listen on \"0.0.0.0\" without a "
             "token: control endpoints on a non-loopback address need "
             "admin_options::token (or bind 127.0.0.1)");
  }
}

TEST_CASE_METHOD(admin_fixture,
                 "with a token, PUT needs 'Authorization: Bearer <token>' and "
                 "GET does not",
                 "[actors][admin]") {
  admin_options opts;
  opts.token = "s3cret";
  start(opts);
  struct row {
    std::string auth;
    std::string error;
  };
  for (auto& r : {row{"", "missing bearer token: control endpoints need "
                          "'Authorization: Bearer <token>'"},
                  row{"Bearer wrong", "invalid bearer token"},
                  row{"Bearer s3cret2", "invalid bearer token"},
                  row{"Basic czNjcmV0", "the Authorization header is not "
                                        "'Bearer <token>'"}}) {
    CAPTURE(r.auth);
    auto res = put_config(three_attempts_document, r.auth);
    REQUIRE(res);
    CHECK(res->result() == http_status::unauthorized);
    CHECK((*res)[http::field::www_authenticate]
          == "Bearer realm=\"bulwark-admin\"");
    CHECK(error_of(*res) == r.error);
  }
  CHECK(call("payments", "still-one").attempts == 1);
  auto ok = put_config(three_attempts_document, "Bearer s3cret");
  REQUIRE(ok);
  CHECK(ok->result() == http_status::ok);
  auto shown = get("/config");
  REQUIRE(shown);
  CHECK(shown->result() == http_status::ok);
  CHECK(call("payments", "now-three").attempts == 3);
}

TEST_CASE_METHOD(admin_fixture,
                 "ten thousand hostile requests and random configs never stop "
                 "the admin server",
                 "[actors][admin][fuzz]") {
  auto seed = fuzz_seed();
  INFO("seed " << seed);
  std::cout << "admin fuzz seed " << seed
            << " (replay: BULWARK_FUZZ_SEED=" << seed << ")\n";
  admin_options opts;
  opts.read_timeout = std::chrono::milliseconds(200);
  start(opts);
  auto before = get("/config");
  REQUIRE(before);
  // 8,500 generic cases plus 1,500 at PUT/DELETE /flags/<name>.
  auto sum = run_fuzz(port(), seed, 8'500);
  run_flags_fuzz(port(), seed + 1, 1'500, sum);
  std::cout << "admin fuzz: " << describe(sum) << "\n";
  for (auto& p : sum.problems)
    UNSCOPED_INFO(p);
  CHECK(sum.problems.empty());
  CHECK(sum.cases == 10'000);
  CHECK(sum.kinds["random json-ish config"] > 300);
  CHECK(sum.kinds["flags: json-ish body"] > 300);

  auto health = get("/healthz");
  REQUIRE(health);
  CHECK(health->result() == http_status::ok);
  CHECK(health->body() == R"({"status":"alive"})");
  auto ready = get("/readyz");
  REQUIRE(ready);
  CHECK(ready->result() == http_status::ok);
  // No generated document names both running dependencies, so none applied.
  auto after = get("/config");
  REQUIRE(after);
  CHECK(after->body() == before->body());
  // Some generated flags bodies are valid and applied; whatever they were,
  // every actor runs the flags GET /flags says are set for it.
  auto flags = get("/flags");
  REQUIRE(flags);
  REQUIRE(flags->result() == http_status::ok);
  auto shown = body_json(*flags).as_object();
  auto& set = shown.at("flags").as_object();
  for (auto& [name, dep] : deps) {
    CAPTURE(name);
    auto& in_force = shown.at("dependencies").as_object().at(name);
    CHECK(in_force == (set.contains(name) ? set.at(name) : set.at("*")));
  }
}

TEST_CASE_METHOD(admin_fixture,
                 "the hostile corpus never breaks the admin server, and no "
                 "injected or hidden request is answered",
                 "[actors][admin][fuzz][hostile]") {
  auto seed = fuzz_seed();
  INFO("seed " << seed);
  std::cout << "admin hostile corpus seed " << seed
            << " (replay: BULWARK_FUZZ_SEED=" << seed << ")\n";
  admin_options opts;
  opts.read_timeout = std::chrono::milliseconds(200);
  start(opts);
  auto before = get("/config");
  REQUIRE(before);
  hostile_run_options run;
  run.port = port();
  run.profile = hostile_profile::admin;
  run.seed = seed;
  run.cases = 2'500;
  run.concurrency = 4;
  run.client_timeout = std::chrono::seconds(5);
  auto sum = run_hostile(run);
  std::cout << "admin hostile corpus: " << describe(sum) << "\n";
  for (auto& v : sum.violations)
    UNSCOPED_INFO("case " << v.index << " [" << v.category << ": " << v.kind
                          << "] " << v.what << "\n  bytes: " << v.bytes);
  CHECK(sum.ok());
  CHECK(sum.cases == 2'500);
  for (auto category : all_hostile_categories)
    CHECK(sum.categories[std::string{to_string(category)}] > 0);
  CHECK(sum.statuses[500] == 0);
  auto health = get("/healthz");
  REQUIRE(health);
  CHECK(health->result() == http_status::ok);
  // The corpus's configuration documents never name the running
  // dependencies, so none was applied.
  auto after = get("/config");
  REQUIRE(after);
  CHECK(after->body() == before->body());
}

namespace {

std::string with_supervisor(const std::string& supervisor,
                            const std::string& extra_deps = "") {
  return R"({"dependencies": {
  "payments": {"idempotency": "idempotent",
               "retry": {"max_attempts": 1, "per_attempt_timeout": "1s",
                         "backoff": {"kind": "constant", "jitter": "none",
                                     "base": "1ms"}}},
  "inventory": {"idempotency": "idempotent"})"
         + extra_deps + R"(}, "supervisors": {"s": )" + supervisor + "}}";
}

/// Supervisor "s" over its own payments and inventory actors, started
/// without a member factory (so it refuses to add members).
supervisor_actor spawn_plain_supervisor(admin_fixture& f) {
  auto doc =
    parse_ok(with_supervisor(R"({"members": ["payments", "inventory"]})"));
  supervisor_options o;
  o.config = *doc.find_supervisor("s");
  auto transport = f.spawned.front();
  for (auto& name : o.config.members) {
    auto dep_cfg = *doc.find(name);
    o.members.push_back(member_spec{
      name, [dep_cfg, transport](caf::actor_system& sys) {
        dependency_options d;
        d.config = dep_cfg;
        d.transport = transport;
        return caf::actor_cast<caf::actor>(spawn_dependency(sys, d));
      }});
  }
  auto sup = spawn_supervisor(f.sys, std::move(o));
  f.spawned.push_back(caf::actor_cast<caf::actor>(sup));
  return sup;
}

} // namespace

TEST_CASE_METHOD(admin_fixture,
                 "PUT /config reaches supervisors, and one that refuses it "
                 "rolls the dependencies back",
                 "[actors][admin][supervise]") {
  auto sup = spawn_plain_supervisor(*this);
  admin_options opts;
  opts.supervisors.emplace("s", sup);
  config =
    parse_ok(with_supervisor(R"({"members": ["payments", "inventory"]})"));
  start(std::move(opts));
  // Accepted by both dependencies and the supervisor.
  auto ok = put_config(with_supervisor(
    R"({"members": ["payments", "inventory"], "routing": "least_outstanding"})"));
  REQUIRE(ok);
  INFO(ok->body());
  REQUIRE(ok->result() == http_status::ok);
  std::vector<std::string> applied;
  auto ok_body = body_json(*ok);
  for (auto& x : ok_body.as_object().at("applied").as_array())
    applied.emplace_back(x.as_string());
  CHECK(applied == std::vector<std::string>{"inventory", "payments", "s"});
  auto shown = get("/config");
  REQUIRE(shown);
  CHECK(shown->body().find("least_outstanding") != std::string::npos);
  // Refused by the supervisor (it cannot start a new member): the
  // dependencies that applied it get the previous document back.
  auto refused = put_config(
    with_supervisor(R"({"members": ["payments", "inventory", "extra"]})",
                    R"(, "extra": {"idempotency": "idempotent"})"));
  REQUIRE(refused);
  INFO(refused->body());
  CHECK(refused->result() == http_status::bad_request);
  auto body = body_json(*refused).as_object();
  REQUIRE(body.at("errors").as_array().size() == 1);
  CHECK(std::string{body.at("errors").as_array()[0].as_string()}.rfind(
          "supervisor \"s\": /supervisors/s/members: cannot add \"extra\"", 0)
        == 0);
  for (auto name : {"payments", "inventory"}) {
    CAPTURE(name);
    // The accepted change, the refused one, and its rollback.
    CHECK(stats(name).at("config_applied").to_number<int>() == 3);
  }
  auto after = get("/config");
  REQUIRE(after);
  CHECK(after->body() == shown->body());
  // A document without the running supervisor is refused before anything
  // is sent.
  auto missing = put_config(initial_document);
  REQUIRE(missing);
  CHECK(missing->result() == http_status::bad_request);
  CHECK(missing->body().find(
          "/supervisors/s: is required (a running supervisor serves \\\"s\\\")")
        != std::string::npos);
  CHECK(stats("payments").at("config_applied").to_number<int>() == 3);
}

// -- assembled traces ------------------------------------------------------------

namespace {

/// The call's trace, sampled, with `upstream` as the span that sent it.
call_request traced_call(const std::string& key, const trace_id& trace,
                         std::uint64_t upstream) {
  call_request req;
  req.id = 1;
  req.operation = "charge";
  req.payload = key;
  req.idempotency_key = key;
  req.trace.trace = trace;
  req.trace.parent_id = 0x5e5e;
  req.trace.flags = trace_flag_sampled;
  req.upstream_span = upstream;
  return req;
}

} // namespace

TEST_CASE_METHOD(admin_fixture,
                 "GET /traces/<id>/tree assembles this process's spans with "
                 "its peers', lists a peer that is down, and refuses hostile "
                 "ids without echo",
                 "[actors][admin][trace]") {
  // Two "processes" on one actor system: the peer's admin server sees
  // inventory, this one payments, and lists the peer and a port nobody
  // listens on as its trace peers.
  admin_server peer{sys, config, {{"inventory", deps.at("inventory")}}};
  auto down_port = free_loopback_port();
  admin_options opts;
  opts.trace_peers = {"http://127.0.0.1:" + std::to_string(peer.port()),
                      "127.0.0.1:" + std::to_string(down_port) + "/"};
  admin =
    start_admin_server(sys, config, {{"payments", deps.at("payments")}}, opts);
  trace_id trace{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
  auto id = to_string(trace);
  // payments (one attempt) fails; inventory, called as if payments' attempt
  // had reached it, fails twice and succeeds on its third attempt.
  CHECK_FALSE(
    call_and_wait(sys, deps.at("payments"), traced_call("t-1", trace, 0)).ok);
  auto own = get("/traces/" + id);
  REQUIRE(own);
  auto own_doc = body_json(*own);
  auto& own_spans = own_doc.at("spans").as_array();
  REQUIRE(own_spans.size() == 1);
  std::string attempt_span;
  for (auto& e : own_spans[0].at("entries").as_array())
    if (auto* sp = e.as_object().if_contains("span_id"))
      attempt_span = std::string{sp->as_string()};
  REQUIRE(attempt_span.size() == 16);
  auto upstream = std::stoull(attempt_span, nullptr, 16);
  CHECK(call_and_wait(sys, deps.at("inventory"),
                      traced_call("t-2", trace, upstream))
          .ok);

  auto res = get("/traces/" + id + "/tree");
  REQUIRE(res);
  INFO(res->body());
  REQUIRE(res->result() == http_status::ok);
  auto tree = body_json(*res).as_object();
  CHECK(tree.at("trace_id").as_string() == id);
  CHECK(tree.at("trace_ids") == boost::json::array{id.c_str()});
  auto& roots = tree.at("roots").as_array();
  REQUIRE(roots.size() == 1);
  auto& a = roots[0].as_object();
  CHECK(a.at("process").as_string() == "127.0.0.1:" + std::to_string(port()));
  CHECK(a.at("dependency") == "payments");
  CHECK(a.at("operation") == "charge");
  CHECK(a.at("retried") == false);
  auto& a_tries = a.at("tries").as_array();
  REQUIRE(a_tries.size() == 1);
  CHECK(a_tries[0].at("span_id").as_string() == attempt_span);
  auto& below = a_tries[0].at("calls").as_array();
  REQUIRE(below.size() == 1);
  auto& b = below[0].as_object();
  CHECK(b.at("process").as_string()
        == "127.0.0.1:" + std::to_string(peer.port()));
  CHECK(b.at("dependency") == "inventory");
  CHECK(b.at("retried") == true);
  CHECK(b.at("tries").as_array().size() == 3);
  CHECK(b.at("result") == "ok");
  auto& unavailable = tree.at("unavailable").as_object();
  CHECK(unavailable.size() == 1);
  CHECK(unavailable.contains("http://127.0.0.1:" + std::to_string(down_port)));

  for (auto bad : {"xyz", "00000000000000000000000000000000",
                   "4BF92F3577B34DA6A3CE929D0E0E4736", "..%2F..%2Fetc", "/"}) {
    auto refused = get(std::string{"/traces/"} + bad + "/tree");
    REQUIRE(refused);
    CHECK(refused->result() == http_status::bad_request);
    CHECK(refused->body().find(bad) == std::string::npos);
  }
}

TEST_CASE_METHOD(admin_fixture,
                 "trace peers are checked at start: a bad entry or too many "
                 "is an invalid_argument naming it",
                 "[actors][admin][trace]") {
  for (std::string bad :
       {"ftp://127.0.0.1:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999",
        "http://a b:80", "http://h:80/traces", "", "http://[::1]:80"}) {
    INFO(bad);
    admin_options opts;
    opts.trace_peers = {"127.0.0.1:9", bad};
    try {
      start_admin_server(sys, config, deps, opts);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string{e.what()}.find("trace_peers[1]") != std::string::npos);
    }
  }
  admin_options many;
  many.trace_peers.assign(17, "127.0.0.1:9");
  CHECK_THROWS_WITH(start_admin_server(sys, config, deps, many),
                    Catch::Contains("at most 16"));
  many.trace_peers.resize(16);
  CHECK(start_admin_server(sys, config, deps, many) != nullptr);
}

TEST_CASE_METHOD(admin_fixture,
                 "GET /traces/<id>/tree holds at most four assemblies at "
                 "once and answers 503 beyond",
                 "[actors][admin][trace]") {
  // A peer that answers only when told: four assemblies wait on it.
  std::mutex mtx;
  std::condition_variable arrived;
  std::vector<http_responder> stalled;
  http_server peer{[&](http_request, http_responder r) {
    std::lock_guard<std::mutex> guard{mtx};
    stalled.push_back(std::move(r));
    arrived.notify_all();
  }};
  peer.start();
  admin_options opts;
  opts.trace_peers = {"127.0.0.1:" + std::to_string(peer.port())};
  start(opts);
  auto target = "/traces/" + std::string(31, '0') + "1/tree";
  std::vector<std::future<std::optional<http_response>>> waiting;
  for (int i = 0; i < 4; ++i)
    waiting.push_back(
      std::async(std::launch::async, [this, target] { return get(target); }));
  {
    std::unique_lock<std::mutex> lock{mtx};
    REQUIRE(arrived.wait_for(lock, bound, [&] { return stalled.size() == 4; }));
  }
  auto refused = get(target);
  REQUIRE(refused);
  CHECK(refused->result() == http_status::service_unavailable);
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& r : stalled)
      r.respond(json_response(http_status::ok, R"({"spans": []})"));
  }
  for (auto& f : waiting) {
    REQUIRE(f.wait_for(bound) == std::future_status::ready);
    auto res = f.get();
    REQUIRE(res);
    CHECK(res->result() == http_status::ok);
    CHECK(body_json(*res).at("unavailable").as_object().empty());
  }
  // The slots are free again once the workers are done.
  auto again = get(target);
  REQUIRE(again);
  CHECK(again->result() == http_status::ok);
}
