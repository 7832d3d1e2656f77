// Scenario `progressive`: time to the first useful answer vs time to the
// final one, under the demo's faults (bench/scenarios/demo_graph.hpp). A
// product page fans out to three of the demo's dependencies — inventory (a
// slow latency tail), pricing (a brownout) and recommendations (an outage) —
// each through a dependency actor with the demo's bulwark policies, each
// downstream a chaos transport with the demo's schedule and seed in front of
// a catalogue whose values change over time (stock every 20 s, a price every
// 30 s, a recommendation list every 60 s, per product at its own phase), so
// a stale answer can really differ from the fresh one. Open-loop page loads
// arrive at a fixed rate for 60 virtual seconds on CAF's test scheduler.
// The same traffic and faults run twice:
//   baseline     the demo's policies, one reply per call;
//   progressive  the same policies plus `progressive` on the three
//                dependencies (soft deadlines below): a part not answered
//                by its soft deadline gets a preliminary answer (a stale
//                cache entry, or the static list), then its final one.
// So that a preliminary can exist, inventory gets a cache in both runs (TTL
// shorter than the gap between two views of a product, so every load still
// asks the warehouse; its stale entries serve preliminaries only). A page's
// first useful answer is when every part has a preliminary or a final answer;
// its final answer when every part has its final one. A page succeeds, in
// both runs alike, when the finals of inventory and pricing succeed (a stale
// price counts; a recommendations failure only degrades the page). Latency
// is measured from the page's intended start (no coordinated omission).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bench/runner/scenario.hpp"
#include "bench/scenarios/demo_graph.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bulwark/actors/transport/function_transport.hpp"

namespace bulwark::bench {

namespace {

using page_atom = caf::atom_constant<caf::atom("page")>;

// The page's parts, as indices into the demo's dependencies.
constexpr int part_count = 3;
constexpr int parts[part_count] = {demo_inventory, demo_pricing,
                                   demo_recommendations};
constexpr int recommendations_part = 2;

constexpr int products = 50;

// How often a product's value changes at the catalogue, in seconds, per part.
constexpr double change_period_s[part_count] = {20, 30, 60};

// Soft deadlines per part: a preliminary answer after this long without the
// fresh one. Above each dependency's normal latency (inventory p99 ~40 ms,
// pricing ~20 ms, recommendations ~60 ms), so a healthy call is not
// interrupted, and inside a first-paint budget of about 100 ms.
const char* const soft_deadlines[part_count] = {"100ms", "100ms", "100ms"};
const char* const preliminary_sources[part_count] = {
  R"(["stale_cache"])", R"(["stale_cache"])", R"(["static"])"};

// Inventory's cache, in both runs: a product is viewed about once a second
// (50 products, 50 loads/s), so with a 500 ms TTL no load is answered from
// the cache; the entries only serve preliminaries (stale_if_error window).
const char* const inventory_cache =
  R"(, "cache": {"enabled": true, "ttl": "500ms", "stale_if_error": "60s",
                 "max_entries": 1000})";

std::vector<dependency_config> page_configs(bool progressive) {
  std::vector<std::pair<int, std::string>> texts;
  for (int p = 0; p < part_count; ++p) {
    auto text = demo_policy_text("bulwark", parts[p]);
    if (parts[p] == demo_inventory)
      text += inventory_cache;
    if (progressive)
      text += std::string{R"(, "progressive": {"enabled": true, )"}
              + R"("soft_deadline": ")" + soft_deadlines[p]
              + R"(", "preliminary": )" + preliminary_sources[p] + "}";
    texts.emplace_back(parts[p], std::move(text));
  }
  return parse_demo_configs(texts, progressive ? "progressive (progressive)"
                                               : "progressive (baseline)");
}

// The catalogue behind the chaos transport of part `p`: the value of a
// product is its name and a version that moves every change period, at a
// phase of its own (virtual time).
caf::actor spawn_catalogue(virtual_system& vs, int p) {
  auto* sys = &vs;
  auto period_ns = change_period_s[p] * 1e9;
  return spawn_function_transport(
    vs.sys(), [sys, p, period_ns](const attempt_request& req) {
      auto at = static_cast<double>(to_wire_time(sys->now()));
      // "sku-N": the product's number gives its phase.
      int product = 0;
      for (char c : req.payload)
        if (c >= '0' && c <= '9')
          product = (product * 10 + (c - '0')) % products;
      auto phase = static_cast<double>(product) / products;
      auto version =
        static_cast<std::int64_t>(std::floor(at / period_ns + phase));
      static const char* const kinds[part_count] = {"stock", "price", "recs"};
      attempt_result r;
      r.ok = true;
      r.payload = req.payload + " " + kinds[p] + " v" + std::to_string(version);
      return r;
    });
}

// -- the product page ------------------------------------------------------------

struct part_record {
  bool preliminary = false;
  bool final_seen = false;
  bool changed = false;
  std::string preliminary_payload;
};

struct page_record {
  std::int64_t intended_ns = 0;
  std::int64_t first_ns = -1;
  std::int64_t final_ns = -1;
  int first_parts = 0;
  int final_parts = 0;
  bool ok = true;
  std::array<part_record, part_count> parts;
};

struct page_log {
  std::vector<page_record> records;
};

// Fans each page load out to the three parts (send form, correlation id
// page * 3 + part) and records preliminary and final answers.
// Single-threaded under the test scheduler, so the log needs no lock.
caf::behavior product_page(caf::event_based_actor* self,
                           std::vector<caf::actor> deps, bool progressive,
                           std::shared_ptr<page_log> log) {
  auto first_answer = [self, log](page_record& rec) {
    if (++rec.first_parts == part_count)
      rec.first_ns = to_wire_time(self->clock().now());
  };
  return {
    [=](page_atom, std::uint64_t index) {
      auto now = to_wire_time(self->clock().now());
      auto& rec = log->records.at(index);
      rec.intended_ns = now;
      // 50 products, each viewed about once a second at 50 loads/s.
      auto sku = "sku-" + std::to_string(index * 7919 % products);
      for (int p = 0; p < part_count; ++p) {
        call_request req;
        req.id = index * part_count + static_cast<std::uint64_t>(p);
        req.operation = "get";
        req.payload = sku;
        req.idempotency_key = "page-" + std::to_string(index);
        req.crit = p == recommendations_part ? criticality::sheddable
                                             : criticality::standard;
        req.deadline_ns = now + to_wire_duration(seconds(1));
        req.progressive = progressive;
        self->send(deps[static_cast<std::size_t>(p)], call_atom::value,
                   std::move(req));
      }
    },
    [=](preliminary_atom, const call_reply& rep) {
      auto& rec = log->records.at(rep.id / part_count);
      auto& part = rec.parts.at(rep.id % part_count);
      if (part.preliminary || part.final_seen)
        return; // the protocol promises neither; count nothing twice
      part.preliminary = true;
      part.preliminary_payload = rep.payload;
      first_answer(rec);
    },
    [=](reply_atom, const call_reply& rep) {
      auto& rec = log->records.at(rep.id / part_count);
      auto p = static_cast<int>(rep.id % part_count);
      auto& part = rec.parts.at(static_cast<std::size_t>(p));
      if (part.final_seen)
        return;
      part.final_seen = true;
      if (part.preliminary)
        part.changed = !rep.ok || rep.payload != part.preliminary_payload;
      else
        first_answer(rec);
      if (!rep.ok && p != recommendations_part)
        rec.ok = false;
      if (++rec.final_parts == part_count)
        rec.final_ns = to_wire_time(self->clock().now());
    },
  };
}

// -- one run ---------------------------------------------------------------------

struct page_run {
  std::vector<page_record> records;
  std::int64_t start_ns = 0;
};

page_run run_pages(bool progressive, const scenario_options& opts,
                   std::uint64_t loads, double rate) {
  auto mode = progressive ? "progressive" : "baseline";
  auto cfgs = page_configs(progressive);
  virtual_system vs;
  page_run result;
  std::vector<caf::actor> catalogues;
  std::vector<chaos_transport> chaos;
  std::vector<caf::actor> deps;
  for (int p = 0; p < part_count; ++p) {
    auto d = parts[p];
    catalogues.push_back(spawn_catalogue(vs, p));
    // The demo's schedule and seeds for this dependency, in both runs.
    chaos.push_back(chaos_transport::spawn(vs.sys(), demo_fault_schedule(d),
                                           demo_chaos_seed(opts.seed, d),
                                           catalogues.back()));
    dependency_options o;
    o.config = cfgs[static_cast<std::size_t>(p)];
    o.transport = chaos.back().handle();
    o.seed = demo_dependency_seed(opts.seed, d);
    deps.push_back(
      caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(o))));
  }
  auto log = std::make_shared<page_log>();
  log->records.resize(loads);
  auto page = vs.sys().spawn(product_page, deps, progressive, log);
  vs.run();
  auto start = vs.now();
  result.start_ns = to_wire_time(start);
  vs.run_open_loop(
    start, loads, rate,
    [&](std::uint64_t i) { caf::anon_send(page, page_atom::value, i); },
    [&](double done) { report_progress(opts, mode, done); });
  // Let the last loads finish (every call has a 1 s deadline).
  vs.advance_to(vs.now() + seconds(5));
  for (auto& d : deps)
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  for (auto& c : chaos)
    caf::anon_send_exit(c.handle(), caf::exit_reason::user_shutdown);
  for (auto& c : catalogues)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(page, caf::exit_reason::user_shutdown);
  vs.run();
  result.records = std::move(log->records);
  report_progress(opts, mode, 1.0);
  return result;
}

// Milliseconds from the intended start to `at`; a page never answered is
// worse than any answer.
double ms_since(const page_record& r, std::int64_t at) {
  return at >= 0 ? static_cast<double>(at - r.intended_ns) / 1e6 : 1e9;
}

scenario_result run_progressive(const scenario_options& opts) {
  const double seconds_total = 60;
  const double rate = opts.quick ? 20 : 50;
  auto loads = static_cast<std::uint64_t>(seconds_total * rate);
  scenario_result result;
  auto& f = result.fields;
  f.add("page_loads", loads);
  f.add("rate_per_s", rate);
  f.add("virtual_s", seconds_total);
  auto base = run_pages(false, opts, loads, rate);
  auto prog = run_pages(true, opts, loads, rate);
  auto n = static_cast<double>(loads);
  std::vector<double> first, final_ms, baseline;
  std::uint64_t final_ok = 0, baseline_ok = 0, with_preliminary = 0;
  std::uint64_t preliminaries = 0, changed = 0;
  std::array<std::uint64_t, part_count> by_part{};
  auto buckets = static_cast<std::size_t>(seconds_total);
  std::vector<std::vector<double>> first_b(buckets), final_b(buckets),
    base_b(buckets);
  auto bucket_of = [&](const page_run& run, const page_record& r) {
    auto t = static_cast<double>(r.intended_ns - run.start_ns) / 1e9;
    return std::min(buckets - 1, static_cast<std::size_t>(t));
  };
  for (auto& r : base.records) {
    auto ms = ms_since(r, r.final_ns);
    baseline.push_back(ms);
    base_b[bucket_of(base, r)].push_back(ms);
    if (r.final_ns >= 0 && r.ok)
      ++baseline_ok;
  }
  // Progressive delivery changes no attempt, so each page's final answer
  // should be the baseline's, at the same time (reported, not assumed).
  std::uint64_t finals_unlike_baseline = 0;
  for (std::size_t i = 0; i < prog.records.size(); ++i) {
    auto& r = prog.records[i];
    auto& q = base.records[i];
    if (r.final_ns - r.intended_ns != q.final_ns - q.intended_ns
        || r.ok != q.ok)
      ++finals_unlike_baseline;
  }
  for (auto& r : prog.records) {
    auto b = bucket_of(prog, r);
    first.push_back(ms_since(r, r.first_ns));
    final_ms.push_back(ms_since(r, r.final_ns));
    first_b[b].push_back(first.back());
    final_b[b].push_back(final_ms.back());
    if (r.final_ns >= 0 && r.ok)
      ++final_ok;
    bool any = false;
    for (std::size_t p = 0; p < part_count; ++p) {
      auto& part = r.parts[p];
      if (!part.preliminary)
        continue;
      any = true;
      ++preliminaries;
      ++by_part[p];
      // A part whose final never came counts as failed.
      if (part.changed || !part.final_seen)
        ++changed;
    }
    if (any)
      ++with_preliminary;
  }
  f.add("first_answer_p50_ms", demo_quantile(first, 0.5));
  f.add("first_answer_p99_ms", demo_quantile(first, 0.99));
  f.add("final_p50_ms", demo_quantile(final_ms, 0.5));
  f.add("final_p99_ms", demo_quantile(final_ms, 0.99));
  f.add("baseline_p50_ms", demo_quantile(baseline, 0.5));
  f.add("baseline_p99_ms", demo_quantile(baseline, 0.99));
  f.add("final_success_ratio", static_cast<double>(final_ok) / n);
  f.add("baseline_success_ratio", static_cast<double>(baseline_ok) / n);
  f.add("changed_ratio",
        preliminaries > 0
          ? static_cast<double>(changed) / static_cast<double>(preliminaries)
          : 0.0);
  f.add("preliminary_ratio", static_cast<double>(with_preliminary) / n);
  f.add("finals_unlike_baseline", finals_unlike_baseline);
  f.add("preliminary_answers", preliminaries);
  for (std::size_t p = 0; p < part_count; ++p)
    f.add(std::string{"preliminary_answers_by_part."}
            + demo_dependency_names[parts[p]],
          by_part[p]);
  chart latency{
    "latency",
    "Page latency p99 per second: baseline, first answer, final",
    "time (s)",
    "latency (ms, log scale)",
    {},
    {{demo_brownout_start, demo_brownout_end, "pricing brownout (60% errors)"},
     {demo_outage_start, demo_outage_end, "recommendations outage"}},
    true};
  series b99{"p99", "baseline", {}};
  series f99{"first answer p99", "progressive", {}};
  series l99{"final p99", "progressive", {}};
  for (std::size_t b = 0; b < buckets; ++b) {
    auto x = static_cast<double>(b) + 0.5;
    if (!base_b[b].empty())
      b99.points.emplace_back(x, demo_quantile(base_b[b], 0.99));
    if (!first_b[b].empty()) {
      f99.points.emplace_back(x, demo_quantile(first_b[b], 0.99));
      l99.points.emplace_back(x, demo_quantile(final_b[b], 0.99));
    }
  }
  latency.lines = {std::move(b99), std::move(f99), std::move(l99)};
  result.charts = {std::move(latency)};
  return result;
}

const scenario_registrar progressive_registrar{
  "progressive",
  "product page -> inventory (slow tail), pricing (brownout), "
  "recommendations (outage): first answer vs final, with and without "
  "progressive replies; 60 virtual seconds, open loop",
  run_progressive};

} // namespace

} // namespace bulwark::bench
