#include "bulwark/actors/transport/scripted_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

attempt_request make_attempt(std::uint64_t id) {
  attempt_request req;
  req.attempt_id = id;
  req.operation = "op";
  req.payload = "p" + std::to_string(id);
  return req;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "scripted results answer attempts in arrival order",
                 "[actors][transport]") {
  auto transport = scripted_transport::spawn(sys);
  transport.push(status_result(503));
  transport.push(success_result("fine"));
  auto p = make_probe();
  p.send(transport.handle(), attempt_atom::value, make_attempt(10));
  p.send(transport.handle(), attempt_atom::value, make_attempt(11));
  run();
  auto results = p.results();
  REQUIRE(results.size() == 2);
  CHECK(results[0].attempt_id == 10);
  CHECK(results[0].status == 503);
  CHECK(results[1].attempt_id == 11);
  CHECK(results[1].ok);
  CHECK(results[1].payload == "fine");
  auto seen = transport.attempts();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].request.payload == "p10");
  CHECK(seen[0].sender == p.handle().address());
  CHECK(seen[0].answered);
  CHECK(transport.script().steps_left() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a delayed scripted result arrives after exactly its delay",
                 "[actors][transport]") {
  auto transport = scripted_transport::spawn(sys);
  transport.push(success_result("slow"), milliseconds(100));
  auto p = make_probe();
  auto t0 = now();
  p.send(transport.handle(), attempt_atom::value, make_attempt(1));
  run();
  advance_time(milliseconds(99));
  CHECK(p.results().empty());
  CHECK(transport.held().empty()); // scheduled, not held
  advance_time(milliseconds(1));
  auto results = p.results();
  REQUIRE(results.size() == 1);
  CHECK(p[0].at == t0 + milliseconds(100));
  CHECK(results[0].latency_ns == to_wire_duration(milliseconds(100)));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "held attempts wait until the test answers them",
                 "[actors][transport]") {
  auto transport = scripted_transport::spawn(sys);
  transport.push_hold();
  transport.push_hold();
  auto p = make_probe();
  p.send(transport.handle(), attempt_atom::value, make_attempt(1));
  p.send(transport.handle(), attempt_atom::value, make_attempt(2));
  run();
  advance_time(seconds(10));
  CHECK(p.results().empty());
  CHECK(transport.held() == std::vector<std::uint64_t>{1, 2});
  transport.answer(2, status_result(500));
  run();
  CHECK(transport.held() == std::vector<std::uint64_t>{1});
  REQUIRE(transport.answer_oldest(success_result("late")));
  run();
  auto results = p.results();
  REQUIRE(results.size() == 2);
  CHECK(results[0].attempt_id == 2);
  CHECK(results[0].status == 500);
  CHECK(results[0].latency_ns == to_wire_duration(seconds(10)));
  CHECK(results[1].attempt_id == 1);
  CHECK(transport.held().empty());
  CHECK_FALSE(transport.answer_oldest(success_result("nobody")));
  // Answering twice sends nothing more.
  transport.answer(1, success_result("again"));
  run();
  CHECK(p.results().size() == 2);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "after the script, attempts are held or get the default "
                 "answer",
                 "[actors][transport]") {
  auto transport = scripted_transport::spawn(sys);
  transport.push(success_result("scripted"));
  auto p = make_probe();
  p.send(transport.handle(), attempt_atom::value, make_attempt(1));
  p.send(transport.handle(), attempt_atom::value, make_attempt(2));
  run();
  CHECK(p.results().size() == 1);
  CHECK(transport.held() == std::vector<std::uint64_t>{2});
  transport.script().set_default_answer(success_result("default"),
                                        milliseconds(5));
  p.send(transport.handle(), attempt_atom::value, make_attempt(3));
  p.send(transport.handle(), attempt_atom::value, make_attempt(4));
  run();
  advance_time(milliseconds(5));
  auto results = p.results();
  REQUIRE(results.size() == 3);
  CHECK(results[1].attempt_id == 3);
  CHECK(results[1].payload == "default");
  CHECK(results[2].attempt_id == 4);
  transport.script().clear_default_answer();
  p.send(transport.handle(), attempt_atom::value, make_attempt(5));
  run();
  CHECK(transport.held() == std::vector<std::uint64_t>{2, 5});
}

TEST_CASE_METHOD(deterministic_fixture,
                 "cancel hints are recorded and a late answer still arrives",
                 "[actors][transport]") {
  // A transport may ignore cancel hints: the sender must drop late results,
  // and this transport lets a test produce exactly that situation.
  auto transport = scripted_transport::spawn(sys);
  transport.push_hold();
  auto p = make_probe();
  p.send(transport.handle(), attempt_atom::value, make_attempt(7));
  p.send(transport.handle(), cancel_atom::value, std::uint64_t{7});
  run();
  CHECK(transport.cancelled() == std::vector<std::uint64_t>{7});
  CHECK(transport.attempts()[0].cancelled);
  transport.answer(7, success_result("too late"));
  run();
  REQUIRE(p.results().size() == 1);
  CHECK(p.results()[0].payload == "too late");
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an explicit answer pre-empts a scheduled one",
                 "[actors][transport]") {
  auto transport = scripted_transport::spawn(sys);
  transport.push(success_result("scheduled"), milliseconds(50));
  auto p = make_probe();
  p.send(transport.handle(), attempt_atom::value, make_attempt(1));
  run();
  transport.answer(1, status_result(429));
  run();
  advance_time(milliseconds(50));
  auto results = p.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == 429);
}
