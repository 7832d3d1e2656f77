#include "bulwark/runtime/metrics/metric_table.hpp"

#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"
#include "bulwark/runtime/objective/objective_window.hpp"

namespace bulwark {

std::string_view to_string(metric_kind x) noexcept {
  switch (x) {
    case metric_kind::counter:
      return "counter";
    case metric_kind::gauge:
      return "gauge";
    case metric_kind::histogram:
      return "histogram";
  }
  return "untyped";
}

std::size_t index_size(metric_index x) noexcept {
  switch (x) {
    case metric_index::none:
      return 1;
    case metric_index::failure_class:
      return failure_class_count;
    case metric_index::reply_source:
      return std::size(all_reply_sources);
    case metric_index::breaker_state:
      return std::size(all_breaker_states);
    case metric_index::member_health:
      return member_health_count;
    case metric_index::objective_window:
      return objective_window_count;
  }
  return 1;
}

std::string index_name(metric_index x, std::size_t i) {
  switch (x) {
    case metric_index::none:
      return {};
    case metric_index::failure_class:
      return to_string(all_failure_classes[i]);
    case metric_index::reply_source:
      return to_string(all_reply_sources[i]);
    case metric_index::breaker_state:
      return to_string(all_breaker_states[i]);
    case metric_index::member_health:
      return to_string(static_cast<member_health>(i));
    case metric_index::objective_window:
      return std::string{to_string(all_objective_windows[i])};
  }
  return {};
}

const std::vector<metric_family>& metric_families() {
  using k = metric_kind;
  static const std::vector<metric_family> families{
    // -- requests and replies ------------------------------------------------
    {"bulwark_requests_total", k::counter,
     "Calls received (logical requests, before admission)."},
    {"bulwark_invalid_requests_total", k::counter,
     "Calls refused as malformed (empty operation, unknown criticality)."},
    {"bulwark_replies_total", k::counter,
     "Replies sent, by outcome; successful ones by where the value came "
     "from."},
    {"bulwark_failures_total", k::counter, "Failed replies by failure class."},
    {"bulwark_in_flight", k::gauge, "Calls received and not answered yet."},
    // -- attempts, retries, hedges -------------------------------------------
    {"bulwark_attempts_total", k::counter,
     "Attempts sent to the transport, hedges included."},
    {"bulwark_attempt_failures_total", k::counter,
     "Failed attempts by failure class."},
    {"bulwark_attempt_timeouts_total", k::counter,
     "Attempts abandoned at their per-attempt timeout."},
    {"bulwark_retries_total", k::counter,
     "Retries scheduled, by the failure class that caused them."},
    {"bulwark_retries_denied_total", k::counter,
     "Retries the retry budget refused."},
    {"bulwark_hedges_total", k::counter, "Hedged attempts sent."},
    {"bulwark_hedges_won_total", k::counter,
     "Calls answered by a hedged attempt rather than the first one."},
    {"bulwark_hedges_denied_total", k::counter,
     "Hedges the retry budget refused."},
    {"bulwark_late_results_total", k::counter,
     "Attempt results that arrived after their call no longer wanted them "
     "(losing hedges, timed-out attempts)."},
    // -- admission -----------------------------------------------------------
    {"bulwark_rejected_total", k::counter,
     "Calls or attempts refused before reaching the dependency, by reason."},
    {"bulwark_flag_actions_total", k::counter,
     "What feature flags changed for calls: retries and hedges they "
     "switched off, calls they let past a disabled breaker."},
    {"bulwark_queued_total", k::counter,
     "Calls that waited in the concurrency limit's queue."},
    {"bulwark_adaptive_limit", k::gauge,
     "The concurrency limit the adaptive limit learned (0 while it is "
     "off)."},
    // -- cache and fallback --------------------------------------------------
    {"bulwark_cache_lookups_total", k::counter, "Cache lookups by result."},
    {"bulwark_cache_revalidations_total", k::counter,
     "Background refreshes of stale cache entries."},
    {"bulwark_fallbacks_total", k::counter, "Fallback steps taken, by kind."},
    // -- progressive delivery ------------------------------------------------
    {"bulwark_progressive_calls_total", k::counter,
     "Calls that asked for progressive delivery and waited for a soft "
     "deadline."},
    {"bulwark_progressive_replies_total", k::counter,
     "What progressive calls got: preliminary replies, soft deadlines with "
     "nothing to answer, finals after a preliminary, finals that changed "
     "it, cancels after it."},
    {"bulwark_preliminary_to_final_seconds", k::histogram,
     "Time from a preliminary reply to its final one."},
    // -- breaker and health --------------------------------------------------
    {"bulwark_breaker_state", k::gauge,
     "1 for the circuit breaker's current state, 0 for the others."},
    {"bulwark_breaker_transitions_total", k::counter,
     "Circuit breaker state changes."},
    {"bulwark_ejections_total", k::counter,
     "Members ejected as outliers (supervisors; 0 for dependencies)."},
    {"bulwark_transport_downs_total", k::counter,
     "Times the transport actor went down."},
    {"bulwark_probe_results_total", k::counter,
     "Active health probes of a dependency by outcome (success, failure, "
     "timeout, ignored)."},
    {"bulwark_probe_paused", k::gauge,
     "1 while an active health probe keeps the dependency's path paused "
     "(breaker forced open, reason probe)."},
    {"bulwark_probe_pauses_total", k::counter,
     "Times an active health probe paused the dependency's path."},
    // -- supervisors ---------------------------------------------------------
    {"bulwark_failovers_total", k::counter,
     "Calls rerouted to another member after a failure."},
    {"bulwark_failovers_denied_total", k::counter,
     "Failovers the retry budget refused."},
    {"bulwark_cancels_total", k::counter,
     "Attempts cancelled on a member (losing hedges)."},
    {"bulwark_no_member_total", k::counter,
     "Calls failed because no member could take them."},
    {"bulwark_deadline_exceeded_total", k::counter,
     "Calls failed at their deadline inside the supervisor."},
    {"bulwark_readmissions_total", k::counter,
     "Ejected members taken back into rotation."},
    {"bulwark_probes_total", k::counter,
     "Probe calls sent to ejected members."},
    {"bulwark_member_crashes_total", k::counter,
     "Member actors that went down."},
    {"bulwark_restarts_total", k::counter, "Members restarted after a crash."},
    {"bulwark_escalations_total", k::counter,
     "Times the restart intensity was exceeded and the supervisor "
     "escalated."},
    {"bulwark_supervisor_preliminary_replies_total", k::counter,
     "Preliminary answers of members passed on to the callers of "
     "progressive calls."},
    {"bulwark_members", k::gauge,
     "Members of a supervisor by state: running, unreachable (running, its "
     "node lost), and by health (healthy, ejected, probing)."},
    {"bulwark_config_reloads_total", k::counter,
     "Configuration documents received, by result."},
    // -- HTTP services ---------------------------------------------------------
    {"bulwark_http_service_requests_total", k::counter,
     "Well-formed HTTP requests that reached the service."},
    {"bulwark_http_service_dispatched_total", k::counter,
     "Requests handed to a route."},
    {"bulwark_http_service_rejected_total", k::counter,
     "Requests the service answered itself before any route, by reason."},
    {"bulwark_http_service_errors_total", k::counter,
     "Dispatched requests that got no answer from their route, by reason."},
    {"bulwark_http_service_route_restarts_total", k::counter,
     "Route actors started again after one died."},
    {"bulwark_http_service_ledger_total", k::counter,
     "Idempotency ledger verdicts over all ledger routes."},
    {"bulwark_http_service_ledger_replayed_total", k::counter,
     "Ledger journal records replayed at start."},
    {"bulwark_http_service_ledger_journaled_total", k::counter,
     "Ledger records appended and synced to journals."},
    {"bulwark_http_service_shed_total", k::counter,
     "Requests shed by overload control, by criticality."},
    {"bulwark_http_service_started_newest_first_total", k::counter,
     "Requests started newest first because their route was overloaded."},
    {"bulwark_http_service_queued", k::gauge,
     "Requests waiting in the routes' overload-control queues."},
    {"bulwark_http_service_overloaded_routes", k::gauge,
     "Routes whose overload-control queue counts as overloaded."},
    {"bulwark_http_service_preliminary_answers_total", k::counter,
     "Preliminary answers sent by progressive routes (streamed or plain)."},
    {"bulwark_http_service_finals_fetched_total", k::counter,
     "Final answers fetched from the result store of plain progressive "
     "routes."},
    {"bulwark_http_service_finals_expired_total", k::counter,
     "Final answers dropped from the result store unfetched (expired or "
     "evicted)."},
    {"bulwark_http_service_in_flight", k::gauge,
     "Requests admitted and not answered yet."},
    // -- service host --------------------------------------------------------
    {"bulwark_host_crashes_total", k::counter,
     "Actors a service host restarts itself that stopped unexpectedly."},
    {"bulwark_host_restarts_total", k::counter,
     "Actors a service host started again after they stopped."},
    {"bulwark_host_given_up", k::gauge,
     "1 for an actor the service host gave up restarting, else 0."},
    // -- objectives ----------------------------------------------------------
    {"bulwark_objective_events_total", k::counter,
     "Calls answered while objectives were on (the objectives' events)."},
    {"bulwark_objective_bad_events_total", k::counter,
     "Answered calls that failed an objective: a failed reply "
     "(availability) or one slower than the threshold (latency)."},
    {"bulwark_objective_target_ratio", k::gauge,
     "The objective's target share of good calls; 0 when not tracked."},
    {"bulwark_objective_latency_threshold_seconds", k::gauge,
     "Calls answered later than this fail the latency objective."},
    {"bulwark_objective_burn_rate", k::gauge,
     "Error-budget burn rate over the window: the share of bad calls "
     "divided by the budget (1 - target); 1 spends the budget exactly."},
    // -- latency -------------------------------------------------------------
    {"bulwark_request_duration_seconds", k::histogram,
     "Time from receiving a call to sending its reply."},
    {"bulwark_attempt_duration_seconds", k::histogram,
     "Time from sending an attempt to its result or timeout."},
  };
  return families;
}

// Accessors: a field of the stats, one entry of an array field.
#define BULWARK_FIELD(stats, field) \
  [](const stats& s, std::size_t) -> std::uint64_t { return s.field; }
#define BULWARK_ENTRY(stats, field) \
  [](const stats& s, std::size_t i) -> std::uint64_t { return s.field[i]; }

namespace {

using dep = dependency_stats;
using sup = supervisor_stats;
using mi = metric_index;

/// A row with one fixed label.
template <class S>
metric_row<S> labelled(std::string_view family, std::string_view key,
                       std::string_view label, std::string_view value,
                       std::uint64_t (*read)(const S&, std::size_t)) {
  metric_row<S> r;
  r.family = family;
  r.key = key;
  r.labels[0] = metric_label{label, value};
  r.read = read;
  return r;
}

/// A row split by `index`, labelled `index_label`.
template <class S>
metric_row<S> by_index(std::string_view family, std::string_view key, mi index,
                       std::string_view index_label,
                       std::uint64_t (*read)(const S&, std::size_t)) {
  metric_row<S> r;
  r.family = family;
  r.key = key;
  r.index = index;
  r.index_label = index_label;
  r.read = read;
  return r;
}

/// A row of a value kept in integers `divisor` to the unit (divided back
/// when written).
template <class S>
metric_row<S>
scaled(std::string_view family, std::string_view key, std::string_view label,
       std::string_view value, mi index, std::string_view index_label,
       std::uint64_t (*read)(const S&, std::size_t), double divisor) {
  metric_row<S> r;
  r.family = family;
  r.key = key;
  if (!label.empty())
    r.labels[0] = metric_label{label, value};
  r.index = index;
  r.index_label = index_label;
  r.read = read;
  r.divisor = divisor;
  return r;
}

template <class S>
metric_row<S> histogram(std::string_view family, std::string_view key,
                        const latency_histogram* (*read)(const S&)) {
  metric_row<S> r;
  r.family = family;
  r.key = key;
  r.histogram = read;
  return r;
}

/// The objective rows (objective_stats at `.objective`), shared by the
/// components that have objectives: dependencies and HTTP services.
template <class S>
std::vector<metric_row<S>> with_objective_rows(std::vector<metric_row<S>> v) {
  std::vector<metric_row<S>> rows{
    metric_row<S>{"bulwark_objective_events_total",
                  "objective_events",
                  {},
                  mi::none,
                  {},
                  BULWARK_FIELD(S, objective.events)},
    labelled<S>("bulwark_objective_bad_events_total",
                "objective_bad_availability", "objective", "availability",
                BULWARK_FIELD(S, objective.bad_availability)),
    labelled<S>("bulwark_objective_bad_events_total", "objective_bad_latency",
                "objective", "latency",
                BULWARK_FIELD(S, objective.bad_latency)),
    scaled<S>("bulwark_objective_target_ratio", "objective_availability_target",
              "objective", "availability", mi::none, {},
              BULWARK_FIELD(S, objective.availability_target_ppm), 1e6),
    scaled<S>("bulwark_objective_target_ratio", "objective_latency_target",
              "objective", "latency", mi::none, {},
              BULWARK_FIELD(S, objective.latency_target_ppm), 1e6),
    scaled<S>("bulwark_objective_latency_threshold_seconds",
              "objective_latency_threshold", {}, {}, mi::none, {},
              BULWARK_FIELD(S, objective.latency_threshold_ns), 1e9),
    scaled<S>("bulwark_objective_burn_rate", "objective_availability_burn_rate",
              "objective", "availability", mi::objective_window, "window",
              BULWARK_ENTRY(S, objective.availability_burn_milli), 1e3),
    scaled<S>("bulwark_objective_burn_rate", "objective_latency_burn_rate",
              "objective", "latency", mi::objective_window, "window",
              BULWARK_ENTRY(S, objective.latency_burn_milli), 1e3),
  };
  v.insert(v.end(), rows.begin(), rows.end());
  return v;
}

} // namespace

const std::vector<metric_row<dependency_stats>>& dependency_metric_rows() {
  using row = metric_row<dep>;
  static const std::vector<row> rows = with_objective_rows<dep>({
    row{"bulwark_requests_total",
        "requests",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, requests)},
    row{"bulwark_invalid_requests_total",
        "invalid",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, invalid)},
    // JSON only: the sum of replies_by_source.
    row{"", "replies_ok", {}, mi::none, {}, BULWARK_FIELD(dep, replies_ok)},
    row{"bulwark_replies_total",
        "replies_by_source",
        {metric_label{"outcome", "ok"}},
        mi::reply_source,
        "source",
        BULWARK_ENTRY(dep, replies_by_source)},
    labelled<dep>("bulwark_replies_total", "replies_failed", "outcome",
                  "failed", BULWARK_FIELD(dep, replies_failed)),
    by_index<dep>("bulwark_failures_total", "failures_by_class",
                  mi::failure_class, "class",
                  BULWARK_ENTRY(dep, failures_by_class)),
    row{"bulwark_in_flight",
        "in_flight",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, in_flight)},
    row{"bulwark_attempts_total",
        "attempts",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, attempts)},
    by_index<dep>("bulwark_attempt_failures_total", "attempt_failures_by_class",
                  mi::failure_class, "class",
                  BULWARK_ENTRY(dep, attempt_failures_by_class)),
    row{"bulwark_attempt_timeouts_total",
        "attempt_timeouts",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, attempt_timeouts)},
    // JSON only: the sum of retries_by_class.
    row{"", "retries", {}, mi::none, {}, BULWARK_FIELD(dep, retries)},
    by_index<dep>("bulwark_retries_total", "retries_by_class",
                  mi::failure_class, "reason",
                  BULWARK_ENTRY(dep, retries_by_class)),
    row{"bulwark_retries_denied_total",
        "retries_denied_budget",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, retries_denied_budget)},
    row{"bulwark_hedges_total",
        "hedges",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, hedges)},
    row{"bulwark_hedges_won_total",
        "hedges_won",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, hedges_won)},
    row{"bulwark_hedges_denied_total",
        "hedges_denied_budget",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, hedges_denied_budget)},
    row{"bulwark_late_results_total",
        "late_results",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, late_results)},
    labelled<dep>("bulwark_rejected_total", "rejected_breaker", "reason",
                  "breaker", BULWARK_FIELD(dep, rejected_breaker)),
    labelled<dep>("bulwark_rejected_total", "rejected_bulkhead", "reason",
                  "bulkhead", BULWARK_FIELD(dep, rejected_bulkhead)),
    labelled<dep>("bulwark_rejected_total", "shed", "reason", "shed",
                  BULWARK_FIELD(dep, shed)),
    labelled<dep>("bulwark_rejected_total", "queue_timeouts", "reason",
                  "queue_timeout", BULWARK_FIELD(dep, queue_timeouts)),
    labelled<dep>("bulwark_rejected_total", "rejected_flag", "reason", "flag",
                  BULWARK_FIELD(dep, rejected_flag)),
    labelled<dep>("bulwark_rejected_total", "rejected_throttle", "reason",
                  "throttle", BULWARK_FIELD(dep, rejected_throttle)),
    labelled<dep>("bulwark_rejected_total", "shed_deadline", "reason",
                  "deadline", BULWARK_FIELD(dep, shed_deadline)),
    labelled<dep>("bulwark_rejected_total", "rejected_probe", "reason", "probe",
                  BULWARK_FIELD(dep, rejected_probe)),
    labelled<dep>("bulwark_flag_actions_total", "retries_suppressed_flag",
                  "action", "retry_suppressed",
                  BULWARK_FIELD(dep, retries_suppressed_flag)),
    labelled<dep>("bulwark_flag_actions_total", "hedges_suppressed_flag",
                  "action", "hedge_suppressed",
                  BULWARK_FIELD(dep, hedges_suppressed_flag)),
    labelled<dep>("bulwark_flag_actions_total", "breaker_bypassed_flag",
                  "action", "breaker_bypassed",
                  BULWARK_FIELD(dep, breaker_bypassed_flag)),
    row{"bulwark_queued_total",
        "queued",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, queued)},
    row{"bulwark_adaptive_limit",
        "adaptive_limit",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, adaptive_limit)},
    labelled<dep>("bulwark_cache_lookups_total", "cache_hits", "result", "hit",
                  BULWARK_FIELD(dep, cache_hits)),
    labelled<dep>("bulwark_cache_lookups_total", "cache_stale_hits", "result",
                  "stale", BULWARK_FIELD(dep, cache_stale_hits)),
    labelled<dep>("bulwark_cache_lookups_total", "cache_misses", "result",
                  "miss", BULWARK_FIELD(dep, cache_misses)),
    row{"bulwark_cache_revalidations_total",
        "revalidations",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, revalidations)},
    // `kind` values are the config names of fallback steps (fallback_kind).
    labelled<dep>("bulwark_fallbacks_total", "fallbacks_stale", "kind",
                  "stale_cache", BULWARK_FIELD(dep, fallbacks_stale)),
    labelled<dep>("bulwark_fallbacks_total", "fallbacks_static", "kind",
                  "static", BULWARK_FIELD(dep, fallbacks_static)),
    labelled<dep>("bulwark_fallbacks_total", "fallbacks_alternate", "kind",
                  "alternate", BULWARK_FIELD(dep, fallbacks_alternate)),
    row{"bulwark_progressive_calls_total",
        "progressive_calls",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, progressive_calls)},
    labelled<dep>("bulwark_progressive_replies_total", "preliminary_replies",
                  "kind", "preliminary",
                  BULWARK_FIELD(dep, preliminary_replies)),
    labelled<dep>("bulwark_progressive_replies_total",
                  "preliminary_unavailable", "kind", "unavailable",
                  BULWARK_FIELD(dep, preliminary_unavailable)),
    labelled<dep>("bulwark_progressive_replies_total",
                  "finals_after_preliminary", "kind", "final",
                  BULWARK_FIELD(dep, finals_after_preliminary)),
    labelled<dep>("bulwark_progressive_replies_total", "finals_contradicted",
                  "kind", "contradicted",
                  BULWARK_FIELD(dep, finals_contradicted)),
    labelled<dep>("bulwark_progressive_replies_total",
                  "cancelled_after_preliminary", "kind", "cancelled",
                  BULWARK_FIELD(dep, cancelled_after_preliminary)),
    labelled<dep>("bulwark_fallbacks_total", "fallbacks_fail_fast", "kind",
                  "fail_fast", BULWARK_FIELD(dep, fallbacks_fail_fast)),
    by_index<dep>(
      "bulwark_breaker_state", "breaker_state", mi::breaker_state, "state",
      [](const dep& s, std::size_t i) -> std::uint64_t {
        return static_cast<std::size_t>(s.breaker) == i ? 1 : 0;
      }),
    row{"bulwark_breaker_transitions_total",
        "breaker_transitions",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, breaker_transitions)},
    // Dependencies eject nothing: 0, so the family has the same series.
    row{"bulwark_ejections_total", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_transport_downs_total",
        "transport_downs",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, transport_downs)},
    labelled<dep>("bulwark_probe_results_total", "probes_success", "outcome",
                  "success", BULWARK_FIELD(dep, probes_success)),
    labelled<dep>("bulwark_probe_results_total", "probes_failure", "outcome",
                  "failure", BULWARK_FIELD(dep, probes_failure)),
    labelled<dep>("bulwark_probe_results_total", "probes_timeout", "outcome",
                  "timeout", BULWARK_FIELD(dep, probes_timeout)),
    labelled<dep>("bulwark_probe_results_total", "probes_ignored", "outcome",
                  "ignored", BULWARK_FIELD(dep, probes_ignored)),
    row{"bulwark_probe_paused",
        "probe_paused",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, probe_paused)},
    row{"bulwark_probe_pauses_total",
        "probe_pauses",
        {},
        mi::none,
        {},
        BULWARK_FIELD(dep, probe_pauses)},
    labelled<dep>("bulwark_config_reloads_total", "config_applied", "result",
                  "applied", BULWARK_FIELD(dep, config_applied)),
    labelled<dep>("bulwark_config_reloads_total", "config_rejected", "result",
                  "rejected", BULWARK_FIELD(dep, config_rejected)),
    histogram<dep>("bulwark_request_duration_seconds", "request_latency",
                   [](const dep& s) { return &s.request_latency; }),
    histogram<dep>("bulwark_attempt_duration_seconds", "attempt_latency",
                   [](const dep& s) { return &s.attempt_latency; }),
    histogram<dep>("bulwark_preliminary_to_final_seconds",
                   "preliminary_to_final",
                   [](const dep& s) { return &s.preliminary_to_final; }),
  });
  return rows;
}

const std::vector<metric_row<supervisor_stats>>& supervisor_metric_rows() {
  using row = metric_row<sup>;
  // A constant 0 with one fixed label: a dependency counter supervisors do
  // not have, written so both kinds show the same series.
  auto zero = [](std::string_view family, std::string_view label,
                 std::string_view value) {
    return labelled<sup>(family, {}, label, value, nullptr);
  };
  static const std::vector<row> rows{
    row{"bulwark_requests_total",
        "requests",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.requests)},
    row{"bulwark_invalid_requests_total", {}, {}, mi::none, {}, nullptr},
    // A supervisor's successes are its members' replies: `live`.
    row{"bulwark_replies_total",
        "replies_ok",
        {metric_label{"outcome", "ok"}, metric_label{"source", "live"}},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.replies_ok)},
    row{"bulwark_replies_total",
        {},
        {metric_label{"outcome", "ok"}, metric_label{"source", "fresh_cache"}},
        mi::none,
        {},
        nullptr},
    row{"bulwark_replies_total",
        {},
        {metric_label{"outcome", "ok"}, metric_label{"source", "stale_cache"}},
        mi::none,
        {},
        nullptr},
    row{"bulwark_replies_total",
        {},
        {metric_label{"outcome", "ok"},
         metric_label{"source", "static_fallback"}},
        mi::none,
        {},
        nullptr},
    row{"bulwark_replies_total",
        {},
        {metric_label{"outcome", "ok"}, metric_label{"source", "alternate"}},
        mi::none,
        {},
        nullptr},
    labelled<sup>("bulwark_replies_total", "replies_failed", "outcome",
                  "failed", BULWARK_FIELD(sup, counters.replies_failed)),
    by_index<sup>("bulwark_failures_total", {}, mi::failure_class, "class",
                  nullptr),
    row{"bulwark_in_flight",
        "in_flight",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, in_flight)},
    row{"bulwark_attempts_total",
        "attempts",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.attempts)},
    by_index<sup>("bulwark_attempt_failures_total", {}, mi::failure_class,
                  "class", nullptr),
    row{"bulwark_attempt_timeouts_total", {}, {}, mi::none, {}, nullptr},
    by_index<sup>("bulwark_retries_total", {}, mi::failure_class, "reason",
                  nullptr),
    row{"bulwark_retries_denied_total", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_hedges_total",
        "hedges",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.hedges)},
    row{"bulwark_hedges_won_total",
        "hedges_won",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.hedges_won)},
    row{"bulwark_hedges_denied_total",
        "hedges_denied_budget",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.hedges_denied_budget)},
    row{"bulwark_late_results_total",
        "late_results",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.late_results)},
    zero("bulwark_rejected_total", "reason", "breaker"),
    zero("bulwark_rejected_total", "reason", "bulkhead"),
    zero("bulwark_rejected_total", "reason", "shed"),
    zero("bulwark_rejected_total", "reason", "queue_timeout"),
    row{"bulwark_queued_total", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_adaptive_limit", {}, {}, mi::none, {}, nullptr},
    zero("bulwark_cache_lookups_total", "result", "hit"),
    zero("bulwark_cache_lookups_total", "result", "stale"),
    zero("bulwark_cache_lookups_total", "result", "miss"),
    row{"bulwark_cache_revalidations_total", {}, {}, mi::none, {}, nullptr},
    zero("bulwark_fallbacks_total", "kind", "stale_cache"),
    zero("bulwark_fallbacks_total", "kind", "static"),
    zero("bulwark_fallbacks_total", "kind", "alternate"),
    zero("bulwark_fallbacks_total", "kind", "fail_fast"),
    by_index<sup>("bulwark_breaker_state", {}, mi::breaker_state, "state",
                  nullptr),
    row{"bulwark_breaker_transitions_total", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_ejections_total",
        "ejections",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.ejections)},
    row{"bulwark_transport_downs_total", {}, {}, mi::none, {}, nullptr},
    zero("bulwark_probe_results_total", "outcome", "success"),
    zero("bulwark_probe_results_total", "outcome", "failure"),
    zero("bulwark_probe_results_total", "outcome", "timeout"),
    zero("bulwark_probe_results_total", "outcome", "ignored"),
    row{"bulwark_probe_paused", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_probe_pauses_total", {}, {}, mi::none, {}, nullptr},
    row{"bulwark_failovers_total",
        "failovers",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.failovers)},
    row{"bulwark_failovers_denied_total",
        "failovers_denied_budget",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.failovers_denied_budget)},
    row{"bulwark_cancels_total",
        "cancels",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.cancels)},
    row{"bulwark_no_member_total",
        "no_member",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.no_member)},
    row{"bulwark_deadline_exceeded_total",
        "deadline_exceeded",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.deadline_exceeded)},
    row{"bulwark_readmissions_total",
        "readmissions",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.readmissions)},
    row{"bulwark_probes_total",
        "probes",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.probes)},
    row{"bulwark_member_crashes_total",
        "member_crashes",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.member_crashes)},
    row{"bulwark_restarts_total",
        "restarts",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.restarts)},
    row{"bulwark_escalations_total",
        "escalations",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.escalations)},
    row{"bulwark_supervisor_preliminary_replies_total",
        "preliminary_replies",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.preliminary_replies)},
    // JSON only: no family yet.
    row{"", "parked", {}, mi::none, {}, BULWARK_FIELD(sup, counters.parked)},
    row{"",
        "cancelled_after_preliminary",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.cancelled_after_preliminary)},
    row{"",
        "cooldowns",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.cooldowns)},
    row{"",
        "unreachable_events",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.unreachable_events)},
    row{"",
        "reach_ignored",
        {},
        mi::none,
        {},
        BULWARK_FIELD(sup, counters.reach_ignored)},
    // Counted from `members` (which the JSON carries whole).
    labelled<sup>("bulwark_members", {}, "state", "running",
                  [](const sup& s, std::size_t) -> std::uint64_t {
                    return s.running_members();
                  }),
    labelled<sup>("bulwark_members", {}, "state", "unreachable",
                  [](const sup& s, std::size_t) -> std::uint64_t {
                    return s.members_in(member_status::unreachable);
                  }),
    by_index<sup>("bulwark_members", {}, mi::member_health, "state",
                  [](const sup& s, std::size_t i) -> std::uint64_t {
                    return s.members_in(static_cast<member_health>(i));
                  }),
    zero("bulwark_config_reloads_total", "result", "applied"),
    zero("bulwark_config_reloads_total", "result", "rejected"),
    histogram<sup>("bulwark_request_duration_seconds", {}, nullptr),
    histogram<sup>("bulwark_attempt_duration_seconds", {}, nullptr),
  };
  return rows;
}

const std::vector<metric_row<http_service_stats>>& http_service_metric_rows() {
  using http = http_service_stats;
  using row = metric_row<http>;
  auto one = [](std::string_view family, std::string_view key,
                std::uint64_t (*read)(const http&, std::size_t)) {
    return row{family, key, {}, mi::none, {}, read};
  };
  auto by = [](std::string_view family, std::string_view label,
               std::string_view value,
               std::uint64_t (*read)(const http&, std::size_t)) {
    return labelled<http>(family, value, label, value, read);
  };
  static const std::vector<row> rows = with_objective_rows<http>({
    one("bulwark_http_service_requests_total", "received",
        BULWARK_FIELD(http, received)),
    one("bulwark_http_service_dispatched_total", "dispatched",
        BULWARK_FIELD(http, dispatched)),
    by("bulwark_http_service_rejected_total", "reason", "not_found",
       BULWARK_FIELD(http, not_found)),
    by("bulwark_http_service_rejected_total", "reason", "method_not_allowed",
       BULWARK_FIELD(http, method_not_allowed)),
    by("bulwark_http_service_rejected_total", "reason", "bad_request",
       BULWARK_FIELD(http, bad_requests)),
    by("bulwark_http_service_rejected_total", "reason", "expired_on_arrival",
       BULWARK_FIELD(http, expired_on_arrival)),
    by("bulwark_http_service_rejected_total", "reason", "overloaded",
       BULWARK_FIELD(http, overloaded)),
    by("bulwark_http_service_rejected_total", "reason", "shut_down",
       BULWARK_FIELD(http, shut_down)),
    by("bulwark_http_service_errors_total", "reason", "timed_out",
       BULWARK_FIELD(http, timed_out)),
    by("bulwark_http_service_errors_total", "reason", "unavailable",
       BULWARK_FIELD(http, unavailable)),
    by("bulwark_http_service_errors_total", "reason", "route_failure",
       BULWARK_FIELD(http, route_failures)),
    by("bulwark_http_service_errors_total", "reason", "expired_in_queue",
       BULWARK_FIELD(http, expired_in_queue)),
    by("bulwark_http_service_shed_total", "criticality", "critical",
       BULWARK_FIELD(http, shed_critical)),
    by("bulwark_http_service_shed_total", "criticality", "standard",
       BULWARK_FIELD(http, shed_standard)),
    by("bulwark_http_service_shed_total", "criticality", "sheddable",
       BULWARK_FIELD(http, shed_sheddable)),
    one("bulwark_http_service_started_newest_first_total",
        "started_newest_first", BULWARK_FIELD(http, started_newest_first)),
    one("bulwark_http_service_queued", "queued", BULWARK_FIELD(http, queued)),
    one("bulwark_http_service_overloaded_routes", "overloaded_routes",
        BULWARK_FIELD(http, overloaded_routes)),
    one("bulwark_http_service_route_restarts_total", "route_restarts",
        BULWARK_FIELD(http, route_restarts)),
    by("bulwark_http_service_ledger_total", "verdict", "executed",
       BULWARK_FIELD(http, ledger_executed)),
    by("bulwark_http_service_ledger_total", "verdict", "duplicate",
       BULWARK_FIELD(http, ledger_duplicates)),
    by("bulwark_http_service_ledger_total", "verdict", "wait",
       BULWARK_FIELD(http, ledger_waits)),
    by("bulwark_http_service_ledger_total", "verdict", "rejected",
       BULWARK_FIELD(http, ledger_rejected)),
    one("bulwark_http_service_ledger_replayed_total", "ledger_replayed",
        BULWARK_FIELD(http, ledger_replayed)),
    one("bulwark_http_service_ledger_journaled_total", "ledger_journaled",
        BULWARK_FIELD(http, ledger_journaled)),
    one("bulwark_http_service_preliminary_answers_total", "preliminary_answers",
        BULWARK_FIELD(http, preliminary_answers)),
    one("bulwark_http_service_finals_fetched_total", "finals_fetched",
        BULWARK_FIELD(http, finals_fetched)),
    one("bulwark_http_service_finals_expired_total", "finals_expired",
        BULWARK_FIELD(http, finals_expired)),
    one("bulwark_http_service_in_flight", "in_flight",
        BULWARK_FIELD(http, in_flight)),
  });
  return rows;
}

const std::vector<metric_row<host_actor_stats>>& host_actor_metric_rows() {
  using host = host_actor_stats;
  using row = metric_row<host>;
  static const std::vector<row> rows{
    row{"bulwark_host_crashes_total",
        "crashes",
        {},
        mi::none,
        {},
        BULWARK_FIELD(host, crashes)},
    row{"bulwark_host_restarts_total",
        "restarts",
        {},
        mi::none,
        {},
        BULWARK_FIELD(host, restarts)},
    row{"bulwark_host_given_up",
        "given_up",
        {},
        mi::none,
        {},
        BULWARK_FIELD(host, given_up)},
  };
  return rows;
}

#undef BULWARK_FIELD
#undef BULWARK_ENTRY

template <class Stats>
void append_json(const std::vector<metric_row<Stats>>& rows, const Stats& x,
                 boost::json::object& out) {
  for (auto& r : rows) {
    if (r.key.empty() || r.zero())
      continue;
    if (r.histogram != nullptr) {
      out[r.key] = to_json(*r.histogram(x));
    } else if (r.divisor != 1.0) {
      // Scaled values are numbers in their own unit (a ratio, seconds).
      if (r.index == metric_index::none) {
        out[r.key] = static_cast<double>(r.read(x, 0)) / r.divisor;
      } else {
        boost::json::object by;
        for (std::size_t i = 0; i < index_size(r.index); ++i)
          by[index_name(r.index, i)] =
            static_cast<double>(r.read(x, i)) / r.divisor;
        out[r.key] = std::move(by);
      }
    } else if (r.index == metric_index::none) {
      out[r.key] = r.read(x, 0);
    } else if (r.index == metric_index::breaker_state) {
      for (std::size_t i = 0; i < index_size(r.index); ++i)
        if (r.read(x, i) != 0)
          out[r.key] = index_name(r.index, i);
    } else {
      boost::json::object by;
      for (std::size_t i = 0; i < index_size(r.index); ++i)
        by[index_name(r.index, i)] = r.read(x, i);
      out[r.key] = std::move(by);
    }
  }
}

template void append_json(const std::vector<metric_row<dependency_stats>>&,
                          const dependency_stats&, boost::json::object&);
template void append_json(const std::vector<metric_row<supervisor_stats>>&,
                          const supervisor_stats&, boost::json::object&);
template void append_json(const std::vector<metric_row<http_service_stats>>&,
                          const http_service_stats&, boost::json::object&);
template void append_json(const std::vector<metric_row<host_actor_stats>>&,
                          const host_actor_stats&, boost::json::object&);

} // namespace bulwark
