// The feature flags endpoints of the admin server (GET /flags,
// PUT and DELETE /flags/<name>) over real loopback sockets, in front of real
// dependency actors whose transport fails every attempt of "payments" with a
// retryable error and answers every attempt of "inventory": a flag change
// shows in the attempts a call makes and in what reaches the transport.
// Every wait is bounded (the test client's deadline, request timeouts);
// nothing sleeps.
#include "bulwark/actors/admin/admin_server.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <caf/all.hpp>

#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"
#include "tests/actors/admin/admin_fixture.hpp"
#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

constexpr auto bound = admin_test_bound;

// "payments" retries up to 3 attempts, 1 ms apart, and neither its breaker
// nor a retry budget cuts in however many calls fail, so every call shows
// exactly the attempts the flags allow. "inventory" keeps a normal breaker.
const std::string flags_document = R"({"dependencies": {
  "payments": {"idempotency": "idempotent",
               "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
                         "backoff": {"kind": "constant", "jitter": "none",
                                     "base": "1ms"}},
               "breaker": {"mode": "disabled"},
               "budget": {"mode": "unlimited"}},
  "inventory": {"idempotency": "idempotent"}
}})";

// The same with "payments" at 2 attempts: a configuration reload.
const std::string two_attempts_document = R"({"dependencies": {
  "payments": {"idempotency": "idempotent",
               "retry": {"max_attempts": 2, "per_attempt_timeout": "1s",
                         "backoff": {"kind": "constant", "jitter": "none",
                                     "base": "1ms"}},
               "breaker": {"mode": "disabled"},
               "budget": {"mode": "unlimited"}},
  "inventory": {"idempotency": "idempotent"}
}})";

/// `v` as the admin server shows it: the server prints numbers in their
/// shortest form (a rollout of 100 is the integer `100`), and Boost.JSON
/// compares an integer and a double as different.
boost::json::value canon(const boost::json::value& v) {
  return boost::json::parse(pretty_json(v));
}

std::vector<std::string> errors_of(const http_response& res) {
  auto v = body_json(res);
  std::vector<std::string> out;
  for (auto& e : v.as_object().at("errors").as_array())
    out.emplace_back(e.as_string());
  return out;
}

/// Counts attempts per idempotency key; fails every "payments" attempt as
/// transient and answers every other one.
struct counting_downstream {
  std::mutex mtx;
  std::map<std::string, int> seen;

  attempt_result operator()(const attempt_request& req) {
    std::lock_guard<std::mutex> guard{mtx};
    ++seen[req.idempotency_key];
    if (req.payload == "payments")
      return class_result(failure_class::transient);
    return success_result("ok " + req.idempotency_key);
  }

  int attempts(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = seen.find(key);
    return it == seen.end() ? 0 : it->second;
  }
};

struct flags_fixture : admin_actors<counting_downstream> {
  flags_fixture() : admin_actors(flags_document) {}

  /// One call to `dep` with idempotency key `key` (call id 1), waited for.
  /// The payload names the dependency, so the transport knows whom it serves.
  call_reply call(const std::string& dep, const std::string& key) {
    return admin_actors::call(dep, "op", dep, key);
  }

  std::optional<http_response> send(http::verb method,
                                    const std::string& target,
                                    const std::string& body = {},
                                    const std::string& auth = {}) {
    auto req = make_request(method, target, body);
    if (!body.empty())
      req.set(http::field::content_type, "application/json");
    if (!auth.empty())
      req.set(http::field::authorization, auth);
    return http_call(port(), std::move(req));
  }

  std::optional<http_response> put_flags(const std::string& name,
                                         const std::string& body,
                                         const std::string& auth = {}) {
    return send(http::verb::put, "/flags/" + name, body, auth);
  }

  std::optional<http_response> delete_flags(const std::string& name,
                                            const std::string& auth = {}) {
    return send(http::verb::delete_, "/flags/" + name, {}, auth);
  }

  /// `GET /flags`, checked for its shape.
  boost::json::object flags() {
    auto res = get("/flags");
    REQUIRE(res);
    INFO(res->body());
    REQUIRE(res->result() == http_status::ok);
    auto v = body_json(*res);
    REQUIRE(v.is_object());
    auto& obj = v.as_object();
    REQUIRE(obj.size() == 2);
    REQUIRE(obj.at("flags").is_object());
    REQUIRE(obj.at("dependencies").is_object());
    return obj;
  }

  /// What dependency `name` reports as in force, asked directly.
  boost::json::value in_force(const std::string& name) {
    caf::scoped_actor self{sys};
    std::string text;
    self->request(deps.at(name), bound, flags_atom::value)
      .receive([&](flags_atom, std::string& s) { text = std::move(s); },
               [&](caf::error& err) { FAIL_CHECK(sys.render(err)); });
    return canon(boost::json::parse(text));
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

boost::json::value flags_json(const std::string& text) {
  error_list errors;
  auto cfg = parse_dependency_flags_config(boost::json::parse(text),
                                           json_path{}, errors);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  return canon(to_json(cfg));
}

const boost::json::value default_flags =
  canon(to_json(dependency_flags_config{}));

/// A JSON array of names, as the `applied` and `not_running` lists.
boost::json::value names(std::initializer_list<const char*> xs) {
  boost::json::array out;
  for (auto x : xs)
    out.emplace_back(x);
  return out;
}

} // namespace

TEST_CASE_METHOD(flags_fixture,
                 "GET /flags shows the flags set and the flags each dependency "
                 "actor reports in force",
                 "[actors][admin][flags]") {
  start();
  auto body = flags();
  CHECK(body.at("flags") == canon(to_json(feature_flags_config{})));
  CHECK(body.at("flags").as_object().at("*") == default_flags);
  auto& deps_json = body.at("dependencies").as_object();
  REQUIRE(deps_json.size() == 2);
  CHECK(deps_json.at("payments") == default_flags);
  CHECK(deps_json.at("inventory") == default_flags);

  kill("inventory");
  auto after = flags();
  CHECK(after.at("dependencies").as_object().at("inventory")
        == "is not running");
  CHECK(after.at("dependencies").as_object().at("payments") == default_flags);
}

TEST_CASE_METHOD(flags_fixture,
                 "the starting flags are sent to every dependency actor before "
                 "the server serves",
                 "[actors][admin][flags]") {
  admin_options opts;
  opts.flags.dependencies["payments"].retry = false;
  opts.flags.defaults.breaker = breaker_flag::disabled;
  start(opts);
  // Already in force when start_admin_server returns: no request raced it.
  CHECK(in_force("payments") == flags_json(R"({"retry": {"enabled": false}})"));
  CHECK(in_force("inventory")
        == flags_json(R"({"breaker": {"mode": "disabled"}})"));
  auto body = flags();
  CHECK(body.at("flags") == canon(to_json(opts.flags)));
  CHECK(body.at("dependencies").as_object().at("payments")
        == flags_json(R"({"retry": {"enabled": false}})"));
  CHECK(call("payments", "start-1").attempts == 1);
  CHECK(downstream->attempts("start-1") == 1);
}

TEST_CASE_METHOD(flags_fixture,
                 "PUT /flags/<dep> turns retries off for that dependency, "
                 "DELETE turns them back on, observed in its calls",
                 "[actors][admin][flags]") {
  start();
  auto before = call("payments", "before");
  CHECK_FALSE(before.ok);
  CHECK(before.attempts == 3);
  CHECK(downstream->attempts("before") == 3);

  auto res = put_flags("payments", R"({"retry": {"enabled": false}})");
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::ok);
  auto expected = feature_flags_config{};
  expected.dependencies["payments"].retry = false;
  CHECK(body_json(*res)
        == boost::json::value(
          boost::json::object{{"status", "applied"},
                              {"flags", canon(to_json(expected))},
                              {"applied", names({"payments"})},
                              {"not_running", names({})}}));

  auto off = call("payments", "off");
  CHECK_FALSE(off.ok);
  CHECK(off.attempts == 1);
  CHECK(off.message == "retries disabled by a feature flag");
  CHECK(downstream->attempts("off") == 1);
  auto shown = flags();
  CHECK(shown.at("flags") == canon(to_json(expected)));
  CHECK(shown.at("dependencies").as_object().at("payments")
        == flags_json(R"({"retry": {"enabled": false}})"));
  CHECK(shown.at("dependencies").as_object().at("inventory") == default_flags);

  auto del = delete_flags("payments");
  REQUIRE(del);
  INFO(del->body());
  CHECK(del->result() == http_status::ok);
  CHECK(body_json(*del)
        == boost::json::value(
          boost::json::object{{"status", "applied"},
                              {"flags", canon(to_json(feature_flags_config{}))},
                              {"applied", names({"payments"})},
                              {"not_running", names({})}}));
  auto on = call("payments", "on-again");
  CHECK(on.attempts == 3);
  CHECK(downstream->attempts("on-again") == 3);
  CHECK(flags().at("dependencies").as_object().at("payments") == default_flags);
}

TEST_CASE_METHOD(flags_fixture,
                 "the * default applies to dependencies without an entry of "
                 "their own, written as * or %2A",
                 "[actors][admin][flags]") {
  start();
  auto star = put_flags("%2A", R"({"retry": {"enabled": false}})");
  REQUIRE(star);
  INFO(star->body());
  CHECK(star->result() == http_status::ok);
  CHECK(body_json(*star).as_object().at("applied")
        == names({"inventory", "payments"}));
  CHECK(call("payments", "star-1").attempts == 1);

  // An own entry replaces the default as a whole: `{}` is all defaults.
  auto own = put_flags("payments", "{}");
  REQUIRE(own);
  CHECK(own->result() == http_status::ok);
  CHECK(body_json(*own).as_object().at("applied") == names({"payments"}));
  CHECK(call("payments", "own-1").attempts == 3);

  // Without its entry it falls back to `*` again.
  auto fallback = delete_flags("payments");
  REQUIRE(fallback);
  CHECK(fallback->result() == http_status::ok);
  CHECK(call("payments", "star-2").attempts == 1);

  // DELETE /flags/* resets the default; the literal `*` works too.
  auto reset = delete_flags("*");
  REQUIRE(reset);
  INFO(reset->body());
  CHECK(reset->result() == http_status::ok);
  CHECK(body_json(*reset).as_object().at("flags")
        == canon(to_json(feature_flags_config{})));
  CHECK(call("payments", "reset-1").attempts == 3);

  // Nothing changes for anybody: nobody is told, still 200.
  auto again = delete_flags("%2a");
  REQUIRE(again);
  CHECK(again->result() == http_status::ok);
  CHECK(body_json(*again).as_object().at("applied") == names({}));
}

TEST_CASE_METHOD(flags_fixture,
                 "breaker force_open rejects calls locally without reaching "
                 "the transport",
                 "[actors][admin][flags]") {
  start();
  CHECK(call("inventory", "inv-1").ok);
  CHECK(downstream->attempts("inv-1") == 1);

  auto res = put_flags("inventory", R"({"breaker": {"mode": "force_open"}})");
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::ok);
  for (int i = 0; i < 5; ++i) {
    auto key = "inv-open-" + std::to_string(i);
    auto rejected = call("inventory", key);
    CHECK_FALSE(rejected.ok);
    CHECK(rejected.cls == failure_class::rejected_locally);
    CHECK(rejected.message == "circuit breaker forced open by a feature flag");
    CHECK(rejected.attempts == 0);
    CHECK(downstream->attempts(key) == 0);
  }
  // payments is not concerned.
  CHECK(call("payments", "pay-1").attempts == 3);

  auto del = delete_flags("inventory");
  REQUIRE(del);
  CHECK(del->result() == http_status::ok);
  CHECK(call("inventory", "inv-2").ok);
  CHECK(downstream->attempts("inv-2") == 1);
}

TEST_CASE_METHOD(flags_fixture,
                 "a 50% retry rollout splits calls by idempotency key exactly "
                 "as in_rollout predicts",
                 "[actors][admin][flags]") {
  start();
  auto res =
    put_flags("payments", R"({"retry": {"enabled": false, "rollout": 50}})");
  REQUIRE(res);
  INFO(res->body());
  REQUIRE(res->result() == http_status::ok);
  int in = 0;
  for (int i = 0; i < 200; ++i) {
    auto key = "rollout-" + std::to_string(i);
    CAPTURE(key);
    // The fixture's calls all have id 1; the key decides.
    bool retry_off = in_rollout(flag_hash(key, 1), flag_kind::retry, 0.5);
    auto reply = call("payments", key);
    CHECK(reply.attempts == (retry_off ? 1u : 3u));
    CHECK(downstream->attempts(key) == (retry_off ? 1 : 3));
    in += retry_off ? 1 : 0;
  }
  CAPTURE(in);
  CHECK(in >= 70);
  CHECK(in <= 130);
}

TEST_CASE_METHOD(flags_fixture,
                 "bad flags bodies are 400 with every error as a JSON Pointer "
                 "into the body, and nothing changes",
                 "[actors][admin][flags]") {
  start();
  REQUIRE(put_flags("payments", R"({"hedging": {"enabled": false}})")->result()
          == http_status::ok);
  auto before = flags();
  struct row {
    std::string body;
    std::string error;
    std::vector<std::string> errors;
  };
  for (auto& r : std::vector<row>{
         {R"({"retry": {"enabled": "no"}})",
          "flags rejected (1 error); nothing changed",
          {"/retry/enabled: must be true or false (got: \"no\")"}},
         {R"({"retry": {"rollout": 150}})",
          "flags rejected (1 error); nothing changed",
          {"/retry/rollout: must be between 0 and 100 (got: 150)"}},
         {R"({"retry": false, "hedging": {"rollout": "50"}})",
          "flags rejected (2 errors); nothing changed",
          {"/retry: must be an object (got: false)",
           "/hedging/rollout: must be a number (got: \"50\")"}},
         {R"({"retries": {"enabled": false}})",
          "flags rejected (1 error); nothing changed",
          {"/retries: unknown key (allowed: retry, hedging, breaker)"}},
         {R"({"breaker": {"mode": "forced_open", "extra": 1}})",
          "flags rejected (2 errors); nothing changed",
          {"/breaker/extra: unknown key (allowed: mode, rollout)",
           "/breaker/mode: must be one of \"normal\", \"force_open\", "
           "\"disabled\" (got: \"forced_open\")"}},
         {R"([1, 2])",
          "flags rejected (1 error); nothing changed",
          {"(root): must be an object (got: [1,2])"}},
         {R"({"retry": {"enabled": false})",
          "flags rejected (1 error); nothing changed",
          {"(document): invalid JSON at line 1, column 29: incomplete JSON"}},
         {"not json",
          "flags rejected (1 error); nothing changed",
          {"(document): invalid JSON at line 1, column 1: syntax error"}},
         {"",
          "flags rejected (1 error); nothing changed",
          {"(document): invalid JSON at line 1, column 1: incomplete JSON"}},
       }) {
    CAPTURE(r.body);
    auto res = put_flags("payments", r.body);
    REQUIRE(res);
    INFO(res->body());
    CHECK(res->result() == http_status::bad_request);
    CHECK(error_of(*res) == r.error);
    CHECK(errors_of(*res) == r.errors);
  }
  CHECK(flags() == before);
  CHECK(call("payments", "unchanged").attempts == 3);
}

TEST_CASE_METHOD(flags_fixture,
                 "flags for an unknown name are 404 naming the known names",
                 "[actors][admin][flags]") {
  start();
  auto before = flags();
  for (auto& target :
       {std::string{"nope"}, std::string{""}, std::string{"payments%2Fx"},
        std::string{"payments/x"}}) {
    CAPTURE(target);
    for (auto method : {http::verb::put, http::verb::delete_}) {
      auto res = send(method, "/flags/" + target, "{}");
      REQUIRE(res);
      CHECK(res->result() == http_status::not_found);
    }
  }
  auto res = put_flags("nope", "{}");
  REQUIRE(res);
  CHECK(error_of(*res)
        == "no running dependency \"nope\" (flags can be set for: *, "
           "inventory, payments)");
  auto bad_escape = put_flags("%zz", "{}");
  REQUIRE(bad_escape);
  CHECK(bad_escape->result() == http_status::bad_request);
  CHECK(error_of(*bad_escape)
        == "malformed percent-encoding in the flags name (got: \"%zz\")");
  CHECK(flags() == before);
}

TEST_CASE_METHOD(flags_fixture,
                 "the flags endpoints answer wrong methods 405 with Allow, and "
                 "the 404 endpoint list names them",
                 "[actors][admin][flags]") {
  start();
  struct row {
    http::verb method;
    std::string target;
    std::string allow;
  };
  for (auto& r : {row{http::verb::put, "/flags", "GET"},
                  row{http::verb::delete_, "/flags", "GET"},
                  row{http::verb::get, "/flags/payments", "PUT, DELETE"},
                  row{http::verb::post, "/flags/*", "PUT, DELETE"}}) {
    CAPTURE(r.target);
    auto res = send(r.method, r.target);
    REQUIRE(res);
    CHECK(res->result() == http_status::method_not_allowed);
    CHECK((*res)[http::field::allow] == r.allow);
    CHECK(error_of(*res)
          == "method " + std::string{http::to_string(r.method)}
               + " is not allowed on " + r.target + " (allowed: " + r.allow
               + ")");
  }
  auto missing = get("/nope");
  REQUIRE(missing);
  CHECK(error_of(*missing)
        == "no such endpoint: /nope (endpoints: /healthz, /readyz, /metrics, "
           "/dashboard, /config, /flags, /flags/<name>, /journeys?failed=1, "
           "/journeys/<id>, /traces/<trace id>, /traces/<trace id>/tree)");
}

TEST_CASE_METHOD(flags_fixture,
                 "with a token, PUT and DELETE /flags need it and GET /flags "
                 "does not",
                 "[actors][admin][flags]") {
  admin_options opts;
  opts.token = "s3cret";
  SECTION("on loopback") {
    start(opts);
  }
  SECTION("off loopback, where the token is mandatory") {
    opts.host = "0.0.0.0";
    start(opts);
  }
  for (auto& auth : {std::string{}, std::string{"Bearer wrong"},
                     std::string{"Basic czNjcmV0"}}) {
    CAPTURE(auth);
    auto put = put_flags("payments", R"({"retry": {"enabled": false}})", auth);
    REQUIRE(put);
    CHECK(put->result() == http_status::unauthorized);
    CHECK((*put)[http::field::www_authenticate]
          == "Bearer realm=\"bulwark-admin\"");
    auto del = delete_flags("*", auth);
    REQUIRE(del);
    CHECK(del->result() == http_status::unauthorized);
    // The token is checked before the name: no names leak without it.
    auto unknown = put_flags("nope", "{}", auth);
    REQUIRE(unknown);
    CHECK(unknown->result() == http_status::unauthorized);
  }
  CHECK(call("payments", "still-three").attempts == 3);
  CHECK(flags().at("flags") == canon(to_json(feature_flags_config{})));

  auto ok =
    put_flags("payments", R"({"retry": {"enabled": false}})", "Bearer s3cret");
  REQUIRE(ok);
  CHECK(ok->result() == http_status::ok);
  CHECK(call("payments", "now-one").attempts == 1);
  auto del = delete_flags("payments", "Bearer s3cret");
  REQUIRE(del);
  CHECK(del->result() == http_status::ok);
  CHECK(call("payments", "three-again").attempts == 3);
}

TEST_CASE_METHOD(flags_fixture,
                 "flags survive a configuration reload, and PUT /config does "
                 "not show or reset them",
                 "[actors][admin][flags]") {
  start();
  REQUIRE(put_flags("payments", R"({"retry": {"enabled": false}})")->result()
          == http_status::ok);
  auto before = flags();
  auto reload = send(http::verb::put, "/config", two_attempts_document);
  REQUIRE(reload);
  INFO(reload->body());
  REQUIRE(reload->result() == http_status::ok);
  CHECK(flags() == before);
  CHECK(call("payments", "after-reload").attempts == 1);
  auto config_text = get("/config");
  REQUIRE(config_text);
  CHECK(config_text->body().find("flags") == std::string::npos);
  // The reloaded policy is what the flags fall back to.
  REQUIRE(delete_flags("payments")->result() == http_status::ok);
  CHECK(call("payments", "two").attempts == 2);
}

TEST_CASE_METHOD(flags_fixture,
                 "a dependency actor that is not running is skipped and "
                 "listed, the others apply",
                 "[actors][admin][flags]") {
  start();
  kill("inventory");
  auto res = put_flags("*", R"({"hedging": {"enabled": false}})");
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::ok);
  CHECK(body_json(*res).as_object().at("applied") == names({"payments"}));
  CHECK(body_json(*res).as_object().at("not_running") == names({"inventory"}));
  CHECK(in_force("payments")
        == flags_json(R"({"hedging": {"enabled": false}})"));
}

namespace {

/// A stand-in dependency actor that refuses every flags change (as an actor
/// on an older protocol might) and reports default flags.
caf::behavior refusing_dependency(caf::event_based_actor*) {
  return {
    [](flags_atom, const std::string&)
      -> caf::result<flags_atom, std::vector<std::string>> {
      return {flags_atom::value,
              std::vector<std::string>{"(root): refused by the test"}};
    },
    [](flags_atom) -> caf::result<flags_atom, std::string> {
      return {flags_atom::value,
              boost::json::serialize(to_json(dependency_flags_config{}))};
    },
  };
}

struct silent_state {
  std::vector<caf::response_promise> held;
};

/// A stand-in dependency actor that never answers a flags change (a hung
/// actor): it keeps the promise of an answer and never keeps it.
caf::behavior silent_dependency(caf::stateful_actor<silent_state>* self) {
  return {
    [self](flags_atom, const std::string&) {
      self->state.held.push_back(self->make_response_promise());
    },
    [](flags_atom) -> caf::result<flags_atom, std::string> {
      return {flags_atom::value,
              boost::json::serialize(to_json(dependency_flags_config{}))};
    },
  };
}

} // namespace

TEST_CASE_METHOD(flags_fixture,
                 "a flags change one actor does not answer in time is rolled "
                 "back on the others and answered 503",
                 "[actors][admin][flags]") {
  auto silent = sys.spawn(silent_dependency);
  spawned.push_back(silent);
  deps.emplace("zeta", caf::actor_cast<dependency_actor>(silent));
  admin_options opts;
  opts.apply_timeout = std::chrono::milliseconds(200);
  start(opts);
  auto before = flags();
  auto res = put_flags("*", R"({"breaker": {"mode": "force_open"}})");
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::service_unavailable);
  CHECK(error_of(*res)
        == "flags not applied; the previous flags were restored");
  CHECK(errors_of(*res)
        == std::vector<std::string>{
          "dependency \"zeta\" did not answer within 200ms"});
  CHECK(in_force("payments") == default_flags);
  CHECK(in_force("inventory") == default_flags);
  CHECK(call("inventory", "after-timeout").ok);
  CHECK(flags() == before);
}

TEST_CASE_METHOD(flags_fixture,
                 "a flags change one actor refuses is rolled back on the "
                 "others: all or nothing",
                 "[actors][admin][flags]") {
  auto refuser = sys.spawn(refusing_dependency);
  spawned.push_back(refuser);
  deps.emplace("zeta", caf::actor_cast<dependency_actor>(refuser));
  start();
  auto before = flags();
  auto res = put_flags("*", R"({"retry": {"enabled": false}})");
  REQUIRE(res);
  INFO(res->body());
  CHECK(res->result() == http_status::bad_request);
  CHECK(error_of(*res)
        == "flags not applied; the previous flags were restored");
  CHECK(errors_of(*res)
        == std::vector<std::string>{
          "dependency \"zeta\": (root): refused by the test"});
  // payments took the change first and was put back before the answer left.
  CHECK(in_force("payments") == default_flags);
  CHECK(call("payments", "rolled-back").attempts == 3);
  CHECK(flags() == before);

  // A change that does not concern the refuser applies.
  auto own = put_flags("payments", R"({"retry": {"enabled": false}})");
  REQUIRE(own);
  CHECK(own->result() == http_status::ok);
  CHECK(call("payments", "own").attempts == 1);
}

TEST_CASE_METHOD(flags_fixture,
                 "flags and configuration changes run one at a time: what is "
                 "shown is what runs",
                 "[actors][admin][flags]") {
  start();
  std::vector<std::future<std::optional<http_response>>> changes;
  for (int i = 0; i < 8; ++i)
    changes.push_back(std::async(std::launch::async, [this, i] {
      switch (i % 4) {
        case 0:
          return put_flags("payments", R"({"retry": {"enabled": false}})");
        case 1:
          return send(http::verb::put, "/config", two_attempts_document);
        case 2:
          return delete_flags("payments");
        default:
          return send(http::verb::put, "/config", flags_document);
      }
    }));
  for (auto& f : changes) {
    REQUIRE(f.wait_for(bound) == std::future_status::ready);
    auto res = f.get();
    REQUIRE(res);
    INFO(res->body());
    CHECK(res->result() == http_status::ok);
  }
  auto shown = flags();
  auto& set = shown.at("flags").as_object();
  CHECK(shown.at("dependencies").as_object().at("payments")
        == (set.contains("payments") ? set.at("payments") : set.at("*")));
  auto config_text = get("/config");
  REQUIRE(config_text);
  auto max_attempts =
    parse_ok(config_text->body()).find("payments")->retry.max_attempts;
  bool retry_off = set.contains("payments");
  CHECK(call("payments", "final").attempts
        == (retry_off ? 1u : static_cast<std::uint32_t>(max_attempts)));
}
