#include "runtime/dependency/dependency_stats.hpp"

namespace bulwark {

boost::json::object to_json(const dependency_stats& x) {
  boost::json::object by_class;
  boost::json::object attempt_by_class;
  boost::json::object retries_by_class;
  for (auto cls : all_failure_classes) {
    by_class[to_string(cls)] = x.failures_by_class[static_cast<int>(cls)];
    attempt_by_class[to_string(cls)] =
      x.attempt_failures_by_class[static_cast<int>(cls)];
    retries_by_class[to_string(cls)] =
      x.retries_by_class[static_cast<int>(cls)];
  }
  boost::json::object by_source;
  for (int i = 0; i < 5; ++i)
    by_source[to_string(static_cast<reply_source>(i))] = x.replies_by_source[i];
  return boost::json::object{
    {"requests", x.requests},
    {"invalid", x.invalid},
    {"replies_ok", x.replies_ok},
    {"replies_failed", x.replies_failed},
    {"replies_by_source", std::move(by_source)},
    {"failures_by_class", std::move(by_class)},
    {"in_flight", x.in_flight},
    {"attempts", x.attempts},
    {"attempt_failures_by_class", std::move(attempt_by_class)},
    {"retries", x.retries},
    {"retries_by_class", std::move(retries_by_class)},
    {"retries_denied_budget", x.retries_denied_budget},
    {"hedges", x.hedges},
    {"hedges_won", x.hedges_won},
    {"hedges_denied_budget", x.hedges_denied_budget},
    {"late_results", x.late_results},
    {"attempt_timeouts", x.attempt_timeouts},
    {"rejected_breaker", x.rejected_breaker},
    {"rejected_bulkhead", x.rejected_bulkhead},
    {"shed", x.shed},
    {"rejected_flag", x.rejected_flag},
    {"retries_suppressed_flag", x.retries_suppressed_flag},
    {"hedges_suppressed_flag", x.hedges_suppressed_flag},
    {"breaker_bypassed_flag", x.breaker_bypassed_flag},
    {"queue_timeouts", x.queue_timeouts},
    {"queued", x.queued},
    {"cache_hits", x.cache_hits},
    {"cache_stale_hits", x.cache_stale_hits},
    {"cache_misses", x.cache_misses},
    {"revalidations", x.revalidations},
    {"fallbacks_stale", x.fallbacks_stale},
    {"fallbacks_static", x.fallbacks_static},
    {"fallbacks_alternate", x.fallbacks_alternate},
    {"fallbacks_fail_fast", x.fallbacks_fail_fast},
    {"breaker_transitions", x.breaker_transitions},
    {"breaker_state", to_string(x.breaker)},
    {"transport_downs", x.transport_downs},
    {"config_applied", x.config_applied},
    {"config_rejected", x.config_rejected},
    {"request_latency", to_json(x.request_latency)},
    {"attempt_latency", to_json(x.attempt_latency)},
  };
}

} // namespace bulwark
