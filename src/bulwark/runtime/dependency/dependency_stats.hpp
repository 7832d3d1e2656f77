// Counters a dependency keeps about its calls: what arrived, how each logical
// request ended, and what every policy did on the way. Plain integers bumped
// by the dependency's core on its actor's thread (no locks, no atomics on the
// hot path). The actor answers `stats_atom` with this value; every field has
// a row in bulwark/runtime/metrics/metric_table.cpp, from which come its JSON
// form
// (`to_json`) and its Prometheus series (a test fails when a field has no
// row).
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>

#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"
#include "bulwark/runtime/metrics/latency_histogram.hpp"
#include "bulwark/runtime/objective/objective_stats.hpp"

namespace bulwark {

struct dependency_stats {
  // -- requests ---------------------------------------------------------------
  std::uint64_t requests = 0; // calls received
  std::uint64_t invalid = 0; // refused as malformed (empty operation, ...)
  std::uint64_t replies_ok = 0; // answered with a payload (any source)
  std::uint64_t replies_failed = 0;
  std::uint64_t replies_by_source[5] = {}; // indexed by reply_source
  std::uint64_t failures_by_class[failure_class_count] = {};
  std::uint64_t in_flight = 0;

  // -- attempts ---------------------------------------------------------------
  std::uint64_t attempts = 0; // attempts sent to the transport (incl. hedges)
  std::uint64_t attempt_failures_by_class[failure_class_count] = {};
  std::uint64_t retries = 0; // retries scheduled
  // by the class of the failure that caused them (Prometheus `reason`)
  std::uint64_t retries_by_class[failure_class_count] = {};
  std::uint64_t retries_denied_budget = 0;
  std::uint64_t hedges = 0; // hedged attempts sent
  std::uint64_t hedges_won = 0;
  std::uint64_t hedges_denied_budget = 0;
  std::uint64_t late_results = 0; // results for attempts no longer wanted
  std::uint64_t attempt_timeouts = 0;

  // -- admission --------------------------------------------------------------
  std::uint64_t rejected_breaker = 0;
  std::uint64_t rejected_bulkhead = 0; // queue full
  std::uint64_t shed = 0; // sheddable, no free slot
  std::uint64_t queue_timeouts = 0;
  std::uint64_t queued = 0;
  // The adaptive concurrency limit's current value (a gauge); 0 while the
  // adaptive limit is off.
  std::uint64_t adaptive_limit = 0;

  // -- feature flags ----------------------------------------------------------
  std::uint64_t rejected_flag = 0; // breaker forced open by a flag
  std::uint64_t rejected_throttle = 0; // client-side adaptive throttling
  // Calls and hedges that could not finish before their deadline at the
  // observed latency (deadline-aware shedding).
  std::uint64_t shed_deadline = 0;
  std::uint64_t retries_suppressed_flag = 0; // retries a flag switched off
  std::uint64_t hedges_suppressed_flag = 0; // rounds a flag kept from hedging
  std::uint64_t breaker_bypassed_flag = 0; // calls past a disabled breaker

  // -- active health probe ----------------------------------------------------
  // Calls rejected because a probe paused the path (the breaker's probe
  // hold).
  std::uint64_t rejected_probe = 0;
  std::uint64_t probes_success = 0;
  std::uint64_t probes_failure = 0; // a failure class in failure_on
  std::uint64_t probes_timeout = 0; // no result within the probe's timeout
  std::uint64_t probes_ignored = 0; // another failure class: neither way
  std::uint64_t probe_pauses = 0;
  std::uint64_t probe_paused = 0; // a gauge: 1 while the probe holds it

  // -- cache and fallback -----------------------------------------------------
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_stale_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t revalidations = 0;
  std::uint64_t fallbacks_stale = 0;
  std::uint64_t fallbacks_static = 0;
  std::uint64_t fallbacks_alternate = 0;
  std::uint64_t fallbacks_fail_fast = 0;

  // -- progressive delivery ---------------------------------------------------
  std::uint64_t progressive_calls = 0; // calls whose soft deadline counted
  std::uint64_t preliminary_replies = 0;
  // Soft deadlines that passed with no preliminary source having a value.
  std::uint64_t preliminary_unavailable = 0;
  std::uint64_t finals_after_preliminary = 0;
  // Finals that answered with another payload than their preliminary reply.
  std::uint64_t finals_contradicted = 0;
  // Calls cancelled by their caller after the preliminary (no final).
  std::uint64_t cancelled_after_preliminary = 0;

  // -- breaker and transport --------------------------------------------------
  std::uint64_t breaker_transitions = 0;
  // The breaker's state after its last transition (set by the policies'
  // breaker listener), so the stats message alone tells it.
  breaker_state breaker = breaker_state::closed;
  std::uint64_t transport_downs = 0;
  std::uint64_t config_applied = 0;
  std::uint64_t config_rejected = 0;

  // -- objectives -------------------------------------------------------------
  // Counters and burn rates of the objectives (/dependencies/*/objective),
  // as of the stats request (`dependency_core::stats_at`).
  objective_stats objective;

  // -- latency ----------------------------------------------------------------
  // Per logical request with a caller: call received -> reply sent (cache
  // hits, fallbacks and rejections included; background revalidations not).
  latency_histogram request_latency;
  // Per attempt: sent to the transport -> its result or its timeout.
  latency_histogram attempt_latency;
  // Per progressive call with a preliminary reply: preliminary -> final.
  latency_histogram preliminary_to_final;
};

/// Every counter by name (arrays as objects keyed by class or source name),
/// `breaker_state` as its name, the histograms as `to_json(latency_histogram)`;
/// the keys are those of bulwark/runtime/metrics/metric_table.cpp.
boost::json::object to_json(const dependency_stats& x);

} // namespace bulwark
