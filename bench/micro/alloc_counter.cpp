// The micro benchmarks' allocation counter: the same replaced operator new as
// the tests use (defined in the header, included in this one file only).
#include "bench/micro/alloc_counter.hpp"

#include "tests/support/counting_new.hpp"

namespace bulwark::bench {

std::uint64_t allocations() noexcept {
  return bulwark::testing::allocations();
}

} // namespace bulwark::bench
