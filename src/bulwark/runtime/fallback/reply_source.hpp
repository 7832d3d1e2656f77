// Where the value in a successful reply came from. The dependency actor tags
// every reply with it, so callers, metrics and request journeys can tell a
// live answer from a degraded one (stale cache, a static value, an alternate
// dependency) without guessing from latency.
#pragma once

#include <cstdint>
#include <string>

namespace bulwark {

enum class reply_source : std::uint8_t {
  /// A successful attempt against the dependency itself.
  live,
  /// A cache entry still inside its TTL: not degraded.
  fresh_cache,
  /// A cache entry past its TTL (stale-while-revalidate or stale-if-error).
  stale_cache,
  /// The configured static value of a `static` fallback step.
  static_fallback,
  /// A successful attempt against an alternate dependency.
  alternate,
};

inline constexpr reply_source all_reply_sources[] = {
  reply_source::live,        reply_source::fresh_cache,
  reply_source::stale_cache, reply_source::static_fallback,
  reply_source::alternate,
};

/// @relates reply_source
inline std::string to_string(reply_source x) {
  switch (x) {
    case reply_source::live:
      return "live";
    case reply_source::fresh_cache:
      return "fresh_cache";
    case reply_source::stale_cache:
      return "stale_cache";
    case reply_source::static_fallback:
      return "static_fallback";
    case reply_source::alternate:
      return "alternate";
  }
  return "invalid";
}

/// Whether a reply from this source is degraded (served by a fallback rather
/// than by the dependency or a fresh cache entry).
constexpr bool is_degraded(reply_source x) noexcept {
  return x != reply_source::live && x != reply_source::fresh_cache;
}

} // namespace bulwark
