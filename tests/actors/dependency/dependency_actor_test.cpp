// The dependency actor's wiring: each message kind reaches the core
// (bulwark/runtime/dependency/dependency_core, whose behaviour is tested
// without CAF in tests/runtime/dependency/dependency_core_test.cpp) and each
// action leaves as the right message to the right actor: attempts and cancels
// to the transport, calls to alternates, replies to the caller (send and
// request forms), and one tick for the core's timers, in virtual time.
#include "bulwark/actors/dependency/dependency_actor.hpp"

#include <map>
#include <string>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/transport/scripted_transport.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/flags/feature_flags.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;

namespace {

/// A document parsed once, as a sender does before `(config_atom, ...)`.
config_update update(const std::string& text) {
  auto parsed = parse_config_update(text);
  INFO(text);
  REQUIRE(parsed.ok());
  return parsed.update;
}

} // namespace
using namespace bulwark::testing;

namespace {

/// The config of dependency "dep" from the JSON of its settings.
dependency_config make_config(const std::string& settings) {
  auto result =
    parse_bulwark_config(R"({"dependencies": {"dep": )" + settings + "}}");
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->dependencies.at(0);
}

// Constant backoff without jitter, so retry times are exact.
const std::string exact_retry = R"({
  "idempotency": "idempotent",
  "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
            "backoff": {"kind": "constant", "jitter": "none", "base": "100ms"}}
})";

struct fixture : deterministic_fixture {
  scripted_transport transport = scripted_transport::spawn(sys);
  probe caller = make_probe();
  std::vector<caf::actor> spawned;

  ~fixture() override {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(transport.handle(), caf::exit_reason::user_shutdown);
    run();
  }

  dependency_actor
  spawn_dep(dependency_config cfg,
            std::map<std::string, caf::actor> alternates = {}) {
    dependency_options opts;
    opts.config = std::move(cfg);
    opts.config.name = "dep";
    opts.transport = transport.handle();
    opts.alternates = std::move(alternates);
    opts.journey_sample = 1;
    auto dep = spawn_dependency(sys, std::move(opts));
    spawned.push_back(caf::actor_cast<caf::actor>(dep));
    return dep;
  }

  call_request make_call(std::uint64_t id, std::string op = "get",
                         std::string payload = "p") {
    call_request req;
    req.id = id;
    req.operation = std::move(op);
    req.payload = std::move(payload);
    req.idempotency_key = "key-" + std::to_string(id);
    return req;
  }

  void call(const dependency_actor& dep, call_request req) {
    caller.send(dep, call_atom::value, std::move(req));
    run();
  }

  // Offsets of the attempts the transport received from `t0`, in ms.
  std::vector<std::int64_t> attempt_offsets_ms(time_point t0) {
    std::vector<std::int64_t> result;
    for (auto& a : transport.attempts())
      result.push_back(
        std::chrono::duration_cast<milliseconds>(a.received_at - t0).count());
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a successful call gets exactly one live reply",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push(success_result("hello"));
  call(dep, make_call(7));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 7);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "hello");
  CHECK(replies[0].source == reply_source::live);
  CHECK(replies[0].attempts == 1);
  CHECK_FALSE(replies[0].hedge_won);
  auto attempts = transport.attempts();
  REQUIRE(attempts.size() == 1);
  auto& sent = attempts[0].request;
  CHECK(sent.idempotency_key == "key-7");
  CHECK(sent.payload == "p");
  CHECK(sent.operation == "get");
  CHECK(sent.attempt_number == 1);
  // The per-attempt timeout (1s) bounds the attempt's deadline.
  CHECK(sent.deadline_ns == to_wire_time(attempts[0].received_at + seconds(1)));
}

TEST_CASE_METHOD(fixture, "the request form answers like the send form",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push(success_result("hi"));
  caller.request<reply_atom, call_reply>(dep, caf::infinite, call_atom::value,
                                         make_call(3));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "hi");
}

TEST_CASE_METHOD(
  fixture, "a retry goes out when the core's timer falls due, by one tick",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push(status_result(500));
  transport.push(status_result(500));
  transport.push(success_result("third time"));
  auto t0 = now();
  call(dep, make_call(1));
  advance_time(milliseconds(99));
  CHECK(transport.attempts().size() == 1);
  advance_time(milliseconds(1));
  CHECK(transport.attempts().size() == 2);
  advance_time(milliseconds(100));
  CHECK(attempt_offsets_ms(t0) == std::vector<std::int64_t>{0, 100, 200});
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].attempts == 3);
  CHECK(transport.attempts()[2].request.attempt_number == 3);
}

TEST_CASE_METHOD(
  fixture,
  "a server's retry-after in a result message holds the retry to the "
  "nanosecond instead of the backoff",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  // 100ms backoff, but the server asked for 2.5s: the retry goes at 2.5s.
  transport.push(class_result(failure_class::overloaded, milliseconds(2500)));
  transport.push(success_result("after the pause"));
  auto t0 = now();
  call(dep, make_call(1));
  advance_time(milliseconds(100));
  CHECK(transport.attempts().size() == 1);
  advance_time(milliseconds(2399));
  CHECK(transport.attempts().size() == 1);
  advance_time(milliseconds(1));
  CHECK(attempt_offsets_ms(t0) == std::vector<std::int64_t>{0, 2500});
  CHECK(transport.attempts()[1].received_at - t0 == milliseconds(2500));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].ok);
  CHECK(caller.replies()[0].payload == "after the pause");
}

TEST_CASE_METHOD(
  fixture, "the per-attempt timeout fails a silent attempt and retries it",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 2, "per_attempt_timeout": "200ms",
              "backoff": {"kind": "constant", "jitter": "none", "base": "50ms"}}})"));
  transport.push_hold();
  transport.push(success_result("second"));
  auto t0 = now();
  call(dep, make_call(1));
  advance_time(milliseconds(199));
  CHECK(caller.replies().empty());
  advance_time(milliseconds(1));
  // The transport was told the first attempt is no longer wanted.
  CHECK(transport.cancelled().size() == 1);
  advance_time(milliseconds(50));
  CHECK(attempt_offsets_ms(t0) == std::vector<std::int64_t>{0, 250});
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].payload == "second");
  // A late answer to the abandoned attempt is dropped: still one reply.
  transport.answer(transport.attempts()[0].request.attempt_id,
                   success_result("late"));
  run();
  CHECK(caller.replies().size() == 1);
}

TEST_CASE_METHOD(
  fixture, "a cancelled call is answered once as cancelled and retries no more",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push_hold();
  call(dep, make_call(1));
  call(dep, make_call(2));
  REQUIRE(transport.attempts().size() == 2);
  // Only the sender's own call with that id is cancelled.
  auto other = make_probe();
  other.send(dep, cancel_atom::value, std::uint64_t{1});
  run();
  CHECK(caller.replies().empty());
  caller.send(dep, cancel_atom::value, std::uint64_t{1});
  run();
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 1);
  CHECK_FALSE(caller.replies()[0].ok);
  CHECK(caller.replies()[0].cls == failure_class::cancelled);
  CHECK_FALSE(caller.replies()[0].may_retry);
  CHECK(
    transport.cancelled()
    == std::vector<std::uint64_t>{transport.attempts()[0].request.attempt_id});
  // No retry follows, a second cancel and a late answer change nothing.
  caller.send(dep, cancel_atom::value, std::uint64_t{1});
  transport.answer(transport.attempts()[0].request.attempt_id,
                   success_result("late"));
  advance_time(seconds(2));
  auto attempts = transport.attempts();
  auto first_call_attempts =
    std::count_if(attempts.begin(), attempts.end(),
                  [](auto& a) { return a.request.idempotency_key == "key-1"; });
  CHECK(first_call_attempts == 1);
  auto replies = caller.replies();
  CHECK(std::count_if(replies.begin(), replies.end(),
                      [](auto& r) { return r.id == 1; })
        == 1);
}

TEST_CASE_METHOD(
  fixture, "an attempt in flight when the deadline passes ends the call then",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push_hold();
  auto t0 = now();
  auto req = make_call(1);
  req.deadline_ns = to_wire_time(t0 + milliseconds(300));
  call(dep, std::move(req));
  advance_time(seconds(2));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].cls == failure_class::deadline_exceeded);
  CHECK(caller[0].at == t0 + milliseconds(300));
}

TEST_CASE_METHOD(fixture,
                 "a call from another node carries a budget that becomes a "
                 "deadline on arrival",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push_hold();
  transport.push_hold();
  // 300 ms from now, as the sending node computed it against its own clock.
  auto t0 = now();
  auto remote = make_call(1);
  remote.deadline_ns =
    budget_from_deadline(to_wire_time(t0 + milliseconds(300)), t0);
  CHECK(remote.deadline_ns == 300'000'000);
  caller.send(dep, rcall_atom::value, std::move(remote));
  run();
  advance_time(seconds(2));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 1);
  CHECK(caller.replies()[0].cls == failure_class::deadline_exceeded);
  CHECK(caller[0].at == t0 + milliseconds(300));
  // The attempt's own deadline is the converted one, not 300 ns after the
  // epoch.
  REQUIRE(!transport.attempts().empty());
  CHECK(transport.attempts()[0].request.deadline_ns
        == to_wire_time(t0 + milliseconds(300)));
  // A spent budget is answered like a late local call; no budget is none.
  auto spent = make_call(2);
  spent.deadline_ns = 0;
  caller.send(dep, rcall_atom::value, std::move(spent));
  run();
  REQUIRE(caller.replies().size() == 2);
  CHECK(caller.replies()[1].cls == failure_class::deadline_exceeded);
  CHECK(caller.replies()[1].message
        == "invalid request: deadline already passed");
  CHECK(transport.attempts().size() == 1);
}

TEST_CASE_METHOD(
  fixture, "an alternate gets a call message and its reply answers the call",
  "[actors][dependency]") {
  auto alt_transport = scripted_transport::spawn(sys);
  dependency_options alt_opts;
  alt_opts.config = make_config(R"({"idempotency": "idempotent",
                                    "retry": {"enabled": false}})");
  alt_opts.config.name = "alt";
  alt_opts.transport = alt_transport.handle();
  auto alt = spawn_dependency(sys, std::move(alt_opts));
  spawned.push_back(caf::actor_cast<caf::actor>(alt));
  spawned.push_back(alt_transport.handle());
  auto full = parse_bulwark_config(R"({"dependencies": {
    "dep": {"idempotency": "idempotent", "retry": {"enabled": false},
            "fallback": [{"kind": "alternate", "dependency": "alt"},
                         {"kind": "static", "value": "S"}]},
    "alt": {}}})");
  REQUIRE(full.ok());
  auto dep = spawn_dep(*full.config->find("dep"),
                       {{"alt", caf::actor_cast<caf::actor>(alt)}});
  transport.push(status_result(500));
  alt_transport.push(success_result("from alt"));
  call(dep, make_call(1));
  transport.push(status_result(500));
  alt_transport.push(status_result(500));
  call(dep, make_call(2));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].source == reply_source::alternate);
  CHECK(replies[0].payload == "from alt");
  CHECK(replies[1].source == reply_source::static_fallback);
  // The alternate's own attempts count the one made here.
  REQUIRE(alt_transport.attempts().size() == 2);
  CHECK(alt_transport.attempts()[0].request.attempt_number == 2);
  CHECK(alt_transport.attempts()[0].request.idempotency_key == "key-1");
  caf::anon_send_exit(alt, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(alt_transport.handle(), caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture,
                 "a dead transport fails its attempts at once, none hangs",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "10s",
              "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}},
    "fallback": [{"kind": "static", "value": "degraded"}]})"));
  transport.push_hold();
  transport.push_hold();
  call(dep, make_call(1));
  call(dep, make_call(2));
  CHECK(transport.attempts().size() == 2);
  caf::anon_send_exit(transport.handle(), caf::exit_reason::kill);
  run();
  advance_time(milliseconds(10)); // the backoffs, far below the timeout
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2);
  for (auto& r : replies) {
    CHECK(r.ok);
    CHECK(r.source == reply_source::static_fallback);
    CHECK(r.attempts == 3);
  }
  // A replacement transport is used from then on.
  auto fresh = scripted_transport::spawn(sys);
  spawned.push_back(fresh.handle());
  fresh.push(success_result("back"));
  caf::anon_send(dep, transport_atom::value, fresh.handle());
  run();
  call(dep, make_call(3));
  REQUIRE(caller.replies().size() == 3);
  CHECK(caller.replies()[2].payload == "back");
  caf::anon_send_exit(fresh.handle(), caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture,
                 "a config reload applies to new calls, not to calls in flight",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push_hold();
  call(dep, make_call(1));
  // Reload: no retries any more.
  caller.send(dep, config_atom::value,
              update(R"({"dependencies": {"dep": {"idempotency": "idempotent",
                              "retry": {"enabled": false}}}})"));
  run();
  auto acks = caller.collect<config_atom, std::vector<std::string>>();
  REQUIRE(acks.size() == 1);
  CHECK(std::get<1>(acks[0]).empty());
  // The call in flight still retries under its old config.
  transport.answer_oldest(status_result(500));
  transport.push(success_result("retried"));
  run();
  advance_time(milliseconds(100));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].payload == "retried");
  // A new call does not retry.
  transport.push(status_result(500));
  call(dep, make_call(2));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 2);
  CHECK_FALSE(caller.replies()[1].ok);
  CHECK(caller.replies()[1].attempts == 1);
}

TEST_CASE_METHOD(
  fixture, "an invalid config is rejected with every error and changes nothing",
  "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  // A document that does not validate never reaches the actor: it is
  // parsed once, by the sender, which gets every error.
  auto bad = parse_config_update(
    R"({"dependencies": {"dep": {"retry": {"max_attempts": 0},
                              "bogus": 1}}})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors
        == std::vector<std::string>{
          "/dependencies/dep/bogus: unknown key (allowed: idempotency, "
          "default_timeout, operations, classification, retry, budget, "
          "breaker, bulkhead, adaptive_limit, throttle, deadline_shedding, "
          "cache, hedge, fallback, journeys, objective, probe, progressive)",
          "/dependencies/dep/retry/max_attempts: must be between 1 and 10 "
          "(got: 0)"});
  // A valid document without this dependency is the actor's to refuse;
  // so is an empty update.
  caller.send(dep, config_atom::value,
              update(R"({"dependencies": {"other": {}}})"));
  caller.send(dep, config_atom::value, config_update{});
  run();
  auto acks = caller.collect<config_atom, std::vector<std::string>>();
  REQUIRE(acks.size() == 2);
  CHECK(
    std::get<1>(acks[0])
    == std::vector<std::string>{"/dependencies/dep: is required (this actor "
                                "serves dependency \"dep\")"});
  CHECK(std::get<1>(acks[1]).size() == 1);
  caller.send(dep, stats_atom::value);
  run();
  auto stats = caller.collect<stats_atom, dependency_stats>();
  REQUIRE(stats.size() == 1);
  CHECK(std::get<1>(stats[0]).config_rejected == 1);
  // Behaviour unchanged: still three attempts.
  for (int i = 0; i < 3; ++i)
    transport.push(status_result(500));
  call(dep, make_call(1));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].attempts == 3);
}

TEST_CASE_METHOD(fixture, "malformed requests get a clear classified failure",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  call(dep, make_call(1, ""));
  auto past = make_call(2);
  past.deadline_ns = to_wire_time(now() - milliseconds(1));
  call(dep, std::move(past));
  auto bad_crit = make_call(3);
  bad_crit.crit = static_cast<criticality>(9);
  call(dep, std::move(bad_crit));
  auto injected = make_call(4);
  injected.idempotency_key = "o-1\r\nPUT /faults HTTP/1.1";
  call(dep, std::move(injected));
  auto nul = make_call(5);
  nul.idempotency_key = std::string{"nul-1\0A", 7};
  call(dep, std::move(nul));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 5);
  CHECK(replies[3].cls == failure_class::persistent);
  CHECK(replies[3].message
        == "invalid request: idempotency key contains a CR (0x0D) at byte 3; "
           "allowed: visible ASCII 0x21-0x7E");
  CHECK(replies[4].message.find("a NUL (0x00) at byte 5") != std::string::npos);
  CHECK(replies[0].cls == failure_class::persistent);
  CHECK(replies[0].message == "invalid request: empty operation");
  CHECK(replies[1].cls == failure_class::deadline_exceeded);
  CHECK(replies[1].message == "invalid request: deadline already passed");
  CHECK(replies[2].cls == failure_class::persistent);
  CHECK(replies[2].message == "invalid request: unknown criticality");
  CHECK(transport.attempts().empty());
}

TEST_CASE_METHOD(fixture,
                 "a hedge fires at its delay and the first success wins",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(R"({"idempotency": "idempotent",
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}})"));
  transport.push_hold();
  transport.push(success_result("hedge"), milliseconds(5));
  auto t0 = now();
  call(dep, make_call(1));
  advance_time(milliseconds(49));
  CHECK(transport.attempts().size() == 1);
  advance_time(milliseconds(1));
  CHECK(transport.attempts().size() == 2);
  advance_time(milliseconds(5));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].hedge_won);
  CHECK(replies[0].payload == "hedge");
  CHECK(replies[0].attempts == 2);
  CHECK(caller[0].at == t0 + milliseconds(55));
  // The loser was told to stop; its late answer is dropped.
  CHECK(transport.cancelled().size() == 1);
  transport.answer_oldest(success_result("late"));
  run();
  CHECK(caller.replies().size() == 1);
}

TEST_CASE_METHOD(fixture,
                 "journeys record each step and can be fetched as JSON",
                 "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push(status_result(500));
  transport.push(success_result("ok"));
  auto req = make_call(1);
  req.journey_id = 4242;
  call(dep, std::move(req));
  advance_time(milliseconds(100));
  caller.send(dep, journey_atom::value, std::uint64_t{4242});
  caller.send(dep, journey_atom::value, std::uint64_t{1});
  run();
  auto answers = caller.collect<journey_atom, std::string>();
  REQUIRE(answers.size() == 2);
  auto doc = boost::json::parse(std::get<1>(answers[0]));
  CHECK(doc.at("id").as_int64() == 4242);
  std::vector<std::string> kinds;
  for (auto& e : doc.at("entries").as_array())
    kinds.emplace_back(e.at("event").as_string());
  CHECK(kinds
        == std::vector<std::string>{
          "admitted", "attempt_started", "attempt_ended", "backoff_scheduled",
          "attempt_started", "attempt_ended", "replied"});
  CHECK(std::get<1>(answers[1]).empty());
}

TEST_CASE_METHOD(fixture,
                 "1,000 simultaneous failures under a 20% budget schedule no "
                 "more retries than the budget holds (envoy#30205)",
                 "[actors][dependency][budget]") {
  auto dep = spawn_dep(make_config(R"({"idempotency": "idempotent",
    "default_timeout": "30s",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "5s",
              "backoff": {"kind": "exponential", "base": "100ms"}},
    "budget": {"mode": "finagle", "finagle": {"ttl": "10s",
               "percent_can_retry": 20, "min_retries_per_second": 0}},
    "bulkhead": {"max_concurrent": 2000},
      "breaker": {"mode": "disabled"}})"));
  // Every attempt fails at once with 503.
  transport.script().set_default_answer(status_result(503));
  for (std::uint64_t i = 1; i <= 1000; ++i)
    caller.send(dep, call_atom::value, make_call(i));
  run();
  auto stats = [&] {
    caller.send(dep, stats_atom::value);
    run();
    auto answers = caller.collect<stats_atom, dependency_stats>();
    REQUIRE_FALSE(answers.empty());
    return std::get<1>(answers.back());
  };
  // All 1,000 failed and were decided; no backoff has ended yet (virtual
  // time has not moved): 200 retries scheduled, 800 refused.
  CHECK(transport.script().attempt_count() == 1000);
  auto at_once = stats();
  CHECK(at_once.retries == 200);
  CHECK(at_once.retries_denied_budget == 800);
  // The scheduled retries fire (and fail): exactly those 200, no more.
  advance_time(seconds(10));
  run();
  CHECK(transport.script().attempt_count() == 1200);
  auto after = stats();
  CHECK(after.retries == 200);
  CHECK(after.attempts == 1200);
  CHECK(caller.replies().size() == 1000);
}

TEST_CASE_METHOD(fixture, "stats count what happened", "[actors][dependency]") {
  auto dep = spawn_dep(make_config(exact_retry));
  transport.push(status_result(500));
  transport.push(success_result("ok"));
  call(dep, make_call(1));
  advance_time(milliseconds(100));
  caller.send(dep, stats_atom::value);
  run();
  auto answers = caller.collect<stats_atom, dependency_stats>();
  REQUIRE(answers.size() == 1);
  // Typed on the wire; the JSON form for people has the same counters.
  CHECK(std::get<1>(answers[0]).requests == 1);
  boost::json::value doc = to_json(std::get<1>(answers[0]));
  CHECK(doc.at("requests").to_number<std::uint64_t>() == 1);
  CHECK(doc.at("attempts").to_number<std::uint64_t>() == 2);
  CHECK(doc.at("retries").to_number<std::uint64_t>() == 1);
  CHECK(doc.at("replies_ok").to_number<std::uint64_t>() == 1);
  CHECK(doc.at("in_flight").to_number<std::uint64_t>() == 0);
}

TEST_CASE_METHOD(fixture,
                 "every request gets exactly one reply through real messages "
                 "under random faults",
                 "[actors][dependency]") {
  // Random configs, random transport behaviour (success, 5xx, 429 with
  // retry-after, 404, refused, silence, delays), random arrival times.
  // (The invariant's own test, with many more seeds, is the core's; this
  // one checks that the messages carry it.)
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    auto t = scripted_transport::spawn(sys);
    auto pick = [&](std::initializer_list<const char*> xs) {
      return std::string{*(xs.begin() + gen.below(xs.size()))};
    };
    auto cfg_text =
      "{\"idempotency\": \"" + pick({"idempotent", "keyed", "unsafe"})
      + "\", \"retry\": {\"max_attempts\": " + std::to_string(1 + gen.below(4))
      + ", \"per_attempt_timeout\": \"" + pick({"20ms", "200ms"})
      + "\", \"backoff\": {\"base\": \"5ms\", \"jitter\": \""
      + pick({"none", "full", "equal", "decorrelated"}) + "\"}}"
      + ", \"breaker\": {\"window_size\": 10, \"minimum_calls\": 5, "
        "\"open_duration\": \"50ms\"}"
      + ", \"bulkhead\": {\"max_concurrent\": "
      + std::to_string(1 + gen.below(8))
      + ", \"max_queue\": 4, \"max_queue_wait\": \"30ms\"}"
      + ", \"cache\": {\"enabled\": " + pick({"true", "false"})
      + ", \"ttl\": \"10ms\", \"stale_if_error\": \"1s\", "
        "\"stale_while_revalidate\": \"5ms\"}"
      + ", \"fallback\": "
      + pick({"[]", "[{\"kind\": \"stale_cache\"}]",
              "[{\"kind\": \"static\", \"value\": \"S\"}]"})
      + "}";
    auto cfg = make_config(cfg_text);
    if (cfg.repeat != idempotency::unsafe && gen.below(2) == 0) {
      cfg.hedge.enabled = true;
      cfg.hedge.delay_kind = hedge_delay_kind::fixed;
      cfg.hedge.delay = milliseconds(3);
    }
    dependency_options opts;
    opts.config = cfg;
    opts.config.name = "dep";
    opts.transport = t.handle();
    opts.seed = seed;
    opts.policies = std::make_shared<dependency_policies>(opts.config);
    auto pol = opts.policies;
    auto dep = spawn_dependency(sys, std::move(opts));
    for (int i = 0; i < 400; ++i) {
      switch (gen.below(8)) {
        case 0:
        case 1:
        case 2:
          t.push(success_result("v" + std::to_string(i)),
                 milliseconds(gen.below(30)));
          break;
        case 3:
          t.push(status_result(503), milliseconds(gen.below(5)));
          break;
        case 4:
          t.push(class_result(failure_class::overloaded,
                              milliseconds(gen.below(20))));
          break;
        case 5:
          t.push(status_result(404));
          break;
        case 6:
          t.push(error_result(transport_error::connection_refused));
          break;
        case 7:
          t.push_hold();
          break;
      }
    }
    t.script().set_default_answer(success_result("d"));
    auto p = make_probe();
    const std::uint64_t calls = 60;
    for (std::uint64_t id = 1; id <= calls; ++id) {
      call_request req =
        make_call(id, "op", "k" + std::to_string(gen.below(5)));
      req.crit = static_cast<criticality>(gen.below(3));
      if (gen.below(3) == 0)
        req.deadline_ns =
          to_wire_time(now() + milliseconds(1 + gen.below(100)));
      p.send(dep, call_atom::value, std::move(req));
      advance_time(milliseconds(gen.below(4)));
    }
    advance_time(seconds(10));
    std::map<std::uint64_t, int> count;
    for (auto& r : p.replies())
      ++count[r.id];
    CHECK(count.size() == calls);
    for (auto& [id, n] : count) {
      INFO("call " << id);
      CHECK(n == 1);
    }
    // Nothing leaks: every breaker permit and concurrency slot came back.
    CHECK(pol->breaker.calls_in_flight() == 0);
    CHECK(pol->limit.in_flight() == 0);
    CHECK(pol->limit.queued() == 0);
    CHECK(pol->stats.in_flight == 0);
    caf::anon_send_exit(dep, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(t.handle(), caf::exit_reason::user_shutdown);
    run();
  }
}

// -- feature flags -------------------------------------------------------------------

namespace {

/// Sends `(flags_atom, text)` and returns the actor's error list.
std::vector<std::string> set_flags(fixture& f, const dependency_actor& dep,
                                   std::string text) {
  auto before = f.caller.collect<flags_atom, std::vector<std::string>>().size();
  f.caller.send(dep, flags_atom::value, std::move(text));
  f.run();
  auto acks = f.caller.collect<flags_atom, std::vector<std::string>>();
  REQUIRE(acks.size() == before + 1);
  return std::get<1>(acks.back());
}

/// The dependency's stats object.
boost::json::object stats_of(fixture& f, const dependency_actor& dep) {
  f.caller.send(dep, stats_atom::value);
  f.run();
  auto answers = f.caller.collect<stats_atom, dependency_stats>();
  REQUIRE_FALSE(answers.empty());
  return to_json(std::get<1>(answers.back()));
}

std::uint64_t counter(const boost::json::object& stats, const char* key) {
  return stats.at(key).to_number<std::uint64_t>();
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "a retry flag switched off makes the first failure final "
                 "until it is switched back",
                 "[actors][dependency][flags]") {
  auto dep = spawn_dep(make_config(exact_retry));
  CHECK(set_flags(*this, dep, R"({"retry": {"enabled": false}})").empty());
  transport.push(status_result(500));
  call(dep, make_call(1));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 1);
  CHECK_FALSE(caller.replies()[0].ok);
  CHECK(caller.replies()[0].attempts == 1);
  CHECK_FALSE(caller.replies()[0].may_retry);
  CHECK(caller.replies()[0].message == "retries disabled by a feature flag");
  CHECK(transport.attempts().size() == 1);
  CHECK(counter(stats_of(*this, dep), "retries_suppressed_flag") == 1);
  // Back to the defaults: the configured three attempts again.
  CHECK(set_flags(*this, dep, "{}").empty());
  transport.push(status_result(500));
  transport.push(status_result(500));
  transport.push(success_result("third"));
  call(dep, make_call(2));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 2);
  CHECK(caller.replies()[1].ok);
  CHECK(caller.replies()[1].attempts == 3);
}

TEST_CASE_METHOD(fixture,
                 "bad flags are rejected with every error and change nothing",
                 "[actors][dependency][flags]") {
  auto dep = spawn_dep(make_config(exact_retry));
  auto errors =
    set_flags(*this, dep, R"({"retry": {"rollout": 150}, "bogus": 1})");
  CHECK(errors
        == std::vector<std::string>{
          "/bogus: unknown key (allowed: retry, hedging, breaker)",
          "/retry/rollout: must be between 0 and 100 (got: 150)"});
  errors = set_flags(*this, dep, "not json");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("(root): not valid JSON: ", 0) == 0);
  caller.send(dep, flags_atom::value);
  run();
  auto shown = caller.collect<flags_atom, std::string>();
  REQUIRE(shown.size() == 1);
  error_list parse_errors;
  auto in_force = parse_dependency_flags_config(
    boost::json::parse(std::get<1>(shown[0])), json_path{}, parse_errors);
  CHECK(parse_errors.empty());
  CHECK(in_force == dependency_flags_config{});
  // Behaviour unchanged: still three attempts.
  for (int i = 0; i < 3; ++i)
    transport.push(status_result(500));
  call(dep, make_call(1));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].attempts == 3);
}

TEST_CASE_METHOD(
  fixture, "flags survive a config reload and a restart on the same policies",
  "[actors][dependency][flags]") {
  auto cfg = make_config(exact_retry);
  cfg.name = "dep";
  auto policies = std::make_shared<dependency_policies>(cfg);
  dependency_options opts;
  opts.config = cfg;
  opts.transport = transport.handle();
  opts.policies = policies;
  auto dep = spawn_dependency(sys, opts);
  CHECK(set_flags(*this, dep, R"({"retry": {"enabled": false}})").empty());
  caller.send(dep, config_atom::value,
              update(R"({"dependencies": {"dep": )" + exact_retry + "}}"));
  run();
  transport.push(status_result(500));
  call(dep, make_call(1));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].attempts == 1);
  // A new incarnation on the same policy state (what a supervisor does).
  caf::anon_send_exit(dep, caf::exit_reason::kill);
  run();
  auto again = spawn_dependency(sys, opts);
  spawned.push_back(caf::actor_cast<caf::actor>(again));
  transport.push(status_result(500));
  call(again, make_call(2));
  advance_time(seconds(1));
  REQUIRE(caller.replies().size() == 2);
  CHECK(caller.replies()[1].attempts == 1);
}

// -- active health probe ---------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a probe pauses a failing path and resumes it once the "
                 "downstream recovers",
                 "[actors][dependency][probe]") {
  auto cfg = make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "probe": {"enabled": true, "operation": "ping", "interval": "1s",
              "timeout": "100ms", "unhealthy_threshold": 2,
              "healthy_threshold": 2}})");
  cfg.name = "dep";
  auto policies = std::make_shared<dependency_policies>(cfg);
  dependency_options opts;
  opts.config = cfg;
  opts.transport = transport.handle();
  opts.policies = policies;
  auto dep = spawn_dependency(sys, std::move(opts));
  spawned.push_back(caf::actor_cast<caf::actor>(dep));
  auto stats = [&] {
    caller.clear();
    caller.send(dep, stats_atom::value);
    run();
    auto answers = caller.collect<stats_atom, dependency_stats>();
    REQUIRE(answers.size() == 1);
    return std::get<1>(answers[0]);
  };
  // The downstream fails every request.
  transport.script().set_default_answer(status_result(503));
  advance_time(milliseconds(0)); // the first probe goes at once
  REQUIRE(transport.attempts().size() == 1);
  auto first = transport.attempts()[0].request;
  CHECK(first.operation == "ping");
  CHECK(
    first.deadline_ns
    == to_wire_time(transport.attempts()[0].received_at + milliseconds(100)));
  CHECK(policies->breaker.state() == breaker_state::closed);
  advance_time(seconds(1)); // the second failed probe pauses the path
  CHECK(transport.attempts().size() == 2);
  CHECK(policies->breaker.state() == breaker_state::forced_open);
  CHECK(policies->last_breaker_event.reason == transition_reason::probe);
  auto paused = stats();
  CHECK(paused.breaker == breaker_state::forced_open);
  CHECK(paused.probe_paused == 1);
  CHECK(paused.probe_pauses == 1);
  CHECK(paused.probes_failure == 2);
  boost::json::value doc = to_json(paused);
  CHECK(doc.at("probe_paused").to_number<std::uint64_t>() == 1);
  // Calls are rejected at once, naming the probe; nothing reaches the
  // downstream but probes.
  caller.clear();
  call(dep, make_call(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].ok);
  CHECK(replies[0].cls == failure_class::rejected_locally);
  CHECK(replies[0].message.find("paused by a health probe")
        != std::string::npos);
  CHECK(transport.attempts().size() == 2);
  CHECK(stats().rejected_probe == 1);
  // The downstream recovers: two good probes resume the path.
  transport.script().set_default_answer(success_result("pong"));
  advance_time(seconds(1));
  CHECK(policies->breaker.state() == breaker_state::forced_open);
  advance_time(seconds(1));
  CHECK(transport.attempts().size() == 4);
  CHECK(policies->breaker.state() == breaker_state::closed);
  CHECK(policies->last_breaker_event.reason == transition_reason::probe);
  caller.clear();
  call(dep, make_call(2));
  replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "pong");
  auto attempts = transport.attempts();
  REQUIRE(attempts.size() == 5);
  CHECK(attempts[4].request.operation == "get");
  // Probes never count as calls or attempts.
  auto after = stats();
  CHECK(after.probe_paused == 0);
  CHECK(after.probes_success == 2);
  CHECK(after.requests == 2);
  CHECK(after.attempts == 1);
  CHECK(after.attempt_latency.count() == 1);
}

TEST_CASE_METHOD(fixture,
                 "a probe without an answer times out, and a reload that "
                 "turns probing off resumes the path",
                 "[actors][dependency][probe]") {
  auto dep = spawn_dep(make_config(R"({"idempotency": "idempotent",
    "probe": {"enabled": true, "operation": "ping", "interval": "1s",
              "timeout": "100ms", "unhealthy_threshold": 1}})"));
  // No answer: the transport holds every attempt.
  advance_time(milliseconds(100));
  REQUIRE(transport.attempts().size() == 1);
  caller.send(dep, stats_atom::value);
  run();
  auto answers = caller.collect<stats_atom, dependency_stats>();
  REQUIRE(answers.size() == 1);
  CHECK(std::get<1>(answers[0]).probes_timeout == 1);
  CHECK(std::get<1>(answers[0]).breaker == breaker_state::forced_open);
  caller.clear();
  caller.send(dep, config_atom::value, update(R"({"dependencies": {"dep": {
                "idempotency": "idempotent"}}})"));
  run();
  caller.send(dep, stats_atom::value);
  run();
  answers = caller.collect<stats_atom, dependency_stats>();
  REQUIRE(answers.size() == 1);
  CHECK(std::get<1>(answers[0]).breaker == breaker_state::closed);
  CHECK(std::get<1>(answers[0]).probe_paused == 0);
  // Off: no more probes, however long we wait.
  advance_time(seconds(10));
  CHECK(transport.attempts().size() == 1);
}

// -- progressive calls --------------------------------------------------------
// The core decides when a preliminary reply is due (tested without CAF in
// dependency_core_test.cpp); here: it leaves as `(preliminary_atom,
// call_reply)` to the caller, the final one as the call's reply, and a cancel
// after the preliminary reply ends the call silently.

namespace {

// Cached for 10s, stale entries usable for an hour; preliminary replies
// 200ms after arrival.
const std::string progressive_settings = R"({
  "idempotency": "idempotent",
  "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
            "backoff": {"kind": "constant", "jitter": "none", "base": "100ms"}},
  "cache": {"enabled": true, "ttl": "10s", "stale_if_error": "1h"},
  "fallback": [{"kind": "stale_cache"}, {"kind": "static", "value": "S"}],
  "progressive": {"enabled": true, "soft_deadline": "200ms"}
})";

struct progressive_fixture : fixture {
  /// A dependency whose cache holds a stale "old" for payload "p" and whose
  /// transport holds the next attempt until the test answers it.
  dependency_actor stale_dep(const std::string& settings) {
    auto dep = spawn_dep(make_config(settings));
    transport.push(success_result("old"));
    call(dep, make_call(1000));
    REQUIRE(caller.replies().size() == 1);
    caller.clear();
    advance_time(seconds(11));
    transport.push_hold();
    return dep;
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

  /// The attempt of the progressive call (the one after the warm-up's).
  std::uint64_t held_attempt() {
    auto attempts = transport.attempts();
    REQUIRE(attempts.size() == 2);
    return attempts[1].request.attempt_id;
  }

  dependency_stats stats(const dependency_actor& dep) {
    caller.send(dep, stats_atom::value);
    run();
    auto answers = caller.collect<stats_atom, dependency_stats>();
    REQUIRE(!answers.empty());
    return std::get<1>(answers.back());
  }
};

} // namespace

TEST_CASE_METHOD(progressive_fixture,
                 "a late progressive call gets a preliminary message at its "
                 "soft deadline, then its final reply, both to its caller",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  call(dep, progressive_call(2));
  auto attempt = held_attempt();
  advance_time(milliseconds(199));
  CHECK(caller.size() == 0);
  advance_time(milliseconds(1));
  auto pre = preliminaries();
  REQUIRE(pre.size() == 1);
  CHECK(pre[0].id == 2);
  CHECK(pre[0].preliminary);
  CHECK(pre[0].ok);
  CHECK(pre[0].payload == "old");
  CHECK(pre[0].source == reply_source::stale_cache);
  CHECK(pre[0].age_ns == to_wire_duration(seconds(11) + milliseconds(200)));
  CHECK(pre[0].reason == preliminary_reason::awaiting_answer);
  CHECK(caller[0].sender == caf::actor_cast<caf::actor_addr>(dep));
  // Not the call's reply: that one is still to come.
  CHECK(caller.replies().empty());
  CHECK(transport.cancelled().empty());
  advance_time(milliseconds(100));
  transport.answer(attempt, success_result("new"));
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 2);
  CHECK_FALSE(replies[0].preliminary);
  CHECK(replies[0].ok);
  CHECK(replies[0].payload == "new");
  CHECK(replies[0].source == reply_source::live);
  CHECK(replies[0].reason == preliminary_reason::none);
  CHECK(replies[0].age_ns == -1);
  REQUIRE(caller.size() == 2);
  CHECK(caller[1].is<reply_atom, call_reply>()); // after the preliminary
  // Nothing else follows.
  advance_time(seconds(5));
  CHECK(preliminaries().size() == 1);
  CHECK(caller.replies().size() == 1);
  auto st = stats(dep);
  CHECK(st.preliminary_replies == 1);
  CHECK(st.finals_after_preliminary == 1);
  CHECK(st.finals_contradicted == 1);
  CHECK(st.in_flight == 0);
}

TEST_CASE_METHOD(progressive_fixture,
                 "the request form gets the preliminary as a message and the "
                 "final as the request's response",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  caller.request<reply_atom, call_reply>(dep, caf::infinite, call_atom::value,
                                         progressive_call(2));
  run();
  auto attempt = held_attempt();
  advance_time(milliseconds(200));
  REQUIRE(preliminaries().size() == 1);
  CHECK(caller.replies().empty());
  transport.answer(attempt, success_result("new"));
  run();
  REQUIRE(caller.size() == 2);
  // The response: the request's handler recorded it as `(reply_atom,
  // call_reply)`.
  CHECK(caller[1].is<reply_atom, call_reply>());
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new");
  CHECK_FALSE(replies[0].preliminary);
  CHECK(caller.errors().empty());
}

TEST_CASE_METHOD(progressive_fixture,
                 "a call's own soft deadline decides when its preliminary "
                 "reply goes",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  call(dep, progressive_call(2, to_wire_duration(milliseconds(50))));
  advance_time(milliseconds(49));
  CHECK(preliminaries().empty());
  advance_time(milliseconds(1));
  REQUIRE(preliminaries().size() == 1);
  CHECK(preliminaries()[0].age_ns
        == to_wire_duration(seconds(11) + milliseconds(50)));
}

TEST_CASE_METHOD(progressive_fixture,
                 "a progressive call answered before its soft deadline gets "
                 "its final reply only",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  call(dep, progressive_call(2));
  auto attempt = held_attempt();
  advance_time(milliseconds(150));
  transport.answer(attempt, success_result("new"));
  run();
  advance_time(seconds(5));
  CHECK(preliminaries().empty());
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new");
  CHECK_FALSE(replies[0].preliminary);
  CHECK(stats(dep).preliminary_replies == 0);
}

TEST_CASE_METHOD(progressive_fixture,
                 "a cancel after the preliminary reply ends the call with "
                 "nothing more to its caller",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  call(dep, progressive_call(2));
  auto attempt = held_attempt();
  advance_time(milliseconds(200));
  REQUIRE(preliminaries().size() == 1);
  caller.send(dep, cancel_atom::value, std::uint64_t{2});
  run();
  CHECK(transport.cancelled() == std::vector<std::uint64_t>{attempt});
  // A late answer, retries' time and the deadline pass: no final reply.
  transport.answer(attempt, success_result("late"));
  advance_time(seconds(5));
  CHECK(caller.replies().empty());
  CHECK(preliminaries().size() == 1);
  auto st = stats(dep);
  CHECK(st.cancelled_after_preliminary == 1);
  CHECK(st.finals_after_preliminary == 0);
  CHECK(st.in_flight == 0);
  // The slot serves the next call normally (the dropped caller is gone).
  transport.push(success_result("next"));
  call(dep, make_call(3));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 3);
  CHECK(caller.replies()[0].payload == "next");
}

TEST_CASE_METHOD(progressive_fixture,
                 "a request-form call cancelled after its preliminary reply "
                 "gets no response: its own timeout ends the request",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  caller.request<reply_atom, call_reply>(dep, seconds(2), call_atom::value,
                                         progressive_call(2));
  run();
  advance_time(milliseconds(200));
  REQUIRE(preliminaries().size() == 1);
  caller.send(dep, cancel_atom::value, std::uint64_t{2});
  run();
  advance_time(milliseconds(1799));
  CHECK(caller.replies().empty());
  CHECK(caller.errors().empty());
  advance_time(milliseconds(1));
  CHECK(caller.replies().empty());
  REQUIRE(caller.errors().size() == 1);
  CHECK(caller.errors()[0] == caf::sec::request_timeout);
}

TEST_CASE_METHOD(progressive_fixture,
                 "a call that does not ask for progressive delivery gets one "
                 "reply, as before",
                 "[actors][dependency][progressive]") {
  auto dep = stale_dep(progressive_settings);
  call(dep, make_call(2)); // progressive is false
  auto attempt = held_attempt();
  advance_time(milliseconds(500));
  CHECK(caller.size() == 0);
  transport.answer(attempt, success_result("new"));
  run();
  CHECK(preliminaries().empty());
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload == "new");
  CHECK_FALSE(replies[0].preliminary);
  CHECK(replies[0].reason == preliminary_reason::none);
  CHECK(stats(dep).progressive_calls == 0);
}

TEST_CASE_METHOD(progressive_fixture,
                 "a progressive call to a dependency with progressive "
                 "delivery off gets one reply",
                 "[actors][dependency][progressive]") {
  auto off = progressive_settings;
  auto at = off.find("\"enabled\": true, \"soft");
  REQUIRE(at != std::string::npos);
  off.replace(at, 15, "\"enabled\": false");
  auto dep = stale_dep(off);
  call(dep, progressive_call(2));
  auto attempt = held_attempt();
  advance_time(milliseconds(500));
  CHECK(caller.size() == 0);
  transport.answer(attempt, success_result("new"));
  run();
  CHECK(preliminaries().empty());
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].payload == "new");
}
