// The supervisor's decisions without actors: routing, failover order,
// hedging at the delay and not before, cancellation of losers, deadlines,
// crashes with restart intensity, outlier ejection with readmission by
// probe, and progressive calls. Virtual time throughout.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/supervise/supervisor_core.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

supervisor_config make_config(const std::string& settings,
                              const std::string& repeat = "idempotent") {
  auto text = R"({"dependencies": {"a": {"idempotency": ")" + repeat
              + R"("}, "b": {"idempotency": ")" + repeat
              + R"("}, "c": {"idempotency": ")" + repeat
              + R"("}}, "supervisors": {"s": )" + settings + "}}";
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->supervisors.at(0);
}

struct harness {
  supervisor_core core;
  supervisor_core::action_list out;

  explicit harness(const supervisor_config& cfg, std::uint64_t seed = 1)
    : core(cfg, seed) {}

  std::vector<supervisor_action> take() {
    auto result = out;
    out.clear();
    return result;
  }

  std::uint32_t start(time_point now, idempotency op = idempotency::idempotent,
                      time_point deadline = t0 + seconds(5)) {
    return core.start(op, deadline, now, out);
  }

  void result(std::uint64_t attempt, bool ok, time_point now,
              failure_class cls = failure_class::transient) {
    core.on_result(attempt, member_result{ok, cls}, now, out);
  }
};

std::vector<supervisor_action> of_kind(const std::vector<supervisor_action>& xs,
                                       supervisor_action_kind k) {
  std::vector<supervisor_action> result;
  std::copy_if(xs.begin(), xs.end(), std::back_inserter(result),
               [k](auto& a) { return a.kind == k; });
  return result;
}

} // namespace

TEST_CASE("round robin spreads first attempts over the members in turn",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"]})")};
  std::vector<std::uint32_t> members;
  for (int i = 0; i < 6; ++i) {
    h.start(t0);
    auto sends = of_kind(h.take(), supervisor_action_kind::send);
    REQUIRE(sends.size() == 1);
    CHECK(sends[0].why_sent == send_reason::first);
    CHECK(sends[0].attempt_number == 1);
    members.push_back(sends[0].member);
  }
  CHECK(members == std::vector<std::uint32_t>{0, 1, 2, 0, 1, 2});
  CHECK(h.core.outstanding(0) == 2);
  CHECK(h.core.calls_in_flight() == 6);
}

TEST_CASE("a failed call goes to the members not tried yet, then fails with "
          "the last failure",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"]})")};
  auto call = h.start(t0);
  auto first = h.take().at(0);
  CHECK(first.member == 0);
  h.result(first.attempt, false, t0 + milliseconds(1));
  auto second = h.take();
  REQUIRE(second.size() == 1);
  CHECK(second[0].kind == supervisor_action_kind::send);
  CHECK(second[0].member == 1);
  CHECK(second[0].why_sent == send_reason::failover);
  CHECK(second[0].attempt_number == 2);
  h.result(second[0].attempt, false, t0 + milliseconds(2),
           failure_class::overloaded);
  auto third = h.take();
  REQUIRE(third.size() == 1);
  CHECK(third[0].member == 2);
  h.result(third[0].attempt, false, t0 + milliseconds(3),
           failure_class::timeout);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].call == call);
  CHECK_FALSE(reply[0].ok);
  CHECK(reply[0].cls == failure_class::timeout);
  CHECK(reply[0].why_replied == reply_reason::all_failed);
  CHECK(reply[0].attempts == 3);
  CHECK(h.core.counters().failovers == 2);
  CHECK(h.core.calls_in_flight() == 0);
}

TEST_CASE("max_failovers bounds the members tried for one call",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"], "max_failovers": 1})")};
  h.start(t0);
  h.result(h.take().at(0).attempt, false, t0);
  auto second = h.take().at(0);
  h.result(second.attempt, false, t0);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].attempts == 2);
}

TEST_CASE("a persistent failure is final and is not rerouted",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"]})")};
  h.start(t0);
  h.result(h.take().at(0).attempt, false, t0, failure_class::persistent);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].cls == failure_class::persistent);
  CHECK(reply[0].why_replied == reply_reason::answered);
}

TEST_CASE("an unsafe call fails over only when the member proves it never ran",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"]})", "unsafe")};
  h.start(t0, idempotency::unsafe);
  h.result(h.take().at(0).attempt, false, t0, failure_class::transient);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  h.start(t0, idempotency::unsafe);
  h.result(h.take().at(0).attempt, false, t0, failure_class::rejected_locally);
  auto next = h.take();
  REQUIRE(next.size() == 1);
  CHECK(next[0].kind == supervisor_action_kind::send);
  CHECK(next[0].why_sent == send_reason::failover);
}

TEST_CASE("a hedge goes to another member at the delay and not before; the "
          "first success wins and the loser is cancelled",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"],
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"}})")};
  auto call = h.start(t0);
  auto first = h.take().at(0);
  CHECK(h.core.next_deadline() <= t0 + milliseconds(10));
  h.core.advance(t0 + milliseconds(10) - nanoseconds(1), h.out);
  CHECK(h.take().empty());
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedge = h.take();
  REQUIRE(hedge.size() == 1);
  CHECK(hedge[0].kind == supervisor_action_kind::send);
  CHECK(hedge[0].why_sent == send_reason::hedge);
  CHECK(hedge[0].member != first.member);
  CHECK(hedge[0].attempt_number == 2);
  // max_hedges 1: no second hedge.
  h.core.advance(t0 + milliseconds(30), h.out);
  CHECK(h.take().empty());
  h.result(hedge[0].attempt, true, t0 + milliseconds(12));
  auto done = h.take();
  REQUIRE(done.size() == 2);
  CHECK(done[0].kind == supervisor_action_kind::cancel);
  CHECK(done[0].attempt == first.attempt);
  CHECK(done[0].member == first.member);
  CHECK(done[1].kind == supervisor_action_kind::reply);
  CHECK(done[1].call == call);
  CHECK(done[1].ok);
  CHECK(done[1].hedge_won);
  CHECK(done[1].attempt == hedge[0].attempt);
  // The loser's late answer is dropped.
  h.result(first.attempt, true, t0 + milliseconds(50));
  CHECK(h.take().empty());
  CHECK(h.core.counters().late_results == 1);
  CHECK(h.core.counters().hedges_won == 1);
  CHECK(h.core.outstanding(first.member) == 0);
}

TEST_CASE("an unsafe operation is never hedged", "[runtime][supervise]") {
  auto cfg = make_config(R"({"members": ["a", "b"]})");
  cfg.hedge.enabled = true; // as if validation were bypassed
  cfg.hedge.delay_kind = hedge_delay_kind::fixed;
  harness h{cfg};
  h.start(t0, idempotency::unsafe);
  h.take();
  h.core.advance(t0 + seconds(1), h.out);
  CHECK(of_kind(h.take(), supervisor_action_kind::send).empty());
}

TEST_CASE("the deadline answers the call and cancels what is out",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"]})")};
  h.start(t0, idempotency::idempotent, t0 + milliseconds(100));
  auto first = h.take().at(0);
  h.core.advance(t0 + milliseconds(99), h.out);
  CHECK(h.take().empty());
  h.core.advance(t0 + milliseconds(100), h.out);
  auto done = h.take();
  REQUIRE(done.size() == 2);
  CHECK(done[0].kind == supervisor_action_kind::cancel);
  CHECK(done[0].attempt == first.attempt);
  CHECK(done[1].kind == supervisor_action_kind::reply);
  CHECK(done[1].cls == failure_class::deadline_exceeded);
  CHECK(done[1].why_replied == reply_reason::deadline);
}

TEST_CASE("a crashed member's calls fail over, and restarts stop at the "
          "intensity limit",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"],
    "restart": {"max_restarts": 2, "within": "10s", "random_factor": 0,
                "min_backoff": "100ms"}})")};
  h.start(t0);
  auto first = h.take().at(0);
  REQUIRE(first.member == 0);
  auto d = h.core.member_down(0, t0 + milliseconds(5), h.out);
  CHECK(d.action == restart_action::restart);
  CHECK(d.delay == milliseconds(100));
  auto moved = h.take();
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].kind == supervisor_action_kind::send);
  CHECK(moved[0].member == 1);
  CHECK(moved[0].why_sent == send_reason::failover);
  // While down, member 0 gets nothing.
  h.start(t0 + milliseconds(6));
  CHECK(h.take().at(0).member == 1);
  CHECK_FALSE(h.core.running(0));
  h.core.member_up(0, t0 + milliseconds(105), h.out);
  CHECK(h.core.running(0));
  CHECK(h.core.member_down(0, t0 + milliseconds(200), h.out).action
        == restart_action::restart);
  h.core.member_up(0, t0 + milliseconds(400), h.out);
  CHECK(h.core.member_down(0, t0 + milliseconds(500), h.out).action
        == restart_action::escalate);
  CHECK(h.core.counters().restarts == 2);
  CHECK(h.core.counters().escalations == 1);
}

TEST_CASE("an unsafe call out at a crashed member is not repeated elsewhere",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"]})", "unsafe")};
  h.start(t0, idempotency::unsafe);
  h.take();
  h.core.member_down(0, t0, h.out);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK_FALSE(reply[0].ok);
  CHECK(reply[0].cls == failure_class::transient);
}

TEST_CASE("a call waits for a restarting member, and is refused when none will "
          "come back",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a"]})")};
  h.core.member_down(0, t0, h.out);
  h.take();
  h.start(t0);
  CHECK(h.take().empty());
  CHECK(h.core.counters().parked == 1);
  h.core.member_up(0, t0 + milliseconds(100), h.out);
  auto sent = h.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].kind == supervisor_action_kind::send);
  CHECK(sent[0].member == 0);
  // A waiting call still ends at its deadline.
  h.core.member_down(0, t0 + milliseconds(200), h.out);
  h.take();
  h.start(t0 + milliseconds(200), idempotency::idempotent,
          t0 + milliseconds(300));
  CHECK(h.take().empty());
  h.core.advance(t0 + milliseconds(300), h.out);
  auto expired = of_kind(h.take(), supervisor_action_kind::reply);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].cls == failure_class::deadline_exceeded);
  // Stopped for good: nothing to wait for. The first call (its member
  // crashed under it) and a new one fail now.
  h.start(t0 + milliseconds(301));
  h.core.member_stopped(0, t0 + milliseconds(301), h.out);
  auto replies = h.take();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].kind == supervisor_action_kind::reply);
  CHECK(replies[0].why_replied == reply_reason::all_failed);
  CHECK(replies[1].cls == failure_class::rejected_locally);
  CHECK(replies[1].why_replied == reply_reason::no_member);
  CHECK(h.core.calls_in_flight() == 0);
  h.start(t0 + milliseconds(302));
  CHECK(h.take().at(0).why_replied == reply_reason::no_member);
}

TEST_CASE("an outlier member is ejected, skipped, probed once its time is up "
          "and readmitted",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"], "max_failovers": 0,
    "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "1s",
                          "max_ejection_percent": 50}})")};
  h.core.advance(t0, h.out); // starts the first analysis interval
  auto now = t0;
  int failures = 0;
  while (failures < 3) {
    h.start(now);
    auto a = h.take().at(0);
    h.result(a.attempt, a.member != 1, now);
    failures += a.member == 1 ? 1 : 0;
    h.take();
  }
  CHECK(h.core.health(1) == member_health::ejected);
  CHECK(h.core.counters().ejections == 1);
  for (int i = 0; i < 10; ++i) {
    h.start(now);
    auto a = h.take().at(0);
    CHECK(a.member != 1);
    h.result(a.attempt, true, now);
    h.take();
  }
  now = t0 + seconds(1);
  h.core.advance(now, h.out);
  CHECK(h.core.health(1) == member_health::probing);
  h.start(now);
  auto probe = h.take().at(0);
  CHECK(probe.member == 1);
  CHECK(probe.why_sent == send_reason::probe);
  // No second probe while the first is out.
  h.start(now);
  CHECK(h.take().at(0).member != 1);
  h.result(probe.attempt, true, now);
  CHECK(h.core.health(1) == member_health::healthy);
  CHECK(h.core.counters().readmissions == 1);
}

TEST_CASE("an ejected member whose probe was cancelled or crashed with it "
          "is probed again",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b", "c"], "max_failovers": 0,
    "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "1s",
                          "max_ejection_percent": 50}})")};
  h.core.advance(t0, h.out);
  int failures = 0;
  while (failures < 3) {
    h.start(t0);
    auto a = h.take().at(0);
    h.result(a.attempt, a.member != 1, t0);
    failures += a.member == 1 ? 1 : 0;
    h.take();
  }
  auto now = t0 + seconds(1);
  h.core.advance(now, h.out);
  REQUIRE(h.core.health(1) == member_health::probing);
  auto probe_call = h.start(now);
  auto probe = h.take().at(0);
  REQUIRE(probe.why_sent == send_reason::probe);
  // The caller gives up on the probe's call: the probe decided nothing.
  h.core.cancel(probe_call, now, h.out);
  h.take();
  h.start(now);
  auto again = h.take().at(0);
  CHECK(again.member == 1);
  CHECK(again.why_sent == send_reason::probe);
  // The member crashes with that probe out, and comes back.
  auto d = h.core.member_down(1, now, h.out);
  REQUIRE(d.action == restart_action::restart);
  h.take();
  h.core.member_up(1, now + milliseconds(10), h.out);
  h.take();
  h.start(now + milliseconds(10));
  auto third = h.take().at(0);
  CHECK(third.member == 1);
  CHECK(third.why_sent == send_reason::probe);
  h.result(third.attempt, true, now + milliseconds(11));
  CHECK(h.core.health(1) == member_health::healthy);
}

TEST_CASE("fail_all answers every call in flight exactly once",
          "[runtime][supervise]") {
  harness h{make_config(R"({"members": ["a", "b"]})")};
  for (int i = 0; i < 5; ++i)
    h.start(t0);
  h.take();
  h.core.fail_all(t0, h.out);
  auto out = h.take();
  CHECK(of_kind(out, supervisor_action_kind::reply).size() == 5);
  CHECK(of_kind(out, supervisor_action_kind::cancel).size() == 5);
  CHECK(h.core.calls_in_flight() == 0);
}

TEST_CASE("a member that rejected a call is routed around for the cooldown, "
          "unless it is the only one left",
          "[runtime][supervise]") {
  harness h{
    make_config(R"({"members": ["a", "b"], "routing": "least_outstanding",
    "max_failovers": 0, "rejection_cooldown": "50ms"})")};
  h.start(t0);
  auto first = h.take().at(0);
  REQUIRE(first.member == 0);
  h.result(first.attempt, false, t0, failure_class::rejected_locally);
  h.take();
  // Least outstanding would pick a (nothing out there); it cools down.
  for (int i = 0; i < 3; ++i) {
    h.start(t0 + milliseconds(1));
    CHECK(h.take().at(0).member == 1);
  }
  CHECK(h.core.counters().cooldowns == 1);
  // With b excluded (tried), a is still better than nothing.
  harness single{
    make_config(R"({"members": ["a"], "rejection_cooldown": "50ms"})")};
  single.start(t0);
  single.result(single.take().at(0).attempt, false, t0,
                failure_class::overloaded);
  single.take();
  single.start(t0 + milliseconds(1));
  auto again = single.take();
  REQUIRE(again.size() == 1);
  CHECK(again[0].kind == supervisor_action_kind::send);
  // After the cooldown a is back in rotation.
  h.start(t0 + milliseconds(50));
  auto back = h.take().at(0);
  CHECK(back.member == 0);
}

// -- reconfiguration ----------------------------------------------------------

namespace {

supervisor_config make_config4(const std::string& settings) {
  auto text = R"({"dependencies": {"a": {"idempotency": "idempotent"},
    "b": {"idempotency": "idempotent"}, "c": {"idempotency": "idempotent"},
    "d": {"idempotency": "idempotent"}}, "supervisors": {"s": )"
              + settings + "}}";
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->supervisors.at(0);
}

std::uint32_t first_member(harness& h, time_point now) {
  h.start(now);
  auto sends = of_kind(h.take(), supervisor_action_kind::send);
  REQUIRE(sends.size() == 1);
  return sends[0].member;
}

} // namespace

TEST_CASE("a reconfiguration switches routing, failover and hedging for the "
          "next calls",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a", "b"]})")};
  // Before: a failure fails over, no hedge.
  h.start(t0);
  h.result(h.take().at(0).attempt, false, t0);
  auto next = h.take();
  REQUIRE(next.size() == 1);
  CHECK(next[0].why_sent == send_reason::failover);
  h.result(next[0].attempt, true, t0);
  h.take();
  auto r = h.core.reconfigure(
    make_config4(R"({"members": ["a", "b"], "failover": false,
      "routing": "least_outstanding",
      "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"}})"),
    t0, h.out);
  REQUIRE(r.ok());
  CHECK(r.added.empty());
  CHECK(r.removed.empty());
  CHECK(h.take().empty());
  CHECK(h.core.config().routing == routing_kind::least_outstanding);
  // After: no failover, the failure answers the call.
  h.start(t0);
  h.result(h.take().at(0).attempt, false, t0);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].attempts == 1);
  // After: a slow call is hedged at 10ms.
  h.start(t0);
  h.take();
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedge = of_kind(h.take(), supervisor_action_kind::send);
  REQUIRE(hedge.size() == 1);
  CHECK(hedge[0].why_sent == send_reason::hedge);
}

TEST_CASE("a removed member gets no new call, and a call in flight at it "
          "still gets exactly one reply",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a", "b"]})")};
  auto call = h.start(t0);
  auto at_a = h.take().at(0);
  REQUIRE(at_a.member == 0);
  auto r = h.core.reconfigure(make_config4(R"({"members": ["b"]})"), t0, h.out);
  REQUIRE(r.ok());
  CHECK(r.removed == std::vector<std::uint32_t>{0});
  CHECK(h.core.removed(0));
  CHECK_FALSE(h.core.drained(0));
  CHECK(h.core.index_of("a") == supervisor_core::npos);
  CHECK(h.core.index_of("b") == 1);
  for (int i = 0; i < 4; ++i)
    CHECK(first_member(h, t0) == 1);
  // The answer of the removed member still wins its call, once.
  h.result(at_a.attempt, true, t0 + milliseconds(1));
  auto done = h.take();
  REQUIRE(done.size() == 1);
  CHECK(done[0].kind == supervisor_action_kind::reply);
  CHECK(done[0].call == call);
  CHECK(done[0].ok);
  CHECK(h.core.drained(0));
  h.result(at_a.attempt, true, t0 + milliseconds(2));
  CHECK(h.take().empty());
}

TEST_CASE("a removed member that stops while attempts are out fails them over "
          "and nothing restarts",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a", "b"]})")};
  h.start(t0);
  auto at_a = h.take().at(0);
  REQUIRE(
    h.core.reconfigure(make_config4(R"({"members": ["b"]})"), t0, h.out).ok());
  h.core.member_gone(0, t0, h.out);
  auto next = h.take();
  REQUIRE(next.size() == 1);
  CHECK(next[0].kind == supervisor_action_kind::send);
  CHECK(next[0].member == 1);
  CHECK(next[0].why_sent == send_reason::failover);
  CHECK(h.core.drained(0));
  CHECK(h.core.counters().restarts == 0);
  (void)at_a;
}

TEST_CASE("an added member takes calls at once and reuses a drained member's "
          "index",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a", "b"]})")};
  auto r =
    h.core.reconfigure(make_config4(R"({"members": ["b", "c"]})"), t0, h.out);
  REQUIRE(r.ok());
  // a had nothing out: drained, so c takes its index.
  CHECK(r.removed == std::vector<std::uint32_t>{0});
  CHECK(r.added == std::vector<std::uint32_t>{0});
  CHECK(h.core.name(0) == "c");
  CHECK(h.core.index_of("c") == 0);
  CHECK_FALSE(h.core.removed(0));
  std::vector<std::uint32_t> members;
  for (int i = 0; i < 4; ++i)
    members.push_back(first_member(h, t0));
  CHECK(std::count(members.begin(), members.end(), 0u) == 2);
  CHECK(std::count(members.begin(), members.end(), 1u) == 2);
  // With one out at each, d gets a new index.
  r = h.core.reconfigure(make_config4(R"({"members": ["b", "c", "d"]})"), t0,
                         h.out);
  REQUIRE(r.ok());
  CHECK(r.added == std::vector<std::uint32_t>{2});
  CHECK(h.core.members() == 3);
}

TEST_CASE("a call waiting for a restarting member goes to a member added "
          "meanwhile",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a"]})")};
  auto d = h.core.member_down(0, t0, h.out);
  REQUIRE(d.action == restart_action::restart);
  h.start(t0);
  CHECK(h.take().empty()); // parked
  auto r =
    h.core.reconfigure(make_config4(R"({"members": ["a", "b"]})"), t0, h.out);
  REQUIRE(r.ok());
  auto sends = of_kind(h.take(), supervisor_action_kind::send);
  REQUIRE(sends.size() == 1);
  CHECK(sends[0].member == r.added.at(0));
}

TEST_CASE("removing the only restarting member fails the calls waiting for it",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a", "b"]})")};
  REQUIRE(h.core.member_down(0, t0, h.out).action == restart_action::restart);
  REQUIRE(h.core.member_down(1, t0, h.out).action == restart_action::restart);
  h.start(t0);
  CHECK(h.take().empty());
  // b is removed; a still restarts, so the call keeps waiting.
  REQUIRE(
    h.core.reconfigure(make_config4(R"({"members": ["a"]})"), t0, h.out).ok());
  CHECK(h.take().empty());
  h.core.member_stopped(0, t0, h.out);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].why_replied == reply_reason::no_member);
}

TEST_CASE("a reconfiguration whose new members do not fit changes nothing",
          "[runtime][supervise][reconfigure]") {
  harness h{make_config4(R"({"members": ["a"]})")};
  auto before = h.core.config();
  // 64 members already, plus the one still finishing an attempt.
  std::string many = R"({"members": [)";
  std::string deps;
  for (int i = 0; i < 64; ++i) {
    many += (i ? ", " : "") + ("\"m" + std::to_string(i) + "\"");
    deps += (i ? ", " : "") + ("\"m" + std::to_string(i) + "\": {}");
  }
  many += "]}";
  h.start(t0);
  h.take();
  auto doc =
    parse_bulwark_config(R"({"dependencies": {"a": {}, )" + deps
                         + R"(}, "supervisors": {"s": )" + many + "}}");
  INFO(doc.errors.to_string());
  REQUIRE(doc.ok());
  auto r = h.core.reconfigure(doc.config->supervisors.at(0), t0, h.out);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("/supervisors/s/members") == 0);
  CHECK(h.core.members() == 1);
  CHECK(h.core.index_of("a") == 0);
  CHECK(h.core.config().members == before.members);
}

// -- progressive calls --------------------------------------------------------
// A progressive call is passed on to the members with what is left of its
// soft deadline; the first preliminary answer of an attempt still out is
// forwarded to the caller (`on_preliminary` decides), at most one per call
// and never after its reply; a cancel after it ends the call silently.

namespace {

supervisor_progressive progressive(duration soft = milliseconds(50)) {
  supervisor_progressive p;
  p.enabled = true;
  p.soft_deadline = soft;
  return p;
}

const std::string hedging = R"({"members": ["a", "b", "c"],
  "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"}})";

} // namespace

TEST_CASE("a progressive call's first preliminary answer is passed on once; "
          "a second one is dropped, and none after the reply",
          "[runtime][supervise][progressive]") {
  harness h{make_config(hedging)};
  auto call = h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
                           progressive());
  auto first = h.take().at(0);
  CHECK(first.progressive);
  CHECK(first.soft_deadline == milliseconds(50));
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedge = h.take().at(0);
  REQUIRE(hedge.why_sent == send_reason::hedge);
  // The hedge keeps the call's clock: 40ms of the 50ms are left.
  CHECK(hedge.progressive);
  CHECK(hedge.soft_deadline == milliseconds(40));
  auto pre = h.core.on_preliminary(first.attempt, t0 + milliseconds(50));
  CHECK(pre.forward);
  CHECK(pre.call == call);
  CHECK(h.take().empty()); // nothing else happens
  // The hedge's own preliminary answer comes second: dropped.
  CHECK_FALSE(
    h.core.on_preliminary(hedge.attempt, t0 + milliseconds(50)).forward);
  h.result(hedge.attempt, true, t0 + milliseconds(60));
  auto done = h.take();
  REQUIRE(done.size() == 2);
  CHECK(done[0].kind == supervisor_action_kind::cancel);
  CHECK(done[1].kind == supervisor_action_kind::reply);
  CHECK(done[1].ok);
  CHECK_FALSE(done[1].silent);
  // The loser's preliminary answer after the reply: dropped.
  CHECK_FALSE(
    h.core.on_preliminary(first.attempt, t0 + milliseconds(61)).forward);
  CHECK(h.core.counters().preliminary_replies == 1);
  CHECK(h.core.counters().replies_ok == 1);
}

TEST_CASE("a failover attempt gets what is left of the soft deadline; none "
          "left or a preliminary answer already passed on: it does not ask",
          "[runtime][supervise][progressive]") {
  harness h{make_config(R"({"members": ["a", "b", "c"], "max_failovers": 3})")};
  h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
               progressive());
  auto first = h.take().at(0);
  h.result(first.attempt, false, t0 + milliseconds(20));
  auto second = h.take().at(0);
  REQUIRE(second.why_sent == send_reason::failover);
  CHECK(second.progressive);
  CHECK(second.soft_deadline == milliseconds(30));
  h.result(second.attempt, false, t0 + milliseconds(51));
  auto third = h.take().at(0);
  REQUIRE(third.why_sent == send_reason::failover);
  CHECK_FALSE(third.progressive); // the soft deadline has passed

  // A call whose caller already has its preliminary answer.
  h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
               progressive());
  auto a = h.take().at(0);
  REQUIRE(h.core.on_preliminary(a.attempt, t0 + milliseconds(50)).forward);
  h.result(a.attempt, false, t0 + milliseconds(60));
  auto b = h.take().at(0);
  REQUIRE(b.why_sent == send_reason::failover);
  CHECK_FALSE(b.progressive);
}

TEST_CASE("a progressive call without its own soft deadline asks each member "
          "for its own; a call that is not progressive never asks, and a "
          "preliminary answer for it is dropped",
          "[runtime][supervise][progressive]") {
  harness h{make_config(R"({"members": ["a", "b"]})")};
  h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
               progressive(duration{-1}));
  auto own = h.take().at(0);
  CHECK(own.progressive);
  CHECK(own.soft_deadline < duration{0});
  // Capped like a dependency caps it.
  h.core.start(idempotency::idempotent, t0 + hours(5), t0, h.out,
               progressive(hours(3)));
  CHECK(h.take().at(0).soft_deadline == progressive_max_soft_deadline);
  h.start(t0);
  auto plain = h.take().at(0);
  CHECK_FALSE(plain.progressive);
  CHECK_FALSE(
    h.core.on_preliminary(plain.attempt, t0 + milliseconds(1)).forward);
  // Unknown ids too.
  CHECK_FALSE(h.core.on_preliminary(0xdeadbeef, t0 + milliseconds(1)).forward);
  CHECK(h.core.counters().preliminary_replies == 0);
}

TEST_CASE("a cancel after the preliminary answer ends the call silently and "
          "cancels its attempts; before it, the caller is answered",
          "[runtime][supervise][progressive]") {
  harness h{make_config(hedging)};
  auto call = h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
                           progressive());
  auto first = h.take().at(0);
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedge = h.take().at(0);
  REQUIRE(h.core.on_preliminary(hedge.attempt, t0 + milliseconds(50)).forward);
  h.core.cancel(call, t0 + milliseconds(55), h.out);
  auto done = h.take();
  REQUIRE(done.size() == 3);
  CHECK(done[0].kind == supervisor_action_kind::cancel);
  CHECK(done[1].kind == supervisor_action_kind::cancel);
  std::vector<std::uint64_t> cancelled{done[0].attempt, done[1].attempt};
  std::sort(cancelled.begin(), cancelled.end());
  std::vector<std::uint64_t> sent{first.attempt, hedge.attempt};
  std::sort(sent.begin(), sent.end());
  CHECK(cancelled == sent);
  CHECK(done[2].kind == supervisor_action_kind::reply);
  CHECK(done[2].call == call);
  CHECK(done[2].why_replied == reply_reason::cancelled);
  CHECK(done[2].silent);
  CHECK(h.core.calls_in_flight() == 0);
  CHECK(h.core.counters().cancelled_after_preliminary == 1);
  CHECK(h.core.counters().replies_failed == 0);
  // Late answers change nothing.
  h.result(first.attempt, true, t0 + milliseconds(60));
  CHECK_FALSE(
    h.core.on_preliminary(first.attempt, t0 + milliseconds(60)).forward);
  CHECK(h.take().empty());

  // Before any preliminary answer, a cancel is answered as always.
  auto other = h.core.start(idempotency::idempotent, t0 + seconds(5),
                            t0 + milliseconds(100), h.out, progressive());
  h.take();
  h.core.cancel(other, t0 + milliseconds(110), h.out);
  auto replies = of_kind(h.take(), supervisor_action_kind::reply);
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].silent);
  CHECK(replies[0].cls == failure_class::cancelled);
  CHECK(h.core.counters().replies_failed == 1);
}

TEST_CASE("a member's preliminary answer is not a result: routing, load, "
          "timers and counters stay as they were",
          "[runtime][supervise][progressive]") {
  harness h{make_config(
    R"({"members": ["a", "b", "c"], "routing": "least_outstanding",
        "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"},
        "outlier_detection": {"consecutive_errors": 1}})")};
  h.core.start(idempotency::idempotent, t0 + seconds(5), t0, h.out,
               progressive(milliseconds(5)));
  auto first = h.take().at(0);
  auto before = h.core.counters();
  auto deadline = h.core.next_deadline();
  std::vector<std::uint32_t> load;
  for (std::uint32_t m = 0; m < 3; ++m)
    load.push_back(h.core.outstanding(m));
  REQUIRE(h.core.on_preliminary(first.attempt, t0 + milliseconds(5)).forward);
  CHECK(h.take().empty());
  auto after = h.core.counters();
  CHECK(after.preliminary_replies == before.preliminary_replies + 1);
  after.preliminary_replies = before.preliminary_replies;
  CHECK(std::memcmp(&after, &before, sizeof(after)) == 0);
  CHECK(h.core.next_deadline() == deadline);
  for (std::uint32_t m = 0; m < 3; ++m) {
    CHECK(h.core.outstanding(m) == load[m]);
    CHECK(h.core.health(m) == member_health::healthy);
  }
  // The attempt is still out: the hedge goes at its time, and its result
  // answers the call.
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedge = of_kind(h.take(), supervisor_action_kind::send);
  REQUIRE(hedge.size() == 1);
  h.result(first.attempt, true, t0 + milliseconds(11));
  auto replies = of_kind(h.take(), supervisor_action_kind::reply);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].attempt == first.attempt);
}

// -- members on other nodes ---------------------------------------------------

TEST_CASE("an unreachable member is skipped by routing and hedging, and "
          "routable again at once when it is reachable",
          "[runtime][supervise][reach]") {
  harness h{make_config(R"({"members": ["a", "b", "c"],
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"}})")};
  h.core.member_unreachable(1, t0, h.out);
  CHECK(h.take().empty());
  CHECK(h.core.unreachable(1));
  CHECK(h.core.running(1)); // its stand-in runs: nothing to restart
  CHECK(h.core.status(1) == member_status::unreachable);
  CHECK(h.core.status(0) == member_status::running);
  CHECK(h.core.counters().unreachable_events == 1);
  std::vector<supervisor_action> firsts;
  for (int i = 0; i < 6; ++i) {
    h.start(t0);
    auto sends = of_kind(h.take(), supervisor_action_kind::send);
    REQUIRE(sends.size() == 1);
    CHECK(sends[0].member != 1);
    firsts.push_back(sends[0]);
  }
  // Every call hedges to a member without an attempt of it out: never 1.
  h.core.advance(t0 + milliseconds(10), h.out);
  auto hedges = of_kind(h.take(), supervisor_action_kind::send);
  CHECK(hedges.size() == 6);
  for (auto& a : hedges) {
    CHECK(a.why_sent == send_reason::hedge);
    CHECK(a.member != 1);
  }
  // A second report changes nothing and is not counted again.
  h.core.member_unreachable(1, t0 + milliseconds(10), h.out);
  CHECK(h.core.counters().unreachable_events == 1);
  h.core.member_reachable(1, t0 + milliseconds(11), h.out);
  CHECK_FALSE(h.core.unreachable(1));
  CHECK(h.core.status(1) == member_status::running);
  std::set<std::uint32_t> members;
  for (int i = 0; i < 3; ++i) {
    h.start(t0 + milliseconds(11));
    members.insert(h.take().at(0).member);
  }
  CHECK(members == std::set<std::uint32_t>{0, 1, 2});
}

TEST_CASE("failures from an unreachable member answer their calls and count no "
          "ejection, latency, cooldown or restart",
          "[runtime][supervise][reach]") {
  harness h{make_config(R"({"members": ["a", "b"],
    "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "1s",
                          "max_ejection_percent": 50},
    "restart": {"max_restarts": 1, "within": "10s", "random_factor": 0,
                "min_backoff": "100ms"}})")};
  h.core.advance(t0, h.out); // starts the first analysis interval
  std::vector<supervisor_action> at_a;
  while (at_a.size() < 5) {
    h.start(t0);
    for (auto& a : of_kind(h.take(), supervisor_action_kind::send))
      if (a.member == 0)
        at_a.push_back(a);
  }
  auto samples = h.core.hedges().latencies().samples(t0 + milliseconds(5));
  auto requests = h.core.outliers().interval_requests(0);
  // The node of member a is lost: its stand-in reports it, then fails what it
  // had out as `transient` (outcome unknown), one even `rejected_locally`.
  h.core.member_unreachable(0, t0 + milliseconds(5), h.out);
  for (std::size_t i = 0; i < at_a.size(); ++i)
    h.result(at_a[i].attempt, false, t0 + milliseconds(5),
             i == 0 ? failure_class::rejected_locally
                    : failure_class::transient);
  auto moved = of_kind(h.take(), supervisor_action_kind::send);
  CHECK(moved.size() == 5); // idempotent calls fail over, all to b
  for (auto& a : moved) {
    CHECK(a.member == 1);
    CHECK(a.why_sent == send_reason::failover);
  }
  CHECK(h.core.health(0) == member_health::healthy);
  CHECK(h.core.outliers().interval_requests(0) == requests);
  CHECK(h.core.counters().ejections == 0);
  CHECK(h.core.hedges().latencies().samples(t0 + milliseconds(5)) == samples);
  CHECK(h.core.counters().cooldowns == 0);
  CHECK(h.core.counters().member_crashes == 0);
  CHECK(h.core.counters().restarts == 0);
  // Back: routable at once (no cooldown, no ejection to sit out).
  h.core.member_reachable(0, t0 + milliseconds(6), h.out);
  std::set<std::uint32_t> members;
  for (int i = 0; i < 2; ++i) {
    h.start(t0 + milliseconds(6));
    members.insert(h.take().at(0).member);
  }
  CHECK(members.count(0) == 1);
  // The restart intensity is untouched: the first crash is still restarted.
  CHECK(h.core.member_down(0, t0 + milliseconds(7), h.out).action
        == restart_action::restart);
}

TEST_CASE("a keyed call out at an unreachable member fails over to another "
          "member as the same call; an unsafe one is answered, not repeated",
          "[runtime][supervise][reach]") {
  harness h{make_config(R"({"members": ["a", "b"]})", "keyed")};
  auto keyed = h.start(t0, idempotency::keyed);
  auto first = h.take().at(0);
  REQUIRE(first.member == 0);
  auto unsafe = h.start(t0, idempotency::unsafe);
  auto second = h.take().at(0);
  REQUIRE(second.member == 1);
  // Member b's node is lost while both calls are out somewhere.
  h.core.member_unreachable(1, t0 + milliseconds(1), h.out);
  h.result(second.attempt, false, t0 + milliseconds(1),
           failure_class::transient);
  auto answered = h.take();
  REQUIRE(answered.size() == 1);
  CHECK(answered[0].kind == supervisor_action_kind::reply);
  CHECK(answered[0].call == unsafe);
  CHECK_FALSE(answered[0].ok);
  CHECK(answered[0].cls == failure_class::transient);
  CHECK(answered[0].why_replied == reply_reason::all_failed);
  CHECK(answered[0].attempts == 1);
  // Member a's node is lost too, then b's is back: the keyed call's
  // transient (may have executed) failure goes to b, for the same call slot
  // (the owner sends that call's request again, key included).
  h.core.member_unreachable(0, t0 + milliseconds(2), h.out);
  h.core.member_reachable(1, t0 + milliseconds(2), h.out);
  CHECK(h.take().empty());
  h.result(first.attempt, false, t0 + milliseconds(3),
           failure_class::transient);
  auto moved = h.take();
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].kind == supervisor_action_kind::send);
  CHECK(moved[0].call == keyed);
  CHECK(moved[0].member == 1);
  CHECK(moved[0].why_sent == send_reason::failover);
  CHECK(moved[0].attempt_number == 2);
  h.result(moved[0].attempt, true, t0 + milliseconds(4));
  auto done = h.take();
  REQUIRE(done.size() == 1);
  CHECK(done[0].ok);
  CHECK(done[0].call == keyed);
}

TEST_CASE("a call that finds only unreachable members is answered no_member "
          "at once instead of waiting for the node",
          "[runtime][supervise][reach]") {
  harness h{make_config(R"({"members": ["a", "b"],
    "restart": {"random_factor": 0, "min_backoff": "100ms"}})")};
  h.core.member_unreachable(0, t0, h.out);
  h.core.member_unreachable(1, t0, h.out);
  h.start(t0);
  auto reply = h.take();
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].kind == supervisor_action_kind::reply);
  CHECK(reply[0].why_replied == reply_reason::no_member);
  CHECK(reply[0].cls == failure_class::rejected_locally);
  CHECK(h.core.counters().parked == 0);
  CHECK(h.core.calls_in_flight() == 0);
  // A member that restarts is still waited for (the existing rule), and a
  // node that comes back takes the waiting call at once.
  REQUIRE(h.core.member_down(1, t0, h.out).action == restart_action::restart);
  CHECK(h.core.status(1) == member_status::restarting);
  h.start(t0 + milliseconds(1));
  CHECK(h.take().empty());
  CHECK(h.core.counters().parked == 1);
  h.core.member_reachable(0, t0 + milliseconds(2), h.out);
  auto sent = h.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].kind == supervisor_action_kind::send);
  CHECK(sent[0].member == 0);
  // The restarted incarnation starts reachable (its stand-in reports anew).
  h.core.member_up(1, t0 + milliseconds(100), h.out);
  CHECK(h.core.status(1) == member_status::running);
}

TEST_CASE("an ejected member whose node is lost keeps its probe for when the "
          "node is back",
          "[runtime][supervise][reach]") {
  harness h{make_config(R"({"members": ["a", "b", "c"], "max_failovers": 0,
    "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "1s",
                          "max_ejection_percent": 50}})")};
  h.core.advance(t0, h.out);
  int failures = 0;
  while (failures < 3) {
    h.start(t0);
    auto a = h.take().at(0);
    h.result(a.attempt, a.member != 1, t0);
    failures += a.member == 1 ? 1 : 0;
    h.take();
  }
  REQUIRE(h.core.health(1) == member_health::ejected);
  auto now = t0 + seconds(1);
  h.core.advance(now, h.out);
  REQUIRE(h.core.health(1) == member_health::probing);
  // The probe goes out, then the node is lost: the probe's failure decides
  // nothing.
  h.start(now);
  auto probe = h.take().at(0);
  REQUIRE(probe.why_sent == send_reason::probe);
  h.core.member_unreachable(1, now, h.out);
  h.result(probe.attempt, false, now);
  h.take();
  CHECK(h.core.health(1) == member_health::probing);
  for (int i = 0; i < 4; ++i) {
    h.start(now);
    CHECK(h.take().at(0).member != 1);
  }
  h.core.member_reachable(1, now + milliseconds(1), h.out);
  h.start(now + milliseconds(1));
  auto again = h.take().at(0);
  CHECK(again.member == 1);
  CHECK(again.why_sent == send_reason::probe);
  h.result(again.attempt, true, now + milliseconds(2));
  CHECK(h.core.health(1) == member_health::healthy);
}

TEST_CASE("every progressive call gets exactly one reply, unless cancelled "
          "after its preliminary answer, and at most one preliminary answer "
          "before it, under 1,000 seeded random schedules",
          "[runtime][supervise][progressive][reach]") {
  // Members answer late or never, fail, give preliminary answers (several
  // per call through hedges and failovers, some late), crash and restart,
  // lose their node (their stand-in fails what it has out as `transient`)
  // and get it back; callers cancel, some right after a preliminary answer.
  // Nothing is sent to an unreachable member, and a lost node is never
  // counted as a crash.
  supervisor_counters seen_all;
  std::uint64_t silenced_all = 0;
  std::uint64_t dropped_all = 0;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    auto pick = [&](std::initializer_list<const char*> xs) {
      return std::string{*(xs.begin() + gen.below(xs.size()))};
    };
    auto settings = R"({"members": ["a", "b", "c"], "routing": ")"
                    + pick({"round_robin", "least_outstanding", "power_of_two"})
                    + R"(", "max_failovers": )" + std::to_string(gen.below(4))
                    + R"(, "hedge": {"enabled": )" + pick({"true", "false"})
                    + R"(, "delay_kind": "fixed", "delay": ")"
                    + pick({"3ms", "10ms"}) + R"(", "max_hedges": )"
                    + std::to_string(1 + gen.below(2))
                    + R"(}, "restart": {"max_restarts": 100, "within": "1s",
           "min_backoff": "5ms", "max_backoff": "20ms"}})";
    INFO("config " << settings);
    harness h{make_config(settings), seed};
    enum class ev : std::uint8_t { preliminary, ok, fail, cancel, up, reach };
    struct pending {
      time_point at;
      ev kind;
      std::uint64_t id; // attempt, caller id (cancel) or member (up, reach)
    };
    std::vector<pending> due;
    std::map<std::uint32_t, std::uint64_t> live; // slot -> caller id
    std::map<std::uint64_t, std::uint32_t> slot_of;
    std::set<std::uint64_t> progressive_ids;
    std::map<std::uint64_t, std::vector<char>> got; // 'p', 'r' or 's'
    std::set<std::uint64_t> left; // cancelled after a preliminary answer
    std::map<std::uint64_t, std::uint32_t> member_of; // attempt -> member
    std::set<std::uint64_t> open; // attempts sent, not answered or cancelled
    std::uint64_t crashes = 0;
    auto now = t0;
    auto look = [&] {
      for (auto& a : h.take()) {
        switch (a.kind) {
          case supervisor_action_kind::send: {
            CHECK_FALSE(h.core.unreachable(a.member));
            member_of[a.attempt] = a.member;
            open.insert(a.attempt);
            auto answer_at = now + milliseconds(gen.below(40));
            // A member that was asked gives a preliminary answer now and
            // then before its final one; rarely one after it (late).
            if (a.progressive && gen.below(2) == 0)
              due.push_back({now + milliseconds(gen.below(40)), ev::preliminary,
                             a.attempt});
            if (gen.below(20) == 0)
              due.push_back(
                {answer_at + milliseconds(1), ev::preliminary, a.attempt});
            switch (gen.below(8)) {
              case 0: // never answers
                break;
              case 1:
              case 2:
                due.push_back({answer_at, ev::fail, a.attempt});
                break;
              default:
                due.push_back({answer_at, ev::ok, a.attempt});
                break;
            }
            break;
          }
          case supervisor_action_kind::reply: {
            auto id = live.at(a.call);
            got[id].push_back(a.silent ? 's' : 'r');
            live.erase(a.call);
            slot_of.erase(id);
            break;
          }
          case supervisor_action_kind::cancel:
            open.erase(a.attempt);
            break;
        }
      }
    };
    const std::uint64_t calls = 30;
    std::uint64_t sent = 0;
    auto next_arrival = now;
    while (sent < calls || !due.empty() || h.core.calls_in_flight() > 0) {
      look();
      auto next = time_point::max();
      std::size_t which = 0;
      for (std::size_t i = 0; i < due.size(); ++i)
        if (due[i].at < next) {
          next = due[i].at;
          which = i;
        }
      auto arrival = sent < calls ? next_arrival : time_point::max();
      auto timer = h.core.next_deadline();
      auto t = std::min({next, arrival, timer});
      REQUIRE(t != time_point::max());
      now = std::max(now, t);
      if (t == arrival) {
        auto id = ++sent;
        supervisor_progressive p;
        if (gen.below(4) != 0) {
          p.enabled = true;
          progressive_ids.insert(id);
          p.soft_deadline =
            gen.below(3) == 0 ? duration{-1} : milliseconds(gen.below(30));
        }
        auto deadline = now + milliseconds(20 + gen.below(120));
        auto slot =
          h.core.start(idempotency::idempotent, deadline, now, h.out, p);
        live[slot] = id;
        slot_of[id] = slot;
        next_arrival = now + milliseconds(gen.below(5));
        switch (gen.below(25)) {
          case 0: // a caller that leaves at once or soon
            due.push_back({now + milliseconds(gen.below(30)), ev::cancel,
                           1 + gen.below(id)});
            break;
          case 1: { // a member crashes
            auto m = static_cast<std::uint32_t>(gen.below(3));
            if (!h.core.running(m))
              break;
            auto d = h.core.member_down(m, now, h.out);
            ++crashes;
            REQUIRE(d.action == restart_action::restart);
            due.push_back({now + d.delay, ev::up, m});
            for (auto it = open.begin(); it != open.end();)
              it = member_of[*it] == m ? open.erase(it) : std::next(it);
            // Its answers never come.
            due.erase(std::remove_if(due.begin(), due.end(),
                                     [&](const pending& x) {
                                       return x.kind != ev::cancel
                                              && x.kind != ev::up
                                              && member_of[x.id] == m;
                                     }),
                      due.end());
            break;
          }
          case 2: { // a member's node is lost, and comes back later
            auto m = static_cast<std::uint32_t>(gen.below(3));
            if (!h.core.running(m) || h.core.unreachable(m))
              break;
            look(); // what was sent before the loss
            h.core.member_unreachable(m, now, h.out);
            // Its stand-in fails what it has out: outcome unknown.
            due.erase(std::remove_if(due.begin(), due.end(),
                                     [&](const pending& x) {
                                       return (x.kind == ev::ok
                                               || x.kind == ev::fail)
                                              && member_of[x.id] == m;
                                     }),
                      due.end());
            std::vector<std::uint64_t> lost;
            for (auto id : open)
              if (member_of[id] == m)
                lost.push_back(id);
            for (auto id : lost) {
              open.erase(id);
              h.result(id, false, now, failure_class::transient);
            }
            due.push_back({now + milliseconds(gen.below(40)), ev::reach, m});
            break;
          }
          default:
            break;
        }
      } else if (t == next) {
        auto x = due[which];
        due.erase(due.begin() + static_cast<std::ptrdiff_t>(which));
        switch (x.kind) {
          case ev::preliminary: {
            auto d = h.core.on_preliminary(x.id, now);
            if (!d.forward) {
              ++dropped_all;
              break;
            }
            auto id = live.at(d.call);
            got[id].push_back('p');
            // The caller leaves after the preliminary answer now and then.
            if (gen.below(4) == 0)
              due.push_back({now + milliseconds(gen.below(5)), ev::cancel, id});
            break;
          }
          case ev::ok:
            open.erase(x.id);
            h.result(x.id, true, now);
            break;
          case ev::fail:
            open.erase(x.id);
            h.result(x.id, false, now,
                     gen.below(4) == 0 ? failure_class::persistent
                                       : failure_class::transient);
            break;
          case ev::cancel: {
            auto s = slot_of.find(x.id);
            if (s == slot_of.end())
              break; // answered already
            if (!got[x.id].empty()) // only a preliminary answer so far
              left.insert(x.id);
            h.core.cancel(s->second, now, h.out);
            break;
          }
          case ev::up:
            h.core.member_up(static_cast<std::uint32_t>(x.id), now, h.out);
            break;
          case ev::reach:
            h.core.member_reachable(static_cast<std::uint32_t>(x.id), now,
                                    h.out);
            break;
        }
      } else {
        h.core.advance(now, h.out);
      }
    }
    look();
    std::uint64_t silenced = 0;
    std::uint64_t preliminaries = 0;
    for (std::uint64_t id = 1; id <= calls; ++id) {
      INFO("call " << id);
      auto& xs = got[id];
      auto finals = std::count(xs.begin(), xs.end(), 'r');
      auto silent = std::count(xs.begin(), xs.end(), 's');
      auto prelims = std::count(xs.begin(), xs.end(), 'p');
      // Exactly one final reply, unless the caller left after the
      // preliminary answer: then none (the owner only forgets the call).
      if (left.count(id) > 0) {
        CHECK(finals == 0);
        CHECK(silent == 1);
      } else {
        CHECK(finals == 1);
        CHECK(silent == 0);
      }
      CHECK(prelims <= 1);
      if (prelims == 1) {
        CHECK(progressive_ids.count(id) == 1);
        CHECK(xs.front() == 'p'); // never after the reply
      }
      silenced += static_cast<std::uint64_t>(silent);
      preliminaries += static_cast<std::uint64_t>(prelims);
    }
    auto& c = h.core.counters();
    CHECK(c.preliminary_replies == preliminaries);
    CHECK(c.cancelled_after_preliminary == silenced);
    CHECK(c.replies_ok + c.replies_failed + c.cancelled_after_preliminary
          == calls);
    CHECK(h.core.calls_in_flight() == 0);
    for (std::uint32_t m = 0; m < 3; ++m)
      CHECK(h.core.outstanding(m) == 0);
    // A lost node is not a crash.
    CHECK(c.member_crashes == crashes);
    seen_all.preliminary_replies += c.preliminary_replies;
    seen_all.unreachable_events += c.unreachable_events;
    seen_all.hedges += c.hedges;
    seen_all.failovers += c.failovers;
    seen_all.member_crashes += c.member_crashes;
    seen_all.deadline_exceeded += c.deadline_exceeded;
    silenced_all += silenced;
  }
  // The seeds reached every path the invariant is about.
  CHECK(seen_all.preliminary_replies > 0);
  CHECK(dropped_all > 0);
  CHECK(silenced_all > 0);
  CHECK(seen_all.hedges > 0);
  CHECK(seen_all.failovers > 0);
  CHECK(seen_all.member_crashes > 0);
  CHECK(seen_all.deadline_exceeded > 0);
  CHECK(seen_all.unreachable_events > 0);
}
