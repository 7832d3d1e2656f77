// The request table of a core: requests in flight live in slots of one
// vector, found again by the slot number their correlation ids carry
// (bulwark/runtime/core/correlation_id.hpp). A finished request frees its slot
// and bumps the slot's generation, so an answer that arrives after the request
// finished (a late attempt result, a loser of a hedge) no longer matches and
// is dropped, even when the slot already serves another request. Freed slots
// are reused last in, first out (warm in cache); the table only grows, so
// once warm it never allocates. Lookup is an index and a compare: the cost
// does not grow with the number of requests in flight.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "bulwark/runtime/core/correlation_id.hpp"

namespace bulwark {

template <class T>
class slot_table {
 public:
  static constexpr std::uint32_t npos =
    std::numeric_limits<std::uint32_t>::max();

  /// Takes a free slot (the most recently freed one) or adds one; the slot
  /// is in use until `release`. Its value is left as the last user left it
  /// (a value-initialized T for a new slot): the owner resets what it needs.
  std::uint32_t acquire() {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    entries_[slot].used = true;
    ++in_use_;
    return slot;
  }

  /// Frees `slot` (which must be in use): ids made for it stop matching.
  void release(std::uint32_t slot) {
    auto& e = entries_[slot];
    e.used = false;
    ++e.generation;
    --in_use_;
    free_.push_back(slot);
  }

  bool in_use(std::uint32_t slot) const noexcept {
    return slot < entries_.size() && entries_[slot].used;
  }

  /// The slot's generation: bumped on every release, 1 for a new slot (so
  /// no id is ever 0).
  std::uint32_t generation(std::uint32_t slot) const noexcept {
    return entries_[slot].generation;
  }

  /// The correlation id of `slot` in its current generation.
  std::uint64_t id(std::uint32_t slot, std::uint32_t index) const noexcept {
    return correlation_id::make(slot, entries_[slot].generation, index);
  }

  /// The slot that `id` names if it is in use in the id's generation, else
  /// npos (an unknown slot, a finished request, a reused slot).
  std::uint32_t find(std::uint64_t id) const noexcept {
    auto slot = correlation_id::slot(id);
    if (slot >= entries_.size())
      return npos;
    auto& e = entries_[slot];
    if (!e.used || !correlation_id::same_generation(id, e.generation))
      return npos;
    return slot;
  }

  T& operator[](std::uint32_t slot) noexcept {
    return entries_[slot].value;
  }
  const T& operator[](std::uint32_t slot) const noexcept {
    return entries_[slot].value;
  }

  /// Slots ever created (used and free): iterate `0 .. capacity()` and skip
  /// those not `in_use` to visit every request in flight.
  std::uint32_t capacity() const noexcept {
    return static_cast<std::uint32_t>(entries_.size());
  }

  /// Slots in use.
  std::uint32_t size() const noexcept {
    return in_use_;
  }

 private:
  struct entry {
    std::uint32_t generation = 1;
    bool used = false;
    T value{};
  };

  std::vector<entry> entries_;
  std::vector<std::uint32_t> free_;
  std::uint32_t in_use_ = 0;
};

} // namespace bulwark
