// A small, fast, seedable random generator (xoshiro256**, seeded through
// splitmix64). Policies that need randomness take an `rng&` so every run can be
// replayed from its seed; it satisfies UniformRandomBitGenerator for <random>.
#pragma once

#include <cstdint>
#include <limits>

namespace bulwark {

class rng {
 public:
  using result_type = std::uint64_t;

  explicit rng(std::uint64_t seed = 1) noexcept {
    reseed(seed);
  }

  void reseed(std::uint64_t seed) noexcept {
    seed_ = seed;
    auto x = seed;
    for (auto& s : s_) {
      x += 0x9e3779b97f4a7c15ULL;
      auto z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }

  std::uint64_t seed() const noexcept {
    return seed_;
  }

  static constexpr result_type min() noexcept {
    return 0;
  }
  static constexpr result_type max() noexcept {
    return std::numeric_limits<result_type>::max();
  }

  result_type operator()() noexcept {
    auto result = rotl(s_[1] * 5, 7) * 9;
    auto t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() noexcept {
    return ((*this)() >> 11) * 0x1.0p-53;
  }

  /// Uniform in [lo, hi) (returns lo when hi <= lo).
  double uniform(double lo, double hi) noexcept {
    return hi <= lo ? lo : lo + (hi - lo) * uniform();
  }

  /// Uniform integer in [0, n) (n > 0), without modulo bias worth caring about
  /// for n far below 2^64.
  std::uint64_t below(std::uint64_t n) noexcept {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>((*this)()) * n) >> 64);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }

  std::uint64_t s_[4];
  std::uint64_t seed_ = 1;
};

} // namespace bulwark
