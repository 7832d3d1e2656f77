#include "bulwark/runtime/journey/journey_state.hpp"

namespace bulwark {

std::string to_string(journey_state x) {
  switch (x) {
    case journey_state::received:
      return "received";
    case journey_state::admitted:
      return "admitted";
    case journey_state::queued:
      return "queued";
    case journey_state::attempting:
      return "attempting";
    case journey_state::hedging:
      return "hedging";
    case journey_state::backoff:
      return "backoff";
    case journey_state::fallback:
      return "fallback";
    case journey_state::done:
      return "done";
  }
  return "invalid";
}

std::string to_string(journey_event_kind x) {
  switch (x) {
    case journey_event_kind::admitted:
      return "admitted";
    case journey_event_kind::queued:
      return "queued";
    case journey_event_kind::dequeued:
      return "dequeued";
    case journey_event_kind::attempt_started:
      return "attempt_started";
    case journey_event_kind::attempt_ended:
      return "attempt_ended";
    case journey_event_kind::backoff_scheduled:
      return "backoff_scheduled";
    case journey_event_kind::hedge_started:
      return "hedge_started";
    case journey_event_kind::cache_hit_fresh:
      return "cache_hit_fresh";
    case journey_event_kind::cache_hit_stale:
      return "cache_hit_stale";
    case journey_event_kind::fallback_used:
      return "fallback_used";
    case journey_event_kind::escalated:
      return "escalated";
    case journey_event_kind::replied:
      return "replied";
    case journey_event_kind::rejected:
      return "rejected";
    case journey_event_kind::preliminary_replied:
      return "preliminary_replied";
  }
  return "invalid";
}

} // namespace bulwark
