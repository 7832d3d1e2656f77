#include "bulwark/runtime/cluster/remote_call_core.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/correlation_id.hpp"

using namespace bulwark;

namespace {

using kind = remote_action_kind;

const time_point t0 = time_point{} + hours(1);

remote_call_options options() {
  remote_call_options opts;
  opts.node = "pay-a";
  opts.name = "payments-a";
  opts.operations = {{"get", idempotency::idempotent},
                     {"charge", idempotency::keyed},
                     {"refund", idempotency::unsafe}};
  opts.default_idempotency = idempotency::unsafe;
  return opts;
}

remote_call make_call(std::uint64_t id, std::string_view op = "get",
                      time_point deadline = no_deadline, std::size_t bytes = 10,
                      bool progressive = false) {
  remote_call c;
  c.caller_id = id;
  c.operation = op;
  c.bytes = bytes;
  c.deadline = deadline;
  c.progressive = progressive;
  return c;
}

auto any_caller = [](std::uint32_t) { return true; };

struct fixture {
  explicit fixture(remote_call_options opts = options())
    : core(std::move(opts)) {}

  // The actions of the last events, then forgets them.
  std::vector<remote_action> take() {
    std::vector<remote_action> xs(out.begin(), out.end());
    out.clear();
    return xs;
  }

  void bring_up(std::uint64_t gen = 1) {
    core.link_up(gen, now, out);
    REQUIRE(core.up());
    out.clear();
  }

  // Admits a call and returns the send action.
  remote_action send(const remote_call& c) {
    auto slot = core.call(c, now, out);
    REQUIRE(slot);
    auto xs = take();
    REQUIRE(!xs.empty());
    REQUIRE(xs[0].kind == kind::send);
    REQUIRE(xs[0].slot == *slot);
    return xs[0];
  }

  // A refused call's one action.
  remote_action refuse(const remote_call& c) {
    auto slot = core.call(c, now, out);
    REQUIRE(!slot);
    auto xs = take();
    REQUIRE(xs.size() == 1);
    REQUIRE(xs[0].kind == kind::reply);
    REQUIRE(xs[0].slot == remote_call_core::no_slot);
    REQUIRE(xs[0].caller_id == c.caller_id);
    return xs[0];
  }

  remote_call_core core;
  remote_action_list out;
  time_point now = t0;
};

} // namespace

TEST_CASE("every remote action kind has a name") {
  CHECK(to_string(kind::send) == "send");
  CHECK(to_string(kind::cancel_remote) == "cancel_remote");
  CHECK(to_string(kind::reply) == "reply");
  CHECK(to_string(kind::forward) == "forward");
  CHECK(to_string(kind::preliminary) == "preliminary");
  CHECK(to_string(kind::end_silently) == "end_silently");
  CHECK(to_string(kind::reachable) == "reachable");
  CHECK(to_string(kind::arm_timer) == "arm_timer");
  CHECK(to_string(static_cast<kind>(200)) == "invalid");
}

TEST_CASE("operations take their declared idempotency, others the default") {
  fixture f;
  CHECK(f.core.idempotency_of("get") == idempotency::idempotent);
  CHECK(f.core.idempotency_of("charge") == idempotency::keyed);
  CHECK(f.core.idempotency_of("refund") == idempotency::unsafe);
  CHECK(f.core.idempotency_of("other") == idempotency::unsafe);
  auto opts = options();
  opts.default_idempotency = idempotency::idempotent;
  fixture g{opts};
  CHECK(g.core.idempotency_of("other") == idempotency::idempotent);
  CHECK(g.core.idempotency_of("") == idempotency::idempotent);
  CHECK(g.core.idempotency_of("refund") == idempotency::unsafe);
}

TEST_CASE("a call before the link is up is refused as never executed") {
  fixture f;
  auto a = f.refuse(make_call(7));
  CHECK(a.cls == failure_class::rejected_locally);
  CHECK(a.may_retry);
  CHECK(a.message == "node pay-a unreachable");
  CHECK(f.core.counters().refused_unreachable == 1);
  CHECK(f.core.counters().sent == 0);
  CHECK(f.core.counters().in_flight == 0);
}

TEST_CASE("the first link state is reported, later ones only on a change") {
  fixture f;
  f.core.link_down(3, true, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::reachable);
  CHECK_FALSE(xs[0].up);
  f.core.link_down(4, true, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.generation() == 4);
  f.core.link_up(4, f.now, f.out);
  xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::reachable);
  CHECK(xs[0].up);
  CHECK(f.core.up());
  CHECK(f.core.counters().stale_link_events == 0);
}

TEST_CASE("link events of an older generation or repeated are stale") {
  fixture f;
  f.bring_up(5);
  f.core.link_up(5, f.now, f.out); // repeated
  f.core.link_up(4, f.now, f.out); // older
  f.core.link_down(4, true, f.now, f.out);
  f.core.link_down(6, true, f.now, f.out); // not the target that is up
  CHECK(f.take().empty());
  CHECK(f.core.up());
  CHECK(f.core.counters().stale_link_events == 4);
  f.core.link_down(5, false, f.now, f.out);
  CHECK_FALSE(f.core.up());
  f.core.link_down(4, true, f.now, f.out);
  f.core.link_up(4, f.now, f.out);
  CHECK(f.take().size() == 1); // only the reachable(false) of the real down
  CHECK(f.core.counters().stale_link_events == 6);
  // The remote re-resolved under the same generation after its actor ended.
  f.core.link_up(5, f.now, f.out);
  CHECK(f.core.up());
}

TEST_CASE("an admitted call is sent with its wire id and its budget") {
  fixture f;
  f.bring_up();
  auto a = f.send(make_call(7, "get", f.now + milliseconds(250), 42));
  CHECK(a.wire_id == f.core.wire_id(a.slot));
  CHECK(correlation_id::slot(a.wire_id) == a.slot);
  CHECK(a.budget_ns == 250'000'000);
  CHECK(f.core.counters().sent == 1);
  CHECK(f.core.counters().in_flight == 1);
  CHECK(f.core.counters().in_flight_bytes == 42);
}

TEST_CASE("the budget is exact at the nanosecond") {
  fixture f;
  f.bring_up();
  CHECK(f.send(make_call(1, "get", f.now + nanoseconds(1))).budget_ns == 1);
  CHECK(f.send(make_call(2, "get", f.now + nanoseconds(999'999'999))).budget_ns
        == 999'999'999);
  CHECK(f.send(make_call(3)).budget_ns == remote_call_core::no_budget);
  // A deadline so far away that the difference does not fit stays a budget.
  auto far = time_point::max() - nanoseconds(1);
  f.now = time_point::min() + hours(1);
  auto b = f.send(make_call(4, "get", far)).budget_ns;
  CHECK(b == remote_call_core::no_budget - 1);
}

TEST_CASE("a call with no budget left is refused as deadline exceeded") {
  fixture f;
  f.bring_up();
  auto a = f.refuse(make_call(7, "get", f.now));
  CHECK(a.cls == failure_class::deadline_exceeded);
  CHECK_FALSE(a.may_retry);
  CHECK(a.message == "pay-a/payments-a: deadline passed before sending");
  f.refuse(make_call(8, "get", f.now - nanoseconds(1)));
  CHECK(f.core.counters().refused_deadline == 2);
  CHECK(f.core.counters().in_flight == 0);
}

TEST_CASE("a spent budget is reported even when the link is down") {
  fixture f;
  auto a = f.refuse(make_call(7, "get", f.now));
  CHECK(a.cls == failure_class::deadline_exceeded);
  CHECK(f.core.counters().refused_unreachable == 0);
}

TEST_CASE("the call over max_in_flight is refused, the next one after a "
          "reply is sent") {
  auto opts = options();
  opts.max_in_flight = 1024;
  fixture f{opts};
  f.bring_up();
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < 1024; ++i)
    ids.push_back(f.send(make_call(i)).wire_id);
  auto a = f.refuse(make_call(1024));
  CHECK(a.cls == failure_class::rejected_locally);
  CHECK(a.may_retry);
  CHECK(a.message == "node pay-a: 1024 calls in flight");
  CHECK(f.core.counters().refused_bound == 1);
  f.core.on_reply(ids[17], false, f.now, f.out);
  f.out.clear();
  CHECK(f.core.counters().in_flight == 1023);
  f.send(make_call(1025));
  CHECK(f.core.counters().in_flight == 1024);
}

TEST_CASE("bytes in flight are bounded exactly and released when calls end") {
  auto opts = options();
  opts.max_in_flight_bytes = 100;
  fixture f{opts};
  f.bring_up();
  auto first = f.send(make_call(1, "get", no_deadline, 60));
  auto a = f.refuse(make_call(2, "get", no_deadline, 41));
  CHECK(a.cls == failure_class::rejected_locally);
  CHECK(a.may_retry);
  CHECK(a.message == "node pay-a: 60 bytes in flight, 41 more over 100");
  auto second = f.send(make_call(3, "get", no_deadline, 40));
  CHECK(f.core.counters().in_flight_bytes == 100);
  f.refuse(make_call(4, "get", no_deadline, 1));
  f.send(make_call(5, "get", no_deadline, 0));
  CHECK(f.core.counters().refused_bound == 2);
  f.core.on_reply(first.wire_id, false, f.now, f.out);
  CHECK(f.core.counters().in_flight_bytes == 40);
  f.core.on_reply(second.wire_id, false, f.now, f.out);
  CHECK(f.core.counters().in_flight_bytes == 0);
  f.out.clear();
  // One call larger than the whole bound never goes.
  auto huge = f.refuse(make_call(6, "get", no_deadline, 101));
  CHECK(huge.message == "node pay-a: 0 bytes in flight, 101 more over 100");
}

TEST_CASE("a node loss reports unreachable first, then fails every call as "
          "an unknown outcome") {
  fixture f;
  f.bring_up();
  f.send(make_call(1, "get"));
  f.send(make_call(2, "charge"));
  f.send(make_call(3, "refund"));
  f.send(make_call(4, "undeclared", f.now + seconds(1)));
  f.core.link_down(1, true, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 5);
  CHECK(xs[0].kind == kind::reachable);
  CHECK_FALSE(xs[0].up);
  std::map<std::uint64_t, bool> may_retry;
  for (std::size_t i = 1; i < xs.size(); ++i) {
    CHECK(xs[i].kind == kind::reply);
    CHECK(xs[i].cls == failure_class::transient);
    CHECK(xs[i].message == "node pay-a down: outcome unknown");
    may_retry[xs[i].caller_id] = xs[i].may_retry;
  }
  CHECK(may_retry
        == std::map<std::uint64_t, bool>{
          {1, true}, {2, true}, {3, false}, {4, false}});
  CHECK(f.core.counters().unknown_outcome == 4);
  CHECK(f.core.counters().in_flight == 0);
  CHECK(f.core.counters().in_flight_bytes == 0);
  CHECK_FALSE(f.core.next_timer());
  // Calls are refused until the link is up again.
  CHECK(f.refuse(make_call(5)).message == "node pay-a unreachable");
}

TEST_CASE("the end of the remote actor fails calls naming the remote") {
  fixture f;
  f.bring_up();
  f.send(make_call(1, "charge"));
  f.core.link_down(1, false, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].kind == kind::reachable);
  CHECK(xs[1].kind == kind::reply);
  CHECK(xs[1].cls == failure_class::transient);
  CHECK(xs[1].may_retry);
  CHECK(xs[1].message == "pay-a/payments-a ended: outcome unknown");
}

TEST_CASE("a new target replacing an up one fails the calls sent to the old") {
  fixture f;
  f.bring_up(1);
  f.send(make_call(1, "refund"));
  f.core.link_up(2, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 3);
  CHECK(xs[0].kind == kind::reachable);
  CHECK_FALSE(xs[0].up);
  CHECK(xs[1].kind == kind::reply);
  CHECK(xs[1].message == "node pay-a down: outcome unknown");
  CHECK_FALSE(xs[1].may_retry);
  CHECK(xs[2].kind == kind::reachable);
  CHECK(xs[2].up);
  CHECK(f.core.generation() == 2);
}

TEST_CASE("replies after a link down, duplicates and old generations are "
          "dropped and counted") {
  fixture f;
  f.bring_up(1);
  auto old = f.send(make_call(1));
  f.core.link_down(1, true, f.now, f.out);
  f.core.link_up(2, f.now, f.out);
  f.out.clear();
  // The freed slot serves a new call under a new slot generation.
  auto fresh = f.send(make_call(2));
  CHECK(fresh.slot == old.slot);
  CHECK(fresh.wire_id != old.wire_id);
  f.core.on_reply(old.wire_id, false, f.now, f.out);
  f.core.on_reply(old.wire_id, true, f.now, f.out);
  f.core.on_reply(0, false, f.now, f.out);
  f.core.on_reply(correlation_id::make(999, 1, 0), false, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.counters().late_replies == 4);
  CHECK(f.core.counters().in_flight == 1);
  f.core.on_reply(fresh.wire_id, false, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::forward);
  CHECK(xs[0].caller_id == 2);
  CHECK(xs[0].wire_id == fresh.wire_id);
  f.core.on_reply(fresh.wire_id, false, f.now, f.out); // duplicate final
  CHECK(f.take().empty());
  CHECK(f.core.counters().late_replies == 5);
  CHECK(f.core.counters().replies == 1);
}

TEST_CASE("a deadline that passes first fails the call and cancels it at the "
          "remote") {
  fixture f;
  f.bring_up();
  auto deadline = f.now + milliseconds(100);
  auto slot = f.core.call(make_call(7, "get", deadline), f.now, f.out);
  REQUIRE(slot);
  auto xs = f.take();
  REQUIRE(xs.size() == 2);
  auto wire = xs[0].wire_id;
  CHECK(xs[1].kind == kind::arm_timer);
  CHECK(xs[1].at == deadline);
  CHECK(f.core.next_timer() == deadline);
  f.core.advance(deadline - nanoseconds(1), f.out);
  CHECK(f.take().empty());
  f.core.advance(deadline, f.out);
  xs = f.take();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].kind == kind::cancel_remote);
  CHECK(xs[0].wire_id == wire);
  CHECK(xs[1].kind == kind::reply);
  CHECK(xs[1].caller_id == 7);
  CHECK(xs[1].cls == failure_class::deadline_exceeded);
  CHECK_FALSE(xs[1].may_retry);
  CHECK(xs[1].message == "pay-a/payments-a: deadline passed, no reply");
  CHECK(f.core.counters().deadline_exceeded == 1);
  CHECK(f.core.counters().in_flight == 0);
  CHECK_FALSE(f.core.next_timer());
  f.core.on_reply(wire, false, deadline, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.counters().late_replies == 1);
}

TEST_CASE("a wake-up is asked for only when the earliest deadline moves "
          "earlier") {
  fixture f;
  f.bring_up();
  auto count_arms = [&] {
    int n = 0;
    for (auto& a : f.take())
      if (a.kind == kind::arm_timer)
        ++n;
    return n;
  };
  f.core.call(make_call(1, "get", f.now + milliseconds(50)), f.now, f.out);
  CHECK(count_arms() == 1);
  f.core.call(make_call(2, "get", f.now + milliseconds(80)), f.now, f.out);
  CHECK(count_arms() == 0);
  f.core.call(make_call(3, "get", f.now + milliseconds(20)), f.now, f.out);
  CHECK(count_arms() == 1);
  // The wake-up at 20 ms fails call 3 and asks for the next one at 50 ms.
  f.core.advance(f.now + milliseconds(20), f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 3);
  CHECK(xs[2].kind == kind::arm_timer);
  CHECK(xs[2].at == f.now + milliseconds(50));
}

TEST_CASE("a cancel goes to the remote and its cancelled reply is passed on") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7, "get", f.now + seconds(1)));
  CHECK(f.core.cancel(7, any_caller, f.now, f.out));
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::cancel_remote);
  CHECK(xs[0].wire_id == sent.wire_id);
  CHECK(f.core.counters().in_flight == 1);
  // A repeated cancel sends nothing more.
  CHECK(f.core.cancel(7, any_caller, f.now, f.out));
  CHECK(f.take().empty());
  CHECK_FALSE(f.core.cancel(8, any_caller, f.now, f.out));
  f.core.on_reply(sent.wire_id, false, f.now, f.out);
  xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::forward);
  CHECK(xs[0].caller_id == 7);
  CHECK(f.core.counters().cancelled == 1);
  CHECK(f.core.counters().in_flight == 0);
}

TEST_CASE("a cancel only matches a call of the same caller") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7));
  CHECK_FALSE(f.core.cancel(
    7, [&](std::uint32_t slot) { return slot != sent.slot; }, f.now, f.out));
  CHECK(f.take().empty());
  CHECK(f.core.counters().cancelled == 0);
}

TEST_CASE("a cancelled call whose deadline passes is failed without a second "
          "cancel") {
  fixture f;
  f.bring_up();
  f.send(make_call(7, "get", f.now + milliseconds(10)));
  f.core.cancel(7, any_caller, f.now, f.out);
  f.out.clear();
  f.core.advance(f.now + milliseconds(10), f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::reply);
  CHECK(xs[0].cls == failure_class::deadline_exceeded);
}

TEST_CASE("a cancel after a preliminary ends the call silently at once") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7, "get", f.now + seconds(1), 30, true));
  f.core.on_reply(sent.wire_id, true, f.now, f.out);
  f.out.clear();
  CHECK(f.core.cancel(7, any_caller, f.now, f.out));
  auto xs = f.take();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].kind == kind::cancel_remote);
  CHECK(xs[0].wire_id == sent.wire_id);
  CHECK(xs[1].kind == kind::end_silently);
  CHECK(xs[1].slot == sent.slot);
  CHECK(xs[1].caller_id == 7);
  CHECK(f.core.counters().silent_ends == 1);
  CHECK(f.core.counters().in_flight == 0);
  CHECK(f.core.counters().in_flight_bytes == 0);
  CHECK_FALSE(f.core.next_timer());
  f.core.on_reply(sent.wire_id, false, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.counters().late_replies == 1);
}

TEST_CASE("a preliminary that crosses a cancel ends the call as cancelled") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7, "get", no_deadline, 10, true));
  f.core.cancel(7, any_caller, f.now, f.out);
  f.out.clear();
  // The remote answered with a preliminary before it saw the cancel, so it
  // will end the call silently: the caller gets its final from here.
  f.core.on_reply(sent.wire_id, true, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::reply);
  CHECK(xs[0].caller_id == 7);
  CHECK(xs[0].cls == failure_class::cancelled);
  CHECK_FALSE(xs[0].may_retry);
  CHECK(xs[0].message == "pay-a/payments-a: cancelled");
  CHECK(f.core.counters().in_flight == 0);
}

TEST_CASE("a progressive call passes one preliminary on, then its final") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7, "get", no_deadline, 10, true));
  f.core.on_reply(sent.wire_id, true, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::preliminary);
  CHECK(xs[0].caller_id == 7);
  CHECK(xs[0].wire_id == sent.wire_id);
  f.core.on_reply(sent.wire_id, true, f.now, f.out); // a second one
  CHECK(f.take().empty());
  CHECK(f.core.counters().dropped_preliminaries == 1);
  f.core.on_reply(sent.wire_id, false, f.now, f.out);
  xs = f.take();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].kind == kind::forward);
  f.core.on_reply(sent.wire_id, true, f.now, f.out); // after the final
  CHECK(f.take().empty());
  CHECK(f.core.counters().late_replies == 1);
  CHECK(f.core.counters().preliminaries == 1);
}

TEST_CASE("a preliminary for a call that did not ask for one is dropped") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7));
  f.core.on_reply(sent.wire_id, true, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.counters().dropped_preliminaries == 1);
  CHECK(f.core.counters().in_flight == 1);
}

TEST_CASE("a node loss after a preliminary still gives the one final") {
  fixture f;
  f.bring_up();
  auto sent = f.send(make_call(7, "charge", no_deadline, 10, true));
  f.core.on_reply(sent.wire_id, true, f.now, f.out);
  f.out.clear();
  f.core.link_down(1, true, f.now, f.out);
  auto xs = f.take();
  REQUIRE(xs.size() == 2);
  CHECK(xs[1].kind == kind::reply);
  CHECK(xs[1].caller_id == 7);
  CHECK(xs[1].cls == failure_class::transient);
  CHECK(xs[1].may_retry);
}

// -- property -----------------------------------------------------------------

namespace {

// What one caller saw of its call.
struct seen {
  bool sent = false;
  bool progressive = false;
  int finals = 0;
  int preliminaries = 0;
  bool final_before_preliminary = false;
  bool silent = false;
  bool cancelled = false;
  bool rejected_after_send = false;
};

struct remote_side {
  std::uint64_t wire_id;
  bool progressive;
};

// Runs one random schedule; returns an empty string or what went wrong, and
// adds the core's counters to `total` (so the test can check that the
// schedules reach every path).
std::string run_schedule(std::uint64_t seed, remote_call_counters& total) {
  std::mt19937_64 gen{seed};
  auto pick = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>{0, n - 1}(gen);
  };
  auto opts = options();
  opts.max_in_flight = static_cast<std::uint32_t>(1 + pick(6));
  opts.max_in_flight_bytes = static_cast<std::int64_t>(20 + pick(60));
  remote_call_core core{opts};
  remote_action_list out;
  time_point now = t0;
  std::uint64_t link_gen = 0;
  std::map<std::uint64_t, seen> calls; // by caller id
  std::map<std::uint32_t, std::uint64_t> slot; // slot -> caller id
  std::vector<remote_side> remote; // what the remote received
  std::vector<std::uint64_t> old_ids; // ids that ended
  std::uint64_t next_id = 1;
  std::optional<bool> reported; // what the owner was told last
  auto reported_up = [&] { return reported.value_or(false); };
  std::string error;
  auto fail = [&](std::string what) {
    if (error.empty())
      error = std::move(what);
  };
  auto apply = [&] {
    for (auto& a : out) {
      switch (a.kind) {
        case kind::send: {
          auto& c = calls[slot.at(a.slot)];
          c.sent = true;
          remote.push_back({a.wire_id, c.progressive});
          if (a.budget_ns <= 0)
            fail("a call was sent with no budget");
          if (!reported_up())
            fail("a call was sent while the owner sees it unreachable");
          break;
        }
        case kind::reply:
        case kind::forward: {
          auto id = a.caller_id;
          auto& c = calls[id];
          ++c.finals;
          if (c.silent)
            fail("a final after a silent end");
          if (a.kind == kind::reply && c.sent
              && a.cls == failure_class::rejected_locally)
            c.rejected_after_send = true;
          if (a.kind == kind::reply && a.cls == failure_class::transient
              && reported_up())
            fail("an unknown outcome before reachable(false)");
          if (a.slot != remote_call_core::no_slot)
            slot.erase(a.slot);
          break;
        }
        case kind::preliminary: {
          auto& c = calls[a.caller_id];
          ++c.preliminaries;
          if (c.finals > 0)
            c.final_before_preliminary = true;
          if (!c.progressive)
            fail("a preliminary for a call that did not ask");
          break;
        }
        case kind::end_silently: {
          auto& c = calls[a.caller_id];
          if (c.preliminaries == 0 || !c.cancelled)
            fail("a silent end without a preliminary and a cancel");
          c.silent = true;
          slot.erase(a.slot);
          break;
        }
        case kind::reachable:
          if (reported == a.up)
            fail("reachable repeated without a change");
          reported = a.up;
          break;
        default:
          break;
      }
    }
    out.clear();
  };
  auto steps = 20 + pick(80);
  for (std::uint64_t step = 0; step < steps && error.empty(); ++step) {
    switch (pick(10)) {
      case 0:
      case 1:
      case 2: { // a call
        auto id = next_id++;
        auto& c = calls[id];
        c.progressive = pick(2) == 0;
        static constexpr std::string_view ops[] = {"get", "charge", "refund"};
        auto deadline = pick(4) == 0
                          ? no_deadline
                          : now + milliseconds(pick(50)) - milliseconds(5);
        auto r = make_call(id, ops[pick(3)], deadline, pick(30), c.progressive);
        auto s = core.call(r, now, out);
        if (s)
          slot[*s] = id;
        apply();
        break;
      }
      case 3:
      case 4: { // the remote answers something it received
        if (remote.empty())
          break;
        auto i = pick(remote.size());
        auto r = remote[i];
        bool prelim = r.progressive && pick(3) == 0;
        if (!prelim || pick(2) == 0)
          remote.erase(remote.begin() + static_cast<std::ptrdiff_t>(i));
        core.on_reply(r.wire_id, prelim, now, out);
        apply();
        break;
      }
      case 5: { // a caller cancels
        if (slot.empty())
          break;
        auto it = slot.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(pick(slot.size())));
        calls[it->second].cancelled = true;
        core.cancel(it->second, any_caller, now, out);
        apply();
        break;
      }
      case 6: { // time passes
        now += milliseconds(pick(20));
        core.advance(now, out);
        apply();
        break;
      }
      case 7: { // the link changes, sometimes with a stale generation
        auto g = pick(4) == 0 && link_gen > 0 ? link_gen - 1 : link_gen;
        if (core.up() && pick(2) == 0) {
          core.link_down(g, pick(2) == 0, now, out);
        } else {
          if (pick(3) != 0)
            ++link_gen;
          core.link_up(pick(4) == 0 ? g : link_gen, now, out);
        }
        apply();
        break;
      }
      case 8: { // a late or garbage reply
        core.on_reply(pick(2) == 0 ? gen()
                                   : correlation_id::make(
                                     static_cast<std::uint32_t>(pick(8)), 1, 0),
                      pick(2) == 0, now, out);
        apply();
        break;
      }
      default: { // a duplicate reply of something already answered
        if (remote.empty())
          break;
        auto r = remote[pick(remote.size())];
        core.on_reply(r.wire_id, false, now, out);
        core.on_reply(r.wire_id, false, now, out);
        apply();
        break;
      }
    }
    auto& k = core.counters();
    if (k.in_flight != slot.size())
      fail("in_flight does not match the calls out");
    if (k.in_flight > opts.max_in_flight)
      fail("more calls out than max_in_flight");
    if (k.in_flight_bytes < 0 || k.in_flight_bytes > opts.max_in_flight_bytes)
      fail("bytes in flight out of bounds");
  }
  // Everything ends: the link goes down for good.
  core.link_down(core.generation(), true, now, out);
  apply();
  if (core.counters().in_flight != 0 || core.counters().in_flight_bytes != 0)
    fail("calls or bytes left in flight after the end");
  if (core.next_timer())
    fail("a timer left after the end");
  auto& k = core.counters();
  total.sent += k.sent;
  total.refused_unreachable += k.refused_unreachable;
  total.refused_bound += k.refused_bound;
  total.refused_deadline += k.refused_deadline;
  total.replies += k.replies;
  total.preliminaries += k.preliminaries;
  total.dropped_preliminaries += k.dropped_preliminaries;
  total.unknown_outcome += k.unknown_outcome;
  total.deadline_exceeded += k.deadline_exceeded;
  total.cancelled += k.cancelled;
  total.silent_ends += k.silent_ends;
  total.late_replies += k.late_replies;
  total.stale_link_events += k.stale_link_events;
  for (auto& [id, c] : calls) {
    auto where = " (call " + std::to_string(id) + ")";
    if (c.finals + (c.silent ? 1 : 0) != 1)
      fail("not exactly one end: " + std::to_string(c.finals) + " finals"
           + where);
    if (c.preliminaries > 1)
      fail("two preliminaries" + where);
    if (c.final_before_preliminary)
      fail("a preliminary after the final" + where);
    if (c.rejected_after_send)
      fail("rejected_locally for a call that was sent" + where);
  }
  return error;
}

} // namespace

TEST_CASE("property: under random schedules every call ends exactly once, "
          "with at most one preliminary before its final, and nothing stays "
          "in flight",
          "[property]") {
  auto* env = std::getenv("BULWARK_SEED");
  std::uint64_t first = env != nullptr ? std::stoull(env) : 1;
  std::uint64_t last = env != nullptr ? first : 2000;
  remote_call_counters total;
  for (auto seed = first; seed <= last; ++seed) {
    INFO("seed " << seed << " (replay with BULWARK_SEED=" << seed << ")");
    REQUIRE(run_schedule(seed, total) == "");
  }
  if (env != nullptr)
    return;
  INFO("sent " << total.sent << ", unreachable " << total.refused_unreachable
               << ", bound " << total.refused_bound << ", deadline "
               << total.refused_deadline << ", replies " << total.replies
               << ", preliminaries " << total.preliminaries << "/"
               << total.dropped_preliminaries << ", unknown "
               << total.unknown_outcome << ", exceeded "
               << total.deadline_exceeded << ", cancelled " << total.cancelled
               << ", silent " << total.silent_ends << ", late "
               << total.late_replies << ", stale " << total.stale_link_events);
  // The schedules reach every path.
  CHECK(total.sent > 1000);
  CHECK(total.refused_unreachable > 100);
  CHECK(total.refused_bound > 100);
  CHECK(total.refused_deadline > 100);
  CHECK(total.replies > 100);
  CHECK(total.preliminaries > 100);
  CHECK(total.dropped_preliminaries > 10);
  CHECK(total.unknown_outcome > 100);
  CHECK(total.deadline_exceeded > 100);
  CHECK(total.cancelled > 100);
  CHECK(total.silent_ends > 10);
  CHECK(total.late_replies > 100);
  CHECK(total.stale_link_events > 100);
}
