// Scenario `outage`: open-loop Poisson arrivals against one dependency whose
// downstream (a chaos transport, 1 ms per answer) fails every attempt during
// a window and then recovers, in virtual time, in the three modes. It shows
// what each mode adds to a dead dependency's load during the window
// (`amplification_during_outage`) and how soon after it the callers are
// served again (`recovery_ms`). Deterministic: the same seed gives the same
// numbers, bit for bit.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/modes.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

struct outage_setup {
  double rate = 1000; // arrivals per virtual second
  duration length = seconds(30);
  duration outage_start = seconds(5);
  duration outage_end = seconds(15);
  duration bucket = milliseconds(100);
};

fault_schedule outage_schedule(const outage_setup& s) {
  auto text = R"({"latency": {"kind": "fixed", "value": "1ms"},
    "windows": [{"kind": "outage", "failure": "transient", "start": ")"
              + std::to_string(s.outage_start.count()) + R"(ns", "end": ")"
              + std::to_string(s.outage_end.count()) + R"(ns"}]})";
  error_list errors;
  auto schedule =
    parse_fault_schedule(boost::json::parse(text), json_path{}, errors);
  if (!errors.empty())
    throw std::runtime_error("outage schedule invalid: " + errors.to_string());
  return schedule;
}

void run_mode(const scenario_options& sopts, bench_mode m,
              const outage_setup& s, const mode_settings& ms,
              std::uint64_t seed, field_list& out) {
  virtual_system vs;
  auto t0 = vs.now();
  auto chaos = chaos_transport::spawn(vs.sys(), outage_schedule(s), seed);
  dependency_options opts;
  opts.config = mode_config(m, ms, "outage");
  opts.transport = chaos.handle();
  opts.seed = seed;
  auto open_ms = to_seconds(opts.config.breaker.open_duration) * 1000.0;
  auto dep =
    caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(opts)));
  auto log = std::make_shared<std::vector<client_reply>>();
  auto client = spawn_client(vs.sys(), log);
  vs.own(dep);
  vs.own(chaos.handle());
  vs.own(client);
  vs.run();
  rng gen{seed};
  std::vector<time_point> sent; // intended send time per request id
  std::uint64_t window_requests = 0;
  std::uint64_t attempts_at_start = 0, attempts_at_end = 0;
  bool start_seen = false, end_seen = false;
  duration next_report = duration::zero();
  call_request proto;
  proto.operation = "get";
  proto.payload = "x";
  for (auto t = t0 + poisson_gap(gen, s.rate); t < t0 + s.length;
       t += poisson_gap(gen, s.rate)) {
    // Read the counters exactly at the window's edges.
    if (!start_seen && t >= t0 + s.outage_start) {
      vs.advance_to(t0 + s.outage_start);
      attempts_at_start = chaos.stats().attempts();
      start_seen = true;
    }
    if (!end_seen && t >= t0 + s.outage_end) {
      vs.advance_to(t0 + s.outage_end);
      attempts_at_end = chaos.stats().attempts();
      end_seen = true;
    }
    vs.advance_to(t);
    if (t - t0 >= next_report) {
      report_progress(sopts, to_string(m),
                      to_seconds(t - t0) / to_seconds(s.length));
      next_report += seconds(1);
    }
    auto rel = t - t0;
    if (rel >= s.outage_start && rel < s.outage_end)
      ++window_requests;
    auto req = proto;
    req.id = sent.size();
    req.idempotency_key = "k" + std::to_string(req.id);
    sent.push_back(t);
    caf::send_as(client, dep, call_atom::value, std::move(req));
  }
  // Drain: every call ends within its 5 s deadline.
  vs.advance_to(t0 + s.length + seconds(6));
  // Success ratio per arrival bucket, by intended send time.
  auto buckets = static_cast<std::size_t>(s.length / s.bucket);
  std::vector<std::uint64_t> arrived(buckets), succeeded(buckets);
  for (auto t : sent)
    ++arrived[std::min(buckets - 1,
                       static_cast<std::size_t>((t - t0) / s.bucket))];
  std::uint64_t ok = 0;
  for (auto& r : *log)
    if (r.ok && r.id < sent.size()) {
      ++ok;
      ++succeeded[std::min(
        buckets - 1, static_cast<std::size_t>((sent[r.id] - t0) / s.bucket))];
    }
  // Recovery: the first bucket from the outage's end on after which every
  // bucket serves at least 95% of its arrivals.
  auto first = static_cast<std::size_t>(s.outage_end / s.bucket);
  std::size_t good_from = buckets;
  for (std::size_t b = buckets; b-- > first;) {
    if (arrived[b] > 0 && succeeded[b] * 100 < arrived[b] * 95)
      break;
    good_from = b;
  }
  auto recovery =
    good_from == buckets
      ? s.length - s.outage_end
      : s.bucket * static_cast<std::int64_t>(good_from) - s.outage_end;
  auto window_attempts = attempts_at_end - attempts_at_start;
  out.add("amplification_during_outage",
          window_requests == 0 ? 0.0
                               : static_cast<double>(window_attempts)
                                   / static_cast<double>(window_requests));
  out.add("recovery_ms", to_seconds(recovery) * 1000.0);
  out.add("success_ratio", sent.empty() ? 0.0
                                        : static_cast<double>(ok)
                                            / static_cast<double>(sent.size()));
  out.add("requests", sent.size());
  out.add("requests_during_outage", window_requests);
  out.add("attempts_during_outage", window_attempts);
  out.add("attempts", chaos.stats().attempts());
  if (m == bench_mode::bulwark)
    out.add("breaker_open_ms", open_ms);
}

scenario_result run_outage(const scenario_options& opts) {
  outage_setup s;
  if (opts.quick) {
    s.length = seconds(10);
    s.outage_start = seconds(2);
    s.outage_end = seconds(5);
  }
  mode_settings ms;
  scenario_result result;
  result.fields.add("rate_per_s", s.rate);
  result.fields.add("duration_s", to_seconds(s.length));
  result.fields.add("outage_start_s", to_seconds(s.outage_start));
  result.fields.add("outage_end_s", to_seconds(s.outage_end));
  for (auto m : all_bench_modes)
    run_mode(opts, m, s, ms, opts.seed, result.mode(to_string(m)));
  return result;
}

const scenario_registrar outage_registrar{
  "outage",
  "open loop 1,000 req/s for 30 virtual s, the dependency fails 100% from 5 s "
  "to 15 s: amplification during the outage and recovery time per mode",
  run_outage};

} // namespace

} // namespace bulwark::bench
