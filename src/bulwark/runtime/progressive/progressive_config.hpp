// Progressive delivery of a dependency's answers: a call that asks for it and
// whose fresh answer is not there at its soft deadline gets a preliminary
// reply at once (a stale cache entry or the fallback chain's static value,
// marked preliminary with its age and why), its attempts go on, and exactly
// one final reply follows. Off by default: a preliminary answer is one the
// caller must be ready to see replaced. Parsed from
// `/dependencies/<name>/progressive`; the decisions are in
// bulwark/runtime/dependency/dependency_core.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// What may answer a progressive call before its fresh answer.
enum class preliminary_source : std::uint8_t {
  /// A cache entry past its TTL but inside the cache's stale_if_error window
  /// (the entries the fallback chain's stale_cache step may serve).
  stale_cache,
  /// The value of the first `static` step of the dependency's fallback chain
  /// (JSON name "static", like the step).
  static_value,
};

/// The JSON name: "stale_cache", "static".
/// @relates preliminary_source
std::string to_string(preliminary_source x);

/// @relates preliminary_source
bool from_string(std::string_view str, preliminary_source& x);

struct progressive_config {
  /// The most sources a config lists (each at most once).
  static constexpr std::size_t max_sources = 2;

  /// Off by default: calls asking for progressive delivery get one reply.
  bool enabled = false;
  /// How long a progressive call waits for its fresh answer before it gets a
  /// preliminary one (a call may ask for another, bounded by its deadline).
  duration soft_deadline = milliseconds(200);
  /// The sources tried for a preliminary answer, in this order; the first
  /// that has a value answers.
  std::array<preliminary_source, max_sources> sources{
    preliminary_source::stale_cache, preliminary_source::static_value};
  std::uint8_t source_count = 2;
};

/// The largest accepted soft_deadline (and per-call override): 1 hour.
inline constexpr duration progressive_max_soft_deadline = hours(1);

/// Reads a progressive object (keys: enabled, soft_deadline, preliminary).
/// `preliminary` is an array of 1 or 2 distinct source names.
progressive_config parse_progressive_config(const boost::json::value& v,
                                            const json_path& at,
                                            error_list& errors);

/// @relates progressive_config
boost::json::object to_json(const progressive_config& cfg);

} // namespace bulwark
