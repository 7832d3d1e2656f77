// Everything that governs calls to one downstream dependency: how its
// operations may be repeated, its default timeout, and one config per policy
// (classification, retry, budget, breaker, bulkhead, adaptive limit,
// throttle, deadline shedding, cache, hedge, fallback, journeys, probe,
// progressive delivery).
// Mounted at
// /dependencies/<name> in the configuration document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/admission/adaptive_limit_config.hpp"
#include "bulwark/runtime/admission/deadline_shedding_config.hpp"
#include "bulwark/runtime/admission/throttle_config.hpp"
#include "bulwark/runtime/objective/objective_config.hpp"
#include "bulwark/runtime/breaker/breaker_config.hpp"
#include "bulwark/runtime/budget/budget_config.hpp"
#include "bulwark/runtime/bulkhead/bulkhead_config.hpp"
#include "bulwark/runtime/cache/cache_config.hpp"
#include "bulwark/runtime/classify/classifier_config.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/fallback/fallback_config.hpp"
#include "bulwark/runtime/hedge/hedge_config.hpp"
#include "bulwark/runtime/journey/journey_log.hpp"
#include "bulwark/runtime/probe/probe_config.hpp"
#include "bulwark/runtime/progressive/progressive_config.hpp"
#include "bulwark/runtime/retry/retry_config.hpp"

namespace bulwark {

/// Per-operation overrides (an operation is a name the caller puts in each
/// request, such as "charge" or "get_price").
struct operation_config {
  std::string name;
  idempotency repeat = idempotency::unsafe;
};

struct dependency_config {
  /// Limits for dependency and operation names: they become metric labels.
  static constexpr std::size_t max_name_length = 64;

  std::string name;
  /// How operations not listed in `operations` may be repeated.
  idempotency repeat = idempotency::unsafe;
  /// Deadline applied to requests that arrive without one.
  duration default_timeout = seconds(5);
  std::vector<operation_config> operations;

  classifier_config classification;
  retry_config retry;
  budget_config budget;
  breaker_config breaker;
  bulkhead_config bulkhead;
  /// When enabled, it sets bulkhead.max_concurrent (see
  /// `effective_bulkhead`).
  adaptive_limit_config adaptive_limit;
  throttle_config throttle;
  deadline_shedding_config deadline_shedding;
  cache_config cache;
  hedge_config hedge;
  fallback_config fallback;
  journey_config journeys;
  /// Availability and latency objectives, with their burn rates.
  objective_config objective;
  /// Active health probe (off by default).
  probe_config probe;
  /// Preliminary replies for calls that ask for them (off by default).
  progressive_config progressive;

  /// The bulkhead as configured, with `max_concurrent` replaced by `limit`
  /// when the adaptive limit is enabled.
  bulkhead_config effective_bulkhead(std::uint32_t limit) const noexcept {
    auto b = bulkhead;
    if (adaptive_limit.enabled)
      b.max_concurrent = limit;
    return b;
  }

  /// The adaptive limit's config with `initial_limit` 0 resolved to the
  /// bulkhead's max_concurrent (clamped into [min_limit, max_limit]).
  adaptive_limit_config effective_adaptive_limit() const noexcept {
    auto a = adaptive_limit;
    if (a.initial_limit == 0)
      a.initial_limit = bulkhead.max_concurrent < a.min_limit ? a.min_limit
                        : bulkhead.max_concurrent > a.max_limit
                          ? a.max_limit
                          : bulkhead.max_concurrent;
    return a;
  }

  /// How operation `op` may be repeated.
  idempotency idempotency_of(std::string_view op) const noexcept;
};

/// Whether `name` is a valid dependency or operation name
/// ([A-Za-z0-9_.-], 1..64 characters).
bool is_valid_name(std::string_view name) noexcept;

/// Cross-field rule checked here: hedging is rejected while any operation of
/// the dependency (or its default) is `unsafe`.
dependency_config parse_dependency_config(const boost::json::value& v,
                                          const json_path& at, std::string name,
                                          error_list& errors);

boost::json::object to_json(const dependency_config& cfg);

} // namespace bulwark
