#include "bulwark/runtime/chaos/key_window.hpp"

namespace bulwark {

std::uint64_t key_fingerprint(std::string_view route,
                              std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  mix(route);
  h ^= 0xff; // separator: ("ab", "c") and ("a", "bc") differ
  h *= 0x100000001b3ULL;
  mix(key);
  // splitmix64's finalizer spreads FNV's weak high bits.
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

key_window::key_window(std::size_t capacity)
  : capacity_(capacity == 0 ? 1 : capacity) {}

key_window::sighting key_window::observe(std::uint64_t fingerprint,
                                         bool forwarded) {
  sighting result;
  auto i = flags_.find(fingerprint);
  if (i != flags_.end()) {
    result.seen_before = true;
    result.forwarded_before = i->second;
    i->second = i->second || forwarded;
    return result;
  }
  if (flags_.size() >= capacity_) {
    flags_.erase(order_.front());
    order_.pop_front();
    ++evicted_;
  }
  flags_.emplace(fingerprint, forwarded);
  order_.push_back(fingerprint);
  return result;
}

void key_window::clear() {
  flags_.clear();
  order_.clear();
}

} // namespace bulwark
