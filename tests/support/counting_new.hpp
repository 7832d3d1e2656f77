// Replaces global operator new/delete with versions that count allocations,
// so a test (or benchmark) can prove a code path allocates nothing instead of
// assuming it. Include it in exactly ONE translation unit per executable (the
// replacement functions are defined here). Every plain, array and nothrow
// form is replaced so allocation and deallocation always pair malloc with
// free, which AddressSanitizer checks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace bulwark::testing {

inline std::atomic<std::size_t> allocation_counter{0};

/// Heap allocations made by this process so far.
inline std::size_t allocations() noexcept {
  return allocation_counter.load(std::memory_order_relaxed);
}

} // namespace bulwark::testing

// noinline: inlined into a caller, GCC 12 pairs the caller's `new` with the
// `free` in here and reports a mismatched allocation (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  bulwark::testing::allocation_counter.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size))
    return p;
  throw std::bad_alloc{};
}

[[gnu::noinline]] void* operator new[](std::size_t size) {
  return operator new(size);
}

[[gnu::noinline]] void* operator new(std::size_t size,
                                     const std::nothrow_t&) noexcept {
  bulwark::testing::allocation_counter.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

[[gnu::noinline]] void* operator new[](std::size_t size,
                                       const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}

[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}

[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}

[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

[[gnu::noinline]] void operator delete(void* p,
                                       const std::nothrow_t&) noexcept {
  std::free(p);
}

[[gnu::noinline]] void operator delete[](void* p,
                                         const std::nothrow_t&) noexcept {
  std::free(p);
}
