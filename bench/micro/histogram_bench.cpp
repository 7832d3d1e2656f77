// Micro benchmark of latency_histogram::record, which a dependency actor runs
// twice per call (request and attempt latency): target <= 20 ns and no
// allocation. Durations cycle through a table spread over all buckets, so the
// bucket search sees the data a real mix of fast and slow calls gives it.
//
//   ./build/bulwark-micro-bench --benchmark_filter=histogram
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "bench/micro/alloc_counter.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/metrics/latency_histogram.hpp"

using namespace bulwark;

namespace {

void histogram_record(benchmark::State& state) {
  // Log-uniform between 10 us and 100 s: every bucket and the overflow.
  std::array<duration, 1024> samples{};
  rng gen{42};
  for (auto& x : samples)
    x = nanoseconds(static_cast<std::int64_t>(
      std::exp(gen.uniform(std::log(1e4), std::log(1e11)))));
  latency_histogram h;
  std::size_t i = 0;
  auto before = bench::allocations();
  for (auto _ : state) {
    h.record(samples[i]);
    i = (i + 1) & (samples.size() - 1);
    benchmark::ClobberMemory();
  }
  auto allocs = bench::allocations() - before;
  state.counters["allocs_per_op"] = benchmark::Counter(
    static_cast<double>(allocs) / static_cast<double>(state.iterations()));
  auto count = h.count();
  benchmark::DoNotOptimize(count);
}
BENCHMARK(histogram_record);

} // namespace
