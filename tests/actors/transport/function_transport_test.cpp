#include "bulwark/actors/transport/function_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

attempt_request make_attempt(std::uint64_t id, std::string payload) {
  attempt_request req;
  req.attempt_id = id;
  req.operation = "op";
  req.payload = std::move(payload);
  return req;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a sync function transport answers the sender with the "
                 "function's result",
                 "[actors][transport]") {
  int calls = 0;
  auto transport =
    spawn_function_transport(sys, [&](const attempt_request& req) {
      ++calls;
      auto result = success_result("re:" + req.payload, 200);
      result.attempt_id = 999; // the adapter must overwrite this
      return result;
    });
  auto p = make_probe();
  p.send(transport, attempt_atom::value, make_attempt(1, "a"));
  p.send(transport, attempt_atom::value, make_attempt(2, "b"));
  run();
  CHECK(calls == 2);
  auto results = p.results();
  REQUIRE(results.size() == 2);
  CHECK(results[0].attempt_id == 1);
  CHECK(results[0].ok);
  CHECK(results[0].payload == "re:a");
  CHECK(results[0].status == 200);
  CHECK(results[1].attempt_id == 2);
  CHECK(p[0].sender == transport.address());
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an exception in a sync function becomes a transient failure",
                 "[actors][transport]") {
  auto transport =
    spawn_function_transport(sys, [](const attempt_request&) -> attempt_result {
      throw std::runtime_error("downstream exploded");
    });
  auto p = make_probe();
  p.send(transport, attempt_atom::value, make_attempt(5, ""));
  run();
  auto results = p.results();
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].ok);
  CHECK(results[0].attempt_id == 5);
  CHECK(results[0].status == 0);
  CHECK(results[0].error == 0);
  CHECK(results[0].reported_class
        == static_cast<std::uint8_t>(failure_class::transient));
  CHECK(results[0].payload == "downstream exploded");
  // The transport survives and keeps serving.
  p.send(transport, attempt_atom::value, make_attempt(6, ""));
  run();
  CHECK(p.results().size() == 2);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an async completion answers once, whenever it is called",
                 "[actors][transport]") {
  std::vector<attempt_completion> completions;
  auto transport = spawn_async_function_transport(
    sys, [&](const attempt_request&, attempt_completion complete) {
      completions.push_back(std::move(complete));
    });
  auto p = make_probe();
  p.send(transport, attempt_atom::value, make_attempt(1, "a"));
  p.send(transport, attempt_atom::value, make_attempt(2, "b"));
  run();
  REQUIRE(completions.size() == 2);
  CHECK(p.results().empty());
  // Out of order, and the second call of a completion is ignored.
  completions[1](success_result("two"));
  completions[1](success_result("two again"));
  run();
  auto results = p.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].attempt_id == 2);
  CHECK(results[0].payload == "two");
  // A copy of a completion shares its once-flag.
  auto copy = completions[0];
  copy(status_result(503));
  completions[0](success_result("late"));
  run();
  results = p.results();
  REQUIRE(results.size() == 2);
  CHECK(results[1].attempt_id == 1);
  CHECK(results[1].status == 503);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an async completion may be called from another thread",
                 "[actors][transport]") {
  attempt_completion saved;
  auto transport = spawn_async_function_transport(
    sys, [&](const attempt_request&, attempt_completion complete) {
      saved = std::move(complete);
    });
  auto p = make_probe();
  p.send(transport, attempt_atom::value, make_attempt(3, ""));
  run();
  REQUIRE(saved);
  std::thread worker{[&] { saved(success_result("from a thread")); }};
  worker.join();
  run();
  auto results = p.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].attempt_id == 3);
  CHECK(results[0].payload == "from a thread");
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an async function may complete inline or throw",
                 "[actors][transport]") {
  auto transport = spawn_async_function_transport(
    sys, [](const attempt_request& req, attempt_completion complete) {
      if (req.payload == "throw")
        throw std::runtime_error("no");
      complete(success_result("inline"));
    });
  auto p = make_probe();
  p.send(transport, attempt_atom::value, make_attempt(1, ""));
  p.send(transport, attempt_atom::value, make_attempt(2, "throw"));
  run();
  auto results = p.results();
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok);
  CHECK(results[0].payload == "inline");
  CHECK_FALSE(results[1].ok);
  CHECK(results[1].attempt_id == 2);
  CHECK(results[1].payload == "no");
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a completion whose sender is gone sends nothing",
                 "[actors][transport]") {
  attempt_completion saved;
  auto transport = spawn_async_function_transport(
    sys, [&](const attempt_request&, attempt_completion complete) {
      saved = std::move(complete);
    });
  {
    auto sender = sys.spawn([transport](caf::event_based_actor* self) {
      self->send(transport, attempt_atom::value, attempt_request{});
    });
    (void)sender;
  }
  run();
  REQUIRE(saved);
  saved(success_result("nobody listens")); // must not crash or leak
  CHECK(run() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "function transports accept cancel hints and keep serving",
                 "[actors][transport]") {
  auto transport = spawn_function_transport(
    sys, [](const attempt_request&) { return success_result("ok"); });
  auto p = make_probe();
  p.send(transport, cancel_atom::value, std::uint64_t{1});
  p.send(transport, attempt_atom::value, make_attempt(2, ""));
  run();
  CHECK(p.results().size() == 1);
  CHECK(p.size() == 1); // no error message for the cancel hint
}
