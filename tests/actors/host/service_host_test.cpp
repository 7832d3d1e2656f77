// The service host under CAF's deterministic scheduler: a bad document
// starts nothing; a member restarted after a reload runs the new
// configuration and the registry names the new incarnation; an `alternate`
// fallback inside a tree answers when its primary fails, also after the
// alternate itself was restarted; a transport killed mid-run is restarted
// and every call gets exactly one reply. Virtual time throughout.
#include "bulwark/actors/host/service_host.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/transport/scripted_transport.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

struct fixture : deterministic_fixture {
  /// Every transport started, per dependency, oldest first.
  std::map<std::string, std::vector<scripted_transport>> transports;
  /// What new transports of a dependency answer (else they hold attempts).
  std::map<std::string, attempt_result> answers;
  std::unique_ptr<service_host> host;
  probe caller = make_probe();

  ~fixture() override {
    if (host)
      host->stop();
    run();
    for (auto& [name, xs] : transports)
      for (auto& t : xs)
        caf::anon_send_exit(t.handle(), caf::exit_reason::user_shutdown);
    run();
  }

  service_host_options options(const std::vector<std::string>& names) {
    service_host_options o;
    for (auto& name : names)
      o.transports.emplace(name, [this, name](caf::actor_system& s) {
        auto t = scripted_transport::spawn(s);
        if (auto i = answers.find(name); i != answers.end())
          t.script().set_default_answer(i->second);
        transports[name].push_back(t);
        return t.handle();
      });
    // Exact delays: 10ms before a crashed transport or top-level actor
    // starts again.
    o.restarts.min_backoff = milliseconds(10);
    o.restarts.random_factor = 0;
    return o;
  }

  void start(const std::string& text, const std::vector<std::string>& names) {
    auto r = service_host::start(sys, text, options(names));
    INFO(boost::json::serialize(boost::json::value_from(r.errors)));
    REQUIRE(r.ok());
    host = std::move(r.host);
    run();
  }

  scripted_transport& latest(const std::string& name) {
    REQUIRE_FALSE(transports[name].empty());
    return transports[name].back();
  }

  call_request make_call(std::uint64_t id) {
    call_request req;
    req.id = id;
    req.operation = "get";
    req.payload = "p";
    req.idempotency_key = "key-" + std::to_string(id);
    return req;
  }

  call_reply call(const caf::actor& to, std::uint64_t id) {
    caller.clear();
    caller.send(to, call_atom::value, make_call(id));
    run();
    auto rs = caller.replies();
    REQUIRE(rs.size() == 1);
    return rs[0];
  }

  void kill(const caf::actor& x) {
    caf::anon_send_exit(x, caf::exit_reason::kill);
    run();
  }

  /// What the admin server does on an accepted `PUT /config`.
  void reload(const std::string& text) {
    auto parsed = parse_config_update(text);
    INFO(boost::json::serialize(boost::json::value_from(parsed.errors)));
    REQUIRE(parsed.ok());
    auto p = make_probe();
    std::size_t sent = 0;
    for (auto& [name, dep] : host->registry()->dependencies()) {
      p.send(dep, config_atom::value, parsed.update);
      ++sent;
    }
    for (auto& [name, sup] : host->registry()->supervisors()) {
      p.send(sup, config_atom::value, parsed.update);
      ++sent;
    }
    run();
    auto answers = p.collect<config_atom, std::vector<std::string>>();
    REQUIRE(answers.size() == sent);
    for (auto& a : answers)
      CHECK(std::get<1>(a).empty());
    host->registry()->set_document(parsed.update.config);
  }
};

std::string tree_document(int max_attempts) {
  return R"({"dependencies": {"a": {"idempotency": "idempotent",
    "breaker": {"mode": "disabled"},
    "retry": {"max_attempts": )"
         + std::to_string(max_attempts) + R"(, "per_attempt_timeout": "1s",
      "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}}}},
    "supervisors": {"s": {"members": ["a"], "failover": false}}})";
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "a bad document or missing transports start nothing and "
                 "every error is returned",
                 "[actors][host]") {
  auto running = sys.registry().running();
  SECTION("an invalid document") {
    auto r = service_host::start(
      sys, R"({"dependencies": {"a": {"retry": {"max_attempts": 0}, "x": 1}}})",
      options({"a"}));
    CHECK_FALSE(r.ok());
    CHECK(r.errors.size() == 2);
  }
  SECTION("a dependency without a transport factory") {
    auto r = service_host::start(sys, tree_document(1), options({"zzz"}));
    CHECK_FALSE(r.ok());
    CHECK(r.errors
          == std::vector<std::string>{
            "/dependencies/a: no transport factory was given for \"a\" "
            "(service_host_options::transports)"});
  }
  SECTION("a supervisor with a remote member and no remote factory") {
    auto r = service_host::start(sys, R"({"dependencies": {"a": {}},
               "supervisors": {"s": {"members": ["a", "far"]}},
               "cluster": {"node": "here",
                 "peers": {"there": {"host": "127.0.0.1", "port": 7100}},
                 "remotes": {"far": {"node": "there", "name": "a"}}}})",
                                 options({"a"}));
    CHECK_FALSE(r.ok());
    CHECK(r.errors
          == std::vector<std::string>{
            "/supervisors/s: member \"far\" is a remote, but no remote "
            "factory was given (service_host_options::remotes, e.g. "
            "cluster_node::spawn_remote)"});
  }
  run();
  CHECK(transports.empty());
  CHECK(sys.registry().running() == running);
}

TEST_CASE_METHOD(fixture,
                 "a member restarted after a reload runs the new "
                 "configuration, and the registry names the new incarnation",
                 "[actors][host]") {
  answers["a"] = status_result(500);
  start(tree_document(1), {"a"});
  auto sup = host->find("s");
  REQUIRE(sup);
  auto first = host->find("a");
  REQUIRE(first);
  CHECK(host->registry()->incarnation("a") == 1);
  auto r = call(sup, 1);
  CHECK_FALSE(r.ok);
  CHECK(latest("a").script().attempt_count() == 1);
  reload(tree_document(3));
  kill(first);
  advance_time(seconds(1)); // the supervisor's restart backoff
  auto second = host->find("a");
  REQUIRE(second);
  CHECK(second != first);
  CHECK(host->registry()->incarnation("a") == 2);
  // The new incarnation retries as the reloaded document says.
  auto before = latest("a").script().attempt_count();
  caller.clear();
  caller.send(sup, call_atom::value, make_call(2));
  advance_time(milliseconds(100));
  auto rs = caller.replies();
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].ok);
  CHECK(latest("a").script().attempt_count() - before == 3);
}

TEST_CASE_METHOD(fixture,
                 "an alternate fallback inside a tree answers when its primary "
                 "fails, also after the alternate was restarted",
                 "[actors][host]") {
  answers["a"] = status_result(500);
  answers["backup"] = success_result("from backup");
  start(R"({"dependencies": {
      "a": {"idempotency": "idempotent", "breaker": {"mode": "disabled"},
            "retry": {"max_attempts": 1},
            "fallback": [{"kind": "alternate", "dependency": "backup"}]},
      "backup": {"idempotency": "idempotent"}},
    "supervisors": {"s": {"members": ["a"]}}})",
        {"a", "backup"});
  auto sup = host->find("s");
  auto r = call(sup, 1);
  CHECK(r.ok);
  CHECK(r.payload == "from backup");
  CHECK(latest("backup").script().attempt_count() == 1);
  // backup runs outside every supervisor: the host restarts it.
  auto old_backup = host->find("backup");
  kill(old_backup);
  advance_time(milliseconds(10));
  REQUIRE(host->find("backup"));
  CHECK(host->find("backup") != old_backup);
  r = call(sup, 2);
  CHECK(r.ok);
  CHECK(r.payload == "from backup");
  CHECK(latest("backup").script().attempt_count() == 2);
}

TEST_CASE_METHOD(fixture,
                 "a transport killed mid-run is restarted and every call gets "
                 "exactly one reply",
                 "[actors][host]") {
  start(R"({"dependencies": {"a": {"idempotency": "idempotent",
      "breaker": {"mode": "disabled"}, "budget": {"mode": "unlimited"},
      "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
        "backoff": {"kind": "constant", "jitter": "none", "base": "50ms"}}}}})",
        {"a"});
  auto dep = host->find("a");
  REQUIRE(dep);
  // The first transport holds every attempt; its successor answers.
  answers["a"] = success_result("ok");
  constexpr std::uint64_t n = 20;
  for (std::uint64_t id = 1; id <= n; ++id)
    caller.send(dep, call_atom::value, make_call(id));
  run();
  auto first = latest("a");
  REQUIRE(first.held().size() == n);
  kill(first.handle());
  advance_time(milliseconds(10)); // the host's restart delay
  REQUIRE(transports["a"].size() == 2);
  CHECK(host->transport("a") == latest("a").handle());
  advance_time(milliseconds(100)); // the retries' backoff
  auto rs = caller.replies();
  std::map<std::uint64_t, int> per_id;
  for (auto& r : rs) {
    ++per_id[r.id];
    CHECK(r.ok);
  }
  CHECK(rs.size() == n);
  CHECK(per_id.size() == n);
  for (auto& [id, count] : per_id)
    CHECK(count == 1);
  CHECK(latest("a").script().attempt_count() == n);
  // Nothing more arrives later.
  advance_time(seconds(5));
  CHECK(caller.replies().size() == n);
}

TEST_CASE_METHOD(fixture,
                 "a top-level supervisor that escalates is restarted by the "
                 "host from the document in force",
                 "[actors][host]") {
  answers["a"] = success_result("a");
  start(R"({"dependencies": {"a": {"idempotency": "idempotent",
    "retry": {"max_attempts": 1}}},
    "supervisors": {"s": {"members": ["a"],
      "restart": {"max_restarts": 0}}}})",
        {"a"});
  auto first = host->find("s");
  REQUIRE(first);
  reload(R"({"dependencies": {"a": {"idempotency": "idempotent",
    "retry": {"max_attempts": 1}}},
    "supervisors": {"s": {"members": ["a"], "failover": false,
      "restart": {"max_restarts": 0}}}})");
  // Its member crashes; no restart allowed: the supervisor escalates.
  kill(host->find("a"));
  advance_time(milliseconds(10)); // the host's restart delay
  auto second = host->find("s");
  REQUIRE(second);
  CHECK(second != first);
  CHECK(host->registry()->incarnation("s") == 2);
  auto r = call(second, 1);
  CHECK(r.ok);
  CHECK(r.payload == "a");
  // Started from the reloaded document: no failover, so a failing member
  // answers with one attempt (the original document would fail over to
  // the same member again).
  latest("a").script().set_default_answer(status_result(500));
  r = call(second, 2);
  CHECK_FALSE(r.ok);
  CHECK(r.attempts == 1);
}

TEST_CASE_METHOD(fixture,
                 "a dependency a reload adds to a supervisor starts with its "
                 "own transport, which the host supervises",
                 "[actors][host]") {
  answers["a"] = status_result(500);
  answers["c"] = success_result("from c");
  auto doc = [](bool with_c) {
    std::string deps = R"("a": {"idempotency": "idempotent",
      "breaker": {"mode": "disabled"}, "retry": {"max_attempts": 1}})";
    if (with_c)
      deps += R"(, "c": {"idempotency": "idempotent"})";
    return R"({"dependencies": {)" + deps
           + R"(}, "supervisors": {"s": {"members": [)"
           + (with_c ? R"("a", "c")" : R"("a")") + "]}}}";
  };
  start(doc(false), {"a", "c"});
  CHECK(transports["c"].empty()); // nothing needs it yet
  auto sup = host->find("s");
  CHECK_FALSE(call(sup, 1).ok);
  reload(doc(true));
  REQUIRE(transports["c"].size() == 1);
  REQUIRE(host->find("c"));
  CHECK(host->transport("c") == latest("c").handle());
  // a fails, c answers (directly or after a failover).
  auto r = call(sup, 2);
  CHECK(r.ok);
  CHECK(r.payload == "from c");
  // Its transport is supervised like the others.
  kill(latest("c").handle());
  advance_time(milliseconds(10));
  REQUIRE(transports["c"].size() == 2);
  CHECK(host->transport("c") == latest("c").handle());
  r = call(sup, 3);
  CHECK(r.ok);
  CHECK(r.payload == "from c");
}

TEST_CASE_METHOD(fixture,
                 "a member a reload removes stops and then runs under the "
                 "host; moved back into its supervisor, the host lets go",
                 "[actors][host]") {
  answers["a"] = success_result("a");
  answers["b"] = success_result("b");
  auto doc = [](const std::string& members) {
    return R"({"dependencies": {"a": {"idempotency": "idempotent"},
      "b": {"idempotency": "idempotent"}},
      "supervisors": {"s": {"members": [)"
           + members + "]}}}";
  };
  start(doc(R"("a", "b")"), {"a", "b"});
  auto watcher = make_probe();
  auto watch = [&](const caf::actor& x) {
    watcher.execute([x](caf::event_based_actor* self) { self->monitor(x); });
    run();
  };
  auto member_b = host->find("b");
  REQUIRE(member_b);
  watch(member_b);
  // Removed from s but still in the document: drained, stopped, and
  // started again by the host on its own.
  reload(doc(R"("a")"));
  run();
  CHECK(watcher.collect<caf::down_msg>().size() == 1);
  auto own_b = host->find("b");
  REQUIRE(own_b);
  CHECK(own_b != member_b);
  CHECK(host->registry()->incarnation("b") == 2);
  auto r = call(own_b, 1);
  CHECK(r.ok);
  CHECK(r.payload == "b");
  // Back into s: s starts its own, the host stops its one for good.
  watch(own_b);
  reload(doc(R"("a", "b")"));
  run();
  CHECK(watcher.collect<caf::down_msg>().size() == 2);
  auto again = host->find("b");
  REQUIRE(again);
  CHECK(again != own_b);
  advance_time(seconds(1));
  CHECK(host->find("b") == again);
  CHECK(host->registry()->incarnation("b") == 3);
}

TEST_CASE_METHOD(fixture,
                 "a crashed member stays in the registry until its successor "
                 "runs",
                 "[actors][host]") {
  answers["a"] = success_result("a");
  start(R"({"dependencies": {"a": {"idempotency": "idempotent"}},
    "supervisors": {"s": {"members": ["a"]}}})",
        {"a"});
  auto a = host->find("a");
  kill(a);
  CHECK(host->find("a") == a);
  advance_time(seconds(1));
  REQUIRE(host->find("a"));
  CHECK(host->find("a") != a);
}

TEST_CASE_METHOD(fixture,
                 "a supervisor a reload adds starts, with the dependency it "
                 "takes over",
                 "[actors][host]") {
  answers["a"] = success_result("a");
  start(R"({"dependencies": {"a": {"idempotency": "idempotent"}}})", {"a"});
  CHECK_FALSE(host->find("t"));
  auto own_a = host->find("a");
  REQUIRE(own_a);
  reload(R"({"dependencies": {"a": {"idempotency": "idempotent"}},
    "supervisors": {"t": {"members": ["a"]}}})");
  run();
  auto t = host->find("t");
  REQUIRE(t);
  REQUIRE(host->find("a"));
  CHECK(host->find("a") != own_a);
  auto r = call(t, 1);
  CHECK(r.ok);
  CHECK(r.payload == "a");
}

TEST_CASE_METHOD(fixture,
                 "the host counts the crashes and restarts of a transport and "
                 "says when it gave up on it",
                 "[actors][host]") {
  answers["a"] = success_result("a");
  start(R"({"dependencies": {"a": {"idempotency": "idempotent"}}})", {"a"});
  auto stats_of = [&](const std::string& kind) {
    for (auto& x : host->registry()->host_actors())
      if (x.kind == kind && x.name == "a")
        return x.stats;
    FAIL("no host actor " << kind << " a");
    return host_actor_stats{};
  };
  // Every series exists from the start, at zero.
  CHECK(stats_of("transport").crashes == 0);
  CHECK(stats_of("dependency").crashes == 0);
  // The default intensity allows 3 restarts within 10 s: the 4th crash in
  // a row is one too many.
  for (int i = 1; i <= 3; ++i) {
    kill(host->transport("a"));
    advance_time(seconds(1)); // past any doubled backoff
    auto s = stats_of("transport");
    CHECK(s.crashes == static_cast<std::uint64_t>(i));
    CHECK(s.restarts == static_cast<std::uint64_t>(i));
    CHECK(s.given_up == 0);
  }
  auto last = host->transport("a");
  kill(last);
  advance_time(seconds(30));
  auto s = stats_of("transport");
  CHECK(s.crashes == 4);
  CHECK(s.restarts == 3);
  CHECK(s.given_up == 1);
  CHECK(transports["a"].size() == 4); // the first and three restarts
  // The dependency itself never crashed.
  CHECK(stats_of("dependency").crashes == 0);
}
