// Counts heap allocations made by this process, so each micro benchmark can
// report allocations per operation (`allocs_per_op`) measured, not assumed.
// The counting operator new lives in alloc_counter.cpp.
#pragma once

#include <atomic>
#include <cstdint>

namespace bulwark::bench {

std::uint64_t allocations() noexcept;

} // namespace bulwark::bench
