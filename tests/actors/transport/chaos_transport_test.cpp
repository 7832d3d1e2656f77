#include "bulwark/actors/transport/chaos_transport.hpp"

#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/transport/echo_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

fault_schedule make_schedule(std::string_view text) {
  error_list errors;
  auto cfg =
    parse_fault_schedule(boost::json::parse(text), json_path{}, errors);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  return cfg;
}

attempt_request make_attempt(std::uint64_t id, std::string payload = "p") {
  attempt_request req;
  req.attempt_id = id;
  req.operation = "get";
  req.payload = std::move(payload);
  req.idempotency_key = "key-" + std::to_string(id);
  return req;
}

struct fixture : deterministic_fixture {
  probe caller = make_probe();
  std::vector<caf::actor> spawned;

  ~fixture() override {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
  }

  chaos_transport spawn_chaos(fault_schedule schedule, std::uint64_t seed,
                              caf::actor inner = {}) {
    auto t =
      chaos_transport::spawn(sys, std::move(schedule), seed, std::move(inner));
    spawned.push_back(t.handle());
    run();
    return t;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "chaos failures come at the configured rate",
                 "[actors][chaos]") {
  std::uint64_t seed = 5;
  INFO("seed " << seed);
  auto chaos = spawn_chaos(make_schedule(R"({
    "errors": {"transient": 30, "overloaded": 10}, "retry_after": "2s",
    "latency": {"kind": "fixed", "value": "1ms"}})"),
                           seed);
  constexpr int n = 4000;
  for (int i = 0; i < n; ++i)
    caller.send(chaos.handle(), attempt_atom::value, make_attempt(i));
  run();
  CHECK(caller.results().empty()); // nothing before the latency
  advance_time(milliseconds(1));
  auto results = caller.results();
  REQUIRE(results.size() == n);
  int transient = 0;
  int overloaded = 0;
  int ok = 0;
  for (auto& r : results) {
    if (r.ok) {
      ++ok;
      CHECK(r.payload == "p");
    } else if (r.reported_class
               == static_cast<std::uint8_t>(failure_class::transient)) {
      ++transient;
      CHECK(r.retry_after_ns == no_retry_after_ns);
    } else if (r.reported_class
               == static_cast<std::uint8_t>(failure_class::overloaded)) {
      ++overloaded;
      CHECK(r.retry_after_ns == to_wire_duration(seconds(2)));
    }
  }
  CHECK(ok + transient + overloaded == n);
  CHECK(transient / double(n) == Approx(0.30).margin(0.03));
  CHECK(overloaded / double(n) == Approx(0.10).margin(0.02));
  CHECK(chaos.stats().attempts() == n);
  CHECK(chaos.stats().failures(failure_class::transient)
        == static_cast<std::uint64_t>(transient));
  CHECK(chaos.stats().failures(failure_class::overloaded)
        == static_cast<std::uint64_t>(overloaded));
  CHECK(chaos.stats().successes() == static_cast<std::uint64_t>(ok));
  CHECK(chaos.stats().executed() == static_cast<std::uint64_t>(ok));
}

TEST_CASE_METHOD(fixture, "chaos answers after exactly the drawn latency",
                 "[actors][chaos]") {
  std::uint64_t seed = 9;
  INFO("seed " << seed);
  auto schedule = make_schedule(R"({"errors": {"transient": 20},
    "latency": {"kind": "uniform", "min": "1ms", "max": "50ms"}})");
  auto echo = sys.spawn(echo_transport);
  spawned.push_back(echo);
  SECTION("standing alone") {
    auto chaos = spawn_chaos(schedule, seed);
    auto t0 = now();
    // The same draws the actor makes, in the same order.
    rng replay{seed};
    std::vector<chaos_decision> expected;
    constexpr int n = 50;
    for (int i = 0; i < n; ++i) {
      expected.push_back(decide(schedule, t0, t0, replay));
      caller.send(chaos.handle(), attempt_atom::value, make_attempt(i));
    }
    advance_time(milliseconds(100));
    auto results = caller.results();
    REQUIRE(results.size() == n);
    for (auto& msg : caller.messages()) {
      auto& r = msg.get<attempt_result>(1);
      auto& e = expected.at(r.attempt_id);
      CHECK(msg.at - t0 == e.latency);
      CHECK(r.latency_ns == to_wire_duration(e.latency));
      CHECK(r.ok == !e.fail);
    }
  }
  SECTION("in front of an inner transport") {
    auto chaos = spawn_chaos(schedule, seed, echo);
    auto t0 = now();
    rng replay{seed};
    std::vector<chaos_decision> expected;
    constexpr int n = 50;
    int successes = 0;
    for (int i = 0; i < n; ++i) {
      expected.push_back(decide(schedule, t0, t0, replay));
      successes += expected.back().fail ? 0 : 1;
      caller.send(chaos.handle(), attempt_atom::value,
                  make_attempt(i, "x" + std::to_string(i)));
    }
    advance_time(milliseconds(100));
    REQUIRE(caller.results().size() == n);
    for (auto& msg : caller.messages()) {
      auto& r = msg.get<attempt_result>(1);
      auto& e = expected.at(r.attempt_id);
      CHECK(msg.at - t0 == e.latency);
      CHECK(r.ok == !e.fail);
      if (r.ok)
        CHECK(r.payload == "x" + std::to_string(r.attempt_id));
    }
    // Only the attempts that did not fail reached the inner transport.
    CHECK(chaos.stats().executed() == static_cast<std::uint64_t>(successes));
    CHECK(chaos.stats().successes() == static_cast<std::uint64_t>(successes));
  }
}

TEST_CASE_METHOD(fixture, "an outage window fails every attempt inside it",
                 "[actors][chaos]") {
  auto chaos = spawn_chaos(make_schedule(R"({
    "latency": {"kind": "fixed", "value": "0ms"},
    "windows": [{"kind": "outage", "start": "1s", "end": "2s",
                 "failure": "overloaded"}]})"),
                           1);
  auto send_at = [&](duration offset, std::uint64_t id) {
    caller.send(chaos.handle(), attempt_atom::value, make_attempt(id));
    run();
    (void)offset;
  };
  send_at(duration::zero(), 0);
  advance_time(milliseconds(999));
  send_at(milliseconds(999), 1);
  advance_time(milliseconds(1));
  send_at(seconds(1), 2);
  advance_time(milliseconds(999));
  send_at(milliseconds(1999), 3);
  advance_time(milliseconds(1));
  send_at(seconds(2), 4);
  auto results = caller.results();
  REQUIRE(results.size() == 5);
  CHECK(results[0].ok);
  CHECK(results[1].ok);
  CHECK_FALSE(results[2].ok);
  CHECK(results[2].reported_class
        == static_cast<std::uint8_t>(failure_class::overloaded));
  CHECK_FALSE(results[3].ok);
  CHECK(results[4].ok);
  CHECK(chaos.stats().failures() == 2);
}

TEST_CASE_METHOD(fixture,
                 "a crashing chaos transport makes its dependency fail over",
                 "[actors][chaos]") {
  auto chaos = spawn_chaos(make_schedule(R"({
    "latency": {"kind": "fixed", "value": "300ms"}, "crash_at": "1s"})"),
                           1);
  auto watcher = make_probe();
  watcher.execute([hdl = chaos.handle()](caf::event_based_actor* self) {
    self->monitor(hdl);
  });
  run();
  auto parsed = parse_bulwark_config(R"({"dependencies": {"dep": {
    "idempotency": "idempotent",
    "retry": {"max_attempts": 2, "per_attempt_timeout": "10s",
              "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}},
    "fallback": [{"kind": "static", "value": "degraded"}]}}})");
  INFO(parsed.errors.to_string());
  REQUIRE(parsed.ok());
  dependency_options opts;
  opts.config = parsed.config->dependencies.at(0);
  opts.transport = chaos.handle();
  auto dep = spawn_dependency(sys, std::move(opts));
  spawned.push_back(caf::actor_cast<caf::actor>(dep));
  auto make_call = [](std::uint64_t id) {
    call_request req;
    req.id = id;
    req.operation = "get";
    req.payload = "live";
    req.idempotency_key = "key-" + std::to_string(id);
    return req;
  };
  auto t0 = now();
  caller.send(dep, call_atom::value, make_call(1));
  run();
  advance_time(milliseconds(300));
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].source == reply_source::live);
  CHECK(caller.replies()[0].payload == "live");
  // In flight when the crash comes: it must fail over then, not hang until
  // its 10s per-attempt timeout.
  advance_time(milliseconds(500)); // t0 + 800ms
  caller.send(dep, call_atom::value, make_call(2));
  run();
  advance_time(milliseconds(200)); // t0 + 1s: the crash
  CHECK(chaos.stats().crashed());
  advance_time(milliseconds(10)); // the backoff
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[1].ok);
  CHECK(replies[1].source == reply_source::static_fallback);
  CHECK(replies[1].payload == "degraded");
  auto downs = watcher.collect<caf::down_msg>();
  REQUIRE(downs.size() == 1);
  CHECK(std::get<0>(downs[0]).reason == chaos_crash_reason);
  bool down_on_time = false;
  for (auto& m : watcher.messages())
    if (m.is<caf::down_msg>())
      down_on_time = m.at - t0 == seconds(1);
  CHECK(down_on_time);
  // After the crash every call fails over at once.
  caller.send(dep, call_atom::value, make_call(3));
  run();
  advance_time(milliseconds(10));
  REQUIRE(caller.replies().size() == 3);
  CHECK(caller.replies()[2].source == reply_source::static_fallback);
}
