// Faithfulness of the metastable model (issue 15, the first must-be-true
// bullet): set-ups A and B must do what they are known to do before any
// policy is judged on them. Medians over 5 seeds as the scenario reports
// them; where one phase of an M/M/1 queue at 90% load is too noisy for a
// 5-seed median (A's `none` at 7 rps), the mean over 40 seeds.
#include "bench/model/metastable_setups.hpp"

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

namespace {

constexpr std::uint64_t base_seed = 1;

std::string seeds_text() {
  return "seeds " + std::to_string(base_seed * 100) + ".."
         + std::to_string(base_seed * 100 + 4);
}

const phase_summary& phase(const run_summary& s, const std::string& name) {
  for (auto& p : s.phases)
    if (p.name == name)
      return p;
  FAIL("no phase " << name);
  return s.phases.front();
}

// The mean of each phase's success over `n` single runs.
run_summary mean_over_seeds(const metastable_setup& setup, client_mode mode,
                            int n) {
  run_summary out;
  for (int i = 0; i < n; ++i) {
    auto s = summarize(setup, run_setup(setup, mode, 1000 + i));
    if (out.phases.empty()) {
      out.phases = s.phases;
      for (auto& p : out.phases)
        p.success = 0;
    }
    for (std::size_t j = 0; j < s.phases.size(); ++j)
      out.phases[j].success += s.phases[j].success / n;
  }
  return out;
}

} // namespace

TEST_CASE("set-up A is the published one", "[bench][model]") {
  auto a = setup_a();
  REQUIRE(a.model.servers.size() == 1);
  CHECK(a.model.servers[0].workers == 1);
  CHECK(a.model.servers[0].mean_service == milliseconds(100));
  CHECK(a.model.servers[0].max_queue == 0);
  CHECK(a.model.attempt_timeout == seconds(5));
  CHECK(a.model.max_attempts == 5);
  const std::pair<const char*, double> phases[] = {
    {"pre", 9}, {"trigger", 20}, {"r9", 9}, {"r7", 7}, {"r5", 5}, {"r3", 3}};
  const int lengths[] = {20, 10, 30, 15, 15, 10};
  REQUIRE(a.model.phases.size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(a.model.phases[i].name == phases[i].first);
    CHECK(a.model.phases[i].rate_per_s == phases[i].second);
    CHECK(a.model.phases[i].length == seconds(lengths[i]));
  }
}

TEST_CASE("set-up B is the published one", "[bench][model]") {
  auto b = setup_b();
  REQUIRE(b.model.servers.size() == 2);
  for (auto& s : b.model.servers) {
    CHECK(s.workers == 5);
    CHECK(s.mean_service == milliseconds(100));
    CHECK(s.max_queue == 10000);
  }
  CHECK(b.model.servers[0].error_start == time_point{} + seconds(5));
  CHECK(b.model.servers[0].error_end == time_point{} + seconds(10));
  CHECK(b.model.servers[1].error_start == b.model.servers[1].error_end);
  CHECK(b.model.attempt_timeout == seconds(1));
  CHECK(b.model.max_attempts == 4);
  auto total = duration{0};
  for (auto& p : b.model.phases) {
    CHECK(p.rate_per_s == 70);
    total += p.length;
  }
  CHECK(total == seconds(60));
}

TEST_CASE("A before the trigger: every client-only mode is healthy",
          "[bench][model]") {
  auto a = setup_a();
  for (auto mode : all_client_modes) {
    INFO(to_string(mode) << ", " << seeds_text());
    auto s = median_summary(a, mode, median_seeds(base_seed, 5));
    CHECK(phase(s, "pre").success >= 0.97);
  }
}

TEST_CASE("A without retries stays stuck at 9 rps, partly recovers at 7 and "
          "fully at 5",
          "[bench][model]") {
  auto a = setup_a();
  INFO(seeds_text() << " and 1000..1039");
  auto s = median_summary(a, client_mode::none, median_seeds(base_seed, 5));
  // About 100 requests (10 s of work) queue up during the trigger and
  // drain at 1 rps: the wait stays above the 5 s timeout for the whole
  // 9 rps phase.
  CHECK(phase(s, "r9").success <= 0.05);
  CHECK(s.late_goodput <= 1.0);
  CHECK(s.mean_amplification_post == Approx(1.0));
  CHECK(phase(s, "r5").success >= 0.9);
  CHECK(phase(s, "r3").success >= 0.98);
  // At 7 rps the queue drains at 3 rps from about 80: requests of the
  // phase's second half get through. The queue's random walk after the
  // trigger (sd of about 30 requests, 3 s of work) makes a single run
  // anything from 0 to 1, so the mean over 40 seeds is what is checked.
  auto m = mean_over_seeds(a, client_mode::none, 40);
  CHECK(phase(m, "r9").success <= 0.1); // a lucky seed clears it late
  CHECK(phase(m, "r7").success >= 0.2);
  CHECK(phase(m, "r7").success <= 0.7);
  CHECK(phase(m, "r5").success >= 0.8);
  CHECK(phase(m, "r3").success >= 0.98);
}

TEST_CASE("A with immediate retries stays stuck down to 3 rps at the attempt "
          "cap",
          "[bench][model]") {
  auto a = setup_a();
  INFO(seeds_text());
  auto s = median_summary(a, client_mode::naive, median_seeds(base_seed, 5));
  for (auto name : {"r9", "r7", "r5", "r3"}) {
    INFO(name);
    CHECK(phase(s, name).success <= 0.05);
  }
  CHECK(s.late_goodput <= 1.0);
  // Every request after the trigger uses all 5 attempts: 9 rps become 45,
  // and even 3 rps become 15, above the 10 rps the server can do.
  CHECK(s.mean_amplification_post >= 4.8);
  CHECK(s.mean_amplification_post <= 5.0);
}

TEST_CASE("B with immediate retries loses its goodput soon after the crash "
          "for good",
          "[bench][model]") {
  auto b = setup_b();
  for (auto seed : median_seeds(base_seed, 5)) {
    INFO("seed " << seed);
    auto run = run_setup(b, client_mode::naive, seed);
    auto tl = make_timeline(b, run);
    REQUIRE(tl.goodput.size() == 60);
    // Healthy before the crash ...
    double pre = 0;
    for (std::size_t i = 0; i < 5; ++i)
      pre += tl.goodput[i] / 5;
    CHECK(pre >= 55);
    // ... then at about zero from 20 s, 10 s after the crash ended, to the
    // end.
    for (std::size_t i = 20; i < 60; ++i) {
      INFO("second " << i);
      CHECK(tl.goodput[i] <= 2);
    }
  }
  auto s = median_summary(b, client_mode::naive, median_seeds(base_seed, 5));
  CHECK(phase(s, "after").success <= 0.1);
  CHECK(s.late_goodput <= 1.0);
  CHECK(s.mean_amplification_post >= 3.5);
}

TEST_CASE("B with a token bucket or a 20% budget is unaffected after the "
          "crash",
          "[bench][model]") {
  auto b = setup_b();
  for (auto mode :
       {client_mode::token_bucket, client_mode::budget20, client_mode::none}) {
    INFO(to_string(mode) << ", " << seeds_text());
    auto s = median_summary(b, mode, median_seeds(base_seed, 5));
    CHECK(phase(s, "pre").success >= 0.99);
    CHECK(phase(s, "after").success >= 0.99);
    CHECK(s.late_goodput == Approx(70).epsilon(0.05));
    CHECK(s.mean_amplification_post <= 1.05);
    CHECK(phase(s, "after").p99_ms <= 1000);
  }
}

TEST_CASE("a timeline counts first tries, retries and goodput per second",
          "[bench][model]") {
  auto b = setup_b();
  auto run = run_setup(b, client_mode::naive, 7);
  auto tl = make_timeline(b, run);
  REQUIRE(tl.first_tries.size() == 60);
  REQUIRE(tl.retries.size() == 60);
  REQUIRE(tl.queue_depth.size() == 60);
  double first = 0;
  double retries = 0;
  double good = 0;
  for (std::size_t i = 0; i < 60; ++i) {
    first += tl.first_tries[i];
    retries += tl.retries[i];
    good += tl.goodput[i];
  }
  std::size_t attempts_in_run = 0;
  std::size_t ok_in_run = 0;
  for (auto& a : run.attempts)
    attempts_in_run += a.sent < time_point{} + seconds(60) ? 1 : 0;
  for (auto& r : run.requests)
    ok_in_run += r.succeeded() && r.end < time_point{} + seconds(60) ? 1 : 0;
  CHECK(first == Approx(static_cast<double>(run.requests.size())));
  CHECK(first + retries == Approx(static_cast<double>(attempts_in_run)));
  CHECK(good == Approx(static_cast<double>(ok_in_run)));
  // The storm: retries outnumber first tries after the crash.
  CHECK(tl.retries[40] > 2 * tl.first_tries[40]);
  CHECK(tl.queue_depth[50] > 1000);
}

TEST_CASE("the 5-seed medians are a function of the base seed",
          "[bench][model]") {
  auto a = setup_a();
  auto x = median_summary(a, client_mode::backoff, median_seeds(3, 5));
  auto y = median_summary(a, client_mode::backoff, median_seeds(3, 5));
  REQUIRE(x.phases.size() == y.phases.size());
  for (std::size_t i = 0; i < x.phases.size(); ++i) {
    CHECK(x.phases[i].success == y.phases[i].success);
    CHECK(x.phases[i].p99_ms == y.phases[i].p99_ms);
  }
  CHECK(x.mean_amplification_post == y.mean_amplification_post);
  CHECK(median_seeds(3, 5)
        == std::vector<std::uint64_t>{300, 301, 302, 303, 304});
}

TEST_CASE("A without retries escapes the 9 rps phase when its server runs "
          "bulwark's overload control",
          "[bench][model][overload]") {
  auto a = with_overload_control(setup_a());
  REQUIRE(a.model.servers[0].policy == server_policy::overload_control);
  INFO(seeds_text());
  auto seeds = median_seeds(base_seed, 5);
  auto s = median_summary(a, client_mode::none, seeds);
  auto fifo = median_summary(setup_a(), client_mode::none, seeds);
  INFO("r9 success: overload control " << phase(s, "r9").success << ", fifo "
                                       << phase(fifo, "r9").success);
  // The bar for `bulwark_server`: >= 0.85 in the 9 rps phase right
  // after the trigger, where the plain FIFO server stays stuck near 0.
  CHECK(phase(s, "r9").success >= 0.85);
  CHECK(phase(fifo, "r9").success <= 0.05);
  // It costs nothing before the trigger and after it.
  CHECK(phase(s, "pre").success >= phase(fifo, "pre").success - 0.02);
  for (auto name : {"r7", "r5", "r3"}) {
    INFO(name);
    CHECK(phase(s, name).success >= 0.95);
  }
}

TEST_CASE("B with immediate retries recovers after the crash when its servers "
          "run bulwark's overload control",
          "[bench][model][overload]") {
  auto b = with_overload_control(setup_b());
  for (auto& s : b.model.servers) {
    CHECK(s.policy == server_policy::overload_control);
    // A fifth of the 1 s timeout: 10 mean service times would be 1 s.
    CHECK(s.overload.target == milliseconds(200));
    CHECK(s.overload.interval == milliseconds(400));
  }
  INFO(seeds_text());
  auto seeds = median_seeds(base_seed, 5);
  auto s = median_summary(b, client_mode::naive, seeds);
  auto fifo = median_summary(setup_b(), client_mode::naive, seeds);
  INFO("after: overload control " << phase(s, "after").success << ", fifo "
                                  << phase(fifo, "after").success);
  // Queued attempts whose caller gave up are dropped instead of served, so
  // the retries stop finding a full queue and the loop breaks.
  CHECK(phase(s, "after").success >= 0.95);
  CHECK(phase(fifo, "after").success <= 0.05);
  CHECK(s.late_goodput >= 65);
  CHECK(s.mean_amplification_post <= 1.05);
}
