// Tests for tests/support/deterministic_fixture.hpp: the fixture every actor
// test relies on must keep virtual time exact.
#include "tests/support/deterministic_fixture.hpp"

#include "bulwark/actors/protocol/atoms.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// Answers calls in both protocol forms, or not at all for operation "hang".
caf::behavior call_server(caf::event_based_actor* self) {
  return {
    [self](call_atom, call_request& req) -> caf::result<call_reply> {
      call_reply rep;
      rep.id = req.id;
      rep.ok = true;
      rep.payload = "re:" + req.payload;
      if (req.operation == "hang")
        return caf::delegated<call_reply>{};
      if (self->current_message_id().is_request())
        return rep;
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 reply_atom::value, std::move(rep));
      return caf::delegated<call_reply>{};
    },
  };
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "virtual time advances only when the test advances it",
                 "[actors][fixture]") {
  auto t0 = now();
  auto p = make_probe();
  p.execute([](caf::event_based_actor* self) {
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  });
  run();
  run();
  CHECK(now() == t0);
  CHECK(p.size() == 0);
  CHECK(advance_time(milliseconds(5)) == 0);
  CHECK(now() == t0 + milliseconds(5));
  CHECK(p.size() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a delayed_send fires exactly at its time",
                 "[actors][fixture]") {
  auto t0 = now();
  auto p = make_probe();
  p.execute([](caf::event_based_actor* self) {
    self->delayed_send(self, milliseconds(250), tick_atom::value);
  });
  run();
  CHECK(advance_time(milliseconds(249)) == 0);
  CHECK(p.size() == 0);
  CHECK(advance_time(milliseconds(1)) == 1);
  REQUIRE(p.size() == 1);
  CHECK(p[0].is<tick_atom>());
  CHECK(p[0].at == t0 + milliseconds(250));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "timers scheduled by a firing timer fire at their own time",
                 "[actors][fixture]") {
  // A retry timer that schedules the next one: one advance_time over both
  // must fire them in order, each seeing its own `now`.
  auto t0 = now();
  auto chained = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, milliseconds(5), tick_atom::value);
    return {
      [self](tick_atom) {
        self->delayed_send(self, milliseconds(3), reply_atom::value);
      },
      [self](reply_atom) { self->quit(); },
    };
  });
  auto watcher = make_probe();
  watcher.execute(
    [chained](caf::event_based_actor* self) { self->monitor(chained); });
  run();
  CHECK(advance_time(milliseconds(10)) == 2);
  CHECK(now() == t0 + milliseconds(10));
  // The monitored actor quit at t0 + 8ms: 5ms tick, then a 3ms follow-up.
  REQUIRE(watcher.size() == 1);
  CHECK(watcher[0].is<caf::down_msg>());
  CHECK(watcher[0].at == t0 + milliseconds(8));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "the probe captures replies in both protocol forms",
                 "[actors][fixture]") {
  auto server = sys.spawn(call_server);
  auto p = make_probe();
  call_request req;
  req.id = 7;
  req.payload = "x";
  p.send(server, call_atom::value, req);
  req.id = 8;
  p.request<call_reply>(server, caf::infinite, call_atom::value, req);
  run();
  auto replies = p.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].id == 7);
  CHECK(replies[0].payload == "re:x");
  CHECK(replies[1].id == 8);
  CHECK(p[0].is<reply_atom, call_reply>());
  CHECK(p[1].is<call_reply>());
  CHECK(p[0].sender == server.address());
  CHECK(p.collect<reply_atom, call_reply>().size() == 1);
  CHECK(p.errors().empty());
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a request timeout reaches the probe only in virtual time",
                 "[actors][fixture]") {
  auto server = sys.spawn(call_server);
  auto p = make_probe();
  call_request req;
  req.operation = "hang";
  p.request<call_reply>(server, milliseconds(250), call_atom::value, req);
  run();
  advance_time(milliseconds(249));
  CHECK(p.size() == 0);
  advance_time(milliseconds(1));
  auto errors = p.errors();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == caf::sec::request_timeout);
}
