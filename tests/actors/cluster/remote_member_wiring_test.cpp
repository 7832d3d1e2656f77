// The remote member's wiring in virtual time (its decisions are tested
// without CAF in tests/runtime/cluster/remote_call_core_test.cpp): it
// subscribes to its link, sends each call on as `(rcall_atom, ...)` with its
// wire id and the budget left, passes replies and preliminary replies back
// with the caller's id, forwards cancels, ends calls at their deadline, and
// when its target goes away tells its owner `(reach_atom, false)` before it
// fails what it sent as an unknown outcome.
#include "bulwark/actors/cluster/remote_member.hpp"

#include "bulwark/actors/protocol/protocol.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

struct fixture : deterministic_fixture {
  probe link = make_probe();
  probe target = make_probe();
  probe owner = make_probe();
  probe caller = make_probe();
  caf::actor member;

  fixture() {
    remote_member_options o;
    o.call.node = "b";
    o.call.name = "pay-b";
    o.call.max_in_flight = 2;
    o.call.default_idempotency = idempotency::keyed;
    o.call.operations = {{"move", idempotency::unsafe}};
    o.target = "pay";
    o.link = link.handle();
    o.owner = owner.handle();
    member = spawn_remote_member(sys, std::move(o));
    run();
  }

  ~fixture() override {
    caf::anon_send_exit(member, caf::exit_reason::user_shutdown);
    run();
  }

  void up(std::uint64_t gen = 1) {
    link.send(member, link_atom::value, gen, target.handle());
    run();
  }

  call_request make_call(std::uint64_t id, std::string op = "charge",
                         milliseconds budget = milliseconds(300)) {
    call_request req;
    req.id = id;
    req.operation = std::move(op);
    req.payload = "p";
    req.idempotency_key = "k" + std::to_string(id);
    req.deadline_ns = to_wire_time(now() + budget);
    return req;
  }

  /// The calls the target got, in order.
  std::vector<call_request> sent() {
    std::vector<call_request> xs;
    for (auto& [atom, req] : target.collect<rcall_atom, call_request>())
      xs.push_back(req);
    return xs;
  }

  /// What the owner heard, in order.
  std::vector<bool> reach() {
    std::vector<bool> xs;
    for (auto& [atom, up] : owner.collect<reach_atom, bool>())
      xs.push_back(up);
    return xs;
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a remote member subscribes to its link and refuses calls "
                 "until the target is known",
                 "[actors][cluster]") {
  auto subs = link.collect<link_atom, caf::actor, std::string>();
  REQUIRE(subs.size() == 1);
  CHECK(std::get<1>(subs[0]) == member);
  CHECK(std::get<2>(subs[0]) == "pay");
  caller.send(member, call_atom::value, make_call(1));
  run();
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].cls == failure_class::rejected_locally);
  CHECK(caller.replies()[0].message == "node b unreachable");
  CHECK(sent().empty());
}

TEST_CASE_METHOD(fixture,
                 "a call goes on with its wire id and budget, and the answer "
                 "comes back with the caller's id",
                 "[actors][cluster]") {
  up();
  CHECK(reach() == std::vector<bool>{true});
  auto t0 = now();
  caller.send(member, call_atom::value, make_call(7));
  run();
  auto xs = sent();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].deadline_ns == 300'000'000); // the budget left, not a time
  CHECK(xs[0].idempotency_key == "k7");
  CHECK(target[0].sender == member.address());
  call_reply pre;
  pre.id = xs[0].id;
  pre.ok = true;
  pre.payload = "stale";
  pre.preliminary = true;
  pre.reason = preliminary_reason::awaiting_answer;
  call_reply fin;
  fin.id = xs[0].id;
  fin.ok = true;
  fin.payload = "fresh";
  target.send(member, reply_atom::value, fin);
  target.send(member, reply_atom::value, fin); // a duplicate: dropped
  run();
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 7);
  CHECK(caller.replies()[0].payload == "fresh");
  CHECK(caller[0].at == t0);
  // A call with a preliminary reply asked for.
  auto req = make_call(8);
  req.progressive = true;
  caller.send(member, call_atom::value, req);
  run();
  pre.id = sent().back().id;
  target.send(member, preliminary_atom::value, pre);
  run();
  auto pres = caller.collect<preliminary_atom, call_reply>();
  REQUIRE(pres.size() == 1);
  CHECK(std::get<1>(pres[0]).id == 8);
  CHECK(std::get<1>(pres[0]).payload == "stale");
}

TEST_CASE_METHOD(fixture,
                 "a cancel goes to the target and a call past its deadline "
                 "ends then",
                 "[actors][cluster]") {
  up();
  caller.send(member, call_atom::value, make_call(1));
  caller.send(member, cancel_atom::value, std::uint64_t{1});
  run();
  auto wire = sent().at(0).id;
  auto cancels = target.collect<cancel_atom, std::uint64_t>();
  REQUIRE(cancels.size() == 1);
  CHECK(std::get<1>(cancels[0]) == wire);
  // Nothing answers: the deadline does, and the target is told.
  auto t0 = now();
  caller.send(member, call_atom::value, make_call(2));
  run();
  advance_time(milliseconds(400));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2); // call 1 at its deadline too
  for (auto& r : replies)
    CHECK(r.cls == failure_class::deadline_exceeded);
  CHECK(caller[1].at == t0 + milliseconds(300));
}

TEST_CASE_METHOD(fixture,
                 "a target that goes away: the owner hears first, then every "
                 "call sent ends once as an unknown outcome",
                 "[actors][cluster]") {
  up();
  caller.send(member, call_atom::value, make_call(1, "charge"));
  caller.send(member, call_atom::value, make_call(2, "move"));
  caller.send(member, call_atom::value, make_call(3, "charge"));
  run();
  // The third is over the bound of 2: never sent.
  REQUIRE(sent().size() == 2);
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].id == 3);
  CHECK(caller.replies()[0].cls == failure_class::rejected_locally);
  caller.clear();
  // The link reports the node down.
  link.send(member, link_atom::value, std::uint64_t{1}, caf::actor{});
  run();
  CHECK(reach() == std::vector<bool>{true, false});
  auto replies = caller.replies();
  REQUIRE(replies.size() == 2);
  for (auto& r : replies) {
    CAPTURE(r.id, r.message);
    CHECK(r.cls == failure_class::transient);
    CHECK(r.message.find("outcome unknown") != std::string::npos);
    // Keyed may be repeated with its key; unsafe may not.
    CHECK(r.may_retry == (r.id == 1));
  }
  // Late answers for those calls are dropped.
  call_reply late;
  late.id = sent()[0].id;
  late.ok = true;
  target.send(member, reply_atom::value, late);
  run();
  CHECK(caller.replies().size() == 2);
  // Back with a new generation: calls go out again.
  up(2);
  CHECK(reach() == std::vector<bool>{true, false, true});
  caller.send(member, call_atom::value, make_call(4));
  run();
  CHECK(sent().size() == 3);
}
