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
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"

namespace bulwark::bench {

namespace {

using checkout_atom = caf::atom_constant<caf::atom("checkout")>;

constexpr int dependency_count = 4;
const char* const dependency_names[dependency_count] = {
  "inventory", "pricing", "payments", "recommendations"};
constexpr int recommendations = 3;

// -- the fault schedules (chaos transports), the same in every mode ----------

// Window times in seconds of the run, shared by schedules and charts.
constexpr double brownout_start = 15, brownout_end = 30;
constexpr double outage_start = 35, outage_end = 50;

const char* const schedules[dependency_count] = {
  // inventory: fast, but 5% of answers take 0.4-1.5 s (a slow tail).
  R"({"latency": {"kind": "mixture", "parts": [
       {"weight": 95, "kind": "log_normal", "median": "15ms", "sigma": 0.4},
       {"weight": 5, "kind": "uniform", "min": "400ms", "max": "1500ms"}]}})",
  // pricing: a brownout, 60% transient errors from 15 s to 30 s.
  R"({"errors": {"transient": 0.5},
      "latency": {"kind": "log_normal", "median": "10ms", "sigma": 0.3},
      "windows": [{"kind": "brownout", "start": "15s", "end": "30s",
                   "failure": "transient", "rate": 60}]})",
  // payments: 8% transient errors all along.
  R"({"errors": {"transient": 8},
      "latency": {"kind": "log_normal", "median": "40ms", "sigma": 0.3}})",
  // recommendations: down from 35 s to 50 s, hanging 10x longer than usual
  // before each failure (an outage that times out rather than refuses).
  R"({"latency": {"kind": "log_normal", "median": "30ms", "sigma": 0.3},
      "windows": [{"kind": "outage", "start": "35s", "end": "50s",
                   "failure": "timeout"},
                  {"kind": "slowdown", "start": "35s", "end": "50s",
                   "factor": 10}]})",
};

// -- the policies, per mode ----------------------------------------------------

// What stays the same in every mode: idempotency (a fact about the
// operation, not a policy), the per-attempt timeouts and a bulkhead large
// enough never to be the bottleneck, so modes differ only in resilience.
std::string common(int dep) {
  static const char* const base[dependency_count] = {
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "keyed", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
  };
  static const char* const timeouts[dependency_count] = {"300ms", "200ms",
                                                         "500ms", "400ms"};
  return std::string{base[dep]} + R"(, "retry": {"per_attempt_timeout": ")"
         + timeouts[dep] + "\"";
}

std::string bulwark_policies(int dep) {
  switch (dep) {
    case 0: // inventory: idempotent reads, retried and hedged past the tail.
      return common(dep) + R"(, "max_attempts": 3,
        "backoff": {"base": "10ms", "cap": "100ms"}},
        "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"},
        "breaker": {"minimum_calls": 50})";
    case 1: // pricing: cached; the breaker opens in the brownout and stale
            // prices answer until it is over.
      return common(dep) + R"(, "max_attempts": 2,
        "backoff": {"base": "10ms", "cap": "50ms"}},
        "breaker": {"window_size": 50, "minimum_calls": 20,
                    "open_duration": "2s", "max_open_duration": "4s"},
        "cache": {"enabled": true, "ttl": "2s", "stale_if_error": "60s",
                  "max_entries": 1000},
        "fallback": [{"kind": "stale_cache"}])";
    case 2: // payments: keyed, so retries are safe; never hedged.
      return common(dep) + R"(, "max_attempts": 3,
        "backoff": {"base": "20ms", "cap": "200ms"}},
        "breaker": {"minimum_calls": 50})";
    default: // recommendations: sheddable, a static list when it is down.
      return common(dep) + R"(, "max_attempts": 2,
        "backoff": {"base": "20ms", "cap": "100ms"}},
        "breaker": {"window_size": 20, "minimum_calls": 10,
                    "open_duration": "2s", "max_open_duration": "4s"},
        "fallback": [{"kind": "static", "value": "bestsellers"}])";
  }
}

std::string naive_policies(int dep) {
  return common(dep) + R"(, "max_attempts": 3, "honour_retry_after": false,
    "backoff": {"kind": "constant", "base": "0s", "jitter": "none"}},
    "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"},
    "fallback": [])";
}

std::string no_policies(int dep) {
  return common(dep) + R"(, "enabled": false},
    "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"},
    "fallback": [])";
}

std::vector<dependency_config> configs(const std::string& mode) {
  std::string doc = R"({"dependencies": {)";
  for (int i = 0; i < dependency_count; ++i) {
    auto body = mode == "bulwark" ? bulwark_policies(i)
                : mode == "naive" ? naive_policies(i)
                                  : no_policies(i);
    doc += std::string{i ? ", " : ""} + "\"" + dependency_names[i] + "\": {"
           + body + "}";
  }
  doc += "}}";
  auto parsed = parse_bulwark_config(doc);
  if (!parsed.ok())
    throw std::runtime_error("demo config (" + mode
                             + ") invalid: " + parsed.errors.to_string());
  std::vector<dependency_config> result;
  for (auto* name : dependency_names)
    for (auto& d : parsed.config->dependencies)
      if (d.name == name)
        result.push_back(d);
  return result;
}

fault_schedule schedule_of(int dep) {
  error_list errors;
  auto cfg = parse_fault_schedule(boost::json::parse(schedules[dep]),
                                  json_path{}, errors);
  if (!errors.empty())
    throw std::runtime_error(std::string{"demo fault schedule of "}
                             + dependency_names[dep]
                             + " invalid: " + errors.to_string());
  return cfg;
}

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
  auto cfgs = configs(mode);
  virtual_system vs;
  mode_run result;
  std::vector<chaos_transport> chaos;
  std::vector<caf::actor> deps;
  for (int d = 0; d < dependency_count; ++d) {
    // The same fault seed per dependency in every mode.
    chaos.push_back(
      chaos_transport::spawn(vs.sys(), schedule_of(d),
                             opts.seed * 31 + static_cast<std::uint64_t>(d)));
    dependency_options o;
    o.config = cfgs[static_cast<std::size_t>(d)];
    o.transport = chaos.back().handle();
    o.seed = opts.seed * 131 + static_cast<std::uint64_t>(d);
    deps.push_back(
      caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(o))));
  }
  auto log = std::make_shared<checkout_log>();
  log->records.resize(checkouts);
  auto svc = vs.sys().spawn(checkout_service, deps, log);
  vs.run();
  auto start = vs.now();
  result.start_ns = to_wire_time(start);
  auto interval = std::chrono::duration_cast<duration>(
    std::chrono::duration<double>(1.0 / rate));
  auto per_second = static_cast<std::uint64_t>(rate);
  for (std::uint64_t i = 0; i < checkouts; ++i) {
    vs.advance_to(start + interval * static_cast<std::int64_t>(i));
    caf::anon_send(svc, checkout_atom::value, i);
    vs.run();
    if (per_second > 0 && i % per_second == 0)
      report_progress(opts, mode,
                      static_cast<double>(i) / static_cast<double>(checkouts));
  }
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

double quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank =
    static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(rank, xs.size() - 1)];
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
      {brownout_start, brownout_end, "pricing brownout (60% errors)"},
      {outage_start, outage_end, "recommendations outage"}};
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
    f.add("p50_ms", quantile(all, 0.5));
    f.add("p99_ms", quantile(all, 0.99));
    f.add("amplification", static_cast<double>(run.downstream_attempts) / n);
    f.add("degraded_ratio", static_cast<double>(degraded) / n);
    f.add("downstream_attempts", run.downstream_attempts);
    series p50{"p50", mode, {}}, p99{"p99", mode, {}};
    series gp{"goodput", mode, {}}, amp{"amplification", mode, {}};
    for (std::size_t b = 0; b < buckets; ++b) {
      auto x = static_cast<double>(b) + 0.5;
      if (!lat[b].empty()) {
        p50.points.emplace_back(x, quantile(lat[b], 0.5));
        p99.points.emplace_back(x, quantile(lat[b], 0.99));
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
