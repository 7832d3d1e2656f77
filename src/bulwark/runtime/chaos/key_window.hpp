// A bounded memory of idempotency keys, for counting duplicates that reach
// a service through the fault proxy. Each key is kept as a 64-bit
// fingerprint of (route, key), with whether a request carrying it was
// forwarded; when `capacity` fingerprints are held, the oldest (by first
// sighting) is forgotten. So memory is bounded by capacity (~50 bytes per
// key, whatever the keys' length), and a key repeated after `capacity` other
// keys is counted as new: the counts are exact for retries that come within
// that window, which is every retry of a normal run (1,000,000 keys by
// default). Two different keys share a fingerprint with probability ~n²/2^65.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>

namespace bulwark {

/// A 64-bit fingerprint of `key` on `route` (FNV-1a, then a mixing step).
std::uint64_t key_fingerprint(std::string_view route,
                              std::string_view key) noexcept;

class key_window {
 public:
  /// What was known about a key before this sighting.
  struct sighting {
    /// A request with this key arrived before (a retry or a duplicate).
    bool seen_before = false;
    /// A request with this key was forwarded before; if this one is
    /// forwarded too, the service gets the key a second time.
    bool forwarded_before = false;
  };

  /// `capacity` of 0 counts as 1.
  explicit key_window(std::size_t capacity);

  /// Records a request carrying `fingerprint`, forwarded or not.
  sighting observe(std::uint64_t fingerprint, bool forwarded);

  std::size_t size() const noexcept {
    return flags_.size();
  }
  std::size_t capacity() const noexcept {
    return capacity_;
  }

  /// Fingerprints forgotten to stay within capacity.
  std::uint64_t evicted() const noexcept {
    return evicted_;
  }

  void clear();

 private:
  std::size_t capacity_;
  std::uint64_t evicted_ = 0;
  std::unordered_map<std::uint64_t, bool> flags_; // -> forwarded
  std::deque<std::uint64_t> order_;
};

} // namespace bulwark
