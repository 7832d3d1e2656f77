// A bounded in-memory cache of a dependency's responses, keyed by a string the
// caller builds (operation + payload) and holding the payload bytes. It knows
// four states of an entry by its age (RFC 5861 semantics): fresh, stale but
// servable while one background refresh runs (stale-while-revalidate), stale
// and usable only if the live call fails (stale-if-error), and gone. The hit
// path is O(1) and does not allocate: entries live in the nodes of an
// unordered_map (stable addresses) threaded on an intrusive LRU list, so a hit
// is one hash lookup plus a few pointer writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "bulwark/runtime/cache/cache_config.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// What a lookup found, judged by the entry's age = now - time stored.
enum class cache_freshness : std::uint8_t {
  /// No entry, or older than ttl + max(stale_while_revalidate, stale_if_error).
  miss,
  /// age < ttl: answer from the cache.
  fresh,
  /// ttl <= age < ttl + stale_while_revalidate: answer from the cache and
  /// refresh it in the background (one refresh per entry at a time).
  stale_revalidate,
  /// Not servable now, but age < ttl + stale_if_error: make the live call and
  /// use `stale_for_error` if it fails.
  stale_if_error_only,
};

/// @relates cache_freshness
std::string to_string(cache_freshness x);

/// Where a lookup found an entry, so that a `store` of the same key soon
/// after can skip the hash lookup. Valid while no entry was removed from the
/// cache since (the cache checks that); a default one is never valid.
struct cache_hint {
  const void* entry = nullptr;
  std::uint64_t removals = 0;
};

/// The result of `response_cache::lookup`.
struct cache_hit {
  cache_freshness freshness = cache_freshness::miss;
  /// The cached payload (null for a miss). Valid until the next call of a
  /// non-const member function of the cache.
  const std::string* value = nullptr;
  /// True for exactly one stale_revalidate lookup per stale period: this
  /// caller must start the background refresh and later report it with
  /// `store` (success) or `refresh_failed`.
  bool start_refresh = false;
  /// True when an earlier lookup already started a refresh that has not been
  /// reported yet: do not start another.
  bool refresh_pending = false;
  /// The entry found (in any state but gone), for `store`.
  cache_hint hint;

  /// Whether the value may answer the request now (fresh or stale_revalidate).
  bool servable() const noexcept {
    return freshness == cache_freshness::fresh
           || freshness == cache_freshness::stale_revalidate;
  }
};

/// Monotonic counters for metrics.
struct cache_counters {
  /// Lookups that found a fresh entry.
  std::uint64_t hits = 0;
  /// Lookups served a stale entry inside stale_while_revalidate.
  std::uint64_t stale_hits = 0;
  /// Lookups that could not answer: no entry, expired, or stale_if_error_only.
  std::uint64_t misses = 0;
  /// `stale_for_error` calls that returned a value.
  std::uint64_t stale_if_error_hits = 0;
  /// Background refreshes handed out (start_refresh == true).
  std::uint64_t refreshes_started = 0;
  /// Entries removed to respect max_entries (on store or on a shrinking
  /// reconfigure).
  std::uint64_t evictions = 0;
  /// Entries removed because a lookup found them past every window.
  std::uint64_t expirations = 0;
};

class response_cache {
 public:
  // -- constructors, destructors, and assignment operators --------------------

  explicit response_cache(const cache_config& cfg = cache_config{});

  // The LRU links point into this object's map nodes; a copy would share them.
  response_cache(const response_cache&) = delete;
  response_cache& operator=(const response_cache&) = delete;

  response_cache(response_cache&& other) noexcept;
  response_cache& operator=(response_cache&& other) noexcept;

  ~response_cache() = default;

  // -- hot path ---------------------------------------------------------------

  /// Finds `key` and judges its freshness at `now`; an entry found in any
  /// window becomes the most recently used. An entry past every window is
  /// removed and reported as a miss. O(1), allocation-free. A disabled cache
  /// always misses.
  cache_hit lookup(const std::string& key, time_point now) noexcept;

  /// The value of `key` if its age is below ttl + stale_if_error (fresh
  /// entries included), else null: the stale step of the fallback chain after
  /// a failed live call. Same validity and cost as `lookup`. `age`, when
  /// given, receives the entry's age on a hit.
  const std::string* stale_for_error(const std::string& key, time_point now,
                                     duration* age = nullptr) noexcept;

  // -- modifiers --------------------------------------------------------------

  /// Inserts or replaces `key` as stored at `now`, makes it the most recently
  /// used and clears its pending refresh. A new key beyond max_entries evicts
  /// the least recently used entry first. A disabled cache stores nothing.
  void store(const std::string& key, std::string value, time_point now);

  /// `store` of a copy of `value`, into the entry `hint` names when it is
  /// still valid (one hash lookup fewer), and reusing the entry's buffer.
  void store(const cache_hint& hint, const std::string& key,
             const std::string& value, time_point now);

  /// A background refresh of `key` failed: clear the pending flag so a later
  /// stale lookup may start another. The entry itself stays.
  void refresh_failed(const std::string& key) noexcept;

  /// Removes `key`; returns whether it was present.
  bool erase(const std::string& key) noexcept;

  /// Removes every entry (counters are kept).
  void clear() noexcept;

  /// Applies a new configuration. Existing entries are judged by the new
  /// windows from their original store time; a smaller max_entries evicts
  /// least recently used entries; disabling clears the cache.
  void reconfigure(const cache_config& cfg);

  // -- observers --------------------------------------------------------------

  const cache_config& config() const noexcept {
    return cfg_;
  }

  std::size_t size() const noexcept {
    return entries_.size();
  }

  const cache_counters& counters() const noexcept {
    return counters_;
  }

  /// The key of the least recently used entry, or null when empty (eviction
  /// order is observable for tests and debugging).
  const std::string* least_recently_used() const noexcept {
    return tail_ == nullptr ? nullptr : tail_->key;
  }

  /// The freshness of an entry of this age under `cfg` (negative ages, from a
  /// clock that went backwards, count as fresh).
  static cache_freshness classify(duration age,
                                  const cache_config& cfg) noexcept;

 private:
  struct slot {
    std::string value;
    time_point stored_at;
    /// The map node's own key (stable while the node exists).
    const std::string* key = nullptr;
    /// Towards the most recently used end.
    slot* prev = nullptr;
    /// Towards the least recently used end.
    slot* next = nullptr;
    bool refresh_pending = false;
  };

  using map_type = std::unordered_map<std::string, slot>;

  void unlink(slot* s) noexcept;
  void push_front(slot* s) noexcept;
  void touch(slot* s) noexcept;
  void remove(map_type::iterator it) noexcept;
  void evict_to(std::size_t n) noexcept;

  cache_config cfg_;
  map_type entries_;
  slot* head_ = nullptr;
  slot* tail_ = nullptr;
  // Entries removed so far (expired, evicted, erased, cleared): a hint from
  // before a removal may point at a freed entry.
  std::uint64_t removals_ = 0;
  cache_counters counters_;
};

} // namespace bulwark
