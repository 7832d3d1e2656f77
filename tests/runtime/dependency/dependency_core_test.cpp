// The dependency's decisions without actors: exact backoff and retry-after
// times, deadline boundaries, the breaker, cache and stale-while-revalidate,
// the fallback chain, hedging, the concurrency limit, cancel, transport death,
// reconfiguration mid-flight, feature flags, journeys, and the invariant that
// every call gets exactly one reply under seeded random faults. Virtual time:
// the harness moves `now` and answers attempts itself.
#include "bulwark/runtime/dependency/dependency_core.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

/// The config of dependency "dep" from the JSON of its settings.
dependency_config make_config(const std::string& settings) {
  auto result =
    parse_bulwark_config(R"({"dependencies": {"dep": )" + settings + "}}");
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->dependencies.at(0);
}

// Constant backoff without jitter, so retry times are exact.
const std::string exact_retry = R"({
  "idempotency": "idempotent",
  "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
            "backoff": {"kind": "constant", "jitter": "none", "base": "100ms"}}
})";

dependency_request make_call(std::uint64_t id, std::string op = "get",
                             std::string payload = "p") {
  dependency_request req;
  req.id = id;
  req.operation = std::move(op);
  req.payload = std::move(payload);
  req.idempotency_key = "key-" + std::to_string(id);
  return req;
}

// -- what a transport saw -------------------------------------------------------

transport_observation ok() {
  return transport_observation{};
}

transport_observation status(int code, duration retry_after = duration{-1}) {
  transport_observation obs;
  obs.status = code;
  obs.retry_after = retry_after;
  return obs;
}

transport_observation failed(failure_class cls,
                             duration retry_after = duration{-1}) {
  transport_observation obs;
  obs.failed = true;
  obs.reported_class = cls;
  obs.retry_after = retry_after;
  return obs;
}

transport_observation error(transport_error e) {
  transport_observation obs;
  obs.error = e;
  return obs;
}

/// An action as it was emitted, with the time and (for attempts) the call's
/// request at that moment.
struct logged {
  time_point at;
  dependency_action action;
  dependency_request req;
};

struct harness {
  time_point now = t0;
  dependency_core core;
  dependency_core::action_list out;
  std::vector<logged> log;

  explicit harness(dependency_config cfg, dependency_core_options opts = {},
                   dependency_policies_ptr policies = nullptr)
    : core(named(std::move(cfg)), std::move(policies), std::move(opts), t0) {}

  static dependency_config named(dependency_config cfg) {
    cfg.name = "dep";
    return cfg;
  }

  void take() {
    for (auto& a : out) {
      logged x{now, a, {}};
      if (a.kind == dependency_action_kind::send_attempt
          || a.kind == dependency_action_kind::call_alternate)
        x.req = core.request(a.call);
      log.push_back(std::move(x));
    }
    out.clear();
  }

  std::uint32_t call(dependency_request req) {
    auto slot = core.on_call(std::move(req), now, out);
    take();
    return slot;
  }

  void answer(std::uint64_t attempt, const transport_observation& obs,
              std::string payload = {}) {
    core.on_result(attempt, obs, std::move(payload), now, out);
    take();
  }

  void alternate_answers(std::uint64_t id, bool ok_, failure_class cls,
                         std::string payload, std::string message = {}) {
    core.on_alternate_reply(id, ok_, cls, std::move(payload), message, now,
                            out);
    take();
  }

  bool cancel(std::uint64_t caller_id, bool same_caller = true) {
    auto result = core.cancel(
      caller_id, [&](std::uint32_t) { return same_caller; }, now, out);
    take();
    return result;
  }

  /// Runs every timer up to `t` (inclusive) and stops there.
  void run_until(time_point t) {
    for (;;) {
      auto next = core.next_deadline();
      if (next > t)
        break;
      now = std::max(now, next);
      core.advance(now, out);
      take();
    }
    now = t;
  }

  void wait(duration d) {
    run_until(now + d);
  }

  std::vector<logged> of(dependency_action_kind k) const {
    std::vector<logged> result;
    std::copy_if(log.begin(), log.end(), std::back_inserter(result),
                 [k](auto& x) { return x.action.kind == k; });
    return result;
  }

  std::vector<logged> sends() const {
    return of(dependency_action_kind::send_attempt);
  }

  std::vector<logged> cancels() const {
    return of(dependency_action_kind::cancel_attempt);
  }

  std::vector<logged> replies() const {
    return of(dependency_action_kind::reply);
  }

  /// The attempt id of the n-th attempt sent (0-based).
  std::uint64_t attempt(std::size_t n) const {
    auto s = sends();
    REQUIRE(n < s.size());
    return s[n].action.id;
  }

  /// Offsets of the attempts sent from t0, in ms.
  std::vector<std::int64_t> attempt_offsets_ms() const {
    std::vector<std::int64_t> result;
    for (auto& x : sends())
      result.push_back(
        std::chrono::duration_cast<milliseconds>(x.at - t0).count());
    return result;
  }

  const dependency_stats& stats() const {
    return core.stats();
  }

  /// Everything handed out came back: permits, slots, calls.
  void check_nothing_leaks() {
    auto& pol = core.policies();
    CHECK(pol.breaker.calls_in_flight() == 0);
    CHECK(pol.limit.in_flight() == 0);
    CHECK(pol.limit.queued() == 0);
    CHECK(pol.stats.in_flight == 0);
    CHECK(core.calls_in_flight() == 0);
  }
};

std::vector<std::string> journey_kinds(const std::string& json) {
  std::vector<std::string> kinds;
  auto doc = boost::json::parse(json);
  for (auto& e : doc.at("entries").as_array())
    kinds.emplace_back(e.at("event").as_string());
  return kinds;
}

} // namespace

// -- the one reply ----------------------------------------------------------------

TEST_CASE("a successful call sends one attempt and gets exactly one live reply",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  auto slot = h.call(make_call(7));
  REQUIRE(slot != dependency_core::no_call);
  auto sends = h.sends();
  REQUIRE(sends.size() == 1);
  CHECK(sends[0].action.call == slot);
  CHECK(sends[0].action.number == 1);
  CHECK(correlation_id::index(sends[0].action.id) == 1);
  // The attempt's deadline is the per-attempt timeout (the call has 30s).
  CHECK(sends[0].action.deadline == t0 + seconds(1));
  CHECK(sends[0].req.idempotency_key == "key-7");
  CHECK(sends[0].req.payload == "p");
  CHECK(h.replies().empty());
  h.answer(sends[0].action.id, ok(), "hello");
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK(replies[0].action.call == slot);
  CHECK(r.id == 7);
  CHECK(r.ok);
  CHECK(r.payload == "hello");
  CHECK(r.source == reply_source::live);
  CHECK(r.attempts == 1);
  CHECK_FALSE(r.hedge_won);
  CHECK(r.message.empty());
  CHECK(h.stats().replies_ok == 1);
  h.check_nothing_leaks();
  // A second answer to the same attempt is late: no second reply.
  h.answer(sends[0].action.id, ok(), "again");
  CHECK(h.replies().size() == 1);
  CHECK(h.stats().late_results == 1);
}

TEST_CASE(
  "malformed requests are refused with a classified failure and no slot",
  "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  auto empty = make_call(1, "");
  CHECK(h.call(std::move(empty)) == dependency_core::no_call);
  auto past = make_call(2);
  past.deadline = h.now;
  CHECK(h.call(std::move(past)) == dependency_core::no_call);
  auto bad_crit = make_call(3);
  bad_crit.crit = static_cast<criticality>(9);
  CHECK(h.call(std::move(bad_crit)) == dependency_core::no_call);
  auto injected = make_call(4);
  injected.idempotency_key = "o-1\r\nPUT /faults HTTP/1.1";
  CHECK(h.call(std::move(injected)) == dependency_core::no_call);
  auto just_in_time = make_call(5);
  just_in_time.deadline = h.now + nanoseconds(1);
  CHECK(h.call(std::move(just_in_time)) != dependency_core::no_call);
  auto replies = h.replies();
  REQUIRE(replies.size() == 4);
  for (auto& x : replies) {
    CHECK(x.action.call == dependency_core::no_call);
    CHECK_FALSE(x.action.reply.ok);
    CHECK_FALSE(x.action.reply.may_retry);
    CHECK(x.action.reply.attempts == 0);
  }
  CHECK(replies[0].action.reply.cls == failure_class::persistent);
  CHECK(replies[0].action.reply.message == "invalid request: empty operation");
  CHECK(replies[1].action.reply.cls == failure_class::deadline_exceeded);
  CHECK(replies[1].action.reply.message
        == "invalid request: deadline already passed");
  CHECK(replies[2].action.reply.message
        == "invalid request: unknown criticality");
  CHECK(replies[3].action.reply.cls == failure_class::persistent);
  CHECK(replies[3].action.reply.message
        == "invalid request: idempotency key contains a CR (0x0D) at byte 3; "
           "allowed: visible ASCII 0x21-0x7E");
  CHECK(h.sends().size() == 1); // only the call that was still in time
  CHECK(h.stats().invalid == 3);
}

// -- retries ------------------------------------------------------------------------

TEST_CASE("retries go at exactly the backoff times", "[runtime][dependency]") {
  SECTION("constant backoff") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(500));
    h.run_until(t0 + milliseconds(99));
    CHECK(h.sends().size() == 1);
    h.run_until(t0 + milliseconds(100));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), status(500));
    h.run_until(t0 + milliseconds(200));
    REQUIRE(h.sends().size() == 3);
    h.answer(h.attempt(2), ok(), "third time");
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 100, 200});
    auto sends = h.sends();
    CHECK(sends[2].action.number == 3);
    CHECK(correlation_id::index(sends[2].action.id) == 3);
    auto replies = h.replies();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].action.reply.ok);
    CHECK(replies[0].action.reply.attempts == 3);
    CHECK(h.stats().retries == 2);
    CHECK(h.stats().retries_by_class[static_cast<int>(failure_class::transient)]
          == 2);
  }
  SECTION("exponential backoff without jitter") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"max_attempts": 4, "backoff": {"kind": "exponential",
                "jitter": "none", "base": "100ms", "multiplier": 2}}})")};
    h.call(make_call(1));
    for (std::size_t i = 0; i < 3; ++i) {
      h.answer(h.attempt(i), status(500));
      h.run_until(h.core.next_deadline()); // the retry
    }
    h.answer(h.attempt(3), ok(), "ok");
    // Every failure came back at once: the delays are 100, 200, 400 ms.
    CHECK(h.attempt_offsets_ms()
          == std::vector<std::int64_t>{0, 100, 300, 700});
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.ok);
  }
}

TEST_CASE("a server's retry-after replaces the backoff exactly",
          "[runtime][dependency]") {
  SECTION("a transport that reports overloaded with a pause") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0),
             failed(failure_class::overloaded, milliseconds(750)));
    h.run_until(t0 + milliseconds(749));
    CHECK(h.sends().size() == 1);
    h.run_until(t0 + milliseconds(750));
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 750});
  }
  SECTION("an HTTP 429 with Retry-After, classified by the status map") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.wait(milliseconds(20));
    h.answer(h.attempt(0), status(429, seconds(2)));
    h.run_until(t0 + milliseconds(2019));
    CHECK(h.sends().size() == 1);
    h.run_until(t0 + milliseconds(2020));
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 2020});
    CHECK(
      h.stats().retries_by_class[static_cast<int>(failure_class::overloaded)]
      == 1);
  }
  SECTION("a pause longer than max_retry_after ends the retries") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(503, minutes(2)));
    auto replies = h.replies();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].action.reply.cls == failure_class::overloaded);
    CHECK(replies[0].action.reply.message == "retry_after_too_long");
    CHECK(h.sends().size() == 1);
  }
}

TEST_CASE("exhausted retries answer once, telling the caller not to retry",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  h.call(make_call(1));
  for (std::size_t i = 0; i < 3; ++i) {
    h.answer(h.attempt(i), status(502));
    h.wait(milliseconds(100));
  }
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK_FALSE(r.ok);
  CHECK(r.cls == failure_class::transient);
  CHECK(r.attempts == 3);
  CHECK_FALSE(r.may_retry);
  CHECK(r.message == "attempts_exhausted");
  CHECK(h.sends().size() == 3);
  h.check_nothing_leaks();
}

TEST_CASE("may_retry is true only for a retryable failure nobody retried here",
          "[runtime][dependency]") {
  auto no_retries = make_config(R"({"idempotency": "idempotent",
                                     "retry": {"enabled": false}})");
  SECTION("retries off here, transient failure: the caller may retry") {
    harness h{no_retries};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(500));
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.may_retry);
    CHECK(h.replies()[0].action.reply.message == "disabled");
  }
  SECTION("retries off here, persistent failure: retrying would not help") {
    harness h{no_retries};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(404));
    REQUIRE(h.replies().size() == 1);
    CHECK_FALSE(h.replies()[0].action.reply.may_retry);
  }
  SECTION("retries off here, but the layer below already retried") {
    harness h{no_retries};
    h.call(make_call(1));
    auto obs = status(503);
    obs.do_not_retry = true;
    h.answer(h.attempt(0), obs);
    REQUIRE(h.replies().size() == 1);
    CHECK_FALSE(h.replies()[0].action.reply.may_retry);
  }
  SECTION("retries configured here: never") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(404));
    REQUIRE(h.replies().size() == 1);
    CHECK_FALSE(h.replies()[0].action.reply.may_retry);
  }
}

TEST_CASE("what the retry step refuses is never retried",
          "[runtime][dependency]") {
  SECTION("a do-not-retry marker from below") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    auto obs = status(503);
    obs.do_not_retry = true;
    h.answer(h.attempt(0), obs);
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.message == "do_not_retry");
  }
  SECTION("a persistent failure") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(404));
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.cls == failure_class::persistent);
    CHECK(h.replies()[0].action.reply.message == "not_retryable");
  }
  SECTION("an unsafe operation whose attempt may have executed") {
    harness h{make_config(R"({"idempotency": "unsafe",
      "retry": {"max_attempts": 3, "backoff": {"kind": "constant",
                "jitter": "none", "base": "10ms"}}})")};
    h.call(make_call(1));
    // Refused: provably never executed, so even unsafe retries it.
    h.answer(h.attempt(0), error(transport_error::connection_refused));
    h.wait(milliseconds(10));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), error(transport_error::connection_reset));
    h.wait(seconds(1));
    CHECK(h.sends().size() == 2);
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.message == "unsafe");
  }
}

TEST_CASE("a custom status map and retry_on decide what is retried",
          "[runtime][dependency]") {
  SECTION("a 404 listed as transient is retried") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "classification": {"transient_statuses": [404]},
      "retry": {"backoff": {"kind": "constant", "jitter": "none",
                            "base": "10ms"}}})")};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(404));
    h.wait(milliseconds(10));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), ok(), "replicated");
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.ok);
  }
  SECTION("retry_on without overloaded leaves a 503 alone, a 500 not") {
    auto cfg = make_config(R"({"idempotency": "idempotent",
      "retry": {"retry_on": ["transient"], "backoff": {"kind": "constant",
                "jitter": "none", "base": "10ms"}}})");
    harness h{cfg};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(503));
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.cls == failure_class::overloaded);
    CHECK(h.replies()[0].action.reply.message == "not_retryable");
    h.call(make_call(2));
    h.answer(h.attempt(1), status(500));
    h.wait(milliseconds(10));
    CHECK(h.sends().size() == 3);
  }
  SECTION("a persistent failure listed in retry_on is retried") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"retry_on": ["persistent"], "backoff": {"kind": "constant",
                "jitter": "none", "base": "10ms"}}})")};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(409));
    h.wait(milliseconds(10));
    CHECK(h.sends().size() == 2);
  }
}

TEST_CASE("a retry the budget cannot afford is not made",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"backoff": {"kind": "constant", "jitter": "none", "base": "10ms"}},
    "budget": {"mode": "finagle", "finagle": {"percent_can_retry": 0,
                                              "min_retries_per_second": 0}}})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), status(500));
  h.wait(seconds(1));
  CHECK(h.sends().size() == 1);
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK(r.message == "retry budget exhausted");
  CHECK_FALSE(r.may_retry);
  CHECK(h.stats().retries_denied_budget == 1);
  CHECK(h.stats().retries == 0);
  // The journey names the reason.
  auto doc = boost::json::parse(h.core.journey_json(r.journey_id));
  std::string reason;
  for (auto& e : doc.at("entries").as_array())
    if (e.as_object().contains("reason"))
      reason = std::string{e.at("reason").as_string()};
  CHECK(reason == "budget_exhausted");
}

TEST_CASE("1,000 simultaneous failures under a 20% budget schedule no more "
          "retries than the budget holds (envoy#30205)",
          "[runtime][dependency][budget]") {
  // Envoy counts a retry against its budget only when it fires, so 1,000
  // failures at once all enter backoff uncounted and then fire together.
  // Here the budget is charged when the retry is scheduled. (The breaker is
  // off: it would refuse the retries itself.)
  for (int reserve : {0, 10}) {
    INFO("min_retries_per_second " << reserve);
    harness h{make_config(R"({"idempotency": "idempotent",
      "default_timeout": "30s",
      "retry": {"max_attempts": 3, "per_attempt_timeout": "5s",
                "backoff": {"kind": "exponential", "base": "100ms"}},
      "budget": {"mode": "finagle", "finagle": {"ttl": "10s",
                 "percent_can_retry": 20, "min_retries_per_second": )"
                          + std::to_string(reserve) + R"(}},
      "bulkhead": {"max_concurrent": 2000},
      "breaker": {"mode": "disabled"}})")};
    for (std::uint64_t i = 1; i <= 1000; ++i)
      h.call(make_call(i));
    REQUIRE(h.sends().size() == 1000);
    h.wait(milliseconds(10));
    for (std::size_t n = 0; n < 1000; ++n)
      h.answer(h.attempt(n), status(503));
    // What the budget holds: 20% of 1,000 requests plus the reserve
    // (min_retries_per_second x ttl).
    std::uint64_t holds = 200 + static_cast<std::uint64_t>(reserve) * 10;
    // Every failure was decided at once; none of the retries has fired.
    CHECK(h.sends().size() == 1000);
    CHECK(h.stats().retries == holds);
    CHECK(h.stats().retries_denied_budget == 1000 - holds);
    CHECK(h.core.policies().budget.balance(h.now) == 0);
    // The retries fire and fail again: the budget is spent, none retries
    // once more.
    h.wait(seconds(2));
    auto retried = h.sends().size() - 1000;
    CHECK(retried == holds);
    for (std::size_t n = 1000; n < h.sends().size(); ++n)
      h.answer(h.attempt(n), status(503));
    h.wait(seconds(5));
    CHECK(h.sends().size() == 1000 + holds);
    CHECK(h.stats().retries == holds);
    CHECK(h.replies().size() == 1000);
    h.check_nothing_leaks();
  }
}

TEST_CASE("attempts made upstream share the attempt cap",
          "[runtime][dependency]") {
  auto cfg = make_config(exact_retry); // 3 attempts in total
  SECTION("one made upstream leaves two, numbered on from it") {
    harness h{cfg};
    auto req = make_call(1);
    req.upstream_attempts = 1;
    h.call(std::move(req));
    h.answer(h.attempt(0), status(500));
    h.wait(milliseconds(100));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), status(500));
    h.wait(seconds(1));
    CHECK(h.sends().size() == 2);
    CHECK(h.sends()[0].action.number == 2);
    CHECK(h.sends()[1].action.number == 3);
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.attempts == 2);
    CHECK(h.replies()[0].action.reply.message == "attempts_exhausted");
  }
  SECTION("as many as the cap upstream still leave one attempt here") {
    harness h{cfg};
    auto req = make_call(1);
    req.upstream_attempts = 5;
    h.call(std::move(req));
    h.answer(h.attempt(0), status(500));
    h.wait(seconds(1));
    CHECK(h.sends().size() == 1);
    CHECK(h.sends()[0].action.number == 6);
  }
}

// -- deadlines ------------------------------------------------------------------------

TEST_CASE(
  "a retry is made only if it can end by the deadline, to the nanosecond",
  "[runtime][dependency]") {
  // Attempts take 50ms; backoff 100ms. After the second attempt (ends at
  // 200ms) a retry would run from 300ms to 350ms.
  auto cfg = make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 10, "per_attempt_timeout": "1s",
              "backoff": {"kind": "constant", "jitter": "none",
                          "base": "100ms"}}})");
  auto run = [](harness& h, duration deadline_after) {
    auto req = make_call(1);
    req.deadline = t0 + deadline_after;
    h.call(std::move(req));
    for (std::size_t i = 0; i < 3; ++i) {
      if (h.sends().size() <= i)
        break;
      h.wait(milliseconds(50));
      if (h.replies().empty())
        h.answer(h.attempt(i), status(500));
      h.wait(milliseconds(100));
    }
  };
  harness exact{cfg};
  run(exact, milliseconds(350));
  CHECK(exact.attempt_offsets_ms() == std::vector<std::int64_t>{0, 150, 300});
  // The third attempt may take exactly what is left.
  CHECK(exact.sends()[2].action.deadline == t0 + milliseconds(350));
  harness short_by_one{cfg};
  run(short_by_one, milliseconds(350) - nanoseconds(1));
  CHECK(short_by_one.attempt_offsets_ms() == std::vector<std::int64_t>{0, 150});
  REQUIRE(short_by_one.replies().size() == 1);
  CHECK(short_by_one.replies()[0].at == t0 + milliseconds(200));
  CHECK(short_by_one.replies()[0].action.reply.cls == failure_class::transient);
  CHECK(short_by_one.replies()[0].action.reply.message == "deadline");
}

TEST_CASE("an attempt in flight when the deadline passes is cancelled and the "
          "call answered then",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  auto req = make_call(1);
  req.deadline = t0 + milliseconds(300);
  h.call(std::move(req));
  // The attempt may only take what the call has.
  CHECK(h.sends()[0].action.deadline == t0 + milliseconds(300));
  h.run_until(t0 + milliseconds(299));
  CHECK(h.replies().empty());
  h.run_until(t0 + seconds(2));
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].at == t0 + milliseconds(300));
  CHECK(replies[0].action.reply.cls == failure_class::deadline_exceeded);
  CHECK(replies[0].action.reply.message == "deadline exceeded");
  REQUIRE(h.cancels().size() == 1);
  CHECK(h.cancels()[0].action.id == h.attempt(0));
  h.check_nothing_leaks();
  // Its late answer changes nothing.
  h.answer(h.attempt(0), ok(), "late");
  CHECK(h.replies().size() == 1);
}

TEST_CASE(
  "the per-attempt timeout fails a silent attempt, cancels it and retries",
  "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 2, "per_attempt_timeout": "200ms",
              "backoff": {"kind": "constant", "jitter": "none", "base": "50ms"}}})")};
  h.call(make_call(1));
  h.run_until(t0 + milliseconds(199));
  CHECK(h.cancels().empty());
  h.run_until(t0 + milliseconds(200));
  REQUIRE(h.cancels().size() == 1);
  CHECK(h.cancels()[0].action.id == h.attempt(0));
  CHECK(h.stats().attempt_timeouts == 1);
  h.run_until(t0 + milliseconds(250));
  CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 250});
  h.answer(h.attempt(1), ok(), "second");
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.payload == "second");
  // The abandoned attempt's late answer is dropped.
  h.answer(h.attempt(0), ok(), "late");
  CHECK(h.replies().size() == 1);
  CHECK(h.stats().late_results == 1);
}

// -- the breaker ------------------------------------------------------------------------

TEST_CASE("the breaker opens at its threshold, rejects, probes and closes",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "breaker": {"window_size": 4, "minimum_calls": 4,
                "failure_rate_threshold": 50, "open_duration": "5s",
                "half_open_probes": 1}})")};
  std::vector<transport_observation> answers{ok(), ok(), status(500),
                                             status(500)};
  for (std::uint64_t i = 0; i < 4; ++i) {
    h.call(make_call(i + 1));
    h.answer(h.attempt(i), answers[i], "v");
  }
  CHECK(h.core.policies().breaker.state() == breaker_state::open);
  h.call(make_call(5)); // rejected without an attempt
  CHECK(h.sends().size() == 4);
  auto replies = h.replies();
  REQUIRE(replies.size() == 5);
  CHECK(replies[4].action.reply.cls == failure_class::rejected_locally);
  CHECK(replies[4].action.reply.message == "circuit breaker open");
  CHECK(replies[4].action.reply.attempts == 0);
  CHECK(h.stats().rejected_breaker == 1);
  h.run_until(t0 + milliseconds(4999));
  h.call(make_call(6));
  CHECK(h.sends().size() == 4);
  h.run_until(t0 + seconds(5));
  h.call(make_call(7)); // the probe
  REQUIRE(h.sends().size() == 5);
  h.answer(h.attempt(4), ok(), "probe");
  CHECK(h.core.policies().breaker.state() == breaker_state::closed);
  h.call(make_call(8));
  CHECK(h.sends().size() == 6);
  CHECK(h.stats().breaker_transitions == 3);
}

TEST_CASE(
  "a breaker threshold of 66.66666 percent opens at two failures of three",
  "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "breaker": {"window_size": 3, "minimum_calls": 3,
                "failure_rate_threshold": 66.66666}})")};
  std::vector<transport_observation> answers{ok(), status(500), status(500)};
  for (std::uint64_t i = 0; i < 3; ++i) {
    h.call(make_call(i + 1));
    h.answer(h.attempt(i), answers[i], "v");
  }
  CHECK(h.core.policies().breaker.state() == breaker_state::open);
}

// -- cache ------------------------------------------------------------------------------

TEST_CASE("a fresh cache entry answers without an attempt, a stale one when "
          "the call fails",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "cache": {"enabled": true, "ttl": "1s", "stale_if_error": "1m"},
    "fallback": [{"kind": "stale_cache"}]})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), ok(), "v1");
  h.call(make_call(2)); // fresh: no attempt
  CHECK(h.sends().size() == 1);
  h.wait(seconds(2));
  h.call(make_call(3));
  h.answer(h.attempt(1), status(500));
  auto replies = h.replies();
  REQUIRE(replies.size() == 3);
  CHECK(replies[1].action.reply.source == reply_source::fresh_cache);
  CHECK(replies[1].action.reply.payload == "v1");
  CHECK(replies[1].action.reply.attempts == 0);
  CHECK(replies[2].action.reply.ok);
  CHECK(replies[2].action.reply.source == reply_source::stale_cache);
  CHECK(replies[2].action.reply.payload == "v1");
  CHECK(h.stats().cache_hits == 1);
  CHECK(h.stats().fallbacks_stale == 1);
  // Another payload is another key: a miss.
  h.call(make_call(4, "get", "other"));
  CHECK(h.sends().size() == 3);
}

TEST_CASE("stale-while-revalidate answers from the cache and refreshes it once",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "cache": {"enabled": true, "ttl": "1s", "stale_while_revalidate": "10s"}})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), ok(), "v1");
  h.wait(seconds(2));
  h.call(make_call(2));
  // Answered at once from the stale entry, and one refresh went out.
  auto replies = h.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[1].action.reply.source == reply_source::stale_cache);
  CHECK(replies[1].action.reply.payload == "v1");
  REQUIRE(h.sends().size() == 2);
  auto refresh = h.sends()[1];
  CHECK(refresh.req.payload == "p");
  CHECK(h.stats().revalidations == 1);
  // While it runs, stale answers go on without another refresh.
  h.call(make_call(3));
  CHECK(h.sends().size() == 2);
  CHECK(h.replies().size() == 3);
  // The refresh answers nobody, but refreshes the entry.
  h.answer(refresh.action.id, ok(), "v2");
  CHECK(h.replies().size() == 3);
  h.call(make_call(4));
  REQUIRE(h.replies().size() == 4);
  CHECK(h.replies()[3].action.reply.source == reply_source::fresh_cache);
  CHECK(h.replies()[3].action.reply.payload == "v2");
  h.check_nothing_leaks();
}

TEST_CASE("a failed refresh lets the next stale answer start another",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "cache": {"enabled": true, "ttl": "1s", "stale_while_revalidate": "10s"}})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), ok(), "v1");
  h.wait(seconds(2));
  h.call(make_call(2));
  REQUIRE(h.sends().size() == 2);
  h.answer(h.attempt(1), status(500));
  CHECK(h.replies().size() == 2); // the refresh's failure answers nobody
  h.call(make_call(3));
  CHECK(h.sends().size() == 3);
  CHECK(h.stats().revalidations == 2);
}

// -- fallbacks ---------------------------------------------------------------------------

TEST_CASE("the fallback chain is walked in order", "[runtime][dependency]") {
  SECTION("no stale value: the static value answers") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"enabled": false},
      "cache": {"enabled": true, "ttl": "1s", "stale_if_error": "1m"},
      "fallback": [{"kind": "stale_cache"}, {"kind": "static", "value": "S"}]})")};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(500));
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.source == reply_source::static_fallback);
    CHECK(h.replies()[0].action.reply.payload == "S");
    CHECK(h.stats().fallbacks_static == 1);
  }
  SECTION("a step limited to other classes is skipped") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"enabled": false},
      "fallback": [{"kind": "static", "value": "P", "on": ["persistent"]},
                   {"kind": "static", "value": "T"}]})")};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(500));
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.payload == "T");
  }
  SECTION("fail fast ends the chain with the failure") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"enabled": false},
      "fallback": [{"kind": "fail_fast"}]})")};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(500));
    REQUIRE(h.replies().size() == 1);
    CHECK_FALSE(h.replies()[0].action.reply.ok);
    CHECK(h.stats().fallbacks_fail_fast == 1);
  }
}

TEST_CASE(
  "an alternate dependency answers, and a static value when it fails too",
  "[runtime][dependency]") {
  auto full = parse_bulwark_config(R"({"dependencies": {
    "dep": {"idempotency": "idempotent", "retry": {"enabled": false},
            "fallback": [{"kind": "alternate", "dependency": "gone"},
                         {"kind": "alternate", "dependency": "alt"},
                         {"kind": "static", "value": "S"}]},
    "alt": {}, "gone": {}}})");
  REQUIRE(full.ok());
  dependency_core_options opts;
  opts.alternates = {"alt"}; // "gone" has no live actor: skipped
  harness h{*full.config->find("dep"), opts};
  auto req = make_call(1);
  req.deadline = t0 + seconds(3);
  req.upstream_attempts = 1;
  h.call(std::move(req));
  h.answer(h.attempt(0), status(500));
  auto alts = h.of(dependency_action_kind::call_alternate);
  REQUIRE(alts.size() == 1);
  CHECK(h.core.alternates()[alts[0].action.alternate] == "alt");
  CHECK(correlation_id::index(alts[0].action.id) == 0);
  CHECK(alts[0].action.deadline == t0 + seconds(3));
  CHECK(alts[0].action.number == 2); // one upstream, one here
  CHECK(alts[0].req.payload == "p");
  CHECK(h.replies().empty());
  h.alternate_answers(alts[0].action.id, true, failure_class::transient,
                      "from alt");
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.source == reply_source::alternate);
  CHECK(h.replies()[0].action.reply.payload == "from alt");
  // Again, and this time the alternate fails: the static value answers.
  h.call(make_call(2));
  h.answer(h.attempt(1), status(500));
  alts = h.of(dependency_action_kind::call_alternate);
  REQUIRE(alts.size() == 2);
  h.alternate_answers(alts[1].action.id, false, failure_class::transient, "",
                      "down");
  REQUIRE(h.replies().size() == 2);
  CHECK(h.replies()[1].action.reply.source == reply_source::static_fallback);
  // A late second answer from the alternate is dropped.
  h.alternate_answers(alts[1].action.id, true, failure_class::transient, "x");
  CHECK(h.replies().size() == 2);
  CHECK(h.stats().fallbacks_alternate == 2);
}

TEST_CASE("a failed alternate with nothing after it passes its failure on",
          "[runtime][dependency]") {
  auto full = parse_bulwark_config(R"({"dependencies": {
    "dep": {"idempotency": "idempotent", "retry": {"enabled": false},
            "fallback": [{"kind": "alternate", "dependency": "alt"}]},
    "alt": {}}})");
  REQUIRE(full.ok());
  dependency_core_options opts;
  opts.alternates = {"alt"};
  harness h{*full.config->find("dep"), opts};
  h.call(make_call(1));
  h.answer(h.attempt(0), status(500));
  auto alts = h.of(dependency_action_kind::call_alternate);
  REQUIRE(alts.size() == 1);
  h.alternate_answers(alts[0].action.id, false, failure_class::overloaded, "",
                      "busy");
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.cls == failure_class::overloaded);
  CHECK(h.replies()[0].action.reply.message == "alternate failed: busy");
}

// -- hedging -----------------------------------------------------------------------------

TEST_CASE(
  "a hedge goes at its delay, the first success wins, the loser is cancelled",
  "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}})")};
  h.call(make_call(1));
  h.run_until(t0 + milliseconds(49));
  CHECK(h.sends().size() == 1);
  h.run_until(t0 + milliseconds(50));
  REQUIRE(h.sends().size() == 2);
  CHECK(h.sends()[1].action.number == 2);
  CHECK(h.sends()[1].req.idempotency_key == h.sends()[0].req.idempotency_key);
  h.wait(milliseconds(5));
  h.answer(h.attempt(1), ok(), "hedge");
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].at == t0 + milliseconds(55));
  CHECK(replies[0].action.reply.hedge_won);
  CHECK(replies[0].action.reply.attempts == 2);
  REQUIRE(h.cancels().size() == 1);
  CHECK(h.cancels()[0].action.id == h.attempt(0));
  CHECK(h.stats().hedges == 1);
  CHECK(h.stats().hedges_won == 1);
  h.answer(h.attempt(0), ok(), "late");
  CHECK(h.replies().size() == 1);
  h.check_nothing_leaks();
}

TEST_CASE("a failed hedge leaves the round to the attempt still out",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}})")};
  h.call(make_call(1));
  h.run_until(t0 + milliseconds(50));
  h.answer(h.attempt(1), status(500));
  CHECK(h.replies().empty());
  CHECK(h.sends().size() == 2);
  h.wait(milliseconds(10));
  h.answer(h.attempt(0), ok(), "first");
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.payload == "first");
  CHECK_FALSE(h.replies()[0].action.reply.hedge_won);
}

TEST_CASE(
  "an unsafe operation is never hedged, even when a config in code asks",
  "[runtime][dependency]") {
  auto cfg = make_config(R"({"idempotency": "unsafe"})");
  cfg.hedge.enabled = true;
  cfg.hedge.delay_kind = hedge_delay_kind::fixed;
  cfg.hedge.delay = milliseconds(10);
  harness h{cfg};
  h.call(make_call(1));
  h.run_until(t0 + milliseconds(500));
  CHECK(h.sends().size() == 1);
}

TEST_CASE("a hedge the budget cannot afford is not sent",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"},
    "budget": {"mode": "finagle", "finagle": {"percent_can_retry": 0,
                                              "min_retries_per_second": 0}}})")};
  h.call(make_call(1));
  h.run_until(t0 + milliseconds(100));
  CHECK(h.sends().size() == 1);
  CHECK(h.stats().hedges_denied_budget == 1);
}

TEST_CASE("a retry-after from any attempt holds every later attempt and hedge "
          "of the call",
          "[runtime][dependency]") {
  SECTION("the retry after a failed round waits for a hedge's retry-after") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"max_attempts": 4, "backoff": {"kind": "constant",
                "jitter": "none", "base": "100ms"}},
      "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}})")};
    h.call(make_call(1));
    h.run_until(t0 + milliseconds(55));
    REQUIRE(h.sends().size() == 2);
    // The hedge hears "overloaded, come back in 500ms" ...
    h.answer(h.attempt(1), status(429, milliseconds(500)));
    h.run_until(t0 + milliseconds(100));
    // ... then the first attempt fails without a hint: the retry still
    // waits until 555ms, not the 100ms backoff.
    h.answer(h.attempt(0), status(500));
    h.run_until(t0 + milliseconds(554));
    CHECK(h.sends().size() == 2);
    h.run_until(t0 + milliseconds(555));
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 50, 555});
  }
  SECTION("a later hedge of the same round waits for it too") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms",
                "max_hedges": 2}})")};
    h.call(make_call(1));
    h.run_until(t0 + milliseconds(60));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), status(503, milliseconds(300)));
    // The second hedge was due at 100ms: held until 360ms.
    h.run_until(t0 + milliseconds(359));
    CHECK(h.sends().size() == 1 + 1);
    h.run_until(t0 + milliseconds(360));
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 50, 360});
    h.answer(h.attempt(2), ok(), "x");
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.hedge_won);
  }
  SECTION("without hedging a retry-after is the retry's delay, as before") {
    harness h{make_config(exact_retry)};
    h.call(make_call(1));
    h.answer(h.attempt(0), status(503, milliseconds(300)));
    h.run_until(t0 + milliseconds(300));
    REQUIRE(h.sends().size() == 2);
    h.answer(h.attempt(1), status(500));
    h.run_until(t0 + milliseconds(400));
    CHECK(h.attempt_offsets_ms() == std::vector<std::int64_t>{0, 300, 400});
  }
}

// -- the concurrency limit ----------------------------------------------------------------

TEST_CASE("a concurrency limit queues, then rejects a full queue and sheds "
          "sheddable calls",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "bulkhead": {"max_concurrent": 1, "max_queue": 1, "max_queue_wait": "100ms",
                 "critical_reserve": 0}})")};
  h.call(make_call(1)); // runs
  h.call(make_call(2)); // queued
  h.call(make_call(3)); // queue full
  auto sheddable = make_call(4);
  sheddable.crit = criticality::sheddable;
  h.call(std::move(sheddable)); // never queues
  auto replies = h.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].action.reply.id == 3);
  CHECK(replies[0].action.reply.message == "concurrency limit reached");
  CHECK(replies[1].action.reply.id == 4);
  CHECK(replies[1].action.reply.cls == failure_class::rejected_locally);
  CHECK(h.stats().queued == 1);
  CHECK(h.stats().rejected_bulkhead == 1);
  CHECK(h.stats().shed == 1);
  // The first finishes; the queued one takes its slot at once.
  h.answer(h.attempt(0), ok(), "first");
  REQUIRE(h.sends().size() == 2);
  h.answer(h.attempt(1), ok(), "second");
  replies = h.replies();
  REQUIRE(replies.size() == 4);
  CHECK(replies[2].action.reply.id == 1);
  CHECK(replies[3].action.reply.id == 2);
  h.check_nothing_leaks();
}

TEST_CASE("the critical reserve keeps the last slots for critical calls",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "bulkhead": {"max_concurrent": 10, "max_queue": 0,
                 "critical_reserve": 20}})")};
  for (std::uint64_t i = 1; i <= 8; ++i)
    h.call(make_call(i));
  CHECK(h.sends().size() == 8);
  h.call(make_call(9)); // standard: the last two slots are reserved
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.cls == failure_class::rejected_locally);
  for (std::uint64_t i = 10; i <= 11; ++i) {
    auto req = make_call(i);
    req.crit = criticality::critical;
    h.call(std::move(req));
  }
  CHECK(h.sends().size() == 10);
  auto req = make_call(12);
  req.crit = criticality::critical;
  h.call(std::move(req)); // now even critical calls find no slot
  CHECK(h.replies().size() == 2);
}

TEST_CASE("a queued call that waits too long is rejected at max_queue_wait",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 1, "max_queue": 4, "max_queue_wait": "100ms",
                 "critical_reserve": 0},
    "fallback": [{"kind": "static", "value": "S"}]})")};
  h.call(make_call(1));
  h.wait(milliseconds(10));
  h.call(make_call(2));
  h.run_until(t0 + milliseconds(109));
  CHECK(h.replies().empty());
  h.run_until(t0 + milliseconds(110));
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].action.reply.id == 2);
  // A local rejection still gets the fallback.
  CHECK(replies[0].action.reply.source == reply_source::static_fallback);
  CHECK(h.stats().queue_timeouts == 1);
}

TEST_CASE(
  "a queued call whose deadline passes gives back its queue place and permit",
  "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 1, "max_queue": 4, "max_queue_wait": "1s",
                 "critical_reserve": 0}})")};
  h.call(make_call(1));
  auto req = make_call(2);
  req.deadline = t0 + milliseconds(50);
  h.call(std::move(req));
  CHECK(h.core.policies().breaker.calls_in_flight() == 2);
  h.run_until(t0 + milliseconds(50));
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.cls == failure_class::deadline_exceeded);
  CHECK(h.core.policies().breaker.calls_in_flight() == 1);
  CHECK(h.core.policies().limit.queued() == 0);
}

TEST_CASE("a sheddable call takes its fallback instead of a retry",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"backoff": {"kind": "constant", "jitter": "none", "base": "10ms"}},
    "fallback": [{"kind": "static", "value": "S"}]})")};
  auto req = make_call(1);
  req.crit = criticality::sheddable;
  h.call(std::move(req));
  h.answer(h.attempt(0), status(500));
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.source == reply_source::static_fallback);
  CHECK(h.replies()[0].action.reply.attempts == 1);
  auto doc = h.core.journey_json(h.replies()[0].action.reply.journey_id);
  CHECK(doc.find("\"reason\":\"sheddable_fallback\"") != std::string::npos);
  // A standard call retries.
  h.call(make_call(2));
  h.answer(h.attempt(1), status(500));
  h.wait(milliseconds(10));
  CHECK(h.sends().size() == 3);
  CHECK(h.stats().retries == 1);
}

TEST_CASE("a larger concurrency limit on reload starts queued calls at once",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 1, "max_queue": 4, "max_queue_wait": "1s",
                 "critical_reserve": 0}})")};
  h.call(make_call(1));
  h.call(make_call(2));
  CHECK(h.sends().size() == 1);
  auto errors = h.core.reconfigure(R"({"dependencies": {"dep": {
    "idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 2, "max_queue": 4, "max_queue_wait": "1s",
                 "critical_reserve": 0}}}})",
                                   h.now, h.out);
  h.take();
  CHECK(errors.empty());
  CHECK(h.sends().size() == 2);
}

TEST_CASE("an adaptive limit sets the concurrency limit: a drop halves it and "
          "critical calls keep their reserve under it",
          "[runtime][dependency][adaptive]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false, "per_attempt_timeout": "10s"},
    "bulkhead": {"max_concurrent": 100, "max_queue": 0,
                 "critical_reserve": 25},
    "adaptive_limit": {"enabled": true, "kind": "aimd", "initial_limit": 8,
                       "min_samples": 1}})")};
  auto& pol = h.core.policies();
  CHECK(pol.limit.limit() == 8);
  CHECK(pol.limit.reserved() == 2);
  CHECK(h.stats().adaptive_limit == 8);
  for (std::uint64_t i = 1; i <= 7; ++i)
    h.call(make_call(i));
  // 6 standard calls run, the 7th finds only the reserve.
  CHECK(h.sends().size() == 6);
  CHECK(h.replies().size() == 1);
  // The dependency answers 503: a drop.
  h.answer(h.attempt(0), status(503));
  CHECK(pol.limit.limit() == 4);
  CHECK(pol.limit.reserved() == 1);
  CHECK(h.stats().adaptive_limit == 4);
  CHECK(pol.limit.in_flight() == 5);
  // More 503s from the same overload do not halve it again.
  h.answer(h.attempt(1), status(503));
  h.answer(h.attempt(2), status(503));
  CHECK(pol.limit.limit() == 4);
  CHECK(pol.limit.in_flight() == 3);
  // 3 in flight under a limit of 4 with 1 reserved: standard calls wait
  // (here: rejected, no queue), a critical call still runs.
  h.call(make_call(20));
  CHECK(h.sends().size() == 6);
  auto critical = make_call(21);
  critical.crit = criticality::critical;
  h.call(std::move(critical));
  CHECK(h.sends().size() == 7);
  auto s = to_json(h.stats());
  CHECK(s.at("adaptive_limit").as_uint64() == 4);
}

TEST_CASE("a rising adaptive limit starts queued calls at once",
          "[runtime][dependency][adaptive]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false, "per_attempt_timeout": "10s"},
    "default_timeout": "30s",
    "bulkhead": {"max_queue": 10, "max_queue_wait": "20s",
                 "critical_reserve": 0},
    "adaptive_limit": {"enabled": true, "kind": "aimd", "initial_limit": 2,
                       "min_samples": 1}})")};
  for (std::uint64_t i = 1; i <= 5; ++i)
    h.call(make_call(i));
  CHECK(h.sends().size() == 2);
  h.wait(seconds(1));
  // Opens the first window (2 in flight: the limit is used); the freed
  // slot goes to call 3.
  h.answer(h.attempt(0), ok(), "1");
  CHECK(h.sends().size() == 3);
  h.wait(seconds(1));
  // Closes it: +1. The freed slot and the new one start calls 4 and 5.
  h.answer(h.attempt(1), ok(), "2");
  CHECK(h.stats().adaptive_limit == 3);
  CHECK(h.sends().size() == 5);
  CHECK(h.core.policies().limit.queued() == 0);
}

TEST_CASE("switching the adaptive limit off on reload gives the bulkhead its "
          "configured limit back",
          "[runtime][dependency][adaptive]") {
  const std::string base = R"("idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 50},)";
  harness h{make_config("{" + base + R"(
    "adaptive_limit": {"enabled": true, "initial_limit": 5}})")};
  CHECK(h.core.policies().limit.limit() == 5);
  auto errors =
    h.core.reconfigure(R"({"dependencies": {"dep": {)" + base
                         + R"("adaptive_limit": {"enabled": false}}}})",
                       h.now, h.out);
  h.take();
  CHECK(errors.empty());
  CHECK(h.core.policies().limit.limit() == 50);
  CHECK(h.stats().adaptive_limit == 0);
  // On again: it starts from initial_limit.
  errors = h.core.reconfigure(
    R"({"dependencies": {"dep": {)" + base
      + R"("adaptive_limit": {"enabled": true, "initial_limit": 7}}}})",
    h.now, h.out);
  CHECK(errors.empty());
  CHECK(h.core.policies().limit.limit() == 7);
  CHECK(h.stats().adaptive_limit == 7);
  // Without initial_limit it starts from the bulkhead's max_concurrent.
  harness fresh{make_config("{" + base + R"(
    "adaptive_limit": {"enabled": true, "kind": "aimd"}})")};
  CHECK(fresh.core.policies().limit.limit() == 50);
  CHECK(fresh.stats().adaptive_limit == 50);
}

TEST_CASE("a bad adaptive limit on reload is refused with its path",
          "[runtime][dependency][adaptive]") {
  harness h{make_config(R"({"idempotency": "idempotent"})")};
  auto errors = h.core.reconfigure(R"({"dependencies": {"dep": {
    "adaptive_limit": {"enabled": true, "min_limit": 30, "max_limit": 10}}}})",
                                   h.now, h.out);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]
        == "/dependencies/dep/adaptive_limit/min_limit: must not be greater "
           "than max_limit (10) (got: 30)");
  CHECK(h.core.policies().limit.limit() == 64);
  CHECK(h.stats().adaptive_limit == 0);
}

TEST_CASE("the client-side throttle rejects locally what the dependency "
          "refuses, and nothing while it accepts",
          "[runtime][dependency][throttle]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "breaker": {"mode": "disabled"},
    "throttle": {"enabled": true, "k": 2, "window": "10s"}})")};
  // Accepted: a success and a 404 (the dependency answered).
  for (std::uint64_t i = 1; i <= 50; ++i) {
    h.call(make_call(i));
    h.answer(h.attempt(h.sends().size() - 1), i % 2 == 0 ? ok() : status(404));
    h.wait(milliseconds(10));
  }
  CHECK(h.sends().size() == 50);
  CHECK(h.stats().rejected_throttle == 0);
  // The dependency refuses everything: P(reject) rises with every refusal
  // and most calls never leave.
  std::size_t sent_before = h.sends().size();
  for (std::uint64_t i = 51; i <= 350; ++i) {
    auto sends = h.sends().size();
    h.call(make_call(i));
    if (h.sends().size() > sends)
      h.answer(h.attempt(h.sends().size() - 1), status(503));
    h.wait(milliseconds(100));
  }
  auto sent = h.sends().size() - sent_before;
  INFO("sent " << sent << " of 300");
  // K x accepts lets about 100 through before the 50 accepts age out of
  // the 10 s window; then almost nothing.
  CHECK(sent < 150);
  CHECK(h.stats().rejected_throttle == 300 - sent);
  CHECK(h.replies().size() == 350);
  std::size_t throttled = 0;
  for (auto& r : h.replies())
    if (r.action.reply.message == "rejected by client-side throttling") {
      ++throttled;
      CHECK(r.action.reply.cls == failure_class::rejected_locally);
      CHECK(r.action.reply.attempts == 0);
    }
  CHECK(throttled == h.stats().rejected_throttle);
  h.check_nothing_leaks();
}

TEST_CASE("a throttled call still gets its fallback",
          "[runtime][dependency][throttle]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "throttle": {"enabled": true, "k": 1},
    "fallback": [{"kind": "static", "value": "S"}]})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), status(503));
  // requests 1, accepts 0: P = 1/2 for the next; try until one is throttled.
  for (std::uint64_t i = 2; h.stats().rejected_throttle == 0 && i < 100; ++i) {
    auto sends = h.sends().size();
    h.call(make_call(i));
    if (h.sends().size() > sends)
      h.answer(h.attempt(h.sends().size() - 1), status(503));
  }
  REQUIRE(h.stats().rejected_throttle == 1);
  auto last = h.replies().back().action.reply;
  CHECK(last.ok);
  CHECK(last.source == reply_source::static_fallback);
}

namespace {

/// Deadline shedding on (p90, 5 samples).
dependency_config shedding_config(const std::string& extra = {}) {
  return make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false, "per_attempt_timeout": "10s"},
    "default_timeout": "10s",
    "deadline_shedding": {"enabled": true, "quantile": 90,
                          "min_samples": 5})"
                     + extra + "}");
}

/// Ten calls that took 100 ms each: the latency shedding expects.
void warm(harness& h) {
  for (std::uint64_t i = 1; i <= 10; ++i) {
    h.call(make_call(1000 + i));
    h.wait(milliseconds(100));
    h.answer(h.attempt(h.sends().size() - 1), ok(), "x");
  }
  REQUIRE(h.replies().size() == 10);
}

} // namespace

TEST_CASE("an attempt that cannot finish before the deadline at the observed "
          "latency is not started",
          "[runtime][dependency][deadline]") {
  harness h{shedding_config()};
  warm(h);
  auto sends = h.sends().size();
  auto late = make_call(1);
  late.deadline = h.now + milliseconds(50);
  h.call(std::move(late));
  CHECK(h.sends().size() == sends);
  REQUIRE(h.replies().size() == 11);
  auto r = h.replies().back().action.reply;
  CHECK(r.id == 1);
  CHECK(r.cls == failure_class::rejected_locally);
  CHECK(r.attempts == 0);
  CHECK(r.message
        == "cannot finish before its deadline at the observed latency");
  CHECK(h.stats().shed_deadline == 1);
  // Time enough: it goes.
  auto fine = make_call(2);
  fine.deadline = h.now + milliseconds(300);
  h.call(std::move(fine));
  CHECK(h.sends().size() == sends + 1);
  CHECK(h.stats().shed_deadline == 1);
  h.answer(h.attempt(sends), ok());
  h.check_nothing_leaks();
}

TEST_CASE("without enough samples or with shedding off nothing is shed",
          "[runtime][dependency][deadline]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "deadline_shedding": {"enabled": true, "min_samples": 5}})")};
  for (std::uint64_t i = 1; i <= 4; ++i) {
    h.call(make_call(i));
    h.wait(milliseconds(100));
    h.answer(h.attempt(h.sends().size() - 1), ok());
  }
  auto req = make_call(5);
  req.deadline = h.now + milliseconds(1);
  h.call(std::move(req));
  CHECK(h.sends().size() == 5);
  CHECK(h.stats().shed_deadline == 0);
}

TEST_CASE("a queued call leaves the queue with its reply as soon as it can no "
          "longer finish in time",
          "[runtime][dependency][deadline]") {
  harness h{shedding_config(R"(, "bulkhead": {"max_concurrent": 1,
    "max_queue": 4, "max_queue_wait": "10s", "critical_reserve": 0})")};
  warm(h);
  auto start = h.now;
  h.call(make_call(1)); // holds the only slot
  auto queued = make_call(2);
  queued.deadline = start + milliseconds(500);
  h.call(std::move(queued));
  CHECK(h.core.policies().limit.queued() == 1);
  // About 100 ms are needed: at 350 ms it still waits...
  h.run_until(start + milliseconds(350));
  CHECK(h.replies().size() == 10);
  // ... by 450 ms it has left, answered, without reaching its deadline.
  h.run_until(start + milliseconds(450));
  REQUIRE(h.replies().size() == 11);
  auto r = h.replies().back().action.reply;
  CHECK(r.id == 2);
  CHECK(r.cls == failure_class::rejected_locally);
  auto when = h.replies().back().at;
  CHECK(when > start + milliseconds(350));
  CHECK(when < start + milliseconds(500));
  CHECK(h.core.policies().limit.queued() == 0);
  CHECK(h.stats().shed_deadline == 1);
  // The running call is unaffected; nothing leaks.
  h.answer(h.attempt(h.sends().size() - 1), ok());
  CHECK(h.replies().size() == 12);
  h.check_nothing_leaks();
}

TEST_CASE("a hedge that cannot finish before the deadline is not sent",
          "[runtime][dependency][deadline]") {
  harness h{shedding_config()};
  warm(h); // without hedges: their 50 ms would be the latency learned
  auto errors = h.core.reconfigure(R"({"dependencies": {"dep": {
    "idempotency": "idempotent",
    "retry": {"max_attempts": 2, "per_attempt_timeout": "10s"},
    "default_timeout": "10s",
    "deadline_shedding": {"enabled": true, "quantile": 90, "min_samples": 5},
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}}}})",
                                   h.now, h.out);
  REQUIRE(errors.empty());
  auto sends = h.sends().size();
  auto req = make_call(1);
  req.deadline = h.now + milliseconds(140);
  h.call(std::move(req));
  CHECK(h.sends().size() == sends + 1);
  // At 50 ms the hedge would need ~100 ms more, with 90 left.
  h.wait(milliseconds(60));
  CHECK(h.sends().size() == sends + 1);
  CHECK(h.stats().hedges == 0);
  CHECK(h.stats().shed_deadline == 1);
}

// -- cancel and transport death -------------------------------------------------------------

TEST_CASE("a cancelled call is answered once as cancelled and retries no more",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  h.call(make_call(1));
  h.call(make_call(2));
  // Another caller's cancel of the same id changes nothing.
  CHECK_FALSE(h.cancel(1, false));
  CHECK(h.replies().empty());
  CHECK(h.cancel(1));
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK(r.id == 1);
  CHECK(r.cls == failure_class::cancelled);
  CHECK(r.message == "cancelled by the caller");
  CHECK_FALSE(r.may_retry);
  REQUIRE(h.cancels().size() == 1);
  CHECK(h.cancels()[0].action.id == h.attempt(0));
  CHECK_FALSE(h.cancel(1));
  h.answer(h.attempt(0), ok(), "late");
  h.wait(seconds(2));
  CHECK(h.replies().size() == 1); // call 2 still waits for its attempts
  auto sends = h.sends();
  CHECK(std::count_if(sends.begin(), sends.end(),
                      [](auto& x) { return x.req.idempotency_key == "key-1"; })
        == 1);
}

TEST_CASE("a cancelled queued call gives back its place in the queue",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "bulkhead": {"max_concurrent": 1, "max_queue": 4, "max_queue_wait": "1s",
                 "critical_reserve": 0}})")};
  h.call(make_call(1));
  h.call(make_call(2));
  CHECK(h.core.policies().limit.queued() == 1);
  CHECK(h.cancel(2));
  CHECK(h.core.policies().limit.queued() == 0);
  CHECK(h.core.policies().breaker.calls_in_flight() == 1);
  CHECK(h.cancels().empty()); // nothing was sent for it
}

TEST_CASE("a dead transport fails its attempts at once, none hangs",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "10s",
              "backoff": {"kind": "constant", "jitter": "none", "base": "1ms"}},
    "fallback": [{"kind": "static", "value": "degraded"}]})")};
  h.call(make_call(1));
  h.call(make_call(2));
  CHECK(h.sends().size() == 2);
  h.core.transport_down(h.now, h.out);
  h.take();
  CHECK_FALSE(h.core.transport_available());
  h.wait(milliseconds(10)); // the backoffs, far below the timeout
  CHECK(h.sends().size() == 2); // nothing goes to a dead transport
  CHECK(h.cancels().empty());
  auto replies = h.replies();
  REQUIRE(replies.size() == 2);
  for (auto& x : replies) {
    CHECK(x.action.reply.ok);
    CHECK(x.action.reply.source == reply_source::static_fallback);
    CHECK(x.action.reply.attempts == 3);
    CHECK(x.at <= t0 + milliseconds(2));
  }
  CHECK(h.stats().transport_downs == 1);
  h.check_nothing_leaks();
  // A replacement is used from then on.
  h.core.transport_replaced(true);
  h.call(make_call(3));
  CHECK(h.sends().size() == 3);
}

TEST_CASE("without a transport every attempt fails as never executed",
          "[runtime][dependency]") {
  dependency_core_options opts;
  opts.transport = false;
  harness h{make_config(R"({"idempotency": "unsafe",
    "retry": {"max_attempts": 2, "backoff": {"kind": "constant",
              "jitter": "none", "base": "1ms"}}})"),
            opts};
  h.call(make_call(1));
  h.wait(milliseconds(5));
  CHECK(h.sends().empty());
  REQUIRE(h.replies().size() == 1);
  // Unsafe, yet retried: the attempt provably never executed.
  CHECK(h.replies()[0].action.reply.attempts == 2);
}

// -- reconfiguration --------------------------------------------------------------------

TEST_CASE("a reload applies to new calls, calls in flight keep their config",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  h.call(make_call(1));
  auto errors = h.core.reconfigure(
    R"({"dependencies": {"dep": {"idempotency": "idempotent",
                                 "retry": {"enabled": false}}}})",
    h.now, h.out);
  CHECK(errors.empty());
  CHECK(h.core.config_versions() == 2);
  CHECK(h.stats().config_applied == 1);
  // The call in flight still retries under its old config.
  h.answer(h.attempt(0), status(500));
  h.wait(milliseconds(100));
  REQUIRE(h.sends().size() == 2);
  h.answer(h.attempt(1), ok(), "retried");
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.payload == "retried");
  CHECK(h.core.config_versions() == 1); // the old one went with its last call
  // A new call does not retry.
  h.call(make_call(2));
  h.answer(h.attempt(2), status(500));
  h.wait(seconds(1));
  REQUIRE(h.replies().size() == 2);
  CHECK(h.replies()[1].action.reply.attempts == 1);
}

TEST_CASE("an invalid reload is refused with every error and changes nothing",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  auto errors = h.core.reconfigure(
    R"({"dependencies": {"dep": {"retry": {"max_attempts": 0}, "bogus": 1}}})",
    h.now, h.out);
  CHECK(
    errors
    == std::vector<std::string>{
      "/dependencies/dep/bogus: unknown key (allowed: idempotency, "
      "default_timeout, operations, classification, retry, budget, breaker, "
      "bulkhead, adaptive_limit, throttle, deadline_shedding, cache, hedge, "
      "fallback, journeys, objective, probe, progressive)",
      "/dependencies/dep/retry/max_attempts: must be between 1 and 10 (got: "
      "0)"});
  errors =
    h.core.reconfigure(R"({"dependencies": {"other": {}}})", h.now, h.out);
  CHECK(
    errors
    == std::vector<std::string>{"/dependencies/dep: is required (this actor "
                                "serves dependency \"dep\")"});
  CHECK(h.core.reconfigure("not json", h.now, h.out).size() == 1);
  CHECK(h.stats().config_rejected == 3);
  CHECK(h.core.config_versions() == 1);
  h.call(make_call(1));
  for (std::size_t i = 0; i < 3; ++i) {
    h.answer(h.attempt(i), status(500));
    h.wait(milliseconds(100));
  }
  REQUIRE(h.replies().size() == 1);
  CHECK(h.replies()[0].action.reply.attempts == 3);
}

TEST_CASE("a restart on the same policies keeps the breaker and gives back the "
          "old permits",
          "[runtime][dependency]") {
  auto cfg = make_config(R"({"idempotency": "idempotent",
    "retry": {"enabled": false},
    "breaker": {"window_size": 2, "minimum_calls": 2, "open_duration": "5s"}})");
  cfg.name = "dep";
  auto policies = std::make_shared<dependency_policies>(cfg);
  {
    harness h{cfg, {}, policies};
    h.call(make_call(1)); // never answered: in flight when the core dies
    h.call(make_call(2));
    h.answer(h.attempt(1), status(500));
    h.call(make_call(3));
    h.answer(h.attempt(2), status(500));
    CHECK(policies->breaker.state() == breaker_state::open);
    CHECK(policies->breaker.calls_in_flight() == 1);
    CHECK(policies->limit.in_flight() == 1);
  }
  harness again{cfg, {}, policies};
  // The dead incarnation's permit and slot came back; the breaker is open.
  CHECK(policies->breaker.calls_in_flight() == 0);
  CHECK(policies->limit.in_flight() == 0);
  CHECK(policies->stats.in_flight == 0);
  CHECK(policies->breaker.state() == breaker_state::open);
  again.call(make_call(4));
  CHECK(again.sends().empty());
  CHECK(policies->stats.rejected_breaker == 1);
}

// -- feature flags ------------------------------------------------------------------------

TEST_CASE("flags decide each call on arrival and keep it while the call runs",
          "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  CHECK(h.core.set_flags(R"({"retry": {"enabled": false}})").empty());
  h.call(make_call(1));
  // Switched back while call 1 runs: it keeps "no retries".
  CHECK(h.core.set_flags("{}").empty());
  h.answer(h.attempt(0), status(500));
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK(r.attempts == 1);
  CHECK_FALSE(r.may_retry);
  CHECK(r.message == "retries disabled by a feature flag");
  CHECK(h.stats().retries_suppressed_flag == 1);
  auto doc = h.core.journey_json(r.journey_id);
  CHECK(doc.find("\"reason\":\"disabled_by_flag\"") != std::string::npos);
  // A new call retries again.
  h.call(make_call(2));
  h.answer(h.attempt(1), status(500));
  h.wait(milliseconds(100));
  CHECK(h.sends().size() == 3);
}

TEST_CASE("a 50 percent retry rollout splits calls by their idempotency key",
          "[runtime][dependency]") {
  // Every first attempt fails, every retry succeeds: a call the flag covers
  // fails after one attempt, the others succeed on their second.
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 3, "backoff": {"kind": "constant",
              "jitter": "none", "base": "100ms"}},
    "breaker": {"mode": "disabled"}, "budget": {"mode": "unlimited"},
    "bulkhead": {"max_concurrent": 1000}})")};
  CHECK(h.core.set_flags(R"({"retry": {"enabled": false, "rollout": 50}})")
          .empty());
  constexpr std::uint64_t calls = 200;
  for (std::uint64_t i = 1; i <= calls; ++i) {
    h.call(make_call(i));
    h.answer(h.log.back().action.id, status(500));
  }
  h.wait(milliseconds(100));
  for (auto& x : h.sends())
    if (x.action.number == 2)
      h.answer(x.action.id, ok(), "retried");
  auto replies = h.replies();
  REQUIRE(replies.size() == calls);
  std::uint64_t covered = 0;
  for (auto& x : replies) {
    auto& r = x.action.reply;
    auto key = "key-" + std::to_string(r.id);
    bool in = in_rollout(flag_hash(key, r.id), flag_kind::retry, 0.5);
    INFO("call " << r.id << ": " << r.message);
    CHECK(r.ok == !in);
    CHECK(r.attempts == (in ? 1u : 2u));
    covered += in ? 1 : 0;
  }
  // About half, and the same keys every time (the hash is fixed).
  CHECK(covered > 70);
  CHECK(covered < 130);
  CHECK(h.stats().retries_suppressed_flag == covered);
}

// -- active health probe ---------------------------------------------------------

namespace {

/// One probe as the actor runs it: sent when due, answered with `o` at
/// once; pauses and resumes applied to the policies.
void probe_round(dependency_policies& pol, time_point now, const outcome& o) {
  probe_action_list acts;
  pol.probe.advance(now, acts);
  pol.apply_probe(acts, now);
  std::uint64_t id = 0;
  for (auto& a : acts)
    if (a.kind == probe_action_kind::send_probe)
      id = a.id;
  REQUIRE(id != 0);
  acts.clear();
  pol.probe.on_result(id, o, now, acts);
  pol.apply_probe(acts, now);
}

const std::string probed = R"({"idempotency": "idempotent",
  "retry": {"enabled": false},
  "probe": {"enabled": true, "operation": "ping", "interval": "1s",
            "timeout": "100ms", "unhealthy_threshold": 2,
            "healthy_threshold": 2}})";

} // namespace

TEST_CASE("a path the probe paused rejects calls naming the probe, counted "
          "apart, and resumes when the probe does",
          "[runtime][dependency][probe]") {
  harness h{make_config(probed)};
  auto& pol = h.core.policies();
  auto down = outcome::failure(failure_class::transient);
  probe_round(pol, h.now, down);
  CHECK(pol.breaker.state() == breaker_state::closed);
  probe_round(pol, h.now + seconds(1), down);
  CHECK(pol.breaker.state() == breaker_state::forced_open);
  CHECK(pol.last_breaker_event.reason == transition_reason::probe);
  CHECK(h.stats().probe_paused == 1);
  CHECK(h.stats().probe_pauses == 1);
  CHECK(h.stats().probes_failure == 2);
  h.call(make_call(1));
  CHECK(h.sends().empty());
  REQUIRE(h.replies().size() == 1);
  auto r = h.replies()[0].action.reply;
  CHECK_FALSE(r.ok);
  CHECK(r.cls == failure_class::rejected_locally);
  INFO(r.message);
  CHECK(r.message.find("paused by a health probe") != std::string::npos);
  CHECK(h.stats().rejected_probe == 1);
  CHECK(h.stats().rejected_breaker == 0);
  // Probes are not calls.
  CHECK(h.stats().requests == 1);
  CHECK(h.stats().attempts == 0);
  probe_round(pol, h.now + seconds(2), outcome::ok());
  CHECK(pol.breaker.state() == breaker_state::forced_open);
  probe_round(pol, h.now + seconds(3), outcome::ok());
  CHECK(pol.breaker.state() == breaker_state::closed);
  CHECK(h.stats().probe_paused == 0);
  CHECK(h.stats().probes_success == 2);
  h.now += seconds(3);
  h.call(make_call(2));
  CHECK(h.sends().size() == 1);
}

TEST_CASE("the probe's pause composes with the flag that forces the breaker "
          "open",
          "[runtime][dependency][probe]") {
  harness h{make_config(probed)};
  auto& pol = h.core.policies();
  auto down = outcome::failure(failure_class::transient);
  SECTION("a probe resuming does not undo the flag") {
    CHECK(h.core.set_flags(R"({"breaker": {"mode": "force_open"}})").empty());
    probe_round(pol, h.now, down);
    probe_round(pol, h.now + seconds(1), down);
    probe_round(pol, h.now + seconds(2), outcome::ok());
    probe_round(pol, h.now + seconds(3), outcome::ok());
    CHECK_FALSE(pol.probe.paused());
    h.now += seconds(3);
    h.call(make_call(1));
    CHECK(h.sends().empty());
    CHECK(h.stats().rejected_flag == 1);
    CHECK(h.stats().rejected_probe == 0);
  }
  SECTION("clearing the flag does not resume a path the probe keeps paused") {
    CHECK(h.core.set_flags(R"({"breaker": {"mode": "force_open"}})").empty());
    probe_round(pol, h.now, down);
    probe_round(pol, h.now + seconds(1), down);
    CHECK(h.core.set_flags("{}").empty());
    h.now += seconds(1);
    h.call(make_call(1));
    CHECK(h.sends().empty());
    CHECK(h.stats().rejected_probe == 1);
    CHECK(h.stats().rejected_flag == 0);
  }
  SECTION("the config's forced_open mode outlives a probe's resume") {
    probe_round(pol, h.now, down);
    probe_round(pol, h.now + seconds(1), down);
    auto errors = h.core.reconfigure(
      R"({"dependencies": {"dep": {"idempotency": "idempotent",
        "breaker": {"mode": "forced_open"},
        "probe": {"enabled": true, "operation": "ping", "interval": "1s",
                  "timeout": "100ms", "unhealthy_threshold": 2,
                  "healthy_threshold": 1}}}})",
      h.now, h.out);
    CHECK(errors.empty());
    probe_round(pol, h.now + seconds(2), outcome::ok());
    CHECK_FALSE(pol.probe.paused());
    CHECK(pol.breaker.state() == breaker_state::forced_open);
    CHECK(pol.breaker.operator_hold());
  }
}

TEST_CASE("a reload that turns probing off resumes the path the probe paused",
          "[runtime][dependency][probe]") {
  harness h{make_config(probed)};
  auto& pol = h.core.policies();
  auto down = outcome::failure(failure_class::transient);
  probe_round(pol, h.now, down);
  probe_round(pol, h.now + seconds(1), down);
  REQUIRE(pol.breaker.state() == breaker_state::forced_open);
  h.now += seconds(1);
  auto errors = h.core.reconfigure(
    R"({"dependencies": {"dep": {"idempotency": "idempotent"}}})", h.now,
    h.out);
  CHECK(errors.empty());
  CHECK(pol.breaker.state() == breaker_state::closed);
  CHECK(pol.last_breaker_event.reason == transition_reason::probe);
  CHECK(h.stats().probe_paused == 0);
  CHECK(pol.probe.next_deadline() == no_deadline);
  h.call(make_call(1));
  CHECK(h.sends().size() == 1);
}

TEST_CASE("flags switch hedging off and hold the breaker open or let it be",
          "[runtime][dependency]") {
  SECTION("no hedging") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"}})")};
    CHECK(h.core.set_flags(R"({"hedging": {"enabled": false}})").empty());
    h.call(make_call(1));
    h.run_until(t0 + milliseconds(100));
    CHECK(h.sends().size() == 1);
    CHECK(h.stats().hedges_suppressed_flag == 1);
  }
  SECTION("forced open: rejected locally, the fallback still serves") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "fallback": [{"kind": "static", "value": "static"}]})")};
    CHECK(h.core.set_flags(R"({"breaker": {"mode": "force_open"}})").empty());
    h.call(make_call(1));
    CHECK(h.sends().empty());
    REQUIRE(h.replies().size() == 1);
    CHECK(h.replies()[0].action.reply.source == reply_source::static_fallback);
    CHECK(h.stats().rejected_flag == 1);
    CHECK(h.stats().rejected_breaker == 0);
  }
  SECTION("disabled: nothing is recorded, so it never trips") {
    harness h{make_config(R"({"idempotency": "idempotent",
      "retry": {"enabled": false},
      "breaker": {"window_size": 4, "minimum_calls": 4}})")};
    CHECK(h.core.set_flags(R"({"breaker": {"mode": "disabled"}})").empty());
    for (std::uint64_t i = 0; i < 8; ++i) {
      h.call(make_call(i + 1));
      h.answer(h.attempt(i), status(500));
    }
    CHECK(h.sends().size() == 8);
    CHECK(h.core.policies().breaker.state() == breaker_state::closed);
    CHECK(h.stats().breaker_bypassed_flag == 8);
  }
  SECTION("bad flags are refused and change nothing") {
    harness h{make_config(exact_retry)};
    auto errors =
      h.core.set_flags(R"({"retry": {"rollout": 150}, "bogus": 1})");
    CHECK(errors
          == std::vector<std::string>{
            "/bogus: unknown key (allowed: retry, hedging, breaker)",
            "/retry/rollout: must be between 0 and 100 (got: 150)"});
    CHECK(h.core.set_flags("not json").size() == 1);
    error_list parse_errors;
    auto in_force = parse_dependency_flags_config(
      boost::json::parse(h.core.flags_json()), json_path{}, parse_errors);
    CHECK(parse_errors.empty());
    CHECK(in_force == dependency_flags_config{});
  }
}

// -- journeys ------------------------------------------------------------------------------

TEST_CASE(
  "a normal success keeps no journey, a retried one is kept when it fails",
  "[runtime][dependency]") {
  harness h{make_config(exact_retry)};
  auto first = make_call(1);
  first.journey_id = 11;
  h.call(std::move(first));
  h.answer(h.attempt(0), ok(), "v");
  CHECK(h.core.journey_json(11).empty());
  auto second = make_call(2);
  second.journey_id = 12;
  h.call(std::move(second));
  // In flight: built from the fast path's bits on demand.
  CHECK(journey_kinds(h.core.journey_json(12))
        == std::vector<std::string>{"admitted", "attempt_started"});
  for (std::size_t i = 1; i < 4; ++i) {
    h.answer(h.attempt(i), status(500));
    h.wait(milliseconds(100));
  }
  CHECK(journey_kinds(h.core.journey_json(12))
        == std::vector<std::string>{
          "admitted", "attempt_started", "attempt_ended", "backoff_scheduled",
          "attempt_started", "attempt_ended", "backoff_scheduled",
          "attempt_started", "attempt_ended", "escalated", "replied"});
  auto doc = boost::json::parse(h.core.journey_json(12));
  auto& escalated = doc.at("entries").as_array()[9];
  CHECK(escalated.at("reason").as_string() == "attempts_exhausted");
  CHECK(escalated.at("level").as_int64() == 2);
  CHECK(h.core.failed_journeys_json().find("\"id\":12") != std::string::npos);
}

TEST_CASE("one call in journey_sample is kept even when nothing went wrong",
          "[runtime][dependency]") {
  dependency_core_options opts;
  opts.journey_sample = 3;
  opts.journey_prefix = std::uint64_t{7} << 32;
  harness h{make_config(exact_retry), opts};
  for (std::uint64_t i = 0; i < 6; ++i) {
    h.call(make_call(i + 1));
    h.answer(h.attempt(i), ok(), "v");
  }
  std::vector<bool> kept;
  for (std::uint64_t n = 1; n <= 6; ++n)
    kept.push_back(!h.core.journey_json((std::uint64_t{7} << 32) | n).empty());
  CHECK(kept == std::vector<bool>{false, false, true, false, false, true});
}

// -- the invariant -----------------------------------------------------------------------------

TEST_CASE("every call gets exactly one reply under seeded random faults",
          "[runtime][dependency]") {
  // Random configs (the adaptive limit, the throttle, deadline shedding
  // and the half-open caps in some), random answers (success, 5xx, 429
  // with retry-after, 404, refused, silence), random latencies and
  // arrivals, cancels, a transport that dies and comes back, reloads
  // mid-flight.
  dependency_stats seen_all; // summed over the seeds: what was exercised
  std::uint64_t cancelled = 0;
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    auto pick = [&](std::initializer_list<const char*> xs) {
      return std::string{*(xs.begin() + gen.below(xs.size()))};
    };
    auto settings = [&] {
      return "{\"idempotency\": \"" + pick({"idempotent", "keyed", "unsafe"})
             + "\", \"retry\": {\"max_attempts\": "
             + std::to_string(1 + gen.below(4))
             + ", \"per_attempt_timeout\": \"" + pick({"20ms", "200ms"})
             + "\", \"backoff\": {\"base\": \"5ms\", \"jitter\": \""
             + pick({"none", "full", "equal", "decorrelated"}) + "\"}}"
             + ", \"breaker\": {\"window_size\": 10, \"minimum_calls\": 5, "
               "\"open_duration\": \"50ms\""
             + pick({"", R"(, "half_open_max_in_flight": 1,
                           "max_half_open_duration": "30ms")"})
             + "}"
             // The adaptive policies (issue 15), each on in some runs.
             + ", \"adaptive_limit\": "
             + pick({"{}",
                     R"({"enabled": true, "kind": "aimd", "initial_limit": 4,
                         "min_limit": 1, "window": "10ms", "min_samples": 1})",
                     R"({"enabled": true, "initial_limit": 4, "min_limit": 1,
                         "window": "10ms", "min_samples": 1,
                         "probe_interval": "1s"})"})
             + ", \"throttle\": "
             + pick({"{}", R"({"enabled": true, "window": "1s"})"})
             + ", \"deadline_shedding\": "
             + pick({"{}", R"({"enabled": true, "min_samples": 3})"})
             + ", \"bulkhead\": {\"max_concurrent\": "
             + std::to_string(1 + gen.below(8))
             + ", \"max_queue\": 4, \"max_queue_wait\": \"30ms\"}"
             + ", \"cache\": {\"enabled\": " + pick({"true", "false"})
             + ", \"ttl\": \"10ms\", \"stale_if_error\": \"1s\", "
               "\"stale_while_revalidate\": \"5ms\"}"
             + ", \"fallback\": "
             + pick({"[]", "[{\"kind\": \"stale_cache\"}]",
                     "[{\"kind\": \"static\", \"value\": \"S\"}]",
                     "[{\"kind\": \"alternate\", \"dependency\": \"alt\"}]"})
             + "}";
    };
    auto text = settings();
    INFO("config " << text);
    auto full = parse_bulwark_config(R"({"dependencies": {"dep": )" + text
                                     + R"(, "alt": {}}})");
    REQUIRE(full.ok());
    auto cfg = *full.config->find("dep");
    if (cfg.repeat != idempotency::unsafe && gen.below(2) == 0) {
      cfg.hedge.enabled = true;
      cfg.hedge.delay_kind = hedge_delay_kind::fixed;
      cfg.hedge.delay = milliseconds(3);
      cfg.hedge.max_hedges = 1 + static_cast<std::uint32_t>(gen.below(2));
    }
    dependency_core_options opts;
    opts.seed = seed;
    opts.alternates = {"alt"};
    harness h{cfg, opts};
    // Answers the harness will give, by attempt (or alternate call) id.
    struct pending {
      time_point at;
      std::uint64_t id;
      bool alternate;
    };
    std::vector<pending> due;
    std::size_t seen = 0;
    auto schedule_answers = [&] {
      for (; seen < h.log.size(); ++seen) {
        auto& a = h.log[seen].action;
        if (a.kind == dependency_action_kind::send_attempt) {
          if (gen.below(8) != 0) // one in eight is never answered
            due.push_back({h.now + milliseconds(gen.below(30)), a.id, false});
        } else if (a.kind == dependency_action_kind::call_alternate) {
          due.push_back({h.now + milliseconds(gen.below(10)), a.id, true});
        }
      }
    };
    auto answer = [&](const pending& p) {
      if (p.alternate) {
        h.alternate_answers(p.id, gen.below(2) == 0, failure_class::transient,
                            "A", "alt down");
        return;
      }
      switch (gen.below(7)) {
        case 0:
        case 1:
        case 2:
          h.answer(p.id, ok(), "v");
          break;
        case 3:
          h.answer(p.id, status(503));
          break;
        case 4:
          h.answer(p.id, status(429, milliseconds(gen.below(20))));
          break;
        case 5:
          h.answer(p.id, status(404));
          break;
        case 6:
          h.answer(p.id, error(transport_error::connection_refused));
          break;
      }
    };
    const std::uint64_t calls = 80;
    std::uint64_t sent = 0;
    auto next_arrival = h.now;
    while (sent < calls || !due.empty() || h.core.calls_in_flight() > 0) {
      schedule_answers();
      auto next_answer = time_point::max();
      std::size_t which = 0;
      for (std::size_t i = 0; i < due.size(); ++i)
        if (due[i].at < next_answer) {
          next_answer = due[i].at;
          which = i;
        }
      auto arrival = sent < calls ? next_arrival : time_point::max();
      auto timer = h.core.next_deadline();
      auto t = std::min({next_answer, arrival, timer});
      REQUIRE(t != time_point::max()); // something is always scheduled
      h.now = std::max(h.now, t);
      if (t == arrival) {
        auto req = make_call(++sent, "op", "k" + std::to_string(gen.below(5)));
        req.crit = static_cast<criticality>(gen.below(3));
        if (gen.below(3) == 0)
          req.deadline = h.now + milliseconds(1 + gen.below(100));
        h.call(std::move(req));
        next_arrival = h.now + milliseconds(gen.below(4));
        // Now and then something else happens.
        switch (gen.below(40)) {
          case 0:
            h.cancel(1 + gen.below(sent));
            break;
          case 1:
            h.core.transport_down(h.now, h.out);
            h.take();
            due.erase(std::remove_if(due.begin(), due.end(),
                                     [](auto& p) { return !p.alternate; }),
                      due.end());
            break;
          case 2:
            h.core.transport_replaced(true);
            break;
          case 3:
            h.core.reconfigure(R"({"dependencies": {"dep": )" + settings()
                                 + R"(, "alt": {}}})",
                               h.now, h.out);
            h.take();
            break;
          default:
            break;
        }
      } else if (t == next_answer) {
        auto p = due[which];
        due.erase(due.begin() + static_cast<std::ptrdiff_t>(which));
        answer(p);
      } else {
        h.core.advance(h.now, h.out);
        h.take();
      }
    }
    std::map<std::uint64_t, int> count;
    for (auto& x : h.replies()) {
      ++count[x.action.reply.id];
      cancelled += x.action.reply.cls == failure_class::cancelled ? 1 : 0;
    }
    auto& st = h.stats();
    seen_all.retries += st.retries;
    seen_all.hedges += st.hedges;
    seen_all.hedges_won += st.hedges_won;
    seen_all.revalidations += st.revalidations;
    seen_all.fallbacks_alternate += st.fallbacks_alternate;
    seen_all.fallbacks_stale += st.fallbacks_stale;
    seen_all.queue_timeouts += st.queue_timeouts;
    seen_all.rejected_breaker += st.rejected_breaker;
    seen_all.attempt_timeouts += st.attempt_timeouts;
    seen_all.transport_downs += st.transport_downs;
    seen_all.late_results += st.late_results;
    seen_all.config_applied += st.config_applied;
    seen_all.rejected_throttle += st.rejected_throttle;
    seen_all.shed_deadline += st.shed_deadline;
    CHECK(count.size() == calls);
    for (auto& [id, n] : count) {
      INFO("call " << id);
      CHECK(n == 1);
    }
    h.check_nothing_leaks();
  }
  // The seeds reached every path the invariant is about.
  CHECK(seen_all.retries > 0);
  CHECK(seen_all.hedges > 0);
  CHECK(seen_all.hedges_won > 0);
  CHECK(seen_all.revalidations > 0);
  CHECK(seen_all.fallbacks_alternate > 0);
  CHECK(seen_all.fallbacks_stale > 0);
  CHECK(seen_all.queue_timeouts > 0);
  CHECK(seen_all.rejected_breaker > 0);
  CHECK(seen_all.attempt_timeouts > 0);
  CHECK(seen_all.transport_downs > 0);
  CHECK(seen_all.late_results > 0);
  CHECK(seen_all.config_applied > 0);
  CHECK(seen_all.rejected_throttle > 0);
  CHECK(seen_all.shed_deadline > 0);
  CHECK(cancelled > 0);
}

TEST_CASE("a traced call gives each attempt its own span and keeps its "
          "journey with the trace",
          "[runtime][dependency][trace]") {
  harness h{make_config(exact_retry)};
  auto req = make_call(1);
  req.trace.trace = trace_id{0xabc, 0xdef};
  req.trace.parent_id = 0x5e7;
  req.upstream_span = 0x11;
  h.call(std::move(req));
  h.answer(h.attempt(0), status(500));
  h.run_until(t0 + milliseconds(100));
  REQUIRE(h.sends().size() == 2);
  h.answer(h.attempt(1), ok(), "second time");
  auto sends = h.sends();
  CHECK(sends[0].action.span != 0);
  CHECK(sends[1].action.span != 0);
  CHECK(sends[0].action.span != sends[1].action.span);
  // Kept although it succeeded: a traced call's journey answers "who
  // retried" for the trace. Untraced, only one in journey_sample would be.
  auto json = h.core.trace_json(trace_id{0xabc, 0xdef});
  auto arr = boost::json::parse(json).as_array();
  REQUIRE(arr.size() == 1);
  auto& j = arr[0].as_object();
  CHECK(j.at("trace_id").as_string() == "0000000000000abc0000000000000def");
  CHECK(j.at("parent_id").as_string() == "00000000000005e7");
  CHECK(j.at("upstream_span_id").as_string() == "0000000000000011");
  CHECK(j.at("attempts").as_int64() == 2);
  std::vector<std::string> spans;
  for (auto& e : j.at("entries").as_array())
    if (auto* s = e.as_object().if_contains("span_id"))
      spans.emplace_back(s->as_string());
  CHECK(spans
        == std::vector<std::string>{span_id_to_string(sends[0].action.span),
                                    span_id_to_string(sends[1].action.span)});
  // The call names its operation; each ended attempt the downstream's
  // status, when there was one.
  CHECK(j.at("operation").as_string() == "get");
  std::vector<std::int64_t> statuses;
  for (auto& e : j.at("entries").as_array())
    if (e.at("event").as_string() == "attempt_ended") {
      auto* st = e.as_object().if_contains("status");
      statuses.push_back(st ? st->as_int64() : 0);
    }
  CHECK(statuses == std::vector<std::int64_t>{500, 0});
  // The call's span is the attempts' parent: they derive from it.
  auto call_span =
    std::stoull(std::string{j.at("span_id").as_string()}, nullptr, 16);
  CHECK(sends[0].action.span == child_span_id(call_span, 1));
  CHECK(h.core.trace_json(trace_id{0xabc, 0xdee}) == "[]");
  CHECK(h.core.trace_json(trace_id{}) == "[]");
}

TEST_CASE("an untraced call's attempts carry no span",
          "[runtime][dependency][trace]") {
  harness h{make_config(exact_retry)};
  h.call(make_call(1));
  REQUIRE(h.sends().size() == 1);
  CHECK(h.sends()[0].action.span == 0);
}

TEST_CASE("a failure the downstream gave a retry-after for hands the hint "
          "up with the reply",
          "[runtime][dependency]") {
  harness h{make_config(R"({"idempotency": "idempotent",
    "retry": {"max_attempts": 3, "max_retry_after": "1s"}})")};
  h.call(make_call(1));
  h.answer(h.attempt(0), status(503, seconds(30)));
  auto replies = h.replies();
  REQUIRE(replies.size() == 1);
  auto& r = replies[0].action.reply;
  CHECK_FALSE(r.ok);
  CHECK(r.cls == failure_class::overloaded);
  CHECK(r.retry_after == seconds(30));
  // Without a hint the field says "none".
  harness plain{make_config(exact_retry)};
  plain.call(make_call(2));
  for (std::size_t i = 0; i < 3; ++i) {
    plain.answer(plain.attempt(i), status(500));
    plain.run_until(plain.core.next_deadline());
  }
  REQUIRE(plain.replies().size() == 1);
  CHECK(plain.replies()[0].action.reply.retry_after < duration{0});
}

TEST_CASE("answered calls count against the objectives, as the caller saw "
          "them",
          "[runtime][dependency][objective]") {
  // No retries: each call is one attempt, its reply what the caller sees.
  harness h{make_config(R"({
    "idempotency": "idempotent",
    "retry": {"max_attempts": 1, "per_attempt_timeout": "1s"},
    "objective": {"enabled": true, "availability": 90,
                  "latency_threshold": "100ms", "latency": 80}
  })")};
  // 10 calls: 2 fail (20% against a 10% budget: burn 2), 4 answered after
  // 100 ms (40% against 20%: burn 2).
  for (std::uint64_t i = 0; i < 10; ++i) {
    h.call(make_call(i + 1));
    h.wait(i < 4 ? milliseconds(150) : milliseconds(20));
    h.answer(h.attempt(i), i >= 8 ? status(500) : ok());
  }
  auto& s = h.core.stats_at(h.now);
  CHECK(s.objective.events == 10);
  CHECK(s.objective.bad_availability == 2);
  CHECK(s.objective.bad_latency == 4);
  CHECK(s.objective.availability_target_ppm == 900000);
  CHECK(s.objective.availability_burn_milli[0] == 2000);
  CHECK(s.objective.latency_burn_milli[0] == 2000);
  h.check_nothing_leaks();
}

TEST_CASE("an objective that is off counts nothing",
          "[runtime][dependency][objective]") {
  harness h{make_config(exact_retry)};
  h.call(make_call(1));
  h.answer(h.attempt(0), ok());
  auto& s = h.core.stats_at(h.now);
  CHECK(s.objective.events == 0);
  CHECK(s.objective.availability_target_ppm == 0);
}

// -- progressive calls ------------------------------------------------------------

namespace {

// Cached for 10s, stale entries usable for an hour; a static value after the
// stale step; preliminary replies 200ms after arrival.
const std::string progressive_settings = R"({
  "idempotency": "idempotent",
  "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
            "backoff": {"kind": "constant", "jitter": "none", "base": "100ms"}},
  "cache": {"enabled": true, "ttl": "10s", "stale_if_error": "1h"},
  "fallback": [{"kind": "stale_cache"}, {"kind": "static", "value": "S"}],
  "progressive": {"enabled": true, "soft_deadline": "200ms"}
})";

dependency_request progressive_call(std::uint64_t id, std::string payload = "p",
                                    duration soft = duration{-1}) {
  auto req = make_call(id, "get", std::move(payload));
  req.progressive = true;
  req.soft_deadline = soft;
  return req;
}

/// The replies to caller id `id`, in order.
std::vector<dependency_reply> replies_to(const harness& h, std::uint64_t id) {
  std::vector<dependency_reply> result;
  for (auto& x : h.replies())
    if (x.action.reply.id == id)
      result.push_back(x.action.reply);
  return result;
}

/// Stores "old" for payload `payload` at the harness's now (call id 1000).
void warm_cache(harness& h, const std::string& payload = "p") {
  auto before = h.sends().size();
  h.call(make_call(1000, "get", payload));
  REQUIRE(h.sends().size() == before + 1);
  h.answer(h.attempt(before), ok(), "old");
}

} // namespace

TEST_CASE("a progressive call whose fresh answer is late gets a preliminary "
          "stale reply at its soft deadline, then exactly one final one",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  warm_cache(h);
  h.wait(seconds(11)); // the entry is stale now
  auto slot = h.call(progressive_call(2));
  REQUIRE(slot != dependency_core::no_call);
  auto attempt = h.attempt(1);
  h.wait(milliseconds(199));
  CHECK(replies_to(h, 2).empty());
  h.wait(milliseconds(1));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].preliminary);
  CHECK(rs[0].ok);
  CHECK(rs[0].payload == "old");
  CHECK(rs[0].source == reply_source::stale_cache);
  CHECK(rs[0].age == seconds(11) + milliseconds(200));
  CHECK(rs[0].reason == preliminary_reason::awaiting_answer);
  CHECK(h.cancels().empty()); // the attempt goes on
  h.wait(milliseconds(100));
  h.answer(attempt, ok(), "new");
  rs = replies_to(h, 2);
  REQUIRE(rs.size() == 2);
  CHECK_FALSE(rs[1].preliminary);
  CHECK(rs[1].ok);
  CHECK(rs[1].payload == "new");
  CHECK(rs[1].source == reply_source::live);
  CHECK(rs[1].reason == preliminary_reason::none);
  CHECK(rs[1].age < duration{0});
  auto& st = h.stats();
  CHECK(st.progressive_calls == 1);
  CHECK(st.preliminary_replies == 1);
  CHECK(st.finals_after_preliminary == 1);
  CHECK(st.finals_contradicted == 1);
  CHECK(st.preliminary_to_final.count() == 1);
  CHECK(st.preliminary_to_final.sum() == Approx(0.1));
  // The journey (kept: it had a preliminary reply) records both replies.
  auto kinds = journey_kinds(h.core.journey_json(rs[1].journey_id));
  auto prelim = std::find(kinds.begin(), kinds.end(), "preliminary_replied");
  REQUIRE(prelim != kinds.end());
  CHECK(std::find(prelim, kinds.end(), "replied") != kinds.end());
  h.check_nothing_leaks();
}

TEST_CASE("a progressive call answered before its soft deadline gets one "
          "final reply only",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  warm_cache(h);
  h.wait(seconds(11));
  h.call(progressive_call(2));
  h.wait(milliseconds(150));
  h.answer(h.attempt(1), ok(), "old");
  h.wait(seconds(2));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].preliminary);
  CHECK(rs[0].source == reply_source::live);
  CHECK(h.stats().progressive_calls == 1);
  CHECK(h.stats().preliminary_replies == 0);
  CHECK(h.stats().finals_after_preliminary == 0);
  h.check_nothing_leaks();
}

TEST_CASE("a progressive call answered from a fresh cache entry is not "
          "progressive at all",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  warm_cache(h);
  h.call(progressive_call(2));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].preliminary);
  CHECK(rs[0].source == reply_source::fresh_cache);
  CHECK(h.stats().progressive_calls == 0);
  h.check_nothing_leaks();
}

TEST_CASE("with nothing cached and no static value a progressive call gets "
          "no preliminary reply, only its final one",
          "[runtime][dependency][progressive]") {
  harness h{make_config(R"({
    "idempotency": "idempotent",
    "cache": {"enabled": true, "ttl": "10s", "stale_if_error": "1h"},
    "fallback": [{"kind": "stale_cache"}],
    "progressive": {"enabled": true, "soft_deadline": "200ms"}
  })")};
  h.call(progressive_call(1));
  h.wait(milliseconds(500));
  CHECK(h.replies().empty());
  CHECK(h.stats().preliminary_unavailable == 1);
  h.answer(h.attempt(0), ok(), "v");
  auto rs = replies_to(h, 1);
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].preliminary);
  CHECK(rs[0].payload == "v");
  CHECK(h.stats().finals_after_preliminary == 0);
  h.check_nothing_leaks();
}

TEST_CASE("the static value answers first when nothing is cached, and a "
          "final fallback to the same value is not a contradiction",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  h.call(progressive_call(1));
  h.wait(milliseconds(50));
  h.answer(h.attempt(0), status(503)); // retried at 150ms
  h.wait(milliseconds(150));
  REQUIRE(h.sends().size() == 2);
  auto rs = replies_to(h, 1);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].preliminary);
  CHECK(rs[0].payload == "S");
  CHECK(rs[0].source == reply_source::static_fallback);
  CHECK(rs[0].age < duration{0});
  CHECK(rs[0].reason == preliminary_reason::retrying);
  // Every attempt fails: the fallback chain ends at the static value.
  h.answer(h.attempt(1), status(503));
  h.wait(milliseconds(100));
  REQUIRE(h.sends().size() == 3);
  h.answer(h.attempt(2), status(503));
  rs = replies_to(h, 1);
  REQUIRE(rs.size() == 2);
  CHECK_FALSE(rs[1].preliminary);
  CHECK(rs[1].ok);
  CHECK(rs[1].payload == "S");
  CHECK(rs[1].source == reply_source::static_fallback);
  CHECK(h.stats().finals_after_preliminary == 1);
  CHECK(h.stats().finals_contradicted == 0);
  h.check_nothing_leaks();
}

TEST_CASE("the preliminary sources are tried in the configured order",
          "[runtime][dependency][progressive]") {
  auto cfg = make_config(progressive_settings);
  cfg.progressive.sources = {preliminary_source::static_value,
                             preliminary_source::stale_cache};
  harness h{cfg};
  warm_cache(h);
  h.wait(seconds(11));
  h.call(progressive_call(2));
  h.wait(milliseconds(200));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].payload == "S");
  CHECK(rs[0].source == reply_source::static_fallback);
}

TEST_CASE("a progressive call waiting in the queue says so in its "
          "preliminary reply",
          "[runtime][dependency][progressive]") {
  auto cfg = make_config(progressive_settings);
  cfg.bulkhead.max_concurrent = 1;
  cfg.bulkhead.max_queue = 4;
  cfg.bulkhead.max_queue_wait = seconds(2);
  harness h{cfg};
  h.call(make_call(1));
  h.call(progressive_call(2));
  REQUIRE(h.sends().size() == 1);
  h.wait(milliseconds(200));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].preliminary);
  CHECK(rs[0].reason == preliminary_reason::queued);
  h.answer(h.attempt(0), ok(), "a");
  REQUIRE(h.sends().size() == 2);
  h.answer(h.attempt(1), ok(), "b");
  rs = replies_to(h, 2);
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].payload == "b");
  h.check_nothing_leaks();
}

TEST_CASE("a progressive call cancelled after its preliminary reply ends "
          "with no further reply",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  h.call(progressive_call(1));
  auto attempt = h.attempt(0);
  h.wait(milliseconds(200));
  REQUIRE(replies_to(h, 1).size() == 1);
  CHECK(h.cancel(1));
  REQUIRE(h.cancels().size() == 1);
  CHECK(h.cancels()[0].action.id == attempt);
  h.wait(seconds(60));
  h.answer(attempt, ok(), "late");
  CHECK(replies_to(h, 1).size() == 1);
  CHECK(h.stats().cancelled_after_preliminary == 1);
  CHECK(h.stats().late_results == 1);
  CHECK(h.stats().finals_after_preliminary == 0);
  h.check_nothing_leaks();
}

TEST_CASE("a cancel before the preliminary reply is answered as cancelled",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  h.call(progressive_call(1));
  h.wait(milliseconds(100));
  CHECK(h.cancel(1));
  h.wait(seconds(1));
  auto rs = replies_to(h, 1);
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].preliminary);
  CHECK(rs[0].cls == failure_class::cancelled);
  CHECK(h.stats().cancelled_after_preliminary == 0);
  h.check_nothing_leaks();
}

TEST_CASE("a call's own soft deadline replaces the dependency's, and one at "
          "or after its deadline means no preliminary reply",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  h.call(progressive_call(1, "a", milliseconds(50)));
  h.wait(milliseconds(50));
  REQUIRE(replies_to(h, 1).size() == 1);
  CHECK(replies_to(h, 1)[0].preliminary);
  auto late = progressive_call(2, "b", milliseconds(300));
  late.deadline = h.now + milliseconds(300);
  h.call(std::move(late));
  h.wait(milliseconds(400));
  auto rs = replies_to(h, 2);
  REQUIRE(rs.size() == 1);
  CHECK_FALSE(rs[0].preliminary);
  CHECK(rs[0].payload == "S"); // the deadline passed: the fallback answers
  // A soft deadline beyond the limit is held to it (1h), which is past this
  // call's 30s default deadline: no preliminary either.
  h.call(progressive_call(3, "c", hours(5)));
  h.wait(seconds(40));
  CHECK(replies_to(h, 3).size() == 1);
  CHECK_FALSE(replies_to(h, 3)[0].preliminary);
}

TEST_CASE("calls that do not ask, and dependencies with progressive delivery "
          "off, get exactly one reply",
          "[runtime][dependency][progressive]") {
  auto off = make_config(progressive_settings);
  off.progressive.enabled = false;
  harness h{off};
  // Unanswered attempts: three timeouts, then the static value at 3.2s.
  h.call(progressive_call(1));
  h.wait(seconds(5));
  REQUIRE(h.replies().size() == 1);
  harness on{make_config(progressive_settings)};
  on.call(make_call(1));
  on.wait(seconds(5));
  REQUIRE(on.replies().size() == 1);
  for (auto* x : {&h, &on}) {
    CHECK(x->stats().progressive_calls == 0);
    CHECK(x->stats().preliminary_replies == 0);
    CHECK_FALSE(x->replies()[0].action.reply.preliminary);
  }
}

TEST_CASE("every progressive call gets exactly one final reply and at most "
          "one preliminary before it under seeded random fault schedules",
          "[runtime][dependency][progressive]") {
  // Latencies around the soft deadline, failures, silences (timeouts),
  // cancels (some right after a preliminary), transport deaths and reloads,
  // over 1,000 seeds.
  dependency_stats seen_all;
  std::uint64_t cancels_after_preliminary = 0;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    rng gen{seed};
    auto pick = [&](std::initializer_list<const char*> xs) {
      return std::string{*(xs.begin() + gen.below(xs.size()))};
    };
    auto settings = [&] {
      return "{\"idempotency\": \"" + pick({"idempotent", "keyed"})
             + "\", \"retry\": {\"max_attempts\": "
             + std::to_string(1 + gen.below(3))
             + ", \"per_attempt_timeout\": \"" + pick({"15ms", "40ms"})
             + "\", \"backoff\": {\"base\": \"5ms\", \"jitter\": \"full\"}}"
             + ", \"breaker\": {\"window_size\": 10, \"minimum_calls\": 5, "
               "\"open_duration\": \"50ms\"}"
             + ", \"bulkhead\": {\"max_concurrent\": "
             + std::to_string(1 + gen.below(6))
             + ", \"max_queue\": 4, \"max_queue_wait\": \"30ms\"}"
             + ", \"cache\": {\"enabled\": " + pick({"true", "false"})
             + ", \"ttl\": \"5ms\", \"stale_if_error\": \"1s\"}"
             + ", \"fallback\": "
             + pick({"[]", "[{\"kind\": \"stale_cache\"}]",
                     "[{\"kind\": \"static\", \"value\": \"S\"}]",
                     "[{\"kind\": \"alternate\", \"dependency\": \"alt\"}]",
                     "[{\"kind\": \"alternate\", \"dependency\": \"alt\"}, "
                     "{\"kind\": \"static\", \"value\": \"S\"}]"})
             + ", \"progressive\": {\"enabled\": "
             + pick({"true", "true", "false"}) + ", \"soft_deadline\": \""
             + pick({"0s", "5ms", "10ms", "20ms"}) + "\", \"preliminary\": "
             + pick({"[\"stale_cache\", \"static\"]", "[\"static\"]",
                     "[\"stale_cache\"]"})
             + "}}";
    };
    auto text = settings();
    INFO("seed " << seed << ", config " << text);
    auto full = parse_bulwark_config(R"({"dependencies": {"dep": )" + text
                                     + R"(, "alt": {}}})");
    REQUIRE(full.ok());
    auto cfg = *full.config->find("dep");
    if (gen.below(2) == 0) {
      cfg.hedge.enabled = true;
      cfg.hedge.delay_kind = hedge_delay_kind::fixed;
      cfg.hedge.delay = milliseconds(3);
    }
    dependency_core_options opts;
    opts.seed = seed;
    opts.alternates = {"alt"};
    harness h{cfg, opts};
    struct pending {
      time_point at;
      std::uint64_t id;
      bool alternate;
    };
    std::vector<pending> due;
    std::vector<std::pair<time_point, std::uint64_t>> cancels_due;
    std::set<std::uint64_t> progressive_ids;
    std::set<std::uint64_t> with_preliminary;
    std::set<std::uint64_t> silenced; // cancelled after the preliminary
    std::size_t seen = 0;
    auto look = [&] {
      for (; seen < h.log.size(); ++seen) {
        auto& a = h.log[seen].action;
        if (a.kind == dependency_action_kind::send_attempt) {
          if (gen.below(8) != 0) // one in eight is never answered
            due.push_back({h.now + milliseconds(gen.below(30)), a.id, false});
        } else if (a.kind == dependency_action_kind::call_alternate) {
          due.push_back({h.now + milliseconds(gen.below(20)), a.id, true});
        } else if (a.kind == dependency_action_kind::reply
                   && a.reply.preliminary) {
          with_preliminary.insert(a.reply.id);
          if (gen.below(4) == 0) // the caller leaves after the preliminary
            cancels_due.emplace_back(h.now + milliseconds(gen.below(10)),
                                     a.reply.id);
        }
      }
    };
    auto answer = [&](const pending& p) {
      if (p.alternate) {
        h.alternate_answers(p.id, gen.below(2) == 0, failure_class::transient,
                            "A", "alt down");
        return;
      }
      switch (gen.below(6)) {
        case 0:
        case 1:
        case 2:
          // The payload changes now and then: finals contradict.
          h.answer(p.id, ok(), gen.below(3) == 0 ? "v2" : "v");
          break;
        case 3:
          h.answer(p.id, status(503));
          break;
        case 4:
          h.answer(p.id, status(404));
          break;
        case 5:
          h.answer(p.id, error(transport_error::connection_refused));
          break;
      }
    };
    auto cancel = [&](std::uint64_t id) {
      look(); // a preliminary reply may have just been sent
      bool had_preliminary = with_preliminary.count(id) > 0;
      if (h.cancel(id) && had_preliminary) {
        silenced.insert(id);
        ++cancels_after_preliminary;
      }
    };
    const std::uint64_t calls = 40;
    std::uint64_t sent = 0;
    auto next_arrival = h.now;
    while (sent < calls || !due.empty() || !cancels_due.empty()
           || h.core.calls_in_flight() > 0) {
      look();
      auto next_answer = time_point::max();
      std::size_t which = 0;
      for (std::size_t i = 0; i < due.size(); ++i)
        if (due[i].at < next_answer) {
          next_answer = due[i].at;
          which = i;
        }
      auto next_cancel = time_point::max();
      std::size_t cancel_which = 0;
      for (std::size_t i = 0; i < cancels_due.size(); ++i)
        if (cancels_due[i].first < next_cancel) {
          next_cancel = cancels_due[i].first;
          cancel_which = i;
        }
      auto arrival = sent < calls ? next_arrival : time_point::max();
      auto timer = h.core.next_deadline();
      auto t = std::min({next_answer, next_cancel, arrival, timer});
      REQUIRE(t != time_point::max());
      h.now = std::max(h.now, t);
      if (t == arrival) {
        auto req = make_call(++sent, "op", "k" + std::to_string(gen.below(4)));
        if (gen.below(4) != 0) {
          req.progressive = true;
          progressive_ids.insert(req.id);
          if (gen.below(4) == 0)
            req.soft_deadline = milliseconds(gen.below(30));
        }
        if (gen.below(3) == 0)
          req.deadline = h.now + milliseconds(1 + gen.below(80));
        h.call(std::move(req));
        next_arrival = h.now + milliseconds(gen.below(4));
        switch (gen.below(40)) {
          case 0:
            cancel(1 + gen.below(sent));
            break;
          case 1:
            h.core.transport_down(h.now, h.out);
            h.take();
            due.erase(std::remove_if(due.begin(), due.end(),
                                     [](auto& p) { return !p.alternate; }),
                      due.end());
            break;
          case 2:
            h.core.transport_replaced(true);
            break;
          case 3:
            h.core.reconfigure(R"({"dependencies": {"dep": )" + settings()
                                 + R"(, "alt": {}}})",
                               h.now, h.out);
            h.take();
            break;
          default:
            break;
        }
      } else if (t == next_answer) {
        auto p = due[which];
        due.erase(due.begin() + static_cast<std::ptrdiff_t>(which));
        answer(p);
      } else if (t == next_cancel) {
        auto id = cancels_due[cancel_which].second;
        cancels_due.erase(cancels_due.begin()
                          + static_cast<std::ptrdiff_t>(cancel_which));
        cancel(id);
      } else {
        h.core.advance(h.now, h.out);
        h.take();
      }
    }
    // Per caller id: its replies in order.
    std::map<std::uint64_t, std::vector<bool>> replies; // preliminary?
    for (auto& x : h.replies())
      replies[x.action.reply.id].push_back(x.action.reply.preliminary);
    for (std::uint64_t id = 1; id <= calls; ++id) {
      INFO("call " << id);
      auto& rs = replies[id];
      auto finals = std::count(rs.begin(), rs.end(), false);
      auto prelims = std::count(rs.begin(), rs.end(), true);
      CHECK(finals == (silenced.count(id) > 0 ? 0 : 1));
      CHECK(prelims <= 1);
      if (prelims == 1) {
        CHECK(progressive_ids.count(id) == 1);
        CHECK(rs.front()); // never a preliminary after the final
      }
    }
    auto& st = h.stats();
    CHECK(st.preliminary_replies == with_preliminary.size());
    CHECK(st.cancelled_after_preliminary == silenced.size());
    CHECK(st.finals_after_preliminary + st.cancelled_after_preliminary
          == st.preliminary_replies);
    seen_all.preliminary_replies += st.preliminary_replies;
    seen_all.preliminary_unavailable += st.preliminary_unavailable;
    seen_all.finals_contradicted += st.finals_contradicted;
    seen_all.retries += st.retries;
    seen_all.hedges += st.hedges;
    seen_all.fallbacks_alternate += st.fallbacks_alternate;
    seen_all.fallbacks_static += st.fallbacks_static;
    seen_all.attempt_timeouts += st.attempt_timeouts;
    seen_all.transport_downs += st.transport_downs;
    seen_all.config_applied += st.config_applied;
    seen_all.queued += st.queued;
    h.check_nothing_leaks();
  }
  // The seeds reached every path the invariant is about.
  CHECK(seen_all.preliminary_replies > 0);
  CHECK(seen_all.preliminary_unavailable > 0);
  CHECK(seen_all.finals_contradicted > 0);
  CHECK(cancels_after_preliminary > 0);
  CHECK(seen_all.retries > 0);
  CHECK(seen_all.hedges > 0);
  CHECK(seen_all.fallbacks_alternate > 0);
  CHECK(seen_all.fallbacks_static > 0);
  CHECK(seen_all.attempt_timeouts > 0);
  CHECK(seen_all.transport_downs > 0);
  CHECK(seen_all.config_applied > 0);
  CHECK(seen_all.queued > 0);
}

TEST_CASE("a preliminary reply from an entry another call stored meanwhile "
          "is labelled fresh_cache",
          "[runtime][dependency][progressive]") {
  harness h{make_config(progressive_settings)};
  h.call(progressive_call(1));
  h.call(make_call(2));
  h.wait(milliseconds(50));
  h.answer(h.attempt(1), ok(), "from 2");
  h.wait(milliseconds(150));
  auto rs = replies_to(h, 1);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].preliminary);
  CHECK(rs[0].payload == "from 2");
  CHECK(rs[0].source == reply_source::fresh_cache);
  CHECK(rs[0].age == milliseconds(150));
  h.answer(h.attempt(0), ok(), "from 2");
  CHECK(h.stats().finals_contradicted == 0);
  h.check_nothing_leaks();
}
