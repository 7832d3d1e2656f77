#include "bench/micro/alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> count{0};

} // namespace

namespace bulwark::bench {

std::uint64_t allocations() noexcept {
  return count.load(std::memory_order_relaxed);
}

} // namespace bulwark::bench

void* operator new(std::size_t n) {
  count.fetch_add(1, std::memory_order_relaxed);
  if (auto* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc{};
}

void* operator new[](std::size_t n) {
  return operator new(n);
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete[](void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
