// Scenarios `overhead` and `scale`: what a protected call costs over the
// fastest bare CAF forwarding (send + correlation ids), and whether that cost
// stays flat with more calls in flight, more calls in total, and many
// dependency actors. Protected and bare runs alternate in one process, and
// the ratios are medians of those side-by-side runs. `overhead` reports the
// cost twice: in wall time, and in the CPU time the process used (which
// another program on the machine can slow down but not steal), with the
// spread over every interleaved pair of chunks.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/transport/echo_transport.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "bench/runner/bench_system.hpp"
#include "bench/runner/load_generator.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/bare_forwarding.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"

namespace bulwark::bench {

namespace {

// The hedge timer is armed for every call, but a hedge must not fire: in a
// closed loop at saturation the latency is the loop's own queueing (about
// inflight x per-call cost: ~0.2 ms at 100 in flight, ~30 ms at 10,000),
// which a hedge cannot beat, and extra attempts would be counted as cost.
std::string hedge_min_delay(std::uint32_t inflight) {
  return inflight <= 100 ? "5ms" : "1s";
}

// Every policy on: retries, budget, breaker (time window), concurrency limit,
// cache (consulted and refreshed on every call: "always live, stale on
// error" — a 1ns TTL makes each lookup a miss and each reply a store, and the
// long stale-if-error window keeps the entry for the fallback), hedging (timer
// armed per call; an instant transport never lets it fire), journeys, counters.
// `adaptive`: the adaptive concurrency limit on at its defaults, driving
// the bulkhead's limit in place of `max_concurrent` (issue 15's bar).
dependency_config all_policies_config(std::uint32_t max_concurrent,
                                      std::uint32_t inflight,
                                      bool adaptive = false) {
  auto text =
    R"({"dependencies": {"bench": {
    "idempotency": "idempotent",
    "default_timeout": "30s",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "10s"},
    "budget": {"mode": "finagle"},
    "breaker": {"window": "time_based", "window_size": 10},
    "bulkhead": {"max_concurrent": )"
    + std::to_string(max_concurrent) + R"(, "max_queue": 1024},
    "cache": {"enabled": true, "ttl": "1ns", "stale_if_error": "1h",
              "max_entries": 1024},
    "hedge": {"enabled": true, "delay_kind": "quantile", "min_delay": ")"
    + hedge_min_delay(inflight) + R"("},
    "fallback": [{"kind": "stale_cache"}, {"kind": "static", "value": "x"}],
    "journeys": {"enabled": true})"
    + std::string{adaptive ? R"(, "adaptive_limit": {"enabled": true})" : ""}
    + "}}}";
  if (auto* v = std::getenv("BULWARK_BENCH_OVERRIDE");
      v != nullptr && *v != 0) {
    // Experiments only: replace a section, e.g. '"journeys": {"enabled":
    // false}'.
    text.insert(text.size() - 3, std::string{", "} + v);
  }
  auto result = parse_bulwark_config(text);
  if (!result.ok())
    throw std::runtime_error("bench config invalid: "
                             + result.errors.to_string());
  return result.config->dependencies.at(0);
}

// The concurrency limit is twice the calls in flight: with its default 10%
// reserve for critical calls, a limit just above the load would queue the
// standard ones and measure queueing instead of the call path.
dependency_actor spawn_bench_dependency(caf::actor_system& sys,
                                        caf::actor transport,
                                        std::uint32_t max_concurrent,
                                        bool adaptive = false) {
  dependency_options opts;
  opts.config =
    all_policies_config(max_concurrent, max_concurrent / 2, adaptive);
  opts.transport = std::move(transport);
  return spawn_dependency(sys, std::move(opts));
}

load_config make_load(std::uint64_t calls, std::uint32_t inflight) {
  load_config cfg;
  cfg.calls = calls;
  cfg.inflight = inflight;
  cfg.prototype.operation = "get";
  cfg.prototype.payload = "sku-1";
  cfg.prototype.idempotency_key = "k";
  return cfg;
}

void require_complete(const load_report& r, std::uint64_t calls,
                      const char* what) {
  if (!r.complete || r.ok != calls)
    throw std::runtime_error(std::string{what} + ": lost or failed replies ("
                             + std::to_string(r.ok) + " of "
                             + std::to_string(calls) + " ok)");
}

// The value below which a share `q` of `xs` lies (linear between ranks).
double quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0.0;
  std::sort(xs.begin(), xs.end());
  auto pos = q * static_cast<double>(xs.size() - 1);
  auto lo = static_cast<std::size_t>(pos);
  auto hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - static_cast<double>(lo));
}

// What one side-by-side measurement saw: per call, wall and process CPU time
// of each side, and the protected / bare ratios of each interleaved pair of
// chunks.
struct side_by_side_result {
  double bare_ns = 0;
  double prot_ns = 0;
  double bare_cpu_ns = 0;
  double prot_cpu_ns = 0;
  std::vector<double> pair_ratios;
  std::vector<double> pair_cpu_ratios;
};

// One measurement: `cfg.calls` calls through bare forwarding and through a
// protected call, interleaved in chunks (bare, protected, bare, ...) against
// the same warm actors, so that a burst of noise on this shared machine hits
// both sides alike.
side_by_side_result side_by_side(caf::actor_system& sys, const load_config& cfg,
                                 const caf::actor& transport,
                                 bool adaptive = false) {
  constexpr std::uint64_t chunks = 10;
  auto chunk = cfg;
  chunk.calls = std::max<std::uint64_t>(1, cfg.calls / chunks);
  auto server = sys.spawn(instant_server);
  auto fwd = sys.spawn(forwarder, server);
  auto dep = caf::actor_cast<caf::actor>(
    spawn_bench_dependency(sys, transport, 2 * cfg.inflight, adaptive));
  std::int64_t bare_ns = 0, prot_ns = 0, bare_cpu = 0, prot_cpu = 0;
  std::uint64_t calls = 0;
  side_by_side_result result;
  // Experiments only (profiling one side under perf): BULWARK_BENCH_SIDE=bare
  // or =protected runs that side in both halves; the ratio is then 1.
  const char* side_env = std::getenv("BULWARK_BENCH_SIDE");
  std::string side = side_env ? side_env : "";
  for (std::uint64_t i = 0; i < chunks; ++i) {
    auto b = run_closed_loop(sys, side == "protected" ? dep : fwd, chunk);
    require_complete(b, chunk.calls, "bare");
    auto p = run_closed_loop(sys, side == "bare" ? fwd : dep, chunk);
    require_complete(p, chunk.calls, "protected");
    bare_ns += b.wall_ns;
    prot_ns += p.wall_ns;
    bare_cpu += b.cpu_ns;
    prot_cpu += p.cpu_ns;
    calls += chunk.calls;
    result.pair_ratios.push_back(static_cast<double>(p.wall_ns)
                                 / static_cast<double>(b.wall_ns));
    result.pair_cpu_ratios.push_back(static_cast<double>(p.cpu_ns)
                                     / static_cast<double>(b.cpu_ns));
  }
  caf::anon_send_exit(fwd, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dep, caf::exit_reason::user_shutdown);
  auto n = static_cast<double>(calls);
  result.bare_ns = static_cast<double>(bare_ns) / n;
  result.prot_ns = static_cast<double>(prot_ns) / n;
  result.bare_cpu_ns = static_cast<double>(bare_cpu) / n;
  result.prot_cpu_ns = static_cast<double>(prot_cpu) / n;
  return result;
}

double bare_run(caf::actor_system& sys, const load_config& cfg) {
  auto server = sys.spawn(instant_server);
  auto fwd = sys.spawn(forwarder, server);
  auto r = run_closed_loop(sys, fwd, cfg);
  require_complete(r, cfg.calls, "bare");
  caf::anon_send_exit(fwd, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return r.ns_per_call();
}

double protected_run(caf::actor_system& sys, const load_config& cfg,
                     caf::actor transport) {
  auto dep = spawn_bench_dependency(sys, transport, 2 * cfg.inflight);
  auto r = run_closed_loop(sys, caf::actor_cast<caf::actor>(dep), cfg);
  require_complete(r, cfg.calls, "protected");
  caf::anon_send_exit(dep, caf::exit_reason::user_shutdown);
  return r.ns_per_call();
}

scenario_result run_overhead(const scenario_options& opts) {
  auto calls = opts.quick ? std::uint64_t{50'000} : std::uint64_t{1'000'000};
  auto cfg = make_load(calls, 100);
  bench_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto echo = spawn_echo_transport(sys);
  auto fn = spawn_function_transport(sys, [](const attempt_request& req) {
    return success_result(req.payload);
  });
  // The same calls carrying a request's context as a handler forwards it
  // (downstream_call): a deadline an hour away, critical, one attempt made
  // upstream, and an unsampled W3C trace (sampled traces also record a
  // journey per call; production samples a few).
  auto traced = cfg;
  traced.prototype.deadline_ns =
    to_wire_time(std::chrono::steady_clock::now() + std::chrono::hours{1});
  traced.prototype.crit = criticality::critical;
  traced.prototype.upstream_attempts = 1;
  traced.prototype.trace.trace =
    trace_id{0x4bf92f3577b34da6, 0xa3ce929d0e0e4736};
  traced.prototype.trace.parent_id = 0x00f067aa0ba902b7;
  traced.prototype.upstream_span = 0x00f067aa0ba902b7;
  auto runs = std::max(opts.runs, 5);
  std::vector<double> traced_ratios, traced_cpu_ratios;
  std::vector<double> adaptive_ratios, adaptive_cpu_ratios;
  std::vector<double> bare, prot, fnt, ratios, bare_cpu, prot_cpu, cpu_ratios;
  std::vector<double> pair_ratios, pair_cpu_ratios;
  for (int i = 0; i < runs; ++i) {
    auto r = side_by_side(sys, cfg, echo);
    bare.push_back(r.bare_ns);
    prot.push_back(r.prot_ns);
    ratios.push_back(r.prot_ns / r.bare_ns);
    bare_cpu.push_back(r.bare_cpu_ns);
    prot_cpu.push_back(r.prot_cpu_ns);
    cpu_ratios.push_back(r.prot_cpu_ns / r.bare_cpu_ns);
    pair_ratios.insert(pair_ratios.end(), r.pair_ratios.begin(),
                       r.pair_ratios.end());
    pair_cpu_ratios.insert(pair_cpu_ratios.end(), r.pair_cpu_ratios.begin(),
                           r.pair_cpu_ratios.end());
    fnt.push_back(side_by_side(sys, cfg, fn).prot_ns);
    auto t = side_by_side(sys, traced, echo);
    traced_ratios.push_back(t.prot_ns / t.bare_ns);
    traced_cpu_ratios.push_back(t.prot_cpu_ns / t.bare_cpu_ns);
    auto a = side_by_side(sys, cfg, echo, true);
    adaptive_ratios.push_back(a.prot_ns / a.bare_ns);
    adaptive_cpu_ratios.push_back(a.prot_cpu_ns / a.bare_cpu_ns);
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fn, caf::exit_reason::user_shutdown);
  scenario_result result;
  result.fields.add("ns_per_call", median(prot));
  result.fields.add("bare_ns_per_call", median(bare));
  result.fields.add("ratio", median(ratios));
  result.fields.add("cpu_ns_per_call", median(prot_cpu));
  result.fields.add("bare_cpu_ns_per_call", median(bare_cpu));
  result.fields.add("cpu_ratio", median(cpu_ratios));
  // With the request's context on every call (deadline, criticality,
  // upstream attempts, trace context), against the same bare forwarding.
  result.fields.add("context_ratio", median(traced_ratios));
  result.fields.add("context_cpu_ratio", median(traced_cpu_ratios));
  // With the adaptive concurrency limit on at its defaults in place of the
  // fixed limit.
  result.fields.add("adaptive_ratio", median(adaptive_ratios));
  result.fields.add("adaptive_cpu_ratio", median(adaptive_cpu_ratios));
  // The spread of the interleaved pairs (every chunk pair of every run).
  result.fields.add("pair_ratio_min", quantile(pair_ratios, 0.0));
  result.fields.add("pair_ratio_p25", quantile(pair_ratios, 0.25));
  result.fields.add("pair_ratio_p75", quantile(pair_ratios, 0.75));
  result.fields.add("pair_ratio_max", quantile(pair_ratios, 1.0));
  result.fields.add("pair_cpu_ratio_min", quantile(pair_cpu_ratios, 0.0));
  result.fields.add("pair_cpu_ratio_p25", quantile(pair_cpu_ratios, 0.25));
  result.fields.add("pair_cpu_ratio_p75", quantile(pair_cpu_ratios, 0.75));
  result.fields.add("pair_cpu_ratio_max", quantile(pair_cpu_ratios, 1.0));
  result.fields.add("pairs", pair_ratios.size());
  result.fields.add("fn_ns_per_call", median(fnt));
  result.fields.add("calls", calls);
  result.fields.add("inflight", cfg.inflight);
  result.fields.add("runs", runs);
  result.fields.add("workers", sys.scheduler().num_workers());
  return result;
}

// Per-call cost at 100 and at 10,000 calls in flight, each through its own
// warm dependency actor, interleaved in chunks so that noise on this shared
// machine hits both alike. Returns {ns/call at 100, ns/call at 10,000}.
std::pair<double, double> inflight_side_by_side(caf::actor_system& sys,
                                                std::uint64_t calls,
                                                const caf::actor& transport) {
  constexpr std::uint64_t chunks = 10;
  auto small = make_load(std::max<std::uint64_t>(1, calls / chunks), 100);
  auto large = make_load(std::max<std::uint64_t>(1, calls / chunks), 10'000);
  auto dep_small = caf::actor_cast<caf::actor>(
    spawn_bench_dependency(sys, transport, 2 * small.inflight));
  auto dep_large = caf::actor_cast<caf::actor>(
    spawn_bench_dependency(sys, transport, 2 * large.inflight));
  std::int64_t small_ns = 0, large_ns = 0;
  for (std::uint64_t i = 0; i < chunks; ++i) {
    auto a = run_closed_loop(sys, dep_small, small);
    require_complete(a, small.calls, "100 in flight");
    auto b = run_closed_loop(sys, dep_large, large);
    require_complete(b, large.calls, "10,000 in flight");
    small_ns += a.wall_ns;
    large_ns += b.wall_ns;
  }
  caf::anon_send_exit(dep_small, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dep_large, caf::exit_reason::user_shutdown);
  auto n = static_cast<double>(chunks * small.calls);
  return {small_ns / n, large_ns / n};
}

std::size_t resident_bytes() {
  std::ifstream in{"/proc/self/statm"};
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

scenario_result run_scale(const scenario_options& opts) {
  bench_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto echo = spawn_echo_transport(sys);
  auto runs = std::max(opts.runs, 3);
  auto small_calls =
    opts.quick ? std::uint64_t{20'000} : std::uint64_t{100'000};
  auto big_calls =
    opts.quick ? std::uint64_t{200'000} : std::uint64_t{1'000'000};
  auto per_inflight =
    opts.quick ? std::uint64_t{100'000} : std::uint64_t{1'000'000};
  std::vector<double> inflight_ratios, volume_ratios, at_100, at_10k,
    bare_ratios;
  for (int i = 0; i < runs; ++i) {
    auto [a, b] = inflight_side_by_side(sys, per_inflight, echo);
    at_100.push_back(a);
    at_10k.push_back(b);
    inflight_ratios.push_back(b / a);
    // The same growth for bare CAF forwarding, for context.
    bare_ratios.push_back(bare_run(sys, make_load(per_inflight, 10'000))
                          / bare_run(sys, make_load(per_inflight, 100)));
    auto s = protected_run(sys, make_load(small_calls, 100), echo);
    auto l = protected_run(sys, make_load(big_calls, 100), echo);
    volume_ratios.push_back(l / s);
  }
  // Memory: RSS growth per idle dependency actor (default config).
  const std::size_t actors = opts.quick ? 1'000 : 10'000;
  std::vector<dependency_actor> deps;
  deps.reserve(actors);
  auto before = resident_bytes();
  auto base = parse_bulwark_config(R"({"dependencies": {"d": {}}})");
  for (std::size_t i = 0; i < actors; ++i) {
    dependency_options o;
    o.config = base.config->dependencies.at(0);
    o.transport = echo;
    deps.push_back(spawn_dependency(sys, std::move(o)));
  }
  auto after = resident_bytes();
  for (auto& d : deps)
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  deps.clear();
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  scenario_result result;
  result.fields.add("ns_per_call_100_inflight", median(at_100));
  result.fields.add("ns_per_call_10000_inflight", median(at_10k));
  result.fields.add("inflight_ratio", median(inflight_ratios));
  result.fields.add("bare_inflight_ratio", median(bare_ratios));
  result.fields.add("volume_ratio", median(volume_ratios));
  result.fields.add("bytes_per_actor",
                    static_cast<double>(after > before ? after - before : 0)
                      / static_cast<double>(actors));
  result.fields.add("actors", actors);
  result.fields.add("runs", runs);
  return result;
}

const scenario_registrar overhead_registrar{
  "overhead",
  "1M protected calls (every policy on, 100 in flight, instant transport) vs "
  "bare CAF forwarding, side by side",
  run_overhead};

const scenario_registrar scale_registrar{
  "scale",
  "per-call cost at 10,000 vs 100 in flight and 1M vs 100k calls; RSS per "
  "idle dependency actor",
  run_scale};

} // namespace

} // namespace bulwark::bench
