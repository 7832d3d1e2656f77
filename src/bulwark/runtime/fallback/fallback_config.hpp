// The fallback chain of one dependency as configured: an ordered list of steps
// the dependency actor walks when a request has failed for good (no retry
// left, or refused locally). Each step names what to serve instead — a stale
// cache entry, a static value, the answer of an alternate dependency — or
// says to fail fast, and which failure classes it handles (Polly's
// `ShouldHandle`, Resilience4j's `withFallback(exceptionTypes, ...)`). The
// configuration is a JSON array mounted at `/dependencies/<name>/fallback`;
// validation rejects chains with dead steps, so what is written is what runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"

namespace bulwark {

enum class fallback_kind : std::uint8_t {
  /// Serve the cached value even though its TTL has passed (stale-if-error).
  /// If nothing stale is cached, the chain goes on with the next step.
  stale_cache,
  /// Serve a fixed payload from the configuration (JSON name "static").
  static_value,
  /// Send the request to another dependency and serve its answer. If that
  /// fails too, the chain goes on with the next step.
  alternate,
  /// Stop here: the caller gets the failure now, marked "already retried —
  /// do not retry", so no later layer multiplies attempts.
  fail_fast,
};

inline constexpr fallback_kind all_fallback_kinds[] = {
  fallback_kind::stale_cache,
  fallback_kind::static_value,
  fallback_kind::alternate,
  fallback_kind::fail_fast,
};

/// The JSON name: "stale_cache", "static", "alternate", "fail_fast".
/// @relates fallback_kind
std::string to_string(fallback_kind x);

/// @relates fallback_kind
bool from_string(std::string_view str, fallback_kind& x);

/// Whether a step of this kind always ends the chain once it is chosen (a
/// static value always exists; fail fast always stops). Steps after such a
/// step are reachable only for failure classes it does not handle.
constexpr bool ends_chain(fallback_kind x) noexcept {
  return x == fallback_kind::static_value || x == fallback_kind::fail_fast;
}

/// The classes a step handles when its `on` is absent: every class except
/// `cancelled` (nobody waits for the reply of a cancelled request).
inline constexpr failure_class_set default_fallback_classes{
  failure_class::transient,        failure_class::timeout,
  failure_class::overloaded,       failure_class::persistent,
  failure_class::rejected_locally, failure_class::deadline_exceeded,
};

struct fallback_step {
  fallback_kind kind = fallback_kind::fail_fast;
  /// The failure classes this step handles; never contains `cancelled`.
  failure_class_set on = default_fallback_classes;
  /// `static_value` only: the payload bytes served as the reply.
  std::string value;
  /// `alternate` only: the name of the dependency asked instead.
  std::string dependency;

  friend bool operator==(const fallback_step& a, const fallback_step& b) {
    return a.kind == b.kind && a.on == b.on && a.value == b.value
           && a.dependency == b.dependency;
  }
};

struct fallback_config {
  /// A chain longer than this is rejected: every failure walks it, and no
  /// sensible chain needs more.
  static constexpr std::size_t max_steps = 16;

  /// Empty (the default): no fallback, the failure goes to the caller.
  std::vector<fallback_step> steps;

  friend bool operator==(const fallback_config& a, const fallback_config& b) {
    return a.steps == b.steps;
  }
};

/// Parses the array at `at` (e.g. `/dependencies/pricing/fallback`). Errors
/// name the element, e.g. `/dependencies/pricing/fallback/2/kind`. Steps whose
/// kind is missing or unknown are left out of the result.
fallback_config parse_fallback_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors);

/// The array form, every key written out (including `on`).
boost::json::array to_json(const fallback_config& cfg);

} // namespace bulwark
