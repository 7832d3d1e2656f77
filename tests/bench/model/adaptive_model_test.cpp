// The `adaptive` scenario's bars (issue 15), on the model the scenario
// reports (bench/model/adaptive_model.hpp): bulwark's real call engine with
// the adaptive limit at its defaults in front of a simulated 8-worker
// server, in virtual time, three seeds.
#include "bench/model/adaptive_model.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

namespace {

std::string describe(const adaptive_run& r) {
  std::string s;
  s += "limit_converged " + std::to_string(r.limit_converged);
  s += ", p99 unloaded " + std::to_string(r.phases.front().p99_ms) + " ms";
  s += ", p99 converged " + std::to_string(r.converged.p99_ms) + " ms";
  s += ", p99_ratio_at_4x " + std::to_string(r.p99_ratio_at_4x);
  s += ", goodput_ratio " + std::to_string(r.goodput_ratio);
  s += ", brownout_limit_level " + std::to_string(r.brownout_limit_level);
  s +=
    ", brownout_limit_max_ratio " + std::to_string(r.brownout_limit_max_ratio);
  s += ", recovery_s " + std::to_string(r.recovery_s);
  s += ", probes " + std::to_string(r.probes);
  return s;
}

} // namespace

TEST_CASE("the lognormal fitted to p90 50 ms and p99 150 ms has them",
          "[bench][adaptive]") {
  auto d = lognormal::fit(milliseconds(50), milliseconds(150));
  CHECK(std::abs(to_seconds(d.quantile(0.90)) - 0.050) < 1e-6);
  CHECK(std::abs(to_seconds(d.quantile(0.99)) - 0.150) < 1e-6);
  // Sampled: the empirical quantiles of 200,000 draws land within 3%.
  rng gen{42};
  std::vector<double> xs;
  for (int i = 0; i < 200000; ++i)
    xs.push_back(to_seconds(d.sample(gen)));
  std::sort(xs.begin(), xs.end());
  INFO("seed 42: p90 " << xs[180000] << ", p99 " << xs[198000]);
  CHECK(xs[180000] == Approx(0.050).epsilon(0.03));
  CHECK(xs[198000] == Approx(0.150).epsilon(0.03));
  double sum = 0;
  for (auto x : xs)
    sum += x;
  CHECK(sum / xs.size() == Approx(to_seconds(d.mean())).epsilon(0.03));
}

TEST_CASE("a fit with p99 not above p90 is refused", "[bench][adaptive]") {
  CHECK_THROWS_AS(lognormal::fit(milliseconds(50), milliseconds(50)),
                  std::invalid_argument);
}

TEST_CASE("the adaptive limit meets the adaptive scenario's bars at its "
          "defaults",
          "[bench][adaptive]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    auto r = run_adaptive(default_adaptive_setup(seed));
    INFO("seed " << seed << ": " << describe(r));
    // After convergence: limit 8 +- 2, p99 within 1.5x of the unloaded p99
    // at 4x offered load, goodput >= 95% of capacity.
    CHECK(r.limit_converged >= 6.0);
    CHECK(r.limit_converged <= 10.0);
    CHECK(r.p99_ratio_at_4x <= 1.5);
    CHECK(r.goodput_ratio >= 0.95);
    // The brownout: never grows above its level + 20% before it ends, back
    // to 8 +- 2 within 10 s after.
    CHECK(r.brownout_limit_level >= 2.0);
    CHECK(r.brownout_limit_max_ratio <= 1.2);
    CHECK(r.recovery_s >= 0.0);
    CHECK(r.recovery_s <= 10.0);
  }
}

TEST_CASE("the adaptive run is a pure function of its seed",
          "[bench][adaptive]") {
  auto a = run_adaptive(default_adaptive_setup(5));
  auto b = run_adaptive(default_adaptive_setup(5));
  auto c = run_adaptive(default_adaptive_setup(6));
  CHECK(a.limit.size() == b.limit.size());
  bool same = true;
  for (std::size_t i = 0; i < a.limit.size(); ++i)
    same = same && a.limit[i].limit == b.limit[i].limit;
  CHECK(same);
  CHECK(a.goodput == b.goodput);
  CHECK(a.p99_ms == b.p99_ms);
  CHECK(a.goodput != c.goodput);
}
