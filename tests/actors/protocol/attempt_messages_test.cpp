#include "bulwark/actors/protocol/attempt_messages.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

call_request sample_request() {
  call_request x;
  x.id = 42;
  x.operation = "get_user";
  x.payload = std::string("\0binary\xff", 8);
  x.idempotency_key = "key-7";
  x.crit = criticality::sheddable;
  x.deadline_ns = to_wire_time(time_point{} + milliseconds(1500));
  x.journey_id = 9;
  x.upstream_attempts = 2;
  x.trace.trace = trace_id{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
  x.trace.parent_id = 0x00f067aa0ba902b7ULL;
  x.trace.flags = 1;
  x.trace.tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  x.upstream_span = 77;
  x.progressive = true;
  x.soft_deadline_ns = 150'000'000;
  return x;
}

call_reply sample_reply() {
  call_reply x;
  x.id = 42;
  x.ok = false;
  x.payload = "cached";
  x.source = reply_source::stale_cache;
  x.attempts = 3;
  x.hedge_won = true;
  x.journey_id = 9;
  x.cls = failure_class::deadline_exceeded;
  x.may_retry = false;
  x.retry_after_ns = 2'000'000'000;
  x.message = "deadline passed after 3 attempts";
  return x;
}

call_reply sample_preliminary() {
  call_reply x;
  x.id = 42;
  x.ok = true;
  x.payload = "stale";
  x.source = reply_source::stale_cache;
  x.attempts = 2;
  x.journey_id = 9;
  x.message = "being retried";
  x.preliminary = true;
  x.reason = preliminary_reason::retrying;
  x.age_ns = 3'000'000'000;
  return x;
}

attempt_request sample_attempt() {
  attempt_request x;
  x.attempt_id = 1234;
  x.operation = "charge";
  x.payload = "{}";
  x.idempotency_key = "k";
  x.deadline_ns = 77;
  x.attempt_number = 3;
  x.crit = criticality::critical;
  x.trace.trace = trace_id{1, 2};
  x.trace.parent_id = 3;
  x.trace.flags = 1;
  x.trace.tracestate = "a=1";
  return x;
}

attempt_result sample_result() {
  attempt_result x;
  x.attempt_id = 1234;
  x.ok = false;
  x.payload = "busy";
  x.status = 503;
  x.error = 4;
  x.latency_ns = 1500000;
  x.retry_after_ns = 2000000000;
  x.do_not_retry = true;
  x.reported_class = static_cast<std::uint8_t>(failure_class::overloaded);
  return x;
}

template <class T>
T round_trip(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = x;
  REQUIRE(!sink(copy));
  T y;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(y));
  return y;
}

} // namespace

TEST_CASE("wire times round-trip and keep no_deadline distinct",
          "[actors][messages]") {
  auto t = time_point{} + hours(1) + nanoseconds(17);
  CHECK(from_wire_time(to_wire_time(t)) == t);
  CHECK(to_wire_time(t) == 3600000000017);
  CHECK(to_wire_time(no_deadline) == no_deadline_ns);
  CHECK(from_wire_time(no_deadline_ns) == no_deadline);
  CHECK(no_deadline_ns == std::numeric_limits<std::int64_t>::max());
  CHECK(from_wire_duration(to_wire_duration(milliseconds(3)))
        == milliseconds(3));
  call_request req;
  CHECK_FALSE(req.deadline().is_set());
  req.deadline_ns = to_wire_time(t);
  CHECK(req.deadline().at == t);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "every message struct survives CAF serialization",
                 "[actors][messages]") {
  CHECK(round_trip(sys, sample_request()) == sample_request());
  CHECK(round_trip(sys, sample_reply()) == sample_reply());
  CHECK(round_trip(sys, sample_preliminary()) == sample_preliminary());
  // Each progressive field takes part in the comparison.
  auto other = sample_preliminary();
  other.age_ns = 1;
  CHECK(other != sample_preliminary());
  auto not_progressive = sample_request();
  not_progressive.progressive = false;
  CHECK(not_progressive != sample_request());
  auto own_soft = sample_request();
  own_soft.soft_deadline_ns = 1;
  CHECK(own_soft != sample_request());
  CHECK(round_trip(sys, sample_attempt()) == sample_attempt());
  CHECK(round_trip(sys, sample_result()) == sample_result());
  // Defaults too: no_deadline and "no retry-after" survive.
  CHECK(round_trip(sys, call_request{}).deadline_ns == no_deadline_ns);
  CHECK(round_trip(sys, call_request{}).soft_deadline_ns == -1);
  CHECK_FALSE(round_trip(sys, call_request{}).progressive);
  CHECK(round_trip(sys, call_reply{}).age_ns == -1);
  CHECK(round_trip(sys, call_reply{}).reason == preliminary_reason::none);
  CHECK(round_trip(sys, attempt_result{}).retry_after_ns == no_retry_after_ns);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "enum values outside their range are rejected on load",
                 "[actors][messages]") {
  // Serialize a request whose criticality byte is patched to 3 (one past
  // sheddable): loading must fail instead of producing an unnamed enum.
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  std::uint64_t id = 1;
  std::string op, payload, key;
  std::uint8_t bad_crit = 3;
  std::int64_t deadline_ns = 0;
  std::uint64_t journey = 0;
  std::uint32_t upstream = 0;
  std::uint64_t trace_hi = 0, trace_lo = 0, parent = 0, upstream_span = 0;
  std::uint8_t flags = 0;
  std::string state;
  bool progressive = false;
  std::int64_t soft_deadline_ns = -1;
  REQUIRE(!sink(id, op, payload, key, bad_crit, deadline_ns, journey, upstream,
                trace_hi, trace_lo, parent, flags, state, upstream_span,
                progressive, soft_deadline_ns));
  call_request x;
  caf::binary_deserializer source{sys, buf};
  CHECK(source(x) == caf::sec::invalid_argument);
  // The last valid value loads.
  buf.clear();
  caf::binary_serializer sink2{sys, buf};
  std::uint8_t last = 2;
  REQUIRE(!sink2(id, op, payload, key, last, deadline_ns, journey, upstream,
                 trace_hi, trace_lo, parent, flags, state, upstream_span,
                 progressive, soft_deadline_ns));
  caf::binary_deserializer source2{sys, buf};
  CHECK(!source2(x));
  CHECK(x.crit == criticality::sheddable);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a reply from another node loads only when it is preliminary "
                 "exactly when it names why, with no invented age",
                 "[actors][messages]") {
  auto load = [&](call_reply x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(x));
    call_reply y;
    caf::binary_deserializer source{sys, buf};
    return source(y);
  };
  CHECK(!load(sample_preliminary()));
  CHECK(!load(sample_reply()));
  auto no_reason = sample_preliminary();
  no_reason.reason = preliminary_reason::none;
  CHECK(load(no_reason) == caf::sec::invalid_argument);
  auto final_with_reason = sample_reply();
  final_with_reason.reason = preliminary_reason::queued;
  CHECK(load(final_with_reason) == caf::sec::invalid_argument);
  auto bad_age = sample_preliminary();
  bad_age.age_ns = -2;
  CHECK(load(bad_age) == caf::sec::invalid_argument);
  auto unknown_reason = sample_preliminary();
  unknown_reason.reason = static_cast<preliminary_reason>(5);
  CHECK(load(unknown_reason) == caf::sec::invalid_argument);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a trace context from another node loads only when this node "
                 "could have made it",
                 "[actors][messages]") {
  auto load = [&](trace_context t) {
    auto x = sample_request();
    x.trace = std::move(t);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(x));
    call_request y;
    caf::binary_deserializer source{sys, buf};
    return source(y);
  };
  trace_context ok;
  ok.trace = trace_id{1, 2};
  CHECK(!load(ok)); // a root: no parent
  auto ids_without_trace = trace_context{};
  ids_without_trace.parent_id = 5;
  CHECK(load(ids_without_trace) == caf::sec::invalid_argument);
  auto injected = ok;
  injected.tracestate = "a=1\r\nX-Evil: 1";
  CHECK(load(injected) == caf::sec::invalid_argument);
  auto not_canonical = ok;
  not_canonical.tracestate = "a=1 , b=2";
  CHECK(load(not_canonical) == caf::sec::invalid_argument);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "registered messages serialize inside a caf::message",
                 "[actors][messages]") {
  // Only types announced through add_bulwark_types can be serialized as part
  // of a type-erased message (what io::middleman does on the wire).
  auto msg = caf::make_message(call_atom::value, sample_request());
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(copy));
  REQUIRE(copy.match_elements<call_atom, call_request>());
  CHECK(copy.get_as<call_request>(1) == sample_request());
}

TEST_CASE("messages print with their type names", "[actors][messages]") {
  auto str = caf::deep_to_string(sample_attempt());
  CAPTURE(str);
  CHECK(str.find("attempt_request") != std::string::npos);
  CHECK(str.find("charge") != std::string::npos);
}

TEST_CASE("attempt result constructors fill the documented fields",
          "[actors][messages]") {
  auto ok = success_result("p", 200);
  CHECK(ok.ok);
  CHECK(ok.payload == "p");
  CHECK(ok.status == 200);
  auto st = status_result(503, "busy");
  CHECK_FALSE(st.ok);
  CHECK(st.status == 503);
  CHECK(st.error == 0);
  auto err = error_result(transport_error::connection_reset);
  CHECK_FALSE(err.ok);
  CHECK(err.status == 0);
  CHECK(err.error
        == static_cast<std::uint8_t>(transport_error::connection_reset));
  auto cls = class_result(failure_class::overloaded, milliseconds(250));
  CHECK_FALSE(cls.ok);
  CHECK(cls.status == 0);
  CHECK(cls.error == 0);
  CHECK(cls.reported_class
        == static_cast<std::uint8_t>(failure_class::overloaded));
  CHECK(cls.retry_after_ns == 250000000);
  CHECK(class_result(failure_class::transient).retry_after_ns
        == no_retry_after_ns);
}

TEST_CASE("attempt results become classifier observations",
          "[actors][messages]") {
  auto ok = to_observation(success_result("p"));
  CHECK_FALSE(ok.failed);
  CHECK(ok.status == 0);
  CHECK(ok.error == transport_error::none);
  CHECK(ok.retry_after < duration{0});

  auto busy = status_result(503);
  busy.retry_after_ns = 2000000;
  busy.latency_ns = 5000;
  auto obs = to_observation(busy);
  CHECK(obs.status == 503);
  CHECK(obs.retry_after == milliseconds(2));
  CHECK(obs.latency == microseconds(5));

  auto reset =
    to_observation(error_result(transport_error::connection_refused));
  CHECK(reset.error == transport_error::connection_refused);

  auto shed = to_observation(class_result(failure_class::rejected_locally));
  CHECK(shed.failed);
  CHECK(shed.reported_class == failure_class::rejected_locally);

  // An error byte no enum value names is still a transport failure.
  attempt_result odd;
  odd.error = 200;
  CHECK(to_observation(odd).error == transport_error::transport_down);

  // End to end through the classifier with its defaults.
  classifier_config cfg;
  CHECK(classify(cfg, to_observation(success_result("p"))).success);
  CHECK(classify(cfg, reset).cls == failure_class::transient);
  CHECK(classify(cfg, reset).never_executed);
  CHECK(classify(cfg, shed).cls == failure_class::rejected_locally);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "attempt results with unknown enum bytes are rejected on load",
                 "[actors][messages]") {
  auto bad = sample_result();
  bad.error = 8;
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(bad));
  attempt_result x;
  caf::binary_deserializer source{sys, buf};
  CHECK(source(x) == caf::sec::invalid_argument);
  bad = sample_result();
  bad.reported_class = 7;
  buf.clear();
  caf::binary_serializer sink2{sys, buf};
  REQUIRE(!sink2(bad));
  caf::binary_deserializer source2{sys, buf};
  CHECK(source2(x) == caf::sec::invalid_argument);
}
