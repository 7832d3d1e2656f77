#include "bulwark/runtime/breaker/breaker_state.hpp"

#include <set>

#include <catch2/catch.hpp>

#include "bulwark/runtime/breaker/breaker_event.hpp"

using namespace bulwark;

namespace {

using bs = breaker_state;

// The legality check is usable at compile time.
static_assert(is_legal_transition(bs::closed, bs::open));
static_assert(!is_legal_transition(bs::closed, bs::half_open));

} // namespace

TEST_CASE("every breaker state and transition reason has a distinct name",
          "[runtime][breaker]") {
  std::set<std::string> names;
  for (auto s : all_breaker_states)
    names.insert(to_string(s));
  CHECK(names
        == std::set<std::string>{"closed", "open", "half_open", "forced_open",
                                 "disabled"});
  std::set<std::string> reasons;
  for (auto r :
       {transition_reason::failure_rate_exceeded,
        transition_reason::slow_call_rate_exceeded,
        transition_reason::open_duration_elapsed,
        transition_reason::probes_succeeded, transition_reason::probe_failed,
        transition_reason::forced, transition_reason::disabled,
        transition_reason::reset, transition_reason::half_open_timeout,
        transition_reason::probe})
    reasons.insert(to_string(r));
  CHECK(reasons.size() == 10);
  CHECK(reasons.count("probe") == 1);
  CHECK(reasons.count("probe_failed") == 1);
}

TEST_CASE("the transition table holds exactly the breaker's legal moves",
          "[runtime][breaker]") {
  std::set<std::pair<bs, bs>> expected{
    {bs::closed, bs::open},           {bs::open, bs::half_open},
    {bs::half_open, bs::closed},      {bs::half_open, bs::open},
    {bs::closed, bs::forced_open},    {bs::open, bs::forced_open},
    {bs::half_open, bs::forced_open}, {bs::disabled, bs::forced_open},
    {bs::closed, bs::disabled},       {bs::open, bs::disabled},
    {bs::half_open, bs::disabled},    {bs::forced_open, bs::disabled},
    {bs::open, bs::closed},           {bs::forced_open, bs::closed},
    {bs::disabled, bs::closed},
  };
  std::set<std::pair<bs, bs>> table(legal_breaker_transitions.begin(),
                                    legal_breaker_transitions.end());
  CHECK(table.size() == legal_breaker_transitions.size()); // no duplicates
  CHECK(table == expected);
  for (auto from : all_breaker_states)
    for (auto to : all_breaker_states) {
      INFO(to_string(from) << " -> " << to_string(to));
      CHECK(is_legal_transition(from, to) == (expected.count({from, to}) == 1));
    }
}

TEST_CASE("no state moves to itself and the automatic cycle has no shortcuts",
          "[runtime][breaker]") {
  for (auto s : all_breaker_states)
    CHECK_FALSE(is_legal_transition(s, s));
  CHECK_FALSE(is_legal_transition(bs::closed, bs::half_open));
  CHECK_FALSE(is_legal_transition(bs::forced_open, bs::half_open));
  CHECK_FALSE(is_legal_transition(bs::forced_open, bs::open));
  CHECK_FALSE(is_legal_transition(bs::disabled, bs::open));
  CHECK_FALSE(is_legal_transition(bs::disabled, bs::half_open));
}
