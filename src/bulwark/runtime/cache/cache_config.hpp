// How a dependency caches its responses: a TTL for freshness, an LRU bound on
// the number of entries, and the two RFC 5861 extensions that let a stale
// entry still be useful — stale-while-revalidate (serve it now and refresh in
// the background) and stale-if-error (serve it only when the live call fails).
// Parsed from `/dependencies/<name>/cache`; the cache itself is
// bulwark/runtime/cache/response_cache.hpp.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct cache_config {
  /// Off by default: caching changes what callers see, so it is opt-in.
  bool enabled = false;
  /// LRU bound: storing a new key beyond this evicts the least recently used.
  std::uint32_t max_entries = 1024;
  /// An entry is fresh while its age (now - time stored) is below this.
  duration ttl = seconds(30);
  /// After ttl, for this long, an entry is served stale and one background
  /// refresh is started (RFC 5861 stale-while-revalidate).
  duration stale_while_revalidate = duration{0};
  /// After ttl, for this long, an entry may answer a request whose live call
  /// failed (RFC 5861 stale-if-error).
  duration stale_if_error = duration{0};
};

/// The largest accepted max_entries.
inline constexpr std::uint32_t cache_max_entries_limit = 10'000'000;

/// The largest accepted ttl, stale_while_revalidate and stale_if_error (7
/// days).
inline constexpr duration cache_max_duration = hours(24 * 7);

/// Reads a cache object (keys: enabled, max_entries, ttl,
/// stale_while_revalidate, stale_if_error). Cross-field rule: an enabled cache
/// needs ttl > 0 (error at `ttl`).
cache_config parse_cache_config(const boost::json::value& v,
                                const json_path& at, error_list& errors);

/// @relates cache_config
boost::json::object to_json(const cache_config& cfg);

} // namespace bulwark
