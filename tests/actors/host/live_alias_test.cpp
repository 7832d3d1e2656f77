// A live alias forwards calls and cancels to whichever incarnation the
// registry names, keeping the caller as the sender, and answers at once
// when nothing by that name runs.
#include "bulwark/actors/host/live_alias.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

TEST_CASE_METHOD(deterministic_fixture,
                 "a live alias forwards to the current incarnation and "
                 "answers for a name that does not run",
                 "[actors][host]") {
  auto reg = std::make_shared<service_registry>(
    std::make_shared<const bulwark_config>());
  auto alias = spawn_live_alias(sys, reg, "backup");
  auto caller = make_probe();
  call_request req;
  req.id = 7;
  req.operation = "get";
  // Nothing runs: answered at once, as a local rejection.
  caller.send(alias, call_atom::value, req);
  run();
  auto replies = caller.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].id == 7);
  CHECK_FALSE(replies[0].ok);
  CHECK(replies[0].cls == failure_class::rejected_locally);
  CHECK(replies[0].message == "\"backup\" is not running");
  // The first, then the second incarnation gets it, from the caller.
  for (int round = 0; round < 2; ++round) {
    auto target = make_probe();
    reg->update_dependency("backup",
                           [&](service_registry::dependency_entry& e) {
                             e.handle = target.handle();
                             ++e.incarnation;
                           });
    caller.send(alias, call_atom::value, req);
    caller.send(alias, cancel_atom::value, std::uint64_t{7});
    run();
    REQUIRE(target.size() == 2);
    CHECK(target[0].is<call_atom, call_request>());
    CHECK(target[0].sender == caller.handle().address());
    CHECK(target[1].is<cancel_atom, std::uint64_t>());
    CHECK(target[1].sender == caller.handle().address());
  }
  // The request form gets exactly one answer too.
  reg->update_dependency("backup", [&](service_registry::dependency_entry& e) {
    e.handle = nullptr;
  });
  caller.clear();
  caller.request<reply_atom, call_reply>(alias, caf::infinite, call_atom::value,
                                         req);
  run();
  REQUIRE(caller.size() == 1);
  CHECK(caller.replies().size() == 1);
  caf::anon_send_exit(alias, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a live alias forwards calls from another node and control "
                 "requests, and answers a control request for a name that "
                 "does not run with an error",
                 "[actors][host]") {
  auto reg = std::make_shared<service_registry>(
    std::make_shared<const bulwark_config>());
  auto alias = spawn_live_alias(sys, reg, "backup");
  auto caller = make_probe();
  call_request req;
  req.id = 9;
  req.operation = "get";
  caller.send(alias, rcall_atom::value, req);
  run();
  REQUIRE(caller.replies().size() == 1);
  CHECK(caller.replies()[0].cls == failure_class::rejected_locally);
  // Nothing runs: a control request gets an error, not silence.
  caller.clear();
  caller.request<stats_atom>(alias, caf::infinite, stats_atom::value);
  run();
  REQUIRE(caller.size() == 1);
  CHECK(caller[0].is<caf::error>());
  auto target = make_probe();
  reg->update_dependency("backup", [&](service_registry::dependency_entry& e) {
    e.handle = target.handle();
    ++e.incarnation;
  });
  caller.clear();
  caller.send(alias, rcall_atom::value, req);
  caller.send(alias, flags_atom::value, std::string{"{}"});
  run();
  REQUIRE(target.size() == 2);
  CHECK(target[0].is<rcall_atom, call_request>());
  CHECK(target[0].sender == caller.handle().address());
  CHECK(target[1].is<flags_atom, std::string>());
  CHECK(target[1].sender == caller.handle().address());
  caf::anon_send_exit(alias, caf::exit_reason::user_shutdown);
}
