// The `bulwark` and `bulwark_server` modes of the metastable model: how the
// policy composes the runtime's objects (routing by per-server breakers and
// limits, reroute after a failure), and the bars
// of issue 15 item 4, on medians over seeds 100..104 exactly as the
// `metastable` scenario computes them. No tolerance anywhere: a bar holds or
// it does not. B's `crash` and `after` bars hold on these seeds by a hair
// (0.691 vs budget20's 0.689; 1.00 vs 1.00, no request lost after the
// crash in any of the five seeds); docs/benchmarks.md says how often they
// hold on other seed sets.
#include "bench/model/bulwark_policy.hpp"
#include "bench/model/metastable_setups.hpp"
#include "bench/model/phase_diagram.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

namespace {

time_point at_ms(std::int64_t ms) {
  return time_point{} + milliseconds(ms);
}

attempt_info first_try(std::uint32_t server, std::uint32_t servers) {
  attempt_info x;
  x.attempt = 1;
  x.server = server;
  x.servers = servers;
  x.timeout = seconds(1);
  return x;
}

attempt_report report(attempt_outcome outcome, std::uint32_t server,
                      std::uint32_t attempt = 1) {
  return attempt_report{outcome, attempt, milliseconds(100), server, false};
}

policy_context context() {
  policy_context ctx;
  ctx.attempt_timeout = seconds(1);
  ctx.max_attempts = 4;
  return ctx;
}

constexpr std::uint64_t base_seed = 1;

std::string seeds_text() {
  return "seeds " + std::to_string(base_seed * 100) + ".."
         + std::to_string(base_seed * 100 + 4);
}

// Checks that `bulwark` does at least as well as every client-only mode in
// every phase of `setup` (medians over the seeds).
void check_at_least_best_client_only(const metastable_setup& setup) {
  auto seeds = median_seeds(base_seed, 5);
  auto ours = median_summary(setup, client_mode::bulwark, seeds);
  for (std::size_t i = 0; i < ours.phases.size(); ++i) {
    double best = 0;
    std::string best_mode;
    for (auto mode : client_only_modes) {
      auto s = median_summary(setup, mode, seeds);
      if (s.phases[i].success > best) {
        best = s.phases[i].success;
        best_mode = std::string{to_string(mode)};
      }
    }
    INFO("set-up " << setup.name << ", phase " << ours.phases[i].name
                   << ": bulwark " << ours.phases[i].success << ", best "
                   << best_mode << " " << best << ", " << seeds_text());
    CHECK(ours.phases[i].success >= best);
  }
}

} // namespace

TEST_CASE("the bulwark mode uses the runtime's defaults but for the settings "
          "the model needs",
          "[bench][model]") {
  auto cfg = make_bulwark_policy_config(context());
  CHECK(cfg.retry.max_attempts == 4);
  CHECK(cfg.retry.per_attempt_timeout == seconds(1));
  CHECK(cfg.retry.backoff.base == backoff_config{}.base);
  CHECK(cfg.retry.backoff.cap == backoff_config{}.cap);
  CHECK(cfg.retry.backoff.jitter == jitter_kind::full);
  CHECK(cfg.budget == budget_config{});
  // A pool member's breaker: open a tenth of the attempt timeout (at most
  // 1 s), no doubling, as many half-open probes as a limit window needs
  // samples; everything else the runtime's.
  auto breaker = breaker_config{};
  CHECK(cfg.breaker.open_duration == milliseconds(100));
  CHECK(cfg.breaker.open_duration_multiplier == 1.0);
  CHECK(cfg.breaker.half_open_probes == 10);
  CHECK(cfg.breaker.half_open_probes == cfg.limit.min_samples);
  breaker.open_duration = cfg.breaker.open_duration;
  breaker.open_duration_multiplier = cfg.breaker.open_duration_multiplier;
  breaker.half_open_probes = cfg.breaker.half_open_probes;
  CHECK(cfg.breaker == breaker);
  policy_context slow;
  slow.attempt_timeout = seconds(20);
  slow.max_attempts = 4;
  CHECK(make_bulwark_policy_config(slow).breaker.open_duration == seconds(1));
  // No wait for a slot; the bulkhead's limit is the adaptive limit's start.
  CHECK(cfg.bulkhead.max_queue == 0);
  CHECK(cfg.bulkhead.max_concurrent == bulkhead_config{}.max_concurrent);
  CHECK(cfg.throttle.enabled);
  CHECK(cfg.throttle.k == 2.0);
  CHECK(cfg.throttle.window == seconds(120));
  CHECK(cfg.shedding.enabled);
  CHECK(cfg.shedding.quantile == deadline_shedding_config{}.quantile);
  CHECK(cfg.limit.enabled);
  CHECK(cfg.limit.kind == adaptive_limit_kind::gradient);
  CHECK(cfg.limit.initial_limit == 64);
  CHECK(cfg.limit.min_queueing == milliseconds(200)); // a fifth of 1 s
  auto defaults = adaptive_limit_config{};
  CHECK(cfg.limit.window == milliseconds(250)); // a quarter of 1 s
  CHECK(cfg.limit.backoff_ratio == defaults.backoff_ratio);
}

TEST_CASE("a bulwark retry goes to the server after the one that failed",
          "[bench][model]") {
  bulwark_policy p{context(), 1};
  REQUIRE(p.admit_first_try(at_ms(0)));
  auto to = p.route_attempt(at_ms(0), first_try(1, 3));
  REQUIRE(to);
  CHECK(*to == 1); // round robin's pick
  p.observe(at_ms(10), report(attempt_outcome::error, 1));
  auto delay = p.decide_retry(at_ms(10), 1);
  REQUIRE(delay);
  auto retry = first_try(1, 3); // round robin would pick 1 again
  retry.attempt = 2;
  retry.previous_server = 1;
  auto again = p.route_attempt(at_ms(10) + *delay, retry);
  REQUIRE(again);
  CHECK(*again == 2);
}

TEST_CASE("an attempt round robin puts on a server whose breaker is open "
          "goes to the next server instead",
          "[bench][model]") {
  bulwark_policy p{context(), 1};
  // 20 failures on server 0 (the breaker's minimum_calls, all failed).
  for (int i = 0; i < 20; ++i) {
    auto to = p.route_attempt(at_ms(i), first_try(0, 2));
    REQUIRE(to);
    REQUIRE(*to == 0);
    p.observe(at_ms(i), report(attempt_outcome::error, 0));
  }
  CHECK(p.breaker(0).state() == breaker_state::open);
  auto to = p.route_attempt(at_ms(100), first_try(0, 2));
  REQUIRE(to);
  CHECK(*to == 1);
  CHECK(p.counters().rejected_breaker == 0);
}

TEST_CASE("an attempt finding its server's learned limit full goes to the "
          "next server, and is rejected locally when every limit is full",
          "[bench][model]") {
  auto cfg = make_bulwark_policy_config(context());
  cfg.limit.initial_limit = 2;
  cfg.limit.min_limit = 2;
  bulwark_policy p{cfg, 1};
  CHECK(p.route_attempt(at_ms(0), first_try(0, 2)) == 0u);
  CHECK(p.route_attempt(at_ms(0), first_try(0, 2)) == 0u);
  CHECK(p.in_flight(0) == 2);
  // Server 0 is full: the next one takes it, retries included.
  CHECK(p.route_attempt(at_ms(0), first_try(0, 2)) == 1u);
  auto retry = first_try(0, 2);
  retry.attempt = 2;
  retry.previous_server = 1;
  CHECK(p.route_attempt(at_ms(0), retry) == 1u);
  CHECK(p.in_flight(1) == 2);
  CHECK(!p.route_attempt(at_ms(0), first_try(0, 2)));
  CHECK(p.counters().rejected_limit == 1);
  p.observe(at_ms(100), report(attempt_outcome::success, 0));
  CHECK(p.in_flight(0) == 1);
  CHECK(p.route_attempt(at_ms(100), first_try(1, 2)) == 0u);
}

TEST_CASE("an attempt every limit refuses may wait for a slot when the "
          "bulkhead has a queue; a breaker's refusal never waits",
          "[bench][model]") {
  auto cfg = make_bulwark_policy_config(context());
  cfg.limit.initial_limit = 2;
  cfg.limit.min_limit = 2;
  SECTION("the mode's own setting: no queue, rejected at once") {
    bulwark_policy p{cfg, 1};
    for (int i = 0; i < 4; ++i)
      REQUIRE(p.route_attempt(at_ms(0), first_try(0, 2)));
    CHECK(!p.route_attempt(at_ms(0), first_try(0, 2)));
    CHECK(!p.wait_for_slot(at_ms(0), 0));
    CHECK(p.counters().waited_for_slot == 0);
  }
  SECTION("a queue of 2: waits max_queue_wait while the queue has room") {
    cfg.bulkhead.max_queue = 2;
    cfg.bulkhead.max_queue_wait = milliseconds(100);
    bulwark_policy p{cfg, 1};
    for (int i = 0; i < 4; ++i)
      REQUIRE(p.route_attempt(at_ms(0), first_try(0, 2)));
    CHECK(!p.route_attempt(at_ms(0), first_try(0, 2)));
    CHECK(p.counters().rejected_limit == 1);
    CHECK(p.wait_for_slot(at_ms(0), 0) == milliseconds(100));
    CHECK(p.wait_for_slot(at_ms(0), 1) == milliseconds(100));
    CHECK(!p.wait_for_slot(at_ms(0), 2)); // the queue is full
    CHECK(p.counters().waited_for_slot == 2);
  }
  SECTION("every breaker open: rejected at once, queue or not") {
    cfg.bulkhead.max_queue = 2;
    bulwark_policy p{cfg, 1};
    for (std::uint32_t srv = 0; srv < 2; ++srv)
      for (int i = 0; i < 20; ++i) {
        REQUIRE(p.route_attempt(at_ms(i), first_try(srv, 2)));
        p.observe(at_ms(i), report(attempt_outcome::error, srv));
      }
    REQUIRE(p.breaker(0).state() == breaker_state::open);
    REQUIRE(p.breaker(1).state() == breaker_state::open);
    CHECK(!p.route_attempt(at_ms(100), first_try(0, 2)));
    CHECK(p.counters().rejected_breaker == 1);
    CHECK(!p.wait_for_slot(at_ms(100), 0));
  }
}

TEST_CASE("with route_attempt in the model, naive in B still collapses",
          "[bench][model]") {
  // The interface the new modes need must not move what the simple modes
  // share with them (the model, the arrivals, round robin); the published
  // numbers are checked by metastable_setups_test, untouched.
  auto b = setup_b();
  auto s = median_summary(b, client_mode::naive, median_seeds(base_seed, 5));
  CHECK(s.phases[2].success <= 0.05);
  CHECK(s.mean_amplification_post >= 3.8);
}

TEST_CASE("bar: bulwark does at least as well as the best client-only mode "
          "in every phase of A (no tolerance)",
          "[bench][model][bar]") {
  check_at_least_best_client_only(setup_a());
}

TEST_CASE("bar: bulwark does at least as well as the best client-only mode "
          "in every phase of B (no tolerance)",
          "[bench][model][bar]") {
  check_at_least_best_client_only(setup_b());
}

TEST_CASE("bar: bulwark sends at most 1.05 attempts per first try after B's "
          "crash",
          "[bench][model][bar]") {
  INFO(seeds_text());
  auto s =
    median_summary(setup_b(), client_mode::bulwark, median_seeds(base_seed, 5));
  CHECK(s.mean_amplification_post <= 1.05);
}

TEST_CASE("bar: bulwark_server succeeds at least 85% in A's 9 rps phase right "
          "after the trigger",
          "[bench][model][bar]") {
  INFO(seeds_text());
  auto s = median_summary(setup_a(), client_mode::bulwark_server,
                          median_seeds(base_seed, 5));
  auto r9 = std::find_if(s.phases.begin(), s.phases.end(),
                         [](const phase_summary& p) { return p.name == "r9"; });
  REQUIRE(r9 != s.phases.end());
  CHECK(r9->success >= 0.85);
}

TEST_CASE("bar: bulwark_server recovers within 30 s in every cell of A's "
          "phase diagram",
          "[bench][model][bar]") {
  auto cells =
    run_phase_diagram(client_mode::bulwark_server, default_magnitudes(),
                      default_trigger_durations(), median_seeds(base_seed, 5));
  REQUIRE(cells.size() == 30);
  for (auto& c : cells) {
    INFO(c.magnitude << "x for " << to_seconds(c.trigger) << " s: success "
                     << c.success_after << ", " << seeds_text());
    CHECK(c.recovered);
  }
}
