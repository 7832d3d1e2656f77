// The `bulwark` client mode of the metastable model: bulwark's own client
// policies, the runtime's objects composed the way dependency_core combines
// them, not reimplemented, with one member per server as a supervisor over
// member dependencies has: each server has its own circuit breaker and its
// own adaptive concurrency limit (attempts in flight there). Per request:
// the retry budget counts it and the client-side throttle (SRE, per call)
// may reject it. Per attempt: deadline-aware shedding may refuse it; it
// goes where round robin put it (a first try) or to the server after the
// one that failed (a retry: the supervisor reroutes a failure to another
// member), or on to the next server whose breaker gives a permit and whose
// limit has room; if none does, it is rejected locally, which ends the
// request, unless the bulkhead has a queue (`wait_for_slot`: a call over
// every limit waits up to max_queue_wait, as the runtime's bulkhead lets
// it; the mode's settings turn the queue off, bulwark_policy.cpp says
// why). retry_step decides each retry (retry classes, backoff
// with full jitter, the budget drawn when the retry is scheduled). Every
// finished attempt feeds its server's breaker and limit (successes and
// drops), the budget and the latency estimate; a success is the call's
// throttle accept. Runtime defaults everywhere except where the model needs
// a setting (bulwark_policy.cpp says why for each).
#pragma once

#include "bench/model/client_mode.hpp"
#include "bulwark/runtime/admission/adaptive_limit.hpp"
#include "bulwark/runtime/admission/client_throttle.hpp"
#include "bulwark/runtime/admission/deadline_shedding_config.hpp"
#include "bulwark/runtime/breaker/circuit_breaker.hpp"
#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/hedge/latency_quantile.hpp"
#include "bulwark/runtime/retry/retry_config.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace bulwark::bench::model {

/// Every setting of the `bulwark` mode, from the set-up's timeout and
/// attempt cap.
struct bulwark_policy_config {
  retry_config retry;
  budget_config budget;
  throttle_config throttle;
  breaker_config breaker;
  adaptive_limit_config limit;
  deadline_shedding_config shedding;
  /// Its max_concurrent is the limit's starting point; its queue lets an
  /// attempt that finds every limit full wait for a slot.
  bulkhead_config bulkhead;
  /// The window of the latency estimate deadline shedding reads (the hedge
  /// policy's default).
  duration latency_period = seconds(10);
};

/// The mode's settings for a set-up with `ctx`'s timeout and attempt cap.
bulwark_policy_config make_bulwark_policy_config(const policy_context& ctx);

/// Why the policy refused a first try or a retry (counted for tests and
/// the report).
struct bulwark_policy_counters {
  std::uint64_t rejected_throttle = 0;
  std::uint64_t rejected_breaker = 0;
  /// Refusals (route_attempt answering nullopt) because every server's
  /// breaker refused, or because a server whose breaker gave a permit had
  /// its limit full; an attempt waiting for a slot counts each time it asks.
  std::uint64_t rejected_limit = 0;
  /// Attempts that waited for a slot (wait_for_slot granted a wait).
  std::uint64_t waited_for_slot = 0;
  std::uint64_t shed_deadline = 0;
  std::uint64_t retries = 0;
  std::uint64_t retries_denied_budget = 0;
};

class bulwark_policy final : public client_policy {
 public:
  bulwark_policy(const policy_context& ctx, std::uint64_t seed);
  bulwark_policy(const bulwark_policy_config& cfg, std::uint64_t seed);

  bool admit_first_try(time_point now) override;
  std::optional<std::uint32_t> route_attempt(time_point now,
                                             const attempt_info& info) override;
  std::optional<duration> wait_for_slot(time_point now,
                                        std::size_t waiting) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;
  void request_ended(time_point now, bool succeeded) override;

  /// The learned limits summed over the servers (attempts in flight).
  std::optional<double> gauge(time_point now) const override;

  const bulwark_policy_config& config() const noexcept {
    return cfg_;
  }
  const bulwark_policy_counters& counters() const noexcept {
    return counters_;
  }
  /// Server `i`'s learned limit (created when an attempt first names it).
  const adaptive_limit& limit(std::uint32_t i) {
    return member_for(i).limit;
  }
  /// Server `i`'s breaker (created when an attempt first names it).
  const circuit_breaker& breaker(std::uint32_t i) {
    return member_for(i).breaker;
  }
  const retry_budget& budget() const noexcept {
    return budget_;
  }
  /// Attempts sent to server `i` and not yet answered or timed out.
  std::uint32_t in_flight(std::uint32_t i) {
    return member_for(i).in_flight;
  }

 private:
  /// Deadline-aware shedding: the observed latency at the configured
  /// quantile says an attempt would not be answered within `timeout`.
  bool cannot_finish(duration timeout, time_point now) const noexcept;

  /// What a supervisor's member dependency holds for one server.
  struct member {
    circuit_breaker breaker;
    adaptive_limit limit;
    std::uint32_t in_flight = 0;
  };

  member& member_for(std::uint32_t server);

  bulwark_policy_config cfg_;
  rng gen_;
  retry_budget budget_;
  client_throttle throttle_;
  std::vector<member> members_;
  latency_quantile latencies_;
  /// The attempt observed last (decide_retry follows its observe).
  outcome last_ = outcome::ok();
  duration last_latency_{0};
  bulwark_policy_counters counters_;
  /// Why route_attempt refused last: only a full limit may wait.
  bool refused_by_limit_ = false;
};

} // namespace bulwark::bench::model
