#include "bulwark/runtime/metrics/prometheus_text.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/metrics/latency_histogram.hpp"

using namespace bulwark;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

// The lines of `text` that are samples of metric `name` (exactly that name).
std::vector<std::string> samples_of(const std::string& text,
                                    const std::string& name) {
  std::vector<std::string> result;
  for (auto& line : lines_of(text))
    if (line.compare(0, name.size() + 1, name + "{") == 0)
      result.push_back(line);
  return result;
}

dependency_stats small_stats() {
  latency_histogram requests;
  requests.record(microseconds(800));
  requests.record(milliseconds(4));
  requests.record(milliseconds(250));
  latency_histogram attempts;
  attempts.record(milliseconds(2));
  dependency_stats x;
  x.requests = 3;
  x.invalid = 0;
  x.replies_ok = 2;
  x.replies_failed = 1;
  x.replies_by_source[0] = 1; // live
  x.replies_by_source[1] = 0; // fresh_cache
  x.replies_by_source[2] = 1; // stale_cache
  x.replies_by_source[3] = 0; // static_fallback
  x.replies_by_source[4] = 0; // alternate
  x.failures_by_class[0] = 0; // transient
  x.failures_by_class[1] = 1; // timeout
  x.failures_by_class[2] = 0; // overloaded
  x.failures_by_class[3] = 0; // persistent
  x.failures_by_class[4] = 0; // rejected_locally
  x.failures_by_class[5] = 0; // deadline_exceeded
  x.failures_by_class[6] = 0; // cancelled
  x.in_flight = 4;
  x.attempts = 5;
  x.attempt_failures_by_class[0] = 2; // transient
  x.attempt_failures_by_class[1] = 1; // timeout
  x.attempt_timeouts = 1;
  x.retries = 2;
  x.retries_by_class[0] = 2; // transient
  x.retries_denied_budget = 1;
  x.hedges = 1;
  x.hedges_won = 1;
  x.hedges_denied_budget = 0;
  x.late_results = 1;
  x.rejected_breaker = 6;
  x.rejected_bulkhead = 0;
  x.shed = 2;
  x.queue_timeouts = 0;
  x.queued = 0;
  x.rejected_flag = 1;
  x.retries_suppressed_flag = 2;
  x.hedges_suppressed_flag = 3;
  x.breaker_bypassed_flag = 0;
  x.cache_hits = 7;
  x.cache_stale_hits = 1;
  x.cache_misses = 3;
  x.revalidations = 1;
  x.fallbacks_stale = 1;
  x.fallbacks_static = 0;
  x.fallbacks_alternate = 0;
  x.fallbacks_fail_fast = 0;
  x.breaker_transitions = 2;
  x.breaker = breaker_state::half_open;
  x.transport_downs = 0;
  x.config_applied = 1;
  x.config_rejected = 0;
  // Objectives: 99.9% available, 99% within 300 ms; burning at 14.4 over
  // the last 5 minutes. Kept in integers, written in their units.
  x.objective.events = 3;
  x.objective.bad_availability = 1;
  x.objective.bad_latency = 0;
  x.objective.availability_target_ppm = 999000;
  x.objective.latency_target_ppm = 990000;
  x.objective.latency_threshold_ns = 300'000'000;
  x.objective.availability_burn_milli[0] = 14400;
  x.request_latency = requests;
  x.attempt_latency = attempts;
  return x;
}

const char* const small_expected =
  R"(# HELP bulwark_requests_total Calls received (logical requests, before admission).
# TYPE bulwark_requests_total counter
bulwark_requests_total{dependency="payments"} 3
# HELP bulwark_invalid_requests_total Calls refused as malformed (empty operation, unknown criticality).
# TYPE bulwark_invalid_requests_total counter
bulwark_invalid_requests_total{dependency="payments"} 0
# HELP bulwark_replies_total Replies sent, by outcome; successful ones by where the value came from.
# TYPE bulwark_replies_total counter
bulwark_replies_total{dependency="payments",outcome="ok",source="live"} 1
bulwark_replies_total{dependency="payments",outcome="ok",source="fresh_cache"} 0
bulwark_replies_total{dependency="payments",outcome="ok",source="stale_cache"} 1
bulwark_replies_total{dependency="payments",outcome="ok",source="static_fallback"} 0
bulwark_replies_total{dependency="payments",outcome="ok",source="alternate"} 0
bulwark_replies_total{dependency="payments",outcome="failed"} 1
# HELP bulwark_failures_total Failed replies by failure class.
# TYPE bulwark_failures_total counter
bulwark_failures_total{dependency="payments",class="transient"} 0
bulwark_failures_total{dependency="payments",class="timeout"} 1
bulwark_failures_total{dependency="payments",class="overloaded"} 0
bulwark_failures_total{dependency="payments",class="persistent"} 0
bulwark_failures_total{dependency="payments",class="rejected_locally"} 0
bulwark_failures_total{dependency="payments",class="deadline_exceeded"} 0
bulwark_failures_total{dependency="payments",class="cancelled"} 0
# HELP bulwark_in_flight Calls received and not answered yet.
# TYPE bulwark_in_flight gauge
bulwark_in_flight{dependency="payments"} 4
# HELP bulwark_attempts_total Attempts sent to the transport, hedges included.
# TYPE bulwark_attempts_total counter
bulwark_attempts_total{dependency="payments"} 5
# HELP bulwark_attempt_failures_total Failed attempts by failure class.
# TYPE bulwark_attempt_failures_total counter
bulwark_attempt_failures_total{dependency="payments",class="transient"} 2
bulwark_attempt_failures_total{dependency="payments",class="timeout"} 1
bulwark_attempt_failures_total{dependency="payments",class="overloaded"} 0
bulwark_attempt_failures_total{dependency="payments",class="persistent"} 0
bulwark_attempt_failures_total{dependency="payments",class="rejected_locally"} 0
bulwark_attempt_failures_total{dependency="payments",class="deadline_exceeded"} 0
bulwark_attempt_failures_total{dependency="payments",class="cancelled"} 0
# HELP bulwark_attempt_timeouts_total Attempts abandoned at their per-attempt timeout.
# TYPE bulwark_attempt_timeouts_total counter
bulwark_attempt_timeouts_total{dependency="payments"} 1
# HELP bulwark_retries_total Retries scheduled, by the failure class that caused them.
# TYPE bulwark_retries_total counter
bulwark_retries_total{dependency="payments",reason="transient"} 2
bulwark_retries_total{dependency="payments",reason="timeout"} 0
bulwark_retries_total{dependency="payments",reason="overloaded"} 0
bulwark_retries_total{dependency="payments",reason="persistent"} 0
bulwark_retries_total{dependency="payments",reason="rejected_locally"} 0
bulwark_retries_total{dependency="payments",reason="deadline_exceeded"} 0
bulwark_retries_total{dependency="payments",reason="cancelled"} 0
# HELP bulwark_retries_denied_total Retries the retry budget refused.
# TYPE bulwark_retries_denied_total counter
bulwark_retries_denied_total{dependency="payments"} 1
# HELP bulwark_hedges_total Hedged attempts sent.
# TYPE bulwark_hedges_total counter
bulwark_hedges_total{dependency="payments"} 1
# HELP bulwark_hedges_won_total Calls answered by a hedged attempt rather than the first one.
# TYPE bulwark_hedges_won_total counter
bulwark_hedges_won_total{dependency="payments"} 1
# HELP bulwark_hedges_denied_total Hedges the retry budget refused.
# TYPE bulwark_hedges_denied_total counter
bulwark_hedges_denied_total{dependency="payments"} 0
# HELP bulwark_late_results_total Attempt results that arrived after their call no longer wanted them (losing hedges, timed-out attempts).
# TYPE bulwark_late_results_total counter
bulwark_late_results_total{dependency="payments"} 1
# HELP bulwark_rejected_total Calls or attempts refused before reaching the dependency, by reason.
# TYPE bulwark_rejected_total counter
bulwark_rejected_total{dependency="payments",reason="breaker"} 6
bulwark_rejected_total{dependency="payments",reason="bulkhead"} 0
bulwark_rejected_total{dependency="payments",reason="shed"} 2
bulwark_rejected_total{dependency="payments",reason="queue_timeout"} 0
bulwark_rejected_total{dependency="payments",reason="flag"} 1
bulwark_rejected_total{dependency="payments",reason="throttle"} 0
bulwark_rejected_total{dependency="payments",reason="deadline"} 0
bulwark_rejected_total{dependency="payments",reason="probe"} 0
# HELP bulwark_flag_actions_total What feature flags changed for calls: retries and hedges they switched off, calls they let past a disabled breaker.
# TYPE bulwark_flag_actions_total counter
bulwark_flag_actions_total{dependency="payments",action="retry_suppressed"} 2
bulwark_flag_actions_total{dependency="payments",action="hedge_suppressed"} 3
bulwark_flag_actions_total{dependency="payments",action="breaker_bypassed"} 0
# HELP bulwark_queued_total Calls that waited in the concurrency limit's queue.
# TYPE bulwark_queued_total counter
bulwark_queued_total{dependency="payments"} 0
# HELP bulwark_adaptive_limit The concurrency limit the adaptive limit learned (0 while it is off).
# TYPE bulwark_adaptive_limit gauge
bulwark_adaptive_limit{dependency="payments"} 0
# HELP bulwark_cache_lookups_total Cache lookups by result.
# TYPE bulwark_cache_lookups_total counter
bulwark_cache_lookups_total{dependency="payments",result="hit"} 7
bulwark_cache_lookups_total{dependency="payments",result="stale"} 1
bulwark_cache_lookups_total{dependency="payments",result="miss"} 3
# HELP bulwark_cache_revalidations_total Background refreshes of stale cache entries.
# TYPE bulwark_cache_revalidations_total counter
bulwark_cache_revalidations_total{dependency="payments"} 1
# HELP bulwark_fallbacks_total Fallback steps taken, by kind.
# TYPE bulwark_fallbacks_total counter
bulwark_fallbacks_total{dependency="payments",kind="stale_cache"} 1
bulwark_fallbacks_total{dependency="payments",kind="static"} 0
bulwark_fallbacks_total{dependency="payments",kind="alternate"} 0
bulwark_fallbacks_total{dependency="payments",kind="fail_fast"} 0
# HELP bulwark_progressive_calls_total Calls that asked for progressive delivery and waited for a soft deadline.
# TYPE bulwark_progressive_calls_total counter
bulwark_progressive_calls_total{dependency="payments"} 0
# HELP bulwark_progressive_replies_total What progressive calls got: preliminary replies, soft deadlines with nothing to answer, finals after a preliminary, finals that changed it, cancels after it.
# TYPE bulwark_progressive_replies_total counter
bulwark_progressive_replies_total{dependency="payments",kind="preliminary"} 0
bulwark_progressive_replies_total{dependency="payments",kind="unavailable"} 0
bulwark_progressive_replies_total{dependency="payments",kind="final"} 0
bulwark_progressive_replies_total{dependency="payments",kind="contradicted"} 0
bulwark_progressive_replies_total{dependency="payments",kind="cancelled"} 0
# HELP bulwark_preliminary_to_final_seconds Time from a preliminary reply to its final one.
# TYPE bulwark_preliminary_to_final_seconds histogram
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="5e-05"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.0001"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.0002"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.0003"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.0005"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.001"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.002"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.003"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.005"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.01"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.02"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.03"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.05"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.1"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.2"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.3"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="0.5"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="1"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="2"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="3"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="5"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="10"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="20"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="30"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="60"} 0
bulwark_preliminary_to_final_seconds_bucket{dependency="payments",le="+Inf"} 0
bulwark_preliminary_to_final_seconds_sum{dependency="payments"} 0
bulwark_preliminary_to_final_seconds_count{dependency="payments"} 0
# HELP bulwark_breaker_state 1 for the circuit breaker's current state, 0 for the others.
# TYPE bulwark_breaker_state gauge
bulwark_breaker_state{dependency="payments",state="closed"} 0
bulwark_breaker_state{dependency="payments",state="open"} 0
bulwark_breaker_state{dependency="payments",state="half_open"} 1
bulwark_breaker_state{dependency="payments",state="forced_open"} 0
bulwark_breaker_state{dependency="payments",state="disabled"} 0
# HELP bulwark_breaker_transitions_total Circuit breaker state changes.
# TYPE bulwark_breaker_transitions_total counter
bulwark_breaker_transitions_total{dependency="payments"} 2
# HELP bulwark_ejections_total Members ejected as outliers (supervisors; 0 for dependencies).
# TYPE bulwark_ejections_total counter
bulwark_ejections_total{dependency="payments"} 0
# HELP bulwark_transport_downs_total Times the transport actor went down.
# TYPE bulwark_transport_downs_total counter
bulwark_transport_downs_total{dependency="payments"} 0
# HELP bulwark_probe_results_total Active health probes of a dependency by outcome (success, failure, timeout, ignored).
# TYPE bulwark_probe_results_total counter
bulwark_probe_results_total{dependency="payments",outcome="success"} 0
bulwark_probe_results_total{dependency="payments",outcome="failure"} 0
bulwark_probe_results_total{dependency="payments",outcome="timeout"} 0
bulwark_probe_results_total{dependency="payments",outcome="ignored"} 0
# HELP bulwark_probe_paused 1 while an active health probe keeps the dependency's path paused (breaker forced open, reason probe).
# TYPE bulwark_probe_paused gauge
bulwark_probe_paused{dependency="payments"} 0
# HELP bulwark_probe_pauses_total Times an active health probe paused the dependency's path.
# TYPE bulwark_probe_pauses_total counter
bulwark_probe_pauses_total{dependency="payments"} 0
# HELP bulwark_failovers_total Calls rerouted to another member after a failure.
# TYPE bulwark_failovers_total counter
# HELP bulwark_failovers_denied_total Failovers the retry budget refused.
# TYPE bulwark_failovers_denied_total counter
# HELP bulwark_cancels_total Attempts cancelled on a member (losing hedges).
# TYPE bulwark_cancels_total counter
# HELP bulwark_no_member_total Calls failed because no member could take them.
# TYPE bulwark_no_member_total counter
# HELP bulwark_deadline_exceeded_total Calls failed at their deadline inside the supervisor.
# TYPE bulwark_deadline_exceeded_total counter
# HELP bulwark_readmissions_total Ejected members taken back into rotation.
# TYPE bulwark_readmissions_total counter
# HELP bulwark_probes_total Probe calls sent to ejected members.
# TYPE bulwark_probes_total counter
# HELP bulwark_member_crashes_total Member actors that went down.
# TYPE bulwark_member_crashes_total counter
# HELP bulwark_restarts_total Members restarted after a crash.
# TYPE bulwark_restarts_total counter
# HELP bulwark_escalations_total Times the restart intensity was exceeded and the supervisor escalated.
# TYPE bulwark_escalations_total counter
# HELP bulwark_supervisor_preliminary_replies_total Preliminary answers of members passed on to the callers of progressive calls.
# TYPE bulwark_supervisor_preliminary_replies_total counter
# HELP bulwark_members Members of a supervisor by state: running, unreachable (running, its node lost), and by health (healthy, ejected, probing).
# TYPE bulwark_members gauge
# HELP bulwark_config_reloads_total Configuration documents received, by result.
# TYPE bulwark_config_reloads_total counter
bulwark_config_reloads_total{dependency="payments",result="applied"} 1
bulwark_config_reloads_total{dependency="payments",result="rejected"} 0
# HELP bulwark_http_service_requests_total Well-formed HTTP requests that reached the service.
# TYPE bulwark_http_service_requests_total counter
# HELP bulwark_http_service_dispatched_total Requests handed to a route.
# TYPE bulwark_http_service_dispatched_total counter
# HELP bulwark_http_service_rejected_total Requests the service answered itself before any route, by reason.
# TYPE bulwark_http_service_rejected_total counter
# HELP bulwark_http_service_errors_total Dispatched requests that got no answer from their route, by reason.
# TYPE bulwark_http_service_errors_total counter
# HELP bulwark_http_service_route_restarts_total Route actors started again after one died.
# TYPE bulwark_http_service_route_restarts_total counter
# HELP bulwark_http_service_ledger_total Idempotency ledger verdicts over all ledger routes.
# TYPE bulwark_http_service_ledger_total counter
# HELP bulwark_http_service_ledger_replayed_total Ledger journal records replayed at start.
# TYPE bulwark_http_service_ledger_replayed_total counter
# HELP bulwark_http_service_ledger_journaled_total Ledger records appended and synced to journals.
# TYPE bulwark_http_service_ledger_journaled_total counter
# HELP bulwark_http_service_shed_total Requests shed by overload control, by criticality.
# TYPE bulwark_http_service_shed_total counter
# HELP bulwark_http_service_started_newest_first_total Requests started newest first because their route was overloaded.
# TYPE bulwark_http_service_started_newest_first_total counter
# HELP bulwark_http_service_queued Requests waiting in the routes' overload-control queues.
# TYPE bulwark_http_service_queued gauge
# HELP bulwark_http_service_overloaded_routes Routes whose overload-control queue counts as overloaded.
# TYPE bulwark_http_service_overloaded_routes gauge
# HELP bulwark_http_service_preliminary_answers_total Preliminary answers sent by progressive routes (streamed or plain).
# TYPE bulwark_http_service_preliminary_answers_total counter
# HELP bulwark_http_service_finals_fetched_total Final answers fetched from the result store of plain progressive routes.
# TYPE bulwark_http_service_finals_fetched_total counter
# HELP bulwark_http_service_finals_expired_total Final answers dropped from the result store unfetched (expired or evicted).
# TYPE bulwark_http_service_finals_expired_total counter
# HELP bulwark_http_service_in_flight Requests admitted and not answered yet.
# TYPE bulwark_http_service_in_flight gauge
# HELP bulwark_host_crashes_total Actors a service host restarts itself that stopped unexpectedly.
# TYPE bulwark_host_crashes_total counter
# HELP bulwark_host_restarts_total Actors a service host started again after they stopped.
# TYPE bulwark_host_restarts_total counter
# HELP bulwark_host_given_up 1 for an actor the service host gave up restarting, else 0.
# TYPE bulwark_host_given_up gauge
# HELP bulwark_objective_events_total Calls answered while objectives were on (the objectives' events).
# TYPE bulwark_objective_events_total counter
bulwark_objective_events_total{dependency="payments"} 3
# HELP bulwark_objective_bad_events_total Answered calls that failed an objective: a failed reply (availability) or one slower than the threshold (latency).
# TYPE bulwark_objective_bad_events_total counter
bulwark_objective_bad_events_total{dependency="payments",objective="availability"} 1
bulwark_objective_bad_events_total{dependency="payments",objective="latency"} 0
# HELP bulwark_objective_target_ratio The objective's target share of good calls; 0 when not tracked.
# TYPE bulwark_objective_target_ratio gauge
bulwark_objective_target_ratio{dependency="payments",objective="availability"} 0.999
bulwark_objective_target_ratio{dependency="payments",objective="latency"} 0.99
# HELP bulwark_objective_latency_threshold_seconds Calls answered later than this fail the latency objective.
# TYPE bulwark_objective_latency_threshold_seconds gauge
bulwark_objective_latency_threshold_seconds{dependency="payments"} 0.3
# HELP bulwark_objective_burn_rate Error-budget burn rate over the window: the share of bad calls divided by the budget (1 - target); 1 spends the budget exactly.
# TYPE bulwark_objective_burn_rate gauge
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="5m"} 14.4
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="30m"} 0
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="1h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="2h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="6h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="1d"} 0
bulwark_objective_burn_rate{dependency="payments",objective="availability",window="3d"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="5m"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="30m"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="1h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="2h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="6h"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="1d"} 0
bulwark_objective_burn_rate{dependency="payments",objective="latency",window="3d"} 0
# HELP bulwark_request_duration_seconds Time from receiving a call to sending its reply.
# TYPE bulwark_request_duration_seconds histogram
bulwark_request_duration_seconds_bucket{dependency="payments",le="5e-05"} 0
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.0001"} 0
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.0002"} 0
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.0003"} 0
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.0005"} 0
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.001"} 1
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.002"} 1
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.003"} 1
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.005"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.01"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.02"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.03"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.05"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.1"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.2"} 2
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.3"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="0.5"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="1"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="2"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="3"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="5"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="10"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="20"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="30"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="60"} 3
bulwark_request_duration_seconds_bucket{dependency="payments",le="+Inf"} 3
bulwark_request_duration_seconds_sum{dependency="payments"} 0.2548
bulwark_request_duration_seconds_count{dependency="payments"} 3
# HELP bulwark_attempt_duration_seconds Time from sending an attempt to its result or timeout.
# TYPE bulwark_attempt_duration_seconds histogram
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="5e-05"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.0001"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.0002"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.0003"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.0005"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.001"} 0
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.002"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.003"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.005"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.01"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.02"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.03"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.05"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.1"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.2"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.3"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.5"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="1"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="2"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="3"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="5"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="10"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="20"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="30"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="60"} 1
bulwark_attempt_duration_seconds_bucket{dependency="payments",le="+Inf"} 1
bulwark_attempt_duration_seconds_sum{dependency="payments"} 0.002
bulwark_attempt_duration_seconds_count{dependency="payments"} 1
)";

} // namespace

TEST_CASE("one dependency renders as exactly this text", "[runtime][metrics]") {
  auto text = render_prometheus({{"payments", small_stats()}});
  CHECK(text == small_expected);
}

TEST_CASE("each family is written once with the samples of every component",
          "[runtime][metrics]") {
  auto a = small_stats();
  dependency_stats b;
  b.requests = 9;
  auto text = render_prometheus({{"a", a}, {"b", b}});
  std::map<std::string, int> helps;
  std::map<std::string, int> types;
  std::string family;
  for (auto& line : lines_of(text)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      ++helps[name];
      family = name;
    } else if (line.rfind("# TYPE ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      ++types[name];
      CHECK(name == family);
    } else {
      // A sample belongs to the family announced last (histograms add
      // _bucket, _sum and _count).
      auto name = line.substr(0, line.find('{'));
      CHECK((name == family || name == family + "_bucket"
             || name == family + "_sum" || name == family + "_count"));
    }
  }
  CHECK(helps.size() == 70);
  for (auto& [name, n] : helps) {
    INFO(name);
    CHECK(n == 1);
    CHECK(types[name] == 1);
  }
  CHECK(
    samples_of(text, "bulwark_requests_total")
    == std::vector<std::string>{R"(bulwark_requests_total{dependency="a"} 3)",
                                R"(bulwark_requests_total{dependency="b"} 9)"});
}

TEST_CASE("a supervisor shows zeros where only dependencies count",
          "[runtime][metrics]") {
  supervisor_stats sup;
  sup.name = "checkout";
  sup.counters.restarts = 4;
  sup.counters.attempts = 12;
  sup.counters.ejections = 2;
  auto text =
    render_prometheus({metrics_source{"supervisor", "checkout", sup}});
  CHECK(samples_of(text, "bulwark_restarts_total")
        == std::vector<std::string>{
          R"(bulwark_restarts_total{supervisor="checkout"} 4)"});
  // No members: every member gauge is 0.
  CHECK(samples_of(text, "bulwark_members")
        == std::vector<std::string>{
          R"(bulwark_members{supervisor="checkout",state="running"} 0)",
          R"(bulwark_members{supervisor="checkout",state="unreachable"} 0)",
          R"(bulwark_members{supervisor="checkout",state="healthy"} 0)",
          R"(bulwark_members{supervisor="checkout",state="ejected"} 0)",
          R"(bulwark_members{supervisor="checkout",state="probing"} 0)"});
  CHECK(samples_of(text, "bulwark_requests_total")
        == std::vector<std::string>{
          R"(bulwark_requests_total{supervisor="checkout"} 0)"});
  CHECK(samples_of(text, "bulwark_attempts_total")
        == std::vector<std::string>{
          R"(bulwark_attempts_total{supervisor="checkout"} 12)"});
  CHECK(samples_of(text, "bulwark_ejections_total")
        == std::vector<std::string>{
          R"(bulwark_ejections_total{supervisor="checkout"} 2)"});
  for (auto& line : samples_of(text, "bulwark_breaker_state")) {
    INFO(line);
    CHECK(line.substr(line.size() - 2) == " 0");
  }
  auto buckets = samples_of(text, "bulwark_request_duration_seconds_bucket");
  REQUIRE(buckets.size() == latency_histogram::bound_count + 1);
  CHECK(
    buckets.back()
    == R"(bulwark_request_duration_seconds_bucket{supervisor="checkout",le="+Inf"} 0)");
  CHECK(samples_of(text, "bulwark_retries_total").size() == 7);
  // Dependency-only families have no supervisor samples.
  CHECK(samples_of(text, "bulwark_flag_actions_total").empty());
  CHECK(samples_of(text, "bulwark_rejected_total").size() == 4);
}

TEST_CASE("supervisor families carry samples for supervisors only",
          "[runtime][metrics]") {
  supervisor_stats sup;
  sup.counters.failovers = 7;
  sup.counters.escalations = 1;
  sup.counters.preliminary_replies = 3;
  auto member = [](std::string name, member_status st, member_health h) {
    supervisor_member_stats m;
    m.name = std::move(name);
    m.running =
      st == member_status::running || st == member_status::unreachable;
    m.status = st;
    m.health = h;
    return m;
  };
  sup.members = {
    member("a", member_status::unreachable, member_health::healthy),
    member("b", member_status::running, member_health::ejected),
    member("c", member_status::restarting, member_health::healthy)};
  std::vector<metrics_source> sources{
    metrics_source{"dependency", "payments", small_stats()},
    metrics_source{"supervisor", "checkout", sup}};
  auto text = render_prometheus(sources);
  CHECK(samples_of(text, "bulwark_failovers_total")
        == std::vector<std::string>{
          R"(bulwark_failovers_total{supervisor="checkout"} 7)"});
  CHECK(samples_of(text, "bulwark_escalations_total")
        == std::vector<std::string>{
          R"(bulwark_escalations_total{supervisor="checkout"} 1)"});
  CHECK(
    samples_of(text, "bulwark_supervisor_preliminary_replies_total")
    == std::vector<std::string>{
      R"(bulwark_supervisor_preliminary_replies_total{supervisor="checkout"} 3)"});
  CHECK(samples_of(text, "bulwark_members")
        == std::vector<std::string>{
          R"(bulwark_members{supervisor="checkout",state="running"} 2)",
          R"(bulwark_members{supervisor="checkout",state="unreachable"} 1)",
          R"(bulwark_members{supervisor="checkout",state="healthy"} 2)",
          R"(bulwark_members{supervisor="checkout",state="ejected"} 1)",
          R"(bulwark_members{supervisor="checkout",state="probing"} 0)"});
  // A supervisor's successes are its members' replies: `live`.
  sup.counters.replies_ok = 11;
  text = render_prometheus({metrics_source{"supervisor", "checkout", sup}});
  CHECK(
    samples_of(text, "bulwark_replies_total").at(0)
    == R"(bulwark_replies_total{supervisor="checkout",outcome="ok",source="live"} 11)");
  text = render_prometheus(sources);
  // Shared families hold both components, each once.
  CHECK(samples_of(text, "bulwark_requests_total").size() == 2);
}

TEST_CASE("label values are escaped and label names sanitized",
          "[runtime][metrics]") {
  CHECK(escape_label_value(R"(a\b"c)") == R"(a\\b\"c)");
  CHECK(escape_label_value("line\nbreak") == R"(line\nbreak)");
  CHECK(escape_label_value("plain-name.v2") == "plain-name.v2");
  dependency_stats stats;
  stats.requests = 1;
  auto text = render_prometheus({{"we\"ird\\na\nme", stats}});
  CHECK(samples_of(text, "bulwark_requests_total")
        == std::vector<std::string>{
          R"(bulwark_requests_total{dependency="we\"ird\\na\nme"} 1)"});
  std::vector<metrics_source> sources{{"9bad-label", "x", stats}};
  text = render_prometheus(sources);
  CHECK(
    samples_of(text, "bulwark_requests_total")
    == std::vector<std::string>{R"(bulwark_requests_total{_bad_label="x"} 1)"});
}

TEST_CASE("sample values use integers, shortest decimals and +Inf",
          "[runtime][metrics]") {
  CHECK(format_sample_value(3.0) == "3");
  CHECK(format_sample_value(0.25) == "0.25");
  CHECK(format_sample_value(5e-05) == "5e-05");
  CHECK(format_sample_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_sample_value(-std::numeric_limits<double>::infinity())
        == "-Inf");
  CHECK(format_sample_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("an HTTP service renders its counters under its own label",
          "[runtime][metrics]") {
  http_service_stats x;
  x.received = 7;
  x.overloaded = 2;
  x.ledger_duplicates = 3;
  x.in_flight = 1;
  x.preliminary_answers = 4;
  x.finals_expired = 5;
  auto text = render_prometheus(
    std::vector<metrics_source>{metrics_source{"service", "pay\"ments", x}});
  using lines = std::vector<std::string>;
  CHECK(
    samples_of(text, "bulwark_http_service_requests_total")
    == lines{R"(bulwark_http_service_requests_total{service="pay\"ments"} 7)"});
  auto rejected = samples_of(text, "bulwark_http_service_rejected_total");
  CHECK(rejected.size() == 6);
  CHECK(
    std::count(
      rejected.begin(), rejected.end(),
      R"(bulwark_http_service_rejected_total{service="pay\"ments",reason="overloaded"} 2)")
    == 1);
  auto ledger = samples_of(text, "bulwark_http_service_ledger_total");
  CHECK(
    std::count(
      ledger.begin(), ledger.end(),
      R"(bulwark_http_service_ledger_total{service="pay\"ments",verdict="duplicate"} 3)")
    == 1);
  CHECK(samples_of(text, "bulwark_http_service_in_flight")
        == lines{R"(bulwark_http_service_in_flight{service="pay\"ments"} 1)"});
  CHECK(
    samples_of(text, "bulwark_http_service_preliminary_answers_total")
    == lines{
      R"(bulwark_http_service_preliminary_answers_total{service="pay\"ments"} 4)"});
  CHECK(
    samples_of(text, "bulwark_http_service_finals_expired_total")
    == lines{
      R"(bulwark_http_service_finals_expired_total{service="pay\"ments"} 5)"});
  // A service has no dependency series.
  CHECK(samples_of(text, "bulwark_requests_total").empty());
}

TEST_CASE("an actor of a service host carries its kind as a second label",
          "[runtime][metrics]") {
  host_actor_stats x;
  x.crashes = 4;
  x.restarts = 3;
  x.given_up = 1;
  metrics_source src{"actor", "pay\"ments", x};
  src.extra_label = "kind";
  src.extra_value = "trans\nport";
  auto text = render_prometheus(std::vector<metrics_source>{src});
  using lines = std::vector<std::string>;
  CHECK(
    samples_of(text, "bulwark_host_crashes_total")
    == lines{
      R"(bulwark_host_crashes_total{actor="pay\"ments",kind="trans\nport"} 4)"});
  CHECK(
    samples_of(text, "bulwark_host_restarts_total")
    == lines{
      R"(bulwark_host_restarts_total{actor="pay\"ments",kind="trans\nport"} 3)"});
  CHECK(samples_of(text, "bulwark_host_given_up")
        == lines{
          R"(bulwark_host_given_up{actor="pay\"ments",kind="trans\nport"} 1)"});
}

TEST_CASE("no components still name every family", "[runtime][metrics]") {
  auto text = render_prometheus(std::vector<metrics_source>{});
  auto lines = lines_of(text);
  CHECK(lines.size() == 140);
  for (auto& line : lines)
    CHECK(line[0] == '#');
}
