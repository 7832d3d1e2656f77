// The states a logical request passes through inside a dependency actor, the
// kinds of event that move it, and the table of legal moves. The table below
// is the single source of truth: `journey::record` refuses any event it does
// not list, `journey_dot()` draws docs/journey.md from it, and the tests walk
// it. A request starts `received`, is admitted or queued (or refused), makes
// attempts with backoff and hedges between them, may fall back (stale cache,
// static value, alternate, escalation), and ends `done` with exactly one
// reply. A reply is legal from every state, because a deadline can pass
// anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bulwark {

enum class journey_state : std::uint8_t {
  /// Arrived; no admission decision yet. Cache lookups happen here, before
  /// the request takes a concurrency slot.
  received,
  /// Passed admission (breaker, budget, deadline) and holds a concurrency
  /// slot; about to make an attempt.
  admitted,
  /// Waiting in the bulkhead queue for a concurrency slot.
  queued,
  /// One attempt in flight (or just ended and the next move not yet made).
  attempting,
  /// A hedge was sent: more than one attempt may be in flight.
  hedging,
  /// A retry timer is running.
  backoff,
  /// The normal path is over without a success (refused, retries spent,
  /// escalated): the fallback chain and the escalation ladder decide.
  fallback,
  /// Replied; terminal.
  done,
};

inline constexpr journey_state all_journey_states[] = {
  journey_state::received,   journey_state::admitted, journey_state::queued,
  journey_state::attempting, journey_state::hedging,  journey_state::backoff,
  journey_state::fallback,   journey_state::done,
};

inline constexpr std::size_t journey_state_count = 8;

/// @relates journey_state
std::string to_string(journey_state x);

constexpr bool is_terminal(journey_state x) noexcept {
  return x == journey_state::done;
}

enum class journey_event_kind : std::uint8_t {
  /// Admission passed and a concurrency slot was taken.
  admitted,
  /// The request waits for a concurrency slot (first try or a retry).
  queued,
  /// A queued request got its slot.
  dequeued,
  /// An attempt was sent (first try, retry, alternate or reroute).
  attempt_started,
  /// An attempt finished with an outcome (or was cancelled).
  attempt_ended,
  /// A retry was scheduled after a backoff delay.
  backoff_scheduled,
  /// A speculative duplicate attempt was sent.
  hedge_started,
  /// A cache entry inside its TTL answers the request.
  cache_hit_fresh,
  /// A cache entry past its TTL answers the request (stale-while-revalidate).
  cache_hit_stale,
  /// A fallback step served or was taken (stale cache, static, alternate).
  fallback_used,
  /// The request moved up the escalation ladder (levels 2-4).
  escalated,
  /// The one reply went to the caller.
  replied,
  /// Refused locally: breaker open, shed, budget spent, queue timeout.
  rejected,
  /// A progressive call got its preliminary reply (its soft deadline passed
  /// before its fresh answer); the call goes on to its final one.
  preliminary_replied,
};

inline constexpr journey_event_kind all_journey_event_kinds[] = {
  journey_event_kind::admitted,        journey_event_kind::queued,
  journey_event_kind::dequeued,        journey_event_kind::attempt_started,
  journey_event_kind::attempt_ended,   journey_event_kind::backoff_scheduled,
  journey_event_kind::hedge_started,   journey_event_kind::cache_hit_fresh,
  journey_event_kind::cache_hit_stale, journey_event_kind::fallback_used,
  journey_event_kind::escalated,       journey_event_kind::replied,
  journey_event_kind::rejected,        journey_event_kind::preliminary_replied,
};

inline constexpr std::size_t journey_event_kind_count = 14;

/// @relates journey_event_kind
std::string to_string(journey_event_kind x);

/// One legal move: in state `from`, event `event` leads to state `to`.
struct journey_transition {
  journey_state from;
  journey_event_kind event;
  journey_state to;
};

/// THE table of legal moves. Anything not listed is refused.
inline constexpr journey_transition journey_transitions[] = {
  // received: cache first, then admission.
  {journey_state::received, journey_event_kind::cache_hit_fresh,
   journey_state::received},
  {journey_state::received, journey_event_kind::cache_hit_stale,
   journey_state::received},
  {journey_state::received, journey_event_kind::admitted,
   journey_state::admitted},
  {journey_state::received, journey_event_kind::queued, journey_state::queued},
  {journey_state::received, journey_event_kind::rejected,
   journey_state::fallback},
  {journey_state::received, journey_event_kind::replied, journey_state::done},
  // queued: wait for a slot.
  {journey_state::queued, journey_event_kind::dequeued,
   journey_state::admitted},
  {journey_state::queued, journey_event_kind::rejected,
   journey_state::fallback},
  {journey_state::queued, journey_event_kind::replied, journey_state::done},
  // admitted: holds a slot.
  {journey_state::admitted, journey_event_kind::attempt_started,
   journey_state::attempting},
  {journey_state::admitted, journey_event_kind::replied, journey_state::done},
  // attempting: one attempt at a time.
  {journey_state::attempting, journey_event_kind::attempt_ended,
   journey_state::attempting},
  {journey_state::attempting, journey_event_kind::hedge_started,
   journey_state::hedging},
  {journey_state::attempting, journey_event_kind::backoff_scheduled,
   journey_state::backoff},
  {journey_state::attempting, journey_event_kind::escalated,
   journey_state::fallback},
  {journey_state::attempting, journey_event_kind::replied, journey_state::done},
  // hedging: several attempts; the first final result wins.
  {journey_state::hedging, journey_event_kind::hedge_started,
   journey_state::hedging},
  {journey_state::hedging, journey_event_kind::attempt_ended,
   journey_state::hedging},
  {journey_state::hedging, journey_event_kind::backoff_scheduled,
   journey_state::backoff},
  {journey_state::hedging, journey_event_kind::escalated,
   journey_state::fallback},
  {journey_state::hedging, journey_event_kind::replied, journey_state::done},
  // backoff: the retry goes through admission again.
  {journey_state::backoff, journey_event_kind::attempt_started,
   journey_state::attempting},
  {journey_state::backoff, journey_event_kind::queued, journey_state::queued},
  {journey_state::backoff, journey_event_kind::rejected,
   journey_state::fallback},
  {journey_state::backoff, journey_event_kind::escalated,
   journey_state::fallback},
  {journey_state::backoff, journey_event_kind::replied, journey_state::done},
  // fallback: walk the chain, climb the ladder, or try an alternate/replica.
  {journey_state::fallback, journey_event_kind::fallback_used,
   journey_state::fallback},
  {journey_state::fallback, journey_event_kind::escalated,
   journey_state::fallback},
  {journey_state::fallback, journey_event_kind::attempt_started,
   journey_state::attempting},
  {journey_state::fallback, journey_event_kind::replied, journey_state::done},
  // A preliminary reply changes nothing: the call goes on where it was.
  {journey_state::queued, journey_event_kind::preliminary_replied,
   journey_state::queued},
  {journey_state::admitted, journey_event_kind::preliminary_replied,
   journey_state::admitted},
  {journey_state::attempting, journey_event_kind::preliminary_replied,
   journey_state::attempting},
  {journey_state::hedging, journey_event_kind::preliminary_replied,
   journey_state::hedging},
  {journey_state::backoff, journey_event_kind::preliminary_replied,
   journey_state::backoff},
  {journey_state::fallback, journey_event_kind::preliminary_replied,
   journey_state::fallback},
};

namespace detail {

inline constexpr std::uint8_t no_journey_move = 0xff;

// The table as a dense [state][event] array, built at compile time so a
// lookup is one load. Duplicate rows and rows leaving `done` fail the build.
struct journey_move_table {
  std::uint8_t next[journey_state_count][journey_event_kind_count];
  bool consistent;
};

constexpr journey_move_table make_journey_move_table() noexcept {
  journey_move_table result{};
  result.consistent = true;
  for (auto& row : result.next)
    for (auto& cell : row)
      cell = no_journey_move;
  for (auto& t : journey_transitions) {
    auto& cell = result.next[static_cast<std::size_t>(t.from)]
                            [static_cast<std::size_t>(t.event)];
    if (cell != no_journey_move || is_terminal(t.from))
      result.consistent = false;
    cell = static_cast<std::uint8_t>(t.to);
  }
  return result;
}

inline constexpr journey_move_table journey_moves = make_journey_move_table();

static_assert(journey_moves.consistent,
              "journey_transitions lists a (state, event) pair twice or "
              "leaves the terminal state");

} // namespace detail

/// Looks up the move for `event` in state `from`. Returns false (and leaves
/// `to` alone) when the table has no such row.
constexpr bool journey_next(journey_state from, journey_event_kind event,
                            journey_state& to) noexcept {
  auto cell =
    detail::journey_moves
      .next[static_cast<std::size_t>(from)][static_cast<std::size_t>(event)];
  if (cell == detail::no_journey_move)
    return false;
  to = static_cast<journey_state>(cell);
  return true;
}

/// Applies `event` to `state` if the table allows it; returns whether it did.
constexpr bool apply(journey_state& state, journey_event_kind event) noexcept {
  return journey_next(state, event, state);
}

} // namespace bulwark
