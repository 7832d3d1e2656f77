#include "bulwark/runtime/supervise/routing.hpp"

#include <algorithm>

namespace bulwark {

std::string to_string(routing_kind x) {
  switch (x) {
    case routing_kind::round_robin:
      return "round_robin";
    case routing_kind::least_outstanding:
      return "least_outstanding";
    case routing_kind::power_of_two:
      return "power_of_two";
  }
  return "invalid";
}

bool from_string(std::string_view str, routing_kind& x) {
  for (auto candidate :
       {routing_kind::round_robin, routing_kind::least_outstanding,
        routing_kind::power_of_two})
    if (to_string(candidate) == str) {
      x = candidate;
      return true;
    }
  return false;
}

router::router(routing_kind kind) noexcept : kind_(kind) {
  // nop
}

void router::reconfigure(routing_kind kind) noexcept {
  kind_ = kind;
}

namespace {

bool eligible(const member_load& m, std::size_t i,
              std::uint64_t excluded) noexcept {
  return m.available && ((excluded >> i) & 1u) == 0;
}

// The index of the k-th (0-based) set bit of `mask`; `mask` has more than k.
std::size_t nth_set_bit(std::uint64_t mask, std::uint64_t k) noexcept {
  for (; k > 0; --k)
    mask &= mask - 1; // clears the lowest set bit
  return static_cast<std::size_t>(__builtin_ctzll(mask));
}

} // namespace

std::size_t router::pick(const member_load* members, std::size_t n,
                         std::uint64_t excluded, rng& gen) noexcept {
  n = std::min(n, max_members);
  if (members == nullptr || n == 0)
    return npos;
  // Scanning from the member after the last pick serves round_robin directly
  // and makes least_outstanding's ties rotate.
  auto start = (last_ == npos || last_ + 1 >= n) ? 0 : last_ + 1;
  auto result = npos;
  switch (kind_) {
    case routing_kind::round_robin:
      for (std::size_t step = 0; step < n; ++step) {
        auto i = start + step < n ? start + step : start + step - n;
        if (eligible(members[i], i, excluded)) {
          result = i;
          break;
        }
      }
      break;
    case routing_kind::least_outstanding:
      for (std::size_t step = 0; step < n; ++step) {
        auto i = start + step < n ? start + step : start + step - n;
        if (eligible(members[i], i, excluded)
            && (result == npos
                || members[i].outstanding < members[result].outstanding))
          result = i;
      }
      break;
    case routing_kind::power_of_two: {
      std::uint64_t mask = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (eligible(members[i], i, excluded))
          mask |= std::uint64_t{1} << i;
      auto count = static_cast<std::uint64_t>(__builtin_popcountll(mask));
      if (count == 0)
        break;
      if (count == 1) {
        result = nth_set_bit(mask, 0);
        break;
      }
      // Two distinct ranks, uniform over ordered pairs: the second draw skips
      // the first rank.
      auto a = gen.below(count);
      auto b = gen.below(count - 1);
      if (b >= a)
        ++b;
      auto first = nth_set_bit(mask, a);
      auto second = nth_set_bit(mask, b);
      result = members[second].outstanding < members[first].outstanding ? second
                                                                        : first;
      break;
    }
  }
  if (result != npos)
    last_ = result;
  return result;
}

} // namespace bulwark
