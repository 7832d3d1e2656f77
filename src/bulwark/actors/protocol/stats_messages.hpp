// The answers to `stats_atom`: a dependency actor's `dependency_stats` and a
// supervisor's `supervisor_stats` (runtime types, typed values on the wire),
// with CAF 0.17 `inspect` overloads so the admin server, a test or an actor
// on another node gets the counters themselves, not JSON text to parse back.
// `to_json` of either gives the JSON form for people. Enums travel as uint8
// and are checked on load; a histogram travels as its exact state.
#pragma once

#include "bulwark/actors/protocol/wire.hpp"
#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/dependency/dependency_stats.hpp"
#include "bulwark/runtime/metrics/latency_histogram.hpp"
#include "bulwark/runtime/supervise/supervisor_stats.hpp"

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <iterator>

namespace bulwark {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, latency_histogram& x) {
  auto st = x.state();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (!latency_histogram::from_state(st, x))
      return caf::make_error(caf::sec::invalid_argument);
    return caf::none;
  });
  return f(caf::meta::type_name("latency_histogram"), st.counts, st.sum_ns,
           st.sum_folds, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, objective_stats& x) {
  return f(caf::meta::type_name("objective_stats"), x.events,
           x.bad_availability, x.bad_latency, x.availability_target_ppm,
           x.latency_target_ppm, x.latency_threshold_ns,
           x.availability_burn_milli, x.latency_burn_milli);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dependency_stats& x) {
  auto breaker = static_cast<std::uint8_t>(x.breaker);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return detail::load_enum(breaker, x.breaker, std::size(all_breaker_states));
  });
  return f(caf::meta::type_name("dependency_stats"), x.requests, x.invalid,
           x.replies_ok, x.replies_failed, x.replies_by_source,
           x.failures_by_class, x.in_flight, x.attempts,
           x.attempt_failures_by_class, x.retries, x.retries_by_class,
           x.retries_denied_budget, x.hedges, x.hedges_won,
           x.hedges_denied_budget, x.late_results, x.attempt_timeouts,
           x.rejected_breaker, x.rejected_bulkhead, x.shed, x.queue_timeouts,
           x.queued, x.adaptive_limit, x.rejected_flag, x.rejected_throttle,
           x.shed_deadline, x.retries_suppressed_flag, x.hedges_suppressed_flag,
           x.breaker_bypassed_flag, x.rejected_probe, x.probes_success,
           x.probes_failure, x.probes_timeout, x.probes_ignored, x.probe_pauses,
           x.probe_paused, x.cache_hits, x.cache_stale_hits, x.cache_misses,
           x.revalidations, x.fallbacks_stale, x.fallbacks_static,
           x.fallbacks_alternate, x.fallbacks_fail_fast, x.progressive_calls,
           x.preliminary_replies, x.preliminary_unavailable,
           x.finals_after_preliminary, x.finals_contradicted,
           x.cancelled_after_preliminary, x.breaker_transitions, breaker,
           x.transport_downs, x.config_applied, x.config_rejected, x.objective,
           x.request_latency, x.attempt_latency, x.preliminary_to_final, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_counters& x) {
  return f(caf::meta::type_name("supervisor_counters"), x.requests,
           x.replies_ok, x.replies_failed, x.attempts, x.failovers,
           x.failovers_denied_budget, x.hedges, x.hedges_won,
           x.hedges_denied_budget, x.cancels, x.late_results, x.no_member,
           x.deadline_exceeded, x.ejections, x.readmissions, x.probes,
           x.member_crashes, x.restarts, x.escalations, x.parked, x.cooldowns,
           x.preliminary_replies, x.cancelled_after_preliminary,
           x.unreachable_events, x.reach_ignored);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        supervisor_member_stats& x) {
  auto health = static_cast<std::uint8_t>(x.health);
  auto status = static_cast<std::uint8_t>(x.status);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = detail::load_enum(health, x.health, member_health_count))
      return err;
    return detail::load_enum(status, x.status, member_status_count);
  });
  return f(caf::meta::type_name("supervisor_member_stats"), x.name, x.running,
           status, health, x.outstanding, x.ejections, x.incarnation, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_stats& x) {
  return f(caf::meta::type_name("supervisor_stats"), x.name, x.counters,
           x.in_flight, x.members);
}

} // namespace bulwark
