// The policy state of one dependency: breaker, budget, cache, concurrency
// limit (and the adaptive limit that may drive it), client-side throttle,
// hedge latency tracker, journey log, counters, feature flags and the active
// health probe (whose pause is the breaker's probe hold). It lives
// outside the dependency's core and actor (shared_ptr) so that it outlives
// them: a supervisor that restarts a crashed dependency actor hands the same
// state to the new one, and the breaker stays open, the budget stays spent,
// the cache stays warm, the flags stay set. Only one core uses it at a time;
// it has no locks.
#pragma once

#include <memory>

#include "bulwark/runtime/admission/adaptive_limit.hpp"
#include "bulwark/runtime/admission/client_throttle.hpp"
#include "bulwark/runtime/objective/objective_tracker.hpp"
#include "bulwark/runtime/breaker/circuit_breaker.hpp"
#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/bulkhead/bulkhead.hpp"
#include "bulwark/runtime/cache/response_cache.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/dependency/dependency_stats.hpp"
#include "bulwark/runtime/flags/feature_flags.hpp"
#include "bulwark/runtime/hedge/hedge_policy.hpp"
#include "bulwark/runtime/journey/journey_log.hpp"
#include "bulwark/runtime/probe/probe_core.hpp"

namespace bulwark {

struct dependency_policies : breaker_listener {
  explicit dependency_policies(const dependency_config& cfg)
    : breaker(cfg.breaker),
      budget(cfg.budget),
      cache(cfg.cache),
      adaptive(cfg.effective_adaptive_limit()),
      throttle(cfg.throttle),
      limit(cfg.effective_bulkhead(adaptive.limit())),
      hedge(cfg.hedge),
      journeys(cfg.journeys),
      objective(cfg.objective),
      probe(cfg.probe) {
    breaker.set_listener(this);
    adaptive_on = cfg.adaptive_limit.enabled;
    stats.adaptive_limit = adaptive_on ? adaptive.limit() : 0;
    throttle_on = cfg.throttle.enabled;
    shedding_on = cfg.deadline_shedding.enabled;
    // The config's mode may start the breaker forced open or disabled,
    // which emits no event.
    stats.breaker = breaker.state();
  }

  dependency_policies(const dependency_policies&) = delete;
  dependency_policies& operator=(const dependency_policies&) = delete;

  /// Applies a new config to the long-lived state, keeping what still fits
  /// (breaker state, budget balance, cached entries within the new bound).
  void reconfigure(const dependency_config& cfg, time_point now) {
    breaker.reconfigure(cfg.breaker, now);
    budget.reconfigure(cfg.budget);
    cache.reconfigure(cfg.cache);
    if (auto a = cfg.effective_adaptive_limit(); a != adaptive.config())
      adaptive.reconfigure(a);
    adaptive_on = cfg.adaptive_limit.enabled;
    stats.adaptive_limit = adaptive_on ? adaptive.limit() : 0;
    if (cfg.throttle != throttle.config())
      throttle.reconfigure(cfg.throttle);
    throttle_on = cfg.throttle.enabled;
    shedding_on = cfg.deadline_shedding.enabled;
    limit.resize(cfg.effective_bulkhead(adaptive.limit()));
    hedge.reconfigure(cfg.hedge);
    if (!(journeys.config() == cfg.journeys))
      journeys = journey_log{cfg.journeys};
    if (cfg.objective != objective.config())
      objective.reconfigure(cfg.objective);
    // Switching probing off resumes a path it paused (the only action a
    // reconfiguration gives).
    probe_action_list acts;
    probe.reconfigure(cfg.probe, now, acts);
    apply_probe(acts, now);
  }

  /// Carries out the pauses and resumes among a probe's actions (the
  /// breaker's probe hold, which composes with an operator's forced-open:
  /// circuit_breaker::hold_for_probe) and refreshes the probe's stats. The
  /// `send_probe` actions are the owner's to send.
  void apply_probe(const probe_action_list& acts, time_point now) {
    for (auto& a : acts) {
      if (a.kind == probe_action_kind::pause)
        breaker.hold_for_probe(true, now);
      else if (a.kind == probe_action_kind::resume)
        breaker.hold_for_probe(false, now);
    }
    sync_probe_stats();
  }

  /// Copies the probe's counters and state into `stats`.
  void sync_probe_stats() noexcept {
    auto& c = probe.counters();
    stats.probes_success = c.successes;
    stats.probes_failure = c.failures;
    stats.probes_timeout = c.timeouts;
    stats.probes_ignored = c.ignored;
    stats.probe_pauses = c.pauses;
    stats.probe_paused = probe.paused() ? 1 : 0;
  }

  /// Feeds one finished attempt to the adaptive limit (when it is on) and
  /// resizes the concurrency limit when the learned value moved. Returns
  /// whether the limit grew (queued calls may start then).
  bool sample_limit(duration latency, bool dropped, time_point now) {
    if (!adaptive.on_sample(latency, limit.in_flight(), dropped, now))
      return false;
    auto before = limit.limit();
    auto cfg = limit.config();
    cfg.max_concurrent = adaptive.limit();
    limit.resize(cfg);
    stats.adaptive_limit = cfg.max_concurrent;
    return cfg.max_concurrent > before;
  }

  /// A new actor takes over from one that crashed: the old actor's calls
  /// in flight will never finish, so their breaker permits and concurrency
  /// slots are given back and the in-flight count starts again from zero.
  /// Breaker state, budget balance and cache are kept.
  void adopt(time_point now) {
    for (auto n = breaker.calls_in_flight(); n > 0; --n)
      breaker.release(now);
    limit = bulkhead{limit.config()};
    stats.in_flight = 0;
  }

  /// Replaces the feature flags (the operator's switches, kept apart from
  /// the configuration so a reload does not reset them).
  void set_flags(const dependency_flags_config& f) {
    flags = f;
    flags_active = !is_default(f);
  }

  void on_breaker_event(const breaker_event& e) override {
    ++stats.breaker_transitions;
    stats.breaker = e.to;
    last_breaker_event = e;
  }

  circuit_breaker breaker;
  retry_budget budget;
  response_cache cache;
  // Declared before `limit`, whose size it gives.
  adaptive_limit adaptive;
  client_throttle throttle;
  bulkhead limit;
  hedge_policy hedge;
  journey_log journeys;
  objective_tracker objective;
  probe_core probe;
  dependency_stats stats;
  breaker_event last_breaker_event{};
  dependency_flags_config flags;
  /// False while the flags change nothing: calls then skip deciding them.
  bool flags_active = false;
  /// Whether the adaptive limit drives `limit` (one test on the hot path).
  bool adaptive_on = false;
  /// Whether the client-side throttle admits calls (one test per call).
  bool throttle_on = false;
  /// Whether deadline-aware shedding is on (one test per attempt).
  bool shedding_on = false;
};

using dependency_policies_ptr = std::shared_ptr<dependency_policies>;

} // namespace bulwark
