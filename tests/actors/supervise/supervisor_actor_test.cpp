// The supervisor actor over real dependency actors and scripted transports,
// under CAF's deterministic scheduler: failover order, hedging at the delay
// with the loser cancelled, restart with intensity then escalation, breaker
// state kept across a restart, ejection and readmission, nesting, a bad
// tree that starts nothing, progressive calls, and members on other nodes
// (their stand-ins report a lost node).
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/actors/transport/scripted_transport.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

// Members a, b, c: idempotent, one attempt each (so the supervisor decides),
// no breaker surprises unless a test configures one.
std::string document(const std::string& supervisor,
                     const std::string& dep_extra = "") {
  std::string dep = R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 1, "per_attempt_timeout": "1s"})"
                    + dep_extra + "}";
  return R"({"dependencies": {"a": )" + dep + R"(, "b": )" + dep + R"(, "c": )"
         + dep + R"(}, "supervisors": )" + supervisor + "}";
}

struct fixture : deterministic_fixture {
  std::map<std::string, scripted_transport> transports;
  probe caller = make_probe();
  std::vector<caf::actor> owned;

  ~fixture() override {
    for (auto& x : owned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
    for (auto& [name, t] : transports)
      caf::anon_send_exit(t.handle(), caf::exit_reason::user_shutdown);
    run();
  }

  scripted_transport& transport(const std::string& name) {
    auto i = transports.find(name);
    if (i == transports.end())
      i = transports.emplace(name, scripted_transport::spawn(sys)).first;
    return i->second;
  }

  supervisor_actor tree(const std::string& text,
                        const std::string& root = "s") {
    auto t =
      spawn_supervisor_tree(sys, text, root, [this](const std::string& name) {
        return transport(name).handle();
      });
    INFO(boost::json::serialize(boost::json::value_from(t.errors)));
    REQUIRE(t.errors.empty());
    owned.push_back(caf::actor_cast<caf::actor>(t.root));
    run();
    return t.root;
  }

  call_request make_call(std::uint64_t id, std::string op = "get") {
    call_request req;
    req.id = id;
    req.operation = std::move(op);
    req.payload = "p";
    req.idempotency_key = "key-" + std::to_string(id);
    return req;
  }

  void call(const supervisor_actor& sup, call_request req) {
    caller.send(sup, call_atom::value, std::move(req));
    run();
  }

  std::vector<caf::actor> members(const supervisor_actor& sup) {
    auto p = make_probe();
    p.send(sup, members_atom::value);
    run();
    REQUIRE(p.size() == 1);
    return p.messages()[0].get<std::vector<caf::actor>>(1);
  }

  boost::json::object stats(const caf::actor& x) {
    auto p = make_probe();
    p.send(x, stats_atom::value);
    run();
    REQUIRE(p.size() == 1);
    // As people read it: the JSON text of the typed stats.
    auto text =
      boost::json::serialize(to_json(p.messages()[0].get<supervisor_stats>(1)));
    return boost::json::parse(text).as_object();
  }

  std::string journey_of(const supervisor_actor& sup, std::uint64_t id) {
    auto p = make_probe();
    p.send(sup, journey_atom::value, id);
    run();
    REQUIRE(p.size() == 1);
    return p.messages()[0].get<std::string>(1);
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a failed call is rerouted to the next members in order",
                 "[actors][supervise]") {
  auto sup = tree(document(R"({"s": {"members": ["a", "b", "c"]}})"));
  transport("a").push(status_result(503));
  transport("b").push(status_result(503));
  transport("c").push(success_result("from c"));
  call(sup, make_call(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "from c");
  CHECK(replies[0].attempts == 3);
  CHECK(transport("a").script().attempt_count() == 1);
  CHECK(transport("b").script().attempt_count() == 1);
  CHECK(transport("c").script().attempt_count() == 1);
  // Every member saw the caller's idempotency key; the journey shows the
  // supervisor level handling the failures.
  CHECK(transport("c").attempts()[0].request.idempotency_key == "key-1");
  auto j = journey_of(sup, replies[0].journey_id);
  INFO(j);
  CHECK(j.find("\"level\":3") != std::string::npos);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("failovers").as_int64() == 2);
  CHECK(s.at("replies_ok").as_int64() == 1);
}

TEST_CASE_METHOD(fixture,
                 "a call from another node carries a budget that becomes the "
                 "deadline its members see",
                 "[actors][supervise]") {
  auto sup = tree(document(R"({"s": {"members": ["a", "b"]}})"));
  transport("a").push_hold();
  auto t0 = now();
  auto req = make_call(1);
  req.deadline_ns = 250'000'000; // a budget, as the sending node made it
  caller.send(sup, rcall_atom::value, std::move(req));
  run();
  REQUIRE(transport("a").attempts().size() == 1);
  CHECK(transport("a").attempts()[0].request.deadline_ns
        == to_wire_time(t0 + milliseconds(250)));
  advance_time(seconds(2));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 1);
  CHECK(replies[0].cls == failure_class::deadline_exceeded);
  CHECK(caller[0].at == t0 + milliseconds(250));
}

TEST_CASE_METHOD(fixture,
                 "a failed call carries the Retry-After of the last member "
                 "that answered",
                 "[actors][supervise]") {
  auto sup =
    tree(document(R"({"s": {"members": ["a", "b"], "max_failovers": 1}})"));
  auto busy = [](std::chrono::seconds after) {
    auto r = status_result(503);
    r.retry_after_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(after).count();
    return r;
  };
  transport("a").push(busy(std::chrono::seconds(5)));
  transport("b").push(busy(std::chrono::seconds(2)));
  call(sup, make_call(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].ok);
  CHECK(replies[0].retry_after_ns == 2'000'000'000);
  // A member that gave none: no hint is made up.
  caller.clear();
  transport("a").push(status_result(500));
  transport("b").push(status_result(500));
  call(sup, make_call(2));
  replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].retry_after_ns == no_retry_after_ns);
}

TEST_CASE_METHOD(fixture,
                 "a call every member failed carries do-not-retry and level 4",
                 "[actors][supervise]") {
  auto sup =
    tree(document(R"({"s": {"members": ["a", "b"], "max_failovers": 1}})"));
  transport("a").push(status_result(500));
  transport("b").push(status_result(500));
  call(sup, make_call(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].ok);
  CHECK_FALSE(replies[0].may_retry);
  CHECK(replies[0].cls == failure_class::transient);
  CHECK(replies[0].message.find("every member tried failed") == 0);
  auto j = journey_of(sup, replies[0].journey_id);
  CHECK(j.find("\"level\":4") != std::string::npos);
}

TEST_CASE_METHOD(fixture,
                 "a hedge goes to another member at the delay, not before, and "
                 "the loser is cancelled",
                 "[actors][supervise]") {
  auto sup = tree(document(R"({"s": {"members": ["a", "b"],
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"}}})"));
  transport("a").push_hold();
  transport("b").push_hold();
  call(sup, make_call(1));
  CHECK(transport("a").script().attempt_count() == 1);
  advance_time(milliseconds(9));
  CHECK(transport("b").script().attempt_count() == 0);
  advance_time(milliseconds(1));
  REQUIRE(transport("b").script().attempt_count() == 1);
  CHECK(transport("b").attempts()[0].request.idempotency_key == "key-1");
  transport("b").answer(transport("b").attempts()[0].request.attempt_id,
                        success_result("from b"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "from b");
  CHECK(replies[0].hedge_won);
  // The supervisor cancelled a's call; a's dependency actor cancelled its
  // attempt at the transport.
  CHECK(transport("a").cancelled().size() == 1);
  // a's late answer changes nothing.
  transport("a").answer(transport("a").attempts()[0].request.attempt_id,
                        success_result("late"));
  run();
  advance_time(seconds(2));
  CHECK(caller.replies().size() == 1);
}

TEST_CASE_METHOD(fixture,
                 "a crashed member is restarted after its backoff, then "
                 "escalation follows the intensity limit",
                 "[actors][supervise]") {
  auto sup = tree(document(R"({"s": {"members": ["a", "b"],
    "restart": {"max_restarts": 2, "within": "10s", "min_backoff": "100ms",
                "random_factor": 0}}})"));
  auto watcher = make_probe();
  watcher.execute([sup](caf::event_based_actor* self) { self->monitor(sup); });
  run();
  auto before = members(sup);
  transport("a").push_hold();
  call(sup, make_call(1)); // out at a when it crashes
  caf::anon_send_exit(before[0], caf::exit_reason::kill);
  run();
  // The call moved to b at once.
  REQUIRE(transport("b").script().attempt_count() == 1);
  CHECK_FALSE(members(sup)[0]);
  advance_time(milliseconds(99));
  CHECK_FALSE(members(sup)[0]);
  advance_time(milliseconds(1));
  auto after = members(sup);
  REQUIRE(after[0]);
  CHECK(after[0] != before[0]);
  // Second crash: restarted after 200 ms (backoff doubles).
  caf::anon_send_exit(after[0], caf::exit_reason::kill);
  run();
  advance_time(milliseconds(200));
  auto third = members(sup);
  REQUIRE(third[0]);
  // Third crash within 10 s: more than 2 restarts, the supervisor gives up.
  transport("b").push_hold();
  call(sup, make_call(2));
  call(sup, make_call(3));
  caf::anon_send_exit(third[0], caf::exit_reason::kill);
  run();
  // Every call in flight got its one answer before the supervisor stopped.
  auto replies = caller.replies();
  CHECK(std::count_if(replies.begin(), replies.end(),
                      [](auto& r) { return r.id == 2 || r.id == 3; })
        == 2);
  bool down = false;
  for (auto& m : watcher.messages())
    down = down || m.template is<caf::down_msg>();
  CHECK(down);
}

TEST_CASE_METHOD(fixture, "a restarted member keeps its breaker open",
                 "[actors][supervise]") {
  auto sup =
    tree(document(R"({"s": {"members": ["a"], "failover": false}})",
                  R"(, "breaker": {"window": "count_based", "window_size": 4,
                                "minimum_calls": 4, "failure_rate_threshold": 50,
                                "open_duration": "30s"})"));
  for (int i = 0; i < 4; ++i)
    transport("a").push(status_result(503));
  for (std::uint64_t i = 1; i <= 4; ++i)
    call(sup, make_call(i));
  REQUIRE(transport("a").script().attempt_count() == 4);
  auto old = members(sup)[0];
  caf::anon_send_exit(old, caf::exit_reason::kill);
  run();
  advance_time(seconds(1));
  auto fresh = members(sup)[0];
  REQUIRE(fresh);
  REQUIRE(fresh != old);
  call(sup, make_call(5));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 5);
  CHECK(replies[4].cls == failure_class::rejected_locally);
  // The breaker of the new incarnation refused it: nothing reached the
  // transport.
  CHECK(transport("a").script().attempt_count() == 4);
}

TEST_CASE_METHOD(
  fixture,
  "an outlier member is ejected and readmitted after a successful probe",
  "[actors][supervise]") {
  auto sup =
    tree(document(R"({"s": {"members": ["a", "b", "c"], "failover": false,
    "outlier_detection": {"consecutive_errors": 2, "base_ejection_time": "1s",
                          "max_ejection_percent": 50}}})"));
  transport("a").script().set_default_answer(success_result("a"));
  transport("c").script().set_default_answer(success_result("c"));
  transport("b").script().set_default_answer(status_result(500));
  std::uint64_t id = 0;
  for (int i = 0; i < 6; ++i)
    call(sup, make_call(++id));
  CHECK(transport("b").script().attempt_count() == 2);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("ejections").as_int64() == 1);
  for (int i = 0; i < 6; ++i)
    call(sup, make_call(++id));
  CHECK(transport("b").script().attempt_count() == 2); // skipped while ejected
  transport("b").script().set_default_answer(success_result("b"));
  advance_time(seconds(1));
  call(sup, make_call(++id)); // the probe
  CHECK(transport("b").script().attempt_count() == 3);
  s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("readmissions").as_int64() == 1);
  CHECK(s.at("members").as_array()[1].as_object().at("health").as_string()
        == "healthy");
  for (int i = 0; i < 3; ++i)
    call(sup, make_call(++id));
  CHECK(transport("b").script().attempt_count() == 4); // back in rotation
}

TEST_CASE_METHOD(fixture,
                 "supervisors nest: a call goes through both levels and fails "
                 "over across them",
                 "[actors][supervise]") {
  auto sup =
    tree(document(R"({"inner": {"members": ["a", "b"], "failover": false},
                               "s": {"members": ["inner", "c"]}})"));
  transport("a").push(status_result(503));
  transport("c").push(success_result("from c"));
  call(sup, make_call(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "from c");
  CHECK(transport("a").script().attempt_count() == 1);
  CHECK(transport("b").script().attempt_count() == 0);
}

TEST_CASE_METHOD(fixture,
                 "a bad tree is rejected with every error and starts nothing",
                 "[actors][supervise]") {
  auto running = sys.registry().running();
  auto check = [&](const std::string& text, std::vector<std::string> expected) {
    auto t =
      spawn_supervisor_tree(sys, text, "s", [this](const std::string& n) {
        return transport(n).handle();
      });
    run();
    CHECK_FALSE(t.root);
    CHECK(t.errors == expected);
  };
  check(document(R"({"s": {"members": ["a", "ghost"]}})"),
        {"/supervisors/s/members/1: unknown member \"ghost\": no dependency or "
         "supervisor of that name"});
  check(document(R"({"s": {"members": ["t"]}, "t": {"members": ["s"]}})"),
        {"/supervisors/t/members/0: supervisors form a cycle: s -> t -> s"});
  check(
    R"({"dependencies": {"pay": {"idempotency": "unsafe"}, "pay2": {}},
            "supervisors": {"s": {"members": ["pay", "pay2"],
                                  "hedge": {"enabled": true}}}})",
    {"/supervisors/s/hedge/enabled: cannot hedge: a member's operations are "
     "\"unsafe\" by default (every member must declare \"idempotency\": "
     "\"idempotent\" or \"keyed\"), or turn hedging off"});
  check(document(R"({"t": {"members": ["a"]}})"),
        {"/supervisors: no supervisor named \"s\""});
  CHECK(sys.registry().running() == running);
  CHECK(transports.empty()); // not even a transport was asked for
}

TEST_CASE_METHOD(fixture,
                 "a restarted member gets back the concurrency slots its "
                 "crashed incarnation held",
                 "[actors][supervise]") {
  auto sup =
    tree(document(R"({"s": {"members": ["a"], "failover": false}})",
                  R"(, "bulkhead": {"max_concurrent": 1, "max_queue": 0})"));
  transport("a").push_hold();
  call(sup, make_call(1));
  REQUIRE(transport("a").script().attempt_count() == 1);
  caf::anon_send_exit(members(sup)[0], caf::exit_reason::kill);
  run();
  advance_time(seconds(1));
  REQUIRE(members(sup)[0]);
  transport("a").push(success_result("again"));
  call(sup, make_call(2));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[1].id == 2);
  CHECK(replies[1].ok);
  CHECK(replies[1].payload == "again");
}

// -- reconfiguration ------------------------------------------------------------

namespace {

// Supervisor `s` with `body` (members and settings); outlier detection and
// the members' breakers off, so only the setting under test decides.
std::string sdoc(const std::string& body) {
  return document(R"({"s": {)" + body
                    + R"(, "outlier_detection": {"enabled": false}}})",
                  R"(, "breaker": {"mode": "disabled"})");
}

struct reconfig_fixture : fixture {
  std::shared_ptr<const bulwark_config> doc;

  void set_document(const std::string& text) {
    auto parsed = parse_config_update(text);
    INFO(boost::json::serialize(boost::json::value_from(parsed.errors)));
    REQUIRE(parsed.ok());
    doc = parsed.update.config;
  }

  // Members start from the document in force when they start.
  supervisor_actor start(const std::string& text) {
    set_document(text);
    supervisor_options o;
    o.config = *doc->find_supervisor("s");
    o.document = doc;
    o.factory = [this](caf::actor_system& s, const std::string& name,
                       const std::shared_ptr<const bulwark_config>& in_force,
                       const caf::actor&) -> caf::actor {
      // The supervisor hands over the document it applied last.
      REQUIRE(in_force != nullptr);
      auto* dep = in_force->find(name);
      if (dep == nullptr)
        return {};
      dependency_options d;
      d.config = *dep;
      d.transport = transport(name).handle();
      return caf::actor_cast<caf::actor>(spawn_dependency(s, std::move(d)));
    };
    auto sup = spawn_supervisor(sys, std::move(o));
    owned.push_back(caf::actor_cast<caf::actor>(sup));
    run();
    return sup;
  }

  std::vector<std::string> reconfigure(const supervisor_actor& sup,
                                       const std::string& text) {
    auto parsed = parse_config_update(text);
    INFO(boost::json::serialize(boost::json::value_from(parsed.errors)));
    REQUIRE(parsed.ok());
    auto p = make_probe();
    p.send(sup, config_atom::value, parsed.update);
    run();
    REQUIRE(p.size() == 1);
    REQUIRE(p.messages()[0].is<config_atom, std::vector<std::string>>());
    auto errors = p.messages()[0].get<std::vector<std::string>>(1);
    if (errors.empty())
      doc = parsed.update.config;
    return errors;
  }

  // Sends `n` calls one after the other (each answered before the next
  // unless a member holds it); returns the replies received meanwhile.
  std::vector<call_reply> calls(const supervisor_actor& sup, int n,
                                std::uint64_t first_id) {
    caller.clear();
    for (int i = 0; i < n; ++i)
      call(sup, make_call(first_id + static_cast<std::uint64_t>(i)));
    return caller.replies();
  }
};

} // namespace

TEST_CASE_METHOD(reconfig_fixture,
                 "a supervisor's configuration change switches failover, "
                 "routing and hedging, and a bad one changes nothing",
                 "[actors][supervise][reconfigure]") {
  transport("a").script().set_default_answer(status_result(500));
  transport("b").script().set_default_answer(success_result("b"));
  auto sup = start(sdoc(R"("members": ["a", "b"])"));
  // Failover on: every call succeeds (a's failures go to b).
  auto before = calls(sup, 4, 1);
  REQUIRE(before.size() == 4);
  for (auto& r : before)
    CHECK(r.ok);
  // A document without this supervisor is refused whole.
  auto bad = reconfigure(sup, document(R"({"t": {"members": ["a", "b"]}})"));
  REQUIRE(bad.size() == 1);
  CHECK(bad[0]
        == "/supervisors/s: is required (this actor serves supervisor "
           "\"s\")");
  auto still = calls(sup, 4, 11);
  REQUIRE(still.size() == 4);
  for (auto& r : still)
    CHECK(r.ok);
  // Failover off: the calls that start at a fail there.
  REQUIRE(reconfigure(sup, sdoc(R"("members": ["a", "b"], "failover": false)"))
            .empty());
  auto after = calls(sup, 4, 21);
  REQUIRE(after.size() == 4);
  auto failed =
    std::count_if(after.begin(), after.end(), [](auto& r) { return !r.ok; });
  CHECK(failed == 2);
  for (auto& r : after)
    CHECK(r.attempts == 1);
  // Routing: a now holds its attempts. Round robin still sends every other
  // call there; least outstanding sends none to the member holding two.
  transport("a").script().clear_default_answer();
  auto a_before = transport("a").script().attempt_count();
  calls(sup, 4, 31);
  CHECK(transport("a").script().attempt_count() - a_before == 2);
  REQUIRE(reconfigure(sup, sdoc(R"("members": ["a", "b"],
    "routing": "least_outstanding")"))
            .empty());
  a_before = transport("a").script().attempt_count();
  auto routed = calls(sup, 4, 41);
  CHECK(routed.size() == 4);
  CHECK(transport("a").script().attempt_count() == a_before);
  // Hedging: a call held at a is hedged to b after 10ms.
  REQUIRE(reconfigure(sup, sdoc(R"("members": ["a", "b"],
    "routing": "round_robin",
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"})"))
            .empty());
  caller.clear();
  std::size_t held_at_a = 0;
  std::uint64_t id = 51;
  // Round robin: the next call to start at a is at most two calls away.
  for (; held_at_a == 0 && id < 54; ++id) {
    a_before = transport("a").script().attempt_count();
    call(sup, make_call(id));
    held_at_a = transport("a").script().attempt_count() - a_before;
  }
  REQUIRE(held_at_a == 1);
  auto hedged_id = id - 1;
  auto answered = [&] {
    auto rs = caller.replies();
    return std::any_of(rs.begin(), rs.end(),
                       [&](auto& r) { return r.id == hedged_id; });
  };
  advance_time(milliseconds(9));
  CHECK_FALSE(answered());
  advance_time(milliseconds(1));
  CHECK(answered());
  for (auto& r : caller.replies())
    if (r.id == hedged_id) {
      CHECK(r.ok);
      CHECK(r.hedge_won);
    }
}

TEST_CASE_METHOD(reconfig_fixture,
                 "a supervisor starts a member a change adds and drains one it "
                 "removes: the call in flight there is answered once",
                 "[actors][supervise][reconfigure]") {
  transport("a").push_hold();
  transport("b").script().set_default_answer(success_result("b"));
  transport("c").script().set_default_answer(success_result("c"));
  auto sup = start(sdoc(R"("members": ["a", "b"])"));
  call(sup, make_call(1)); // held at a
  REQUIRE(transport("a").held().size() == 1);
  auto a = members(sup).at(0);
  auto watcher = make_probe();
  watcher.execute([a](caf::event_based_actor* self) { self->monitor(a); });
  run();
  REQUIRE(reconfigure(sup, sdoc(R"("members": ["b", "c"])")).empty());
  auto now_members = members(sup);
  REQUIRE(now_members.size() == 2);
  CHECK(now_members[1]);
  // a still runs: it has a call out.
  CHECK(watcher.collect<caf::down_msg>().empty());
  calls(sup, 4, 10);
  CHECK(transport("c").script().attempt_count() == 2);
  CHECK(transport("a").script().attempt_count() == 1);
  caller.clear();
  transport("a").answer(transport("a").held().at(0), success_result("late a"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 1);
  CHECK(replies[0].payload == "late a");
  // Drained: stopped.
  CHECK(watcher.collect<caf::down_msg>().size() == 1);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("members").as_array().size() == 2);
}

TEST_CASE_METHOD(fixture,
                 "a tree member restarted after a reload runs the reloaded "
                 "configuration",
                 "[actors][supervise][reconfigure]") {
  auto text = [](int attempts) {
    return R"({"dependencies": {"a": {"idempotency": "idempotent",
      "breaker": {"mode": "disabled"},
      "retry": {"max_attempts": )"
           + std::to_string(attempts) + R"(, "per_attempt_timeout": "1s",
        "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}}}},
      "supervisors": {"s": {"members": ["a"], "failover": false}}})";
  };
  auto sup = tree(text(1));
  transport("a").script().set_default_answer(status_result(500));
  call(sup, make_call(1));
  CHECK(transport("a").script().attempt_count() == 1);
  // What PUT /config does: every actor gets the document.
  auto update = parse_config_update(text(3));
  REQUIRE(update.ok());
  auto old = members(sup).at(0);
  auto p = make_probe();
  p.send(sup, config_atom::value, update.update);
  p.send(old, config_atom::value, update.update);
  run();
  REQUIRE(p.collect<config_atom, std::vector<std::string>>().size() == 2);
  caf::anon_send_exit(old, caf::exit_reason::kill);
  advance_time(seconds(1));
  REQUIRE(members(sup).at(0));
  CHECK(members(sup).at(0) != old);
  caller.clear();
  caller.send(sup, call_atom::value, make_call(2));
  advance_time(milliseconds(100));
  REQUIRE(caller.replies().size() == 1);
  CHECK(transport("a").script().attempt_count() == 4);
}

// -- progressive calls --------------------------------------------------------
// The supervisor's decisions are tested without CAF in
// supervisor_core_test.cpp; here: a progressive call reaches real dependency
// actors with its soft deadline, a member's preliminary answer reaches the
// caller as `(preliminary_atom, call_reply)` under the caller's id, the final
// one as the call's reply, and a cancel after the preliminary answer ends the
// call silently.

namespace {

// Cached for 10s, stale entries usable for an hour; a member's preliminary
// answer 200ms after the call reaches it.
const std::string progressive_dep = R"(,
  "cache": {"enabled": true, "ttl": "10s", "stale_if_error": "1h"},
  "fallback": [{"kind": "stale_cache"}],
  "progressive": {"enabled": true, "soft_deadline": "200ms"})";

struct progressive_fixture : fixture {
  /// A supervisor over a and b, each with a stale "old-<name>" cached for
  /// payload "p" and a transport that holds the next attempt until the test
  /// answers it.
  supervisor_actor stale_tree(const std::string& supervisor) {
    auto sup = tree(document(supervisor, progressive_dep));
    // Round robin: the first call warms a, the second b.
    transport("a").push(success_result("old-a"));
    transport("b").push(success_result("old-b"));
    call(sup, make_call(1000));
    call(sup, make_call(1001));
    REQUIRE(caller.replies().size() == 2);
    caller.clear();
    advance_time(seconds(11));
    transport("a").push_hold();
    transport("b").push_hold();
    return sup;
  }

  call_request progressive_call(std::uint64_t id,
                                std::int64_t soft_deadline_ns = -1) {
    auto req = make_call(id);
    req.progressive = true;
    req.soft_deadline_ns = soft_deadline_ns;
    return req;
  }

  std::vector<call_reply> preliminaries() const {
    std::vector<call_reply> result;
    for (auto& [atom, r] : caller.collect<preliminary_atom, call_reply>())
      result.push_back(r);
    return result;
  }

  /// The held attempt at `name`'s transport (the one after the warm-up's).
  std::uint64_t held_attempt(const std::string& name) {
    auto attempts = transport(name).attempts();
    REQUIRE(attempts.size() == 2);
    return attempts[1].request.attempt_id;
  }
};

} // namespace

TEST_CASE_METHOD(progressive_fixture,
                 "a progressive call through a supervisor gets its member's "
                 "preliminary answer, then the final one",
                 "[actors][supervise][progressive]") {
  auto sup = stale_tree(R"({"s": {"members": ["a", "b"]}})");
  call(sup, progressive_call(2));
  auto attempt = held_attempt("a");
  advance_time(milliseconds(199));
  CHECK(caller.size() == 0);
  advance_time(milliseconds(1));
  auto pre = preliminaries();
  REQUIRE(pre.size() == 1);
  CHECK(pre[0].id == 2);
  CHECK(pre[0].preliminary);
  CHECK(pre[0].ok);
  CHECK(pre[0].payload == "old-a");
  CHECK(pre[0].source == reply_source::stale_cache);
  CHECK(pre[0].reason == preliminary_reason::awaiting_answer);
  CHECK(pre[0].age_ns == to_wire_duration(seconds(11) + milliseconds(200)));
  CHECK(caller[0].sender == caf::actor_cast<caf::actor_addr>(sup));
  CHECK(caller.replies().empty());
  advance_time(milliseconds(100));
  transport("a").answer(attempt, success_result("new"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 2);
  CHECK(replies[0].ok);
  CHECK_FALSE(replies[0].preliminary);
  CHECK(replies[0].payload == "new");
  CHECK(replies[0].journey_id == pre[0].journey_id);
  REQUIRE(caller.size() == 2);
  CHECK(caller[1].is<reply_atom, call_reply>()); // after the preliminary
  advance_time(seconds(5));
  CHECK(caller.size() == 2);
  // b never saw the call.
  CHECK(transport("b").attempts().size() == 1);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("preliminary_replies").as_int64() == 1);
  CHECK(s.at("replies_ok").as_int64() == 3);
  CHECK(s.at("in_flight").as_int64() == 0);
  // The journey records both answers, in order.
  auto j = journey_of(sup, replies[0].journey_id);
  INFO(j);
  auto prelim_at = j.find("preliminary_replied");
  REQUIRE(prelim_at != std::string::npos);
  CHECK(j.find("\"replied\"", prelim_at) != std::string::npos);
}

TEST_CASE_METHOD(progressive_fixture,
                 "nested supervisors pass the preliminary answer up to the "
                 "caller",
                 "[actors][supervise][progressive]") {
  auto sup =
    stale_tree(R"({"s": {"members": ["t"]}, "t": {"members": ["a", "b"]}})");
  call(sup, progressive_call(2, to_wire_duration(milliseconds(30))));
  auto attempt = held_attempt("a");
  advance_time(milliseconds(30));
  auto pre = preliminaries();
  REQUIRE(pre.size() == 1);
  CHECK(pre[0].id == 2);
  CHECK(pre[0].payload == "old-a");
  CHECK(caller[0].sender == caf::actor_cast<caf::actor_addr>(sup));
  transport("a").answer(attempt, success_result("new"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new");
  CHECK(caller.size() == 2);
}

TEST_CASE_METHOD(progressive_fixture,
                 "the caller's soft deadline reaches the member; a hedge's "
                 "second preliminary answer is dropped",
                 "[actors][supervise][progressive]") {
  auto sup = stale_tree(R"({"s": {"members": ["a", "b"],
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}}})");
  call(sup, progressive_call(2, to_wire_duration(milliseconds(100))));
  advance_time(milliseconds(50));
  auto first = held_attempt("a");
  auto hedge = held_attempt("b");
  // Both members answer preliminarily at the call's soft deadline (the
  // hedge got the 50ms left): the caller gets one.
  advance_time(milliseconds(49));
  CHECK(preliminaries().empty());
  advance_time(milliseconds(1));
  auto pre = preliminaries();
  REQUIRE(pre.size() == 1);
  CHECK(pre[0].id == 2);
  CHECK((pre[0].payload == "old-a" || pre[0].payload == "old-b"));
  transport("b").answer(hedge, success_result("new-b"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new-b");
  CHECK(replies[0].hedge_won);
  CHECK(transport("a").cancelled() == std::vector<std::uint64_t>{first});
  advance_time(seconds(5));
  CHECK(preliminaries().size() == 1);
  CHECK(caller.replies().size() == 1);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("preliminary_replies").as_int64() == 1);
}

TEST_CASE_METHOD(progressive_fixture,
                 "a cancel after the preliminary answer ends the call through "
                 "the supervisor with nothing more, and cancels the member's "
                 "attempt",
                 "[actors][supervise][progressive]") {
  auto sup = stale_tree(R"({"s": {"members": ["a", "b"]}})");
  call(sup, progressive_call(2));
  auto attempt = held_attempt("a");
  advance_time(milliseconds(200));
  REQUIRE(preliminaries().size() == 1);
  caller.send(sup, cancel_atom::value, std::uint64_t{2});
  run();
  // The member dropped its attempt at the transport.
  CHECK(transport("a").cancelled() == std::vector<std::uint64_t>{attempt});
  transport("a").answer(attempt, success_result("late"));
  advance_time(seconds(5));
  CHECK(caller.replies().empty());
  CHECK(preliminaries().size() == 1);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("cancelled_after_preliminary").as_int64() == 1);
  CHECK(s.at("replies_failed").as_int64() == 0);
  CHECK(s.at("in_flight").as_int64() == 0);
  // The supervisor serves the next call normally (round robin: b).
  call(sup, make_call(3));
  transport("b").answer(held_attempt("b"), success_result("next"));
  run();
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 3);
}

TEST_CASE_METHOD(progressive_fixture,
                 "a call that does not ask for progressive delivery gets one "
                 "reply through the supervisor, as before",
                 "[actors][supervise][progressive]") {
  auto sup = stale_tree(R"({"s": {"members": ["a", "b"]}})");
  call(sup, make_call(2)); // progressive is false
  auto attempt = held_attempt("a");
  advance_time(milliseconds(500));
  CHECK(caller.size() == 0);
  transport("a").answer(attempt, success_result("new"));
  run();
  CHECK(preliminaries().empty());
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new");
  CHECK_FALSE(replies[0].preliminary);
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("preliminary_replies").as_int64() == 0);
}

// -- members on other nodes ---------------------------------------------------
// A stand-in for a member on another node tells its supervisor
// `(reach_atom, false)` when the node is lost, then fails what it had out as
// `transient`, and `(reach_atom, true)` when the node is back. Here probes
// play the stand-ins: the supervisor's calls reach them and they answer by
// hand. The decisions are tested in supervisor_core_test.cpp.

namespace {

struct reach_fixture : fixture {
  probe a = make_probe();
  probe b = make_probe();

  /// A supervisor over members a and b (the probes), whose operations are
  /// all `repeat`.
  supervisor_actor stand_in_tree(const std::string& repeat) {
    auto text = R"({"dependencies": {"a": {"idempotency": ")" + repeat
                + R"("}, "b": {"idempotency": ")" + repeat
                + R"("}}, "supervisors": {"s": {"members": ["a", "b"]}}})";
    auto parsed = parse_bulwark_config(text);
    INFO(parsed.errors.to_string());
    REQUIRE(parsed.ok());
    supervisor_options o;
    o.config = parsed.config->supervisors.at(0);
    for (auto* p : {&a, &b}) {
      auto hdl = p->handle();
      o.members.push_back(
        member_spec{o.config.members.at(o.members.size()),
                    [hdl](caf::actor_system&) { return hdl; }});
    }
    auto sup = spawn_supervisor(sys, std::move(o));
    owned.push_back(caf::actor_cast<caf::actor>(sup));
    run();
    return sup;
  }

  /// The calls that reached member `p`, in order.
  static std::vector<call_request> calls_at(const probe& p) {
    std::vector<call_request> result;
    for (auto& [atom, req] : p.collect<call_atom, call_request>())
      result.push_back(req);
    return result;
  }

  /// Member `p` answers `req` as a stand-in does for a lost node.
  void outcome_unknown(const probe& p, const supervisor_actor& sup,
                       const call_request& req) {
    call_reply r;
    r.id = req.id;
    r.ok = false;
    r.cls = failure_class::transient;
    r.message = "node down: outcome unknown";
    p.send(sup, reply_atom::value, std::move(r));
  }

  boost::json::object member_stats(const supervisor_actor& sup, std::size_t i) {
    auto s = stats(caf::actor_cast<caf::actor>(sup));
    return s.at("members").as_array().at(i).as_object();
  }
};

} // namespace

TEST_CASE_METHOD(reach_fixture,
                 "a member whose node is lost is routed around until its "
                 "stand-in reports it back",
                 "[actors][supervise][reach]") {
  auto sup = stand_in_tree("idempotent");
  a.send(sup, reach_atom::value, false);
  run();
  CHECK(member_stats(sup, 0).at("status").as_string() == "unreachable");
  CHECK(member_stats(sup, 0).at("running").as_bool());
  for (std::uint64_t id = 1; id <= 4; ++id)
    call(sup, make_call(id));
  CHECK(calls_at(a).empty());
  CHECK(calls_at(b).size() == 4);
  // A report from anyone but a current member changes nothing.
  auto stranger = make_probe();
  stranger.send(sup, reach_atom::value, true);
  run();
  call(sup, make_call(5));
  CHECK(calls_at(a).empty());
  a.send(sup, reach_atom::value, true);
  run();
  CHECK(member_stats(sup, 0).at("status").as_string() == "running");
  for (std::uint64_t id = 6; id <= 9; ++id)
    call(sup, make_call(id));
  CHECK(calls_at(a).size() == 2); // round robin again
  auto s = stats(caf::actor_cast<caf::actor>(sup));
  CHECK(s.at("unreachable_events").as_int64() == 1);
  CHECK(s.at("reach_ignored").as_int64() == 1);
  CHECK(s.at("member_crashes").as_int64() == 0);
  CHECK(s.at("no_member").as_int64() == 0);
}

TEST_CASE_METHOD(reach_fixture,
                 "a keyed call out at a lost node fails over with the same "
                 "request and key, and an unsafe one is answered",
                 "[actors][supervise][reach]") {
  auto sup = stand_in_tree("keyed");
  call(sup, make_call(1, "charge"));
  auto at_a = calls_at(a);
  REQUIRE(at_a.size() == 1);
  // The node of a is lost: its stand-in reports it, then fails the call.
  a.send(sup, reach_atom::value, false);
  outcome_unknown(a, sup, at_a[0]);
  run();
  auto at_b = calls_at(b);
  REQUIRE(at_b.size() == 1);
  CHECK(at_b[0].id != at_a[0].id);
  CHECK(at_b[0].operation == "charge");
  CHECK(at_b[0].payload == at_a[0].payload);
  CHECK(at_b[0].idempotency_key == "key-1");
  CHECK(at_b[0].idempotency_key == at_a[0].idempotency_key);
  CHECK(caller.replies().empty());
  call_reply ok;
  ok.id = at_b[0].id;
  ok.ok = true;
  ok.payload = "charged once";
  b.send(sup, reply_atom::value, ok);
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "charged once");
  CHECK(replies[0].attempts == 2);
}

TEST_CASE_METHOD(reach_fixture,
                 "an unsafe call out at a lost node is answered with the "
                 "unknown outcome and not repeated",
                 "[actors][supervise][reach]") {
  auto sup = stand_in_tree("unsafe");
  call(sup, make_call(1, "charge"));
  auto at_a = calls_at(a);
  REQUIRE(at_a.size() == 1);
  a.send(sup, reach_atom::value, false);
  outcome_unknown(a, sup, at_a[0]);
  run();
  CHECK(calls_at(b).empty());
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].ok);
  CHECK(replies[0].cls == failure_class::transient);
  CHECK_FALSE(replies[0].may_retry);
  CHECK(replies[0].message.find("outcome unknown") != std::string::npos);
  // Both members lost: a new call is refused at once, not parked.
  b.send(sup, reach_atom::value, false);
  run();
  caller.clear();
  call(sup, make_call(2, "charge"));
  replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].cls == failure_class::rejected_locally);
  CHECK(calls_at(a).size() == 1);
  CHECK(calls_at(b).empty());
}
