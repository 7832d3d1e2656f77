// Which member of a supervisor's group (replicas of one dependency, or nested
// supervisors) receives the next request. The supervisor knows, per member,
// whether it may take work at all and how many of its requests are still
// outstanding; the router turns that into one index. Three policies, as load
// balancers name them: round robin (Envoy ROUND_ROBIN), least outstanding
// (Finagle/Envoy least-loaded with rotating ties) and power of two choices
// (Mitzenmacher; Envoy LEAST_REQUEST's default choice_count 2), which keeps
// most of least-outstanding's benefit while not herding every caller onto the
// single least-loaded member. Pure: randomness is the caller's seeded `rng`,
// each pick is one O(n) pass over at most `max_members` entries, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bulwark/runtime/core/rng.hpp"

namespace bulwark {

enum class routing_kind : std::uint8_t {
  round_robin,
  least_outstanding,
  power_of_two,
};

/// "round_robin", "least_outstanding", "power_of_two".
/// @relates routing_kind
std::string to_string(routing_kind x);

/// Parses the `to_string` names; false (and `x` untouched) for anything else.
/// @relates routing_kind
bool from_string(std::string_view str, routing_kind& x);

/// Members are indexed 0..63 so that an exclusion set fits in one word.
inline constexpr std::size_t max_members = 64;

/// What the router may know about a member.
struct member_load {
  /// False while the member is down, restarting, ejected or unreachable.
  bool available = true;
  /// Requests sent to it that have not been answered yet.
  std::uint32_t outstanding = 0;
};

class router {
 public:
  explicit router(routing_kind kind = routing_kind::round_robin) noexcept;

  /// Switches the policy; the round-robin cursor is kept, so a reload does not
  /// send the next request back to member 0.
  void reconfigure(routing_kind kind) noexcept;

  routing_kind kind() const noexcept {
    return kind_;
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Picks a member among those with `available` and bit i of `excluded`
  /// clear (a request's earlier attempts exclude their members, so a retry
  /// goes elsewhere when it can). Returns npos if none is eligible. Only the
  /// first `max_members` entries are considered.
  ///   round_robin: the next eligible index after the last pick (cyclic,
  ///     skipping ineligible ones).
  ///   least_outstanding: the eligible member with the fewest outstanding;
  ///     among equals the first after the last pick in cyclic order, so
  ///     equal members share the load instead of member 0 taking it all.
  ///   power_of_two: two distinct eligible members drawn uniformly from
  ///     `gen`; the one with fewer outstanding wins, the first drawn on a
  ///     tie. With one eligible member, that one (and no draw).
  /// `gen` is only used by power_of_two.
  std::size_t pick(const member_load* members, std::size_t n,
                   std::uint64_t excluded, rng& gen) noexcept;

 private:
  routing_kind kind_;
  // The last index picked, npos before the first pick. Shared by all kinds:
  // it is the rotation point of round_robin and the tie-breaker of
  // least_outstanding.
  std::size_t last_ = npos;
};

} // namespace bulwark
