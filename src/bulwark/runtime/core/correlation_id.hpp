// The one layout of the 64-bit correlation ids that actors put on their own
// messages (attempts to a transport, calls to members or alternates) so that
// an answer finds its request by an index, not a hash lookup: the slot of the
// request in its owner's table, the slot's generation (so an answer for a
// request that already finished, whose slot now serves another, is recognized
// and dropped) and a small index the owner chooses (the supervisor: which
// attempt of the call; the dependency: the attempt number, 0 for a call to an
// alternate). Every core builds and reads ids only through these functions.
//
//   bits 63..32  slot        (any uint32)
//   bits 31..8   generation  (low 24 bits: a slot is reused 16.7 million
//                             times before an old id could match again)
//   bits  7..0   index       (0..255)
#pragma once

#include <cstdint>

namespace bulwark::correlation_id {

inline constexpr unsigned index_bits = 8;
inline constexpr unsigned generation_bits = 24;
inline constexpr std::uint32_t max_index = (1u << index_bits) - 1;
inline constexpr std::uint32_t generation_mask = (1u << generation_bits) - 1;

/// The id of (slot, generation, index); the generation is taken modulo
/// 2^24, the index must be at most `max_index`.
constexpr std::uint64_t make(std::uint32_t slot, std::uint32_t generation,
                             std::uint32_t index) noexcept {
  return (std::uint64_t{slot} << 32)
         | (std::uint64_t{generation & generation_mask} << index_bits)
         | (index & max_index);
}

constexpr std::uint32_t slot(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id >> 32);
}

/// The generation as stored in the id (modulo 2^24).
constexpr std::uint32_t generation(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id >> index_bits) & generation_mask;
}

constexpr std::uint32_t index(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id) & max_index;
}

/// Whether `id` was made for a slot whose generation is now `generation`.
constexpr bool same_generation(std::uint64_t id,
                               std::uint32_t generation) noexcept {
  return correlation_id::generation(id) == (generation & generation_mask);
}

} // namespace bulwark::correlation_id
