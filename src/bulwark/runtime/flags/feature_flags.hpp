// Feature flags: switches an operator flips on running dependency actors
// during an incident, without a deploy and without editing the whole
// configuration. Per dependency, with a `*` default for dependencies without
// an entry of their own: retries on/off, hedging on/off, and the breaker
// `normal`, `force_open` (reject every call locally) or `disabled` (never
// trip). Each flag has a rollout percentage: its value applies to that share
// of calls and the other calls behave as with the default (retry on, hedging
// on, breaker normal). Whether a call is in the rollout is decided from a
// hash of its idempotency key (or of its id when it has no key), salted per
// flag. So a given request gets the same decision on every attempt and every
// resend, and the rollouts of the three flags are independent of each other.
// Pure: no clock, no I/O; deciding for one call does not allocate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"

namespace bulwark {

/// What the breaker flag does to a dependency's circuit breaker.
enum class breaker_flag : std::uint8_t {
  /// The breaker decides, as configured.
  normal,
  /// Every call is rejected locally as if the breaker were open (fallbacks
  /// still apply): shields a dependency that is known to be down.
  force_open,
  /// The breaker lets everything through and never trips.
  disabled,
};

/// @relates breaker_flag
std::string to_string(breaker_flag x);

/// The flags of one dependency (or the `*` default). Rollouts are fractions
/// 0..1 here, percentages 0..100 in JSON.
struct dependency_flags_config {
  /// Retries allowed. `false` makes the first failure of a call final.
  bool retry = true;
  /// Share of calls that `retry` applies to. The others retry as configured.
  double retry_rollout = 1.0;
  /// Hedges allowed. `false` sends no hedge.
  bool hedging = true;
  double hedging_rollout = 1.0;
  breaker_flag breaker = breaker_flag::normal;
  double breaker_rollout = 1.0;
};

bool operator==(const dependency_flags_config& a,
                const dependency_flags_config& b) noexcept;

/// True when the flags change nothing for any call: a dependency actor
/// checks this once per flags update, so calls pay nothing for flags then.
bool is_default(const dependency_flags_config& cfg) noexcept;

/// Every flag: the `*` default and the dependencies with their own entry.
/// An entry replaces the default as a whole (no merging field by field).
struct feature_flags_config {
  dependency_flags_config defaults;
  std::map<std::string, dependency_flags_config> dependencies;
};

/// The flags that apply to dependency `name`.
const dependency_flags_config& flags_for(const feature_flags_config& cfg,
                                         std::string_view name);

/// What the flags decide for one call.
struct call_flags {
  bool retry = true;
  bool hedging = true;
  breaker_flag breaker = breaker_flag::normal;
};

/// The rollout hash of a call: of its idempotency key when it has one, of
/// its id otherwise (FNV-1a 64, then a splitmix64 finalizer).
std::uint64_t flag_hash(std::string_view idempotency_key,
                        std::uint64_t call_id) noexcept;

/// Which flag a rollout decision is for; each has its own salt.
enum class flag_kind : std::uint8_t { retry, hedging, breaker };

/// @relates flag_kind
std::string to_string(flag_kind x);

/// True when a call with `hash` is inside `rollout` (0..1) for flag `kind`:
/// its bucket in [0, 10000) (salted hash mod 10000) is below rollout * 10000.
/// 1 includes every call, 0 none.
bool in_rollout(std::uint64_t hash, flag_kind kind, double rollout) noexcept;

/// The decision for one call.
call_flags decide_flags(const dependency_flags_config& cfg,
                        std::uint64_t hash) noexcept;

/// One dependency's flags object:
/// `{"retry": {"enabled": B, "rollout": P}, "hedging": {...},
///   "breaker": {"mode": "normal"|"force_open"|"disabled", "rollout": P}}`.
/// Every key is optional (missing keeps the default).
dependency_flags_config
parse_dependency_flags_config(const boost::json::value& v, const json_path& at,
                              error_list& errors);

boost::json::object to_json(const dependency_flags_config& cfg);

/// The whole set: an object keyed by dependency name, `*` for the default.
feature_flags_config parse_feature_flags_config(const boost::json::value& v,
                                                const json_path& at,
                                                error_list& errors);

boost::json::object to_json(const feature_flags_config& cfg);

} // namespace bulwark
