#include "bulwark/runtime/journey/journey.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

using ev = journey_event_kind;

namespace {

const time_point t0 = time_point{} + seconds(100);

journey_event event(ev kind, initiator who = initiator::dependency) {
  journey_event result;
  result.kind = kind;
  result.who = who;
  return result;
}

} // namespace

TEST_CASE("a retried request serializes to the exact expected JSON",
          "[runtime][journey]") {
  journey j{42, t0 + seconds(1)};
  auto at = [](milliseconds ms) { return t0 + seconds(1) + ms; };
  REQUIRE(
    j.record(at(milliseconds(0)), event(ev::admitted, initiator::caller)));
  REQUIRE(
    j.record(at(milliseconds(0)), event(ev::attempt_started).with_attempt(1)));
  REQUIRE(j.record(at(milliseconds(250)),
                   event(ev::attempt_ended, initiator::timer)
                     .with_attempt(1)
                     .with_outcome(outcome::failure(failure_class::timeout),
                                   milliseconds(250))));
  REQUIRE(j.record(at(milliseconds(250)),
                   event(ev::backoff_scheduled).with_attempt(2)));
  REQUIRE(
    j.record(at(milliseconds(350)),
             event(ev::attempt_started, initiator::timer).with_attempt(2)));
  REQUIRE(j.record(at(milliseconds(380)),
                   event(ev::attempt_ended)
                     .with_attempt(2)
                     .with_outcome(outcome::ok(), microseconds(30500))));
  REQUIRE(j.record(at(milliseconds(380)),
                   event(ev::replied)
                     .with_outcome(outcome::ok(), milliseconds(380))
                     .with_source(reply_source::live)));
  CHECK(j.state() == journey_state::done);
  CHECK(j.done());
  CHECK_FALSE(j.failed());
  CHECK_FALSE(j.degraded());
  CHECK(j.attempts() == 2);
  CHECK(j.level() == 1);
  CHECK(
    boost::json::serialize(to_json(j, t0))
    == R"({"id":42,"started_us":1000000,"state":"done","failed":false,)"
       R"("degraded":false,"level":1,"attempts":2,"dropped":0,"entries":[)"
       R"({"at_us":0,"event":"admitted","from":"received","to":"admitted",)"
       R"("who":"caller"},)"
       R"({"at_us":0,"event":"attempt_started","from":"admitted",)"
       R"("to":"attempting","who":"dependency","attempt":1},)"
       R"({"at_us":250000,"event":"attempt_ended","from":"attempting",)"
       R"("to":"attempting","who":"timer","attempt":1,"success":false,)"
       R"("class":"timeout","latency_us":250000},)"
       R"({"at_us":250000,"event":"backoff_scheduled","from":"attempting",)"
       R"("to":"backoff","who":"dependency","attempt":2},)"
       R"({"at_us":350000,"event":"attempt_started","from":"backoff",)"
       R"("to":"attempting","who":"timer","attempt":2},)"
       R"({"at_us":380000,"event":"attempt_ended","from":"attempting",)"
       R"("to":"attempting","who":"dependency","attempt":2,"success":true,)"
       R"("latency_us":30500},)"
       R"({"at_us":380000,"event":"replied","from":"attempting","to":"done",)"
       R"("who":"dependency","success":true,"latency_us":380000,)"
       R"("source":"live"}]})");
}

TEST_CASE("an escalation carries the retry step's reason into the JSON",
          "[runtime][journey]") {
  journey j{7, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  REQUIRE(j.record(t0, event(ev::attempt_started).with_attempt(1)));
  REQUIRE(
    j.record(t0, event(ev::attempt_ended)
                   .with_attempt(1)
                   .with_outcome(outcome::failure(failure_class::transient),
                                 milliseconds(1))));
  REQUIRE(j.record(t0, event(ev::escalated)
                         .with_level(2)
                         .with_reason(retry_status::budget_exhausted)));
  auto json = to_json(j, t0);
  auto& entries = json.at("entries").as_array();
  CHECK(entries[3].at("reason").as_string() == "budget_exhausted");
  // Only where one was given.
  CHECK_FALSE(entries[2].as_object().contains("reason"));
  CHECK(j.entries()[3].has_reason);
  CHECK(j.entries()[3].reason == retry_status::budget_exhausted);
}

TEST_CASE("an illegal event is refused and leaves no trace",
          "[runtime][journey]") {
  journey j{1, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  auto before = boost::json::serialize(to_json(j, t0));
  CHECK_FALSE(j.record(t0, event(ev::admitted)));
  CHECK_FALSE(j.record(t0, event(ev::dequeued)));
  CHECK_FALSE(j.record(t0, event(ev::attempt_ended)
                             .with_attempt(1)
                             .with_outcome(outcome::ok(), milliseconds(1))));
  CHECK(j.state() == journey_state::admitted);
  CHECK(j.entries().size() == 1);
  CHECK(j.dropped() == 0);
  CHECK(boost::json::serialize(to_json(j, t0)) == before);
}

TEST_CASE("malformed payloads are refused even on legal moves",
          "[runtime][journey]") {
  journey j{1, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  // Attempt events need an attempt number.
  CHECK_FALSE(j.record(t0, event(ev::attempt_started)));
  REQUIRE(j.record(t0, event(ev::attempt_started).with_attempt(1)));
  // attempt_ended needs an outcome.
  CHECK_FALSE(j.record(t0, event(ev::attempt_ended).with_attempt(1)));
  // Levels belong to escalations only, and stay within 2..4.
  CHECK_FALSE(j.record(t0, event(ev::attempt_ended)
                             .with_attempt(1)
                             .with_level(2)
                             .with_outcome(outcome::ok(), milliseconds(1))));
  CHECK_FALSE(j.record(t0, event(ev::escalated)));
  CHECK_FALSE(j.record(t0, event(ev::escalated).with_level(1)));
  CHECK_FALSE(j.record(t0, event(ev::escalated).with_level(5)));
  CHECK(j.entries().size() == 2);
  REQUIRE(
    j.record(t0, event(ev::escalated, initiator::supervisor).with_level(3)));
  CHECK(j.level() == 3);
  // The ladder never goes down, but may stay.
  CHECK_FALSE(j.record(t0, event(ev::escalated).with_level(2)));
  CHECK(j.record(t0, event(ev::escalated).with_level(3)));
  // replied needs an outcome.
  CHECK_FALSE(j.record(t0, event(ev::replied)));
  CHECK(j.state() == journey_state::fallback);
}

TEST_CASE("a failure reply marks the journey failed, a fallback reply degraded",
          "[runtime][journey]") {
  SECTION("failed") {
    journey j{1, t0};
    REQUIRE(j.record(
      t0, event(ev::rejected)
            .with_outcome(outcome::failure(failure_class::rejected_locally),
                          duration{0})));
    REQUIRE(j.record(t0, event(ev::escalated).with_level(4)));
    REQUIRE(j.record(
      t0, event(ev::replied)
            .with_outcome(outcome::failure(failure_class::rejected_locally),
                          milliseconds(1))));
    CHECK(j.failed());
    CHECK_FALSE(j.degraded());
    CHECK(j.level() == 4);
  }
  SECTION("degraded") {
    journey j{1, t0};
    REQUIRE(j.record(t0, event(ev::rejected)));
    REQUIRE(j.record(
      t0, event(ev::fallback_used).with_source(reply_source::static_fallback)));
    REQUIRE(j.record(t0, event(ev::replied)
                           .with_outcome(outcome::ok(), milliseconds(1))
                           .with_source(reply_source::static_fallback)));
    CHECK_FALSE(j.failed());
    CHECK(j.degraded());
    CHECK(to_json(j, t0)["entries"].as_array()[1].as_object()["source"]
          == "static_fallback");
  }
  SECTION("fresh cache hit") {
    journey j{1, t0};
    REQUIRE(j.record(t0, event(ev::cache_hit_fresh)));
    REQUIRE(j.record(t0, event(ev::replied)
                           .with_outcome(outcome::ok(), microseconds(3))
                           .with_source(reply_source::fresh_cache)));
    CHECK_FALSE(j.failed());
    CHECK_FALSE(j.degraded());
    CHECK(j.attempts() == 0);
  }
}

TEST_CASE("past the cap entries are counted, and the reply always fits",
          "[runtime][journey]") {
  journey j{9, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  REQUIRE(j.record(t0, event(ev::attempt_started).with_attempt(1)));
  REQUIRE(
    j.record(t0, event(ev::hedge_started, initiator::hedger).with_attempt(2)));
  const int extra = 100;
  for (int i = 0; i < extra; ++i)
    REQUIRE(j.record(t0 + milliseconds(i),
                     event(ev::attempt_ended)
                       .with_attempt(1)
                       .with_outcome(outcome::failure(failure_class::transient),
                                     milliseconds(1))));
  CHECK(j.entries().size() == journey::capacity - 1);
  CHECK(j.dropped() == 3 + extra - (journey::capacity - 1));
  CHECK(j.state() == journey_state::hedging);
  REQUIRE(j.record(
    t0 + seconds(1),
    event(ev::replied)
      .with_outcome(outcome::failure(failure_class::transient), seconds(1))));
  REQUIRE(j.entries().size() == journey::capacity);
  CHECK(j.entries().back().kind == ev::replied);
  CHECK(j.entries().back().from == journey_state::hedging);
  CHECK(j.entries().back().at == t0 + seconds(1));
  CHECK(j.failed());
  CHECK(j.attempts() == 2);
  auto json = to_json(j, t0);
  CHECK(json["dropped"] == 3 + extra - static_cast<int>(journey::capacity - 1));
  CHECK(json["entries"].as_array().size() == journey::capacity);
  // Nothing after the reply.
  CHECK_FALSE(j.record(t0, event(ev::attempt_ended)
                             .with_attempt(2)
                             .with_outcome(outcome::ok(), milliseconds(1))));
  CHECK(j.dropped() == 3 + extra - (journey::capacity - 1));
}

TEST_CASE("a copied journey holds the same record", "[runtime][journey]") {
  journey a{5, t0};
  REQUIRE(a.record(t0, event(ev::queued)));
  REQUIRE(a.record(t0 + milliseconds(2), event(ev::dequeued)));
  journey b{a};
  journey c;
  c = a;
  for (auto* x : {&b, &c}) {
    CHECK(x->id() == 5);
    CHECK(x->state() == journey_state::admitted);
    CHECK(boost::json::serialize(to_json(*x, t0))
          == boost::json::serialize(to_json(a, t0)));
  }
}

TEST_CASE("initiators have their names", "[runtime][journey]") {
  CHECK(to_string(initiator::caller) == "caller");
  CHECK(to_string(initiator::dependency) == "dependency");
  CHECK(to_string(initiator::supervisor) == "supervisor");
  CHECK(to_string(initiator::hedger) == "hedger");
  CHECK(to_string(initiator::timer) == "timer");
}

TEST_CASE("a traced journey writes its span ids, each attempt's derived from "
          "the call's, and copies keep them",
          "[runtime][journey][trace]") {
  journey j{7, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  REQUIRE(j.record(t0, event(ev::attempt_started).with_attempt(1)));
  REQUIRE(j.record(t0, event(ev::hedge_started).with_attempt(2)));
  j.set_trace(journey_trace{trace_id{0xab, 0xcd}, 0x10, 0x20, 0x30});
  auto copy = j;
  CHECK(copy.trace().span == 0x10);
  auto json = boost::json::serialize(to_json(copy, t0));
  CHECK(json.find(R"("trace_id":"00000000000000ab00000000000000cd")")
        != std::string::npos);
  CHECK(json.find(R"("span_id":"0000000000000010")") != std::string::npos);
  CHECK(json.find(R"("parent_id":"0000000000000020")") != std::string::npos);
  CHECK(json.find(R"("upstream_span_id":"0000000000000030")")
        != std::string::npos);
  CHECK(json.find(R"("span_id":")" + span_id_to_string(child_span_id(0x10, 1))
                  + "\"")
        != std::string::npos);
  CHECK(json.find(R"("span_id":")" + span_id_to_string(child_span_id(0x10, 2))
                  + "\"")
        != std::string::npos);
  // Untraced: none of the fields.
  journey plain{8, t0};
  REQUIRE(plain.record(t0, event(ev::admitted)));
  CHECK(boost::json::serialize(to_json(plain, t0)).find("span_id")
        == std::string::npos);
}

TEST_CASE("an ended attempt keeps the downstream status and a journey its "
          "operation, cut to capacity, through copies",
          "[runtime][journey][trace]") {
  journey j{9, t0};
  REQUIRE(j.record(t0, event(ev::admitted)));
  REQUIRE(j.record(t0, event(ev::attempt_started).with_attempt(1)));
  REQUIRE(j.record(
    t0 + milliseconds(1),
    event(ev::attempt_ended)
      .with_attempt(1)
      .with_outcome(outcome::failure(failure_class::transient), milliseconds(1))
      .with_status(503)));
  REQUIRE(j.record(t0 + milliseconds(1), event(ev::backoff_scheduled)));
  REQUIRE(
    j.record(t0 + milliseconds(2), event(ev::attempt_started).with_attempt(2)));
  // Out of range: no status rather than a wrapped one.
  REQUIRE(j.record(t0 + milliseconds(3),
                   event(ev::attempt_ended)
                     .with_attempt(2)
                     .with_outcome(outcome::ok(), milliseconds(1))
                     .with_status(70000)));
  j.set_operation("charge");
  CHECK(j.operation() == "charge");
  auto copy = j;
  CHECK(copy.operation() == "charge");
  auto json = to_json(copy, t0);
  CHECK(json.at("operation").as_string() == "charge");
  auto& entries = json.at("entries").as_array();
  CHECK(entries[2].at("status").as_int64() == 503);
  CHECK(entries[5].as_object().if_contains("status") == nullptr);
  CHECK(entries[0].as_object().if_contains("status") == nullptr);
  std::string long_op(100, 'o');
  j.set_operation(long_op);
  CHECK(j.operation() == long_op.substr(0, journey::operation_capacity));
  journey none{10, t0};
  CHECK(none.operation().empty());
  CHECK(to_json(none, t0).if_contains("operation") == nullptr);
}
