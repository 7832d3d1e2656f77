// Walking a fallback chain: which configured step applies next to a failed
// request. The walk is pure and keeps no state of its own: the dependency
// actor keeps a cursor (the index of the next step to consider) per request
// and asks again after a step could not serve — a `stale_cache` step with
// nothing stale cached, an `alternate` that failed too — with the cursor moved
// past that step. Criticality changes one thing here: a sheddable request
// skips `alternate` steps, because an alternate is another live call and
// sheddable traffic must not add load while a dependency is failing; it still
// gets stale, static and fail-fast steps.
#pragma once

#include <cstddef>

#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/fallback/fallback_config.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"

namespace bulwark {

/// The answer of `next_fallback_step`.
struct fallback_pick {
  /// Index of the chosen step in `fallback_config::steps`; the size of the
  /// chain when nothing applies.
  std::size_t index = 0;
  /// The chosen step, or nullptr: the chain is exhausted and the failure goes
  /// to the caller as it is.
  const fallback_step* step = nullptr;

  explicit operator bool() const noexcept {
    return step != nullptr;
  }

  /// The cursor to pass when this step could not serve.
  std::size_t next_cursor() const noexcept {
    return index + 1;
  }
};

/// The first step at or after `cursor` that handles failure class `cls` for a
/// request of criticality `crit`. A `cancelled` failure never gets a fallback,
/// whatever the configuration says. O(steps), no allocation.
fallback_pick next_fallback_step(const fallback_config& cfg, failure_class cls,
                                 criticality crit,
                                 std::size_t cursor = 0) noexcept;

/// Whether a failed request of this criticality should go to the fallback
/// chain before spending a retry: true for sheddable requests, which are the
/// first to give way when a dependency struggles (Google SRE, "Handling
/// Overload"). The retry path asks this; the chain itself does not.
constexpr bool prefers_fallback(criticality crit) noexcept {
  return crit == criticality::sheddable;
}

/// The reply source a successful step of this kind produces; false for
/// `fail_fast`, which produces no reply value.
constexpr bool reply_source_of(fallback_kind kind, reply_source& out) noexcept {
  switch (kind) {
    case fallback_kind::stale_cache:
      out = reply_source::stale_cache;
      return true;
    case fallback_kind::static_value:
      out = reply_source::static_fallback;
      return true;
    case fallback_kind::alternate:
      out = reply_source::alternate;
      return true;
    case fallback_kind::fail_fast:
      break;
  }
  return false;
}

} // namespace bulwark
