// Micro benchmarks of the policy hot paths: each runs the success path a
// dependency actor runs per call, and reports allocations per operation
// (`allocs_per_op`), counted by the replaced operator new.
//
//   ./bulwark micro-bench       (JSON; median of 5 repetitions per benchmark)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/micro/alloc_counter.hpp"
#include "bulwark/runtime/breaker/circuit_breaker.hpp"
#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/cache/response_cache.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/retry/backoff.hpp"
#include "bulwark/runtime/retry/retry_policy.hpp"

using namespace bulwark;

namespace {

// Virtual time advancing 1us per operation, as a busy dependency sees it.
struct fake_clock {
  time_point t{};
  time_point tick() noexcept {
    t += microseconds(1);
    return t;
  }
};

void report_allocs(benchmark::State& state, std::uint64_t before) {
  auto allocs = bench::allocations() - before;
  state.counters["allocs_per_op"] = benchmark::Counter(
    static_cast<double>(allocs) / static_cast<double>(state.iterations()));
}

void breaker_allow_record(benchmark::State& state) {
  breaker_config cfg;
  cfg.window =
    state.range(0) == 0 ? window_kind::count_based : window_kind::time_based;
  cfg.window_size = state.range(0) == 0 ? 100 : 30;
  circuit_breaker cb{cfg};
  fake_clock clock;
  auto ok = outcome::ok();
  auto before = bench::allocations();
  for (auto _ : state) {
    auto now = clock.tick();
    bool allowed = cb.try_acquire(now);
    benchmark::DoNotOptimize(allowed);
    cb.record(ok, microseconds(300), now);
  }
  report_allocs(state, before);
  state.SetLabel(cfg.window == window_kind::count_based ? "count_window"
                                                        : "time_window");
}
BENCHMARK(breaker_allow_record)->Arg(0)->Arg(1);

void budget_check(benchmark::State& state) {
  budget_config cfg;
  cfg.mode = state.range(0) == 0 ? budget_mode::finagle : budget_mode::grpc;
  retry_budget budget{cfg};
  fake_clock clock;
  auto before = bench::allocations();
  for (auto _ : state) {
    auto now = clock.tick();
    budget.on_request(now);
    bool ok = budget.try_withdraw(budget_use::retry, now);
    benchmark::DoNotOptimize(ok);
  }
  report_allocs(state, before);
  state.SetLabel(to_string(cfg.mode));
}
BENCHMARK(budget_check)->Arg(0)->Arg(1);

void retry_decision_path(benchmark::State& state) {
  retry_config cfg;
  rng gen{1};
  fake_clock clock;
  auto failed = outcome::failure(failure_class::transient);
  auto deadline = time_point{} + hours(1);
  auto before = bench::allocations();
  for (auto _ : state) {
    auto now = clock.tick();
    auto d =
      decide_retry(cfg, idempotency::idempotent, failed, 1, 3,
                   microseconds(300), milliseconds(100), now, deadline, gen);
    benchmark::DoNotOptimize(d);
  }
  report_allocs(state, before);
}
BENCHMARK(retry_decision_path);

void backoff_next(benchmark::State& state) {
  backoff_config cfg;
  cfg.jitter = static_cast<jitter_kind>(state.range(0));
  rng gen{1};
  duration prev = cfg.base;
  std::uint32_t n = 0;
  auto before = bench::allocations();
  for (auto _ : state) {
    prev = next_backoff(cfg, (n++ % 8) + 1, prev, gen);
    benchmark::DoNotOptimize(prev);
  }
  report_allocs(state, before);
  state.SetLabel(to_string(cfg.jitter));
}
BENCHMARK(backoff_next)->DenseRange(0, 3);

void classify_status(benchmark::State& state) {
  classifier_config cfg;
  transport_observation obs;
  obs.status = 503;
  auto before = bench::allocations();
  for (auto _ : state) {
    auto o = classify(cfg, obs);
    benchmark::DoNotOptimize(o);
  }
  report_allocs(state, before);
}
BENCHMARK(classify_status);

void cache_hit(benchmark::State& state) {
  cache_config cfg;
  cfg.enabled = true;
  cfg.max_entries = 10'000;
  cfg.ttl = hours(1);
  response_cache cache{cfg};
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("get_price:sku-" + std::to_string(i));
    cache.store(keys.back(), std::string(64, 'x'), time_point{});
  }
  fake_clock clock;
  size_t i = 0;
  auto before = bench::allocations();
  for (auto _ : state) {
    auto hit = cache.lookup(keys[i++ % keys.size()], clock.tick());
    benchmark::DoNotOptimize(hit);
  }
  report_allocs(state, before);
}
BENCHMARK(cache_hit);

} // namespace

BENCHMARK_MAIN();
