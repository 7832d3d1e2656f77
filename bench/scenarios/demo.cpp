// Scenario `demo`: the story a newcomer sees first. A checkout service calls
// four dependencies — inventory, pricing, payments, recommendations — each
// through a dependency actor, each downstream a chaos transport with its own
// fault schedule (a slow latency tail on inventory, a brownout on pricing,
// steady errors on payments, an outage of recommendations). Open-loop
// checkouts arrive at a fixed rate for 60 virtual seconds on CAF's test
// scheduler, so a run is deterministic for its seed and takes seconds of
// real time. The same traffic and schedule run in three modes:
//   bulwark  policies suited to each dependency (below);
//   naive    immediate retries: no backoff, budget, breaker, cache, fallback;
//   none     one attempt, no fallback.
// A checkout succeeds when inventory, pricing and payments succeed (a
// recommendations failure only degrades the page); it answers when all four
// calls have answered. Latency is measured from the checkout's intended
// start, so a stalled system cannot hide its queueing (no coordinated
// omission).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/demo_graph.hpp"
#include "bench/scenarios/virtual_system.hpp"

namespace bulwark::bench {

namespace {

using checkout_atom = caf::atom_constant<caf::atom("checkout")>;

constexpr int dependency_count = demo_dependency_count;
constexpr int recommendations = demo_recommendations;

// -- the checkout service --------------------------------------------------------

struct checkout_record {
  std::int64_t intended_ns = 0;
  std::int64_t done_ns = -1;
  int answered = 0;
  bool ok = true;
  bool degraded = false;
  std::uint32_t attempts = 0;
};

struct checkout_log {
  std::vector<checkout_record> records;
};

// Fans each checkout out to the four dependencies (send form, correlation id
// checkout * 4 + dependency) and records the answers. Single-threaded under
// the test scheduler, so the log needs no lock.
caf::behavior checkout_service(caf::event_based_actor* self,
                               std::vector<caf::actor> deps,
                               std::shared_ptr<checkout_log> log) {
  return {
    [=](checkout_atom, std::uint64_t index) {
      auto now = to_wire_time(self->clock().now());
      auto& rec = log->records.at(index);
      rec.intended_ns = now;
      for (int d = 0; d < dependency_count; ++d) {
        call_request req;
        req.id = index * dependency_count + static_cast<std::uint64_t>(d);
        // 50 products: popular enough for pricing's cache to matter.
        auto sku = "sku-" + std::to_string(index * 7919 % 50);
        req.operation = d == 2 ? "charge" : "get";
        req.payload = d == 2 ? "order-" + std::to_string(index) : sku;
        req.idempotency_key = "checkout-" + std::to_string(index);
        req.crit =
          d == recommendations ? criticality::sheddable : criticality::standard;
        req.deadline_ns = now + to_wire_duration(seconds(1));
        self->send(deps[static_cast<std::size_t>(d)], call_atom::value,
                   std::move(req));
      }
    },
    [=](reply_atom, const call_reply& rep) {
      auto index = rep.id / dependency_count;
      auto d = static_cast<int>(rep.id % dependency_count);
      auto& rec = log->records.at(index);
      rec.attempts += rep.attempts;
      if (!rep.ok && d != recommendations)
        rec.ok = false;
      // Degraded: a part answered by a fallback or a stale cache entry.
      if (rep.ok && rep.source != reply_source::live
          && rep.source != reply_source::fresh_cache)
        rec.degraded = true;
      if (++rec.answered == dependency_count)
        rec.done_ns = to_wire_time(self->clock().now());
    },
  };
}

// -- one mode ------------------------------------------------------------------

struct mode_run {
  std::vector<checkout_record> records;
  std::int64_t start_ns = 0;
  std::uint64_t downstream_attempts = 0;
};

mode_run run_mode(const std::string& mode, const scenario_options& opts,
                  std::uint64_t checkouts, double rate) {
  auto cfgs = demo_configs(mode);
  virtual_system vs;
  mode_run result;
  std::vector<chaos_transport> chaos;
  std::vector<caf::actor> deps;
  for (int d = 0; d < dependency_count; ++d) {
    // The same fault seed per dependency in every mode.
    chaos.push_back(chaos_transport::spawn(vs.sys(), demo_fault_schedule(d),
                                           demo_chaos_seed(opts.seed, d)));
    dependency_options o;
    o.config = cfgs[static_cast<std::size_t>(d)];
    o.transport = chaos.back().handle();
    o.seed = demo_dependency_seed(opts.seed, d);
    deps.push_back(
      caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(o))));
  }
  auto log = std::make_shared<checkout_log>();
  log->records.resize(checkouts);
  auto svc = vs.sys().spawn(checkout_service, deps, log);
  vs.run();
  auto start = vs.now();
  result.start_ns = to_wire_time(start);
  vs.run_open_loop(
    start, checkouts, rate,
    [&](std::uint64_t i) { caf::anon_send(svc, checkout_atom::value, i); },
    [&](double done) { report_progress(opts, mode, done); });
  // Let the last checkouts finish (every call has a 1 s deadline).
  vs.advance_to(vs.now() + seconds(5));
  for (auto& c : chaos)
    result.downstream_attempts += c.stats().attempts();
  for (auto& d : deps)
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  for (auto& c : chaos)
    caf::anon_send_exit(c.handle(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(svc, caf::exit_reason::user_shutdown);
  vs.run();
  result.records = std::move(log->records);
  report_progress(opts, mode, 1.0);
  return result;
}

scenario_result run_demo(const scenario_options& opts) {
  const double seconds_total = 60;
  const double rate = opts.quick ? 20 : 50;
  auto checkouts = static_cast<std::uint64_t>(seconds_total * rate);
  scenario_result result;
  result.fields.add("checkouts", checkouts);
  result.fields.add("rate_per_s", rate);
  result.fields.add("virtual_s", seconds_total);
  chart latency{
    "latency",  "Checkout latency per second (p50 solid, p99 dashed)",
    "time (s)", "latency (ms, log scale)",
    {},         {},
    true};
  chart goodput{"goodput",  "Successful checkouts per second",
                "time (s)", "checkouts/s",
                {},         {},
                false};
  chart amplification{"amplification",
                      "Downstream attempts per checkout, per second",
                      "time (s)",
                      "attempts / checkout",
                      {},
                      {},
                      false};
  for (auto* c : {&latency, &goodput, &amplification})
    c->windows = {
      {demo_brownout_start, demo_brownout_end, "pricing brownout (60% errors)"},
      {demo_outage_start, demo_outage_end, "recommendations outage"}};
  for (const char* mode : {"bulwark", "naive", "none"}) {
    auto run = run_mode(mode, opts, checkouts, rate);
    std::vector<double> all;
    std::uint64_t ok = 0, degraded = 0, attempts = 0;
    auto buckets = static_cast<std::size_t>(seconds_total);
    std::vector<std::vector<double>> lat(buckets);
    std::vector<double> good(buckets), sent(buckets), tries(buckets);
    for (auto& r : run.records) {
      auto t = static_cast<double>(r.intended_ns - run.start_ns) / 1e9;
      auto b = std::min(buckets - 1, static_cast<std::size_t>(t));
      auto done = r.done_ns >= 0;
      auto ms = done ? static_cast<double>(r.done_ns - r.intended_ns) / 1e6
                     : 1e9; // never answered: worse than any answer
      all.push_back(ms);
      lat[b].push_back(ms);
      sent[b] += 1;
      tries[b] += r.attempts;
      attempts += r.attempts;
      if (done && r.ok) {
        ++ok;
        good[b] += 1;
      }
      if (done && r.degraded)
        ++degraded;
    }
    auto n = static_cast<double>(run.records.size());
    auto& f = result.mode(mode);
    f.add("success_ratio", static_cast<double>(ok) / n);
    f.add("p50_ms", demo_quantile(all, 0.5));
    f.add("p99_ms", demo_quantile(all, 0.99));
    f.add("amplification", static_cast<double>(run.downstream_attempts) / n);
    f.add("degraded_ratio", static_cast<double>(degraded) / n);
    f.add("downstream_attempts", run.downstream_attempts);
    series p50{"p50", mode, {}}, p99{"p99", mode, {}};
    series gp{"goodput", mode, {}}, amp{"amplification", mode, {}};
    for (std::size_t b = 0; b < buckets; ++b) {
      auto x = static_cast<double>(b) + 0.5;
      if (!lat[b].empty()) {
        p50.points.emplace_back(x, demo_quantile(lat[b], 0.5));
        p99.points.emplace_back(x, demo_quantile(lat[b], 0.99));
      }
      gp.points.emplace_back(x, good[b]);
      if (sent[b] > 0)
        amp.points.emplace_back(x, tries[b] / sent[b]);
    }
    latency.lines.push_back(std::move(p50));
    latency.lines.push_back(std::move(p99));
    goodput.lines.push_back(std::move(gp));
    amplification.lines.push_back(std::move(amp));
  }
  result.charts = {std::move(latency), std::move(goodput),
                   std::move(amplification)};
  return result;
}

const scenario_registrar demo_registrar{
  "demo",
  "checkout -> inventory (slow tail), pricing (brownout), payments (errors), "
  "recommendations (outage); 60 virtual seconds, open loop",
  run_demo};

} // namespace

} // namespace bulwark::bench
