#include "bulwark/runtime/journey/journey_state.hpp"

#include <set>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

using namespace bulwark;

using st = journey_state;
using ev = journey_event_kind;

namespace {

bool listed(st from, ev event) {
  for (auto& t : journey_transitions)
    if (t.from == from && t.event == event)
      return true;
  return false;
}

} // namespace

// The lookup is usable at compile time.
static_assert([] {
  journey_state s = journey_state::received;
  return apply(s, journey_event_kind::admitted) && s == journey_state::admitted
         && !apply(s, journey_event_kind::admitted);
}());

TEST_CASE("every listed transition applies and leads where the table says",
          "[runtime][journey]") {
  for (auto& t : journey_transitions) {
    INFO(to_string(t.from) << " --" << to_string(t.event) << "--> "
                           << to_string(t.to));
    journey_state s = t.from;
    REQUIRE(apply(s, t.event));
    CHECK(s == t.to);
  }
}

TEST_CASE("every pair the table does not list is refused and changes nothing",
          "[runtime][journey]") {
  int refused = 0;
  for (auto from : all_journey_states)
    for (auto event : all_journey_event_kinds) {
      INFO(to_string(from) << " + " << to_string(event));
      journey_state s = from;
      journey_state to = journey_state::done;
      bool legal = journey_next(from, event, to);
      CHECK(legal == listed(from, event));
      CHECK(apply(s, event) == legal);
      if (!legal) {
        CHECK(s == from);
        CHECK(to == journey_state::done); // left alone
        ++refused;
      }
    }
  CHECK(refused
        == static_cast<int>(journey_state_count * journey_event_kind_count
                            - std::size(journey_transitions)));
}

TEST_CASE("typical mistakes are illegal moves", "[runtime][journey]") {
  const std::pair<st, ev> illegal[] = {
    {st::received, ev::attempt_started}, // attempts need admission
    {st::received, ev::dequeued}, // never queued
    {st::received, ev::escalated}, // refusal is `rejected`
    {st::received, ev::fallback_used}, // no fallback before a failure
    {st::admitted, ev::admitted}, // admitted twice
    {st::admitted, ev::cache_hit_fresh}, // cache lookups precede admission
    {st::admitted, ev::hedge_started}, // a hedge needs a first attempt
    {st::queued, ev::attempt_started}, // needs its slot first
    {st::queued, ev::queued}, // queued twice
    {st::attempting, ev::attempt_started}, // a retry goes through backoff
    {st::attempting, ev::fallback_used}, // escalate first
    {st::attempting, ev::rejected}, // refusals happen at admission
    {st::hedging, ev::attempt_started}, // extra attempts are hedges
    {st::backoff, ev::attempt_ended}, // nothing in flight
    {st::backoff, ev::hedge_started}, // nothing to hedge
    {st::fallback, ev::backoff_scheduled}, // the retry path is over
    {st::fallback, ev::cache_hit_fresh}, // stale is a fallback_used
    {st::fallback, ev::rejected}, // already refused
    {st::done, ev::replied}, // exactly one reply
    {st::done, ev::attempt_ended}, // late hedge replies are dropped
  };
  for (auto [from, event] : illegal) {
    INFO(to_string(from) << " + " << to_string(event));
    journey_state s = from;
    CHECK_FALSE(apply(s, event));
    CHECK(s == from);
  }
}

TEST_CASE("done is terminal and reachable from every state",
          "[runtime][journey]") {
  for (auto event : all_journey_event_kinds) {
    journey_state s = journey_state::done;
    CHECK_FALSE(apply(s, event));
  }
  for (auto from : all_journey_states) {
    if (is_terminal(from))
      continue;
    journey_state s = from;
    INFO(to_string(from));
    CHECK(apply(s, journey_event_kind::replied));
    CHECK(s == journey_state::done);
  }
}

TEST_CASE("every state is reachable from received", "[runtime][journey]") {
  std::set<journey_state> seen{journey_state::received};
  bool grew = true;
  while (grew) {
    grew = false;
    for (auto& t : journey_transitions)
      if (seen.count(t.from) > 0 && seen.insert(t.to).second)
        grew = true;
  }
  CHECK(seen.size() == journey_state_count);
}

TEST_CASE("journey states and events have distinct names",
          "[runtime][journey]") {
  std::set<std::string> states;
  for (auto s : all_journey_states)
    states.insert(to_string(s));
  CHECK(states
        == std::set<std::string>{"received", "admitted", "queued", "attempting",
                                 "hedging", "backoff", "fallback", "done"});
  std::set<std::string> events;
  for (auto e : all_journey_event_kinds)
    events.insert(to_string(e));
  CHECK(events
        == std::set<std::string>{
          "admitted", "queued", "dequeued", "attempt_started", "attempt_ended",
          "backoff_scheduled", "hedge_started", "cache_hit_fresh",
          "cache_hit_stale", "fallback_used", "escalated", "replied",
          "rejected", "preliminary_replied"});
  CHECK(std::size(all_journey_states) == journey_state_count);
  CHECK(std::size(all_journey_event_kinds) == journey_event_kind_count);
}
