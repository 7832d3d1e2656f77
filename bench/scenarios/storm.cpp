// Scenario `storm`: a retry storm through a 3-layer chain of services built
// on bulwark, in virtual time. Requests enter the top dependency actor; its
// transport is an adapter that calls the middle dependency actor (the call
// protocol), whose transport calls the bottom one, whose downstream (a chaos
// transport) fails every attempt. Every layer retries up to 3 attempts, so a
// stack that retries at every layer sends 3 x 3 x 3 = 27 attempts to the
// bottom per request. bulwark's answer: only the layer next to the failure
// retries (its failures carry "do not retry", which the adapters pass up as
// `do_not_retry`), and that layer's retries are bounded by its budget and
// breaker. Deterministic: the same seed gives the same numbers.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/http/call_reply_response.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/modes.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

/// Turns the transport protocol into the call protocol: each attempt of the
/// layer above becomes one call to the layer below, and its reply becomes the
/// attempt's result. With `propagate`, a failure whose reply says
/// `may_retry == false` comes back as `do_not_retry` (what a bulwark service
/// tells its callers); without it, the marker is lost (a naive stack).
caf::behavior call_adapter(caf::event_based_actor* self, caf::actor lower,
                           bool propagate,
                           std::shared_ptr<std::uint64_t> calls) {
  struct pending {
    caf::strong_actor_ptr sender;
    std::uint64_t attempt_id;
  };
  auto open = std::make_shared<std::unordered_map<std::uint64_t, pending>>();
  auto next_id = std::make_shared<std::uint64_t>(0);
  return {
    [=](attempt_atom, attempt_request& a) {
      ++*calls;
      call_request req;
      req.id = ++*next_id;
      req.operation = std::move(a.operation);
      req.payload = std::move(a.payload);
      req.idempotency_key = std::move(a.idempotency_key);
      req.deadline_ns = a.deadline_ns;
      open->emplace(req.id, pending{self->current_sender(), a.attempt_id});
      self->send(lower, call_atom::value, std::move(req));
    },
    [=](cancel_atom, std::uint64_t) {
      // A hint only; the lower call still ends with one reply.
    },
    [=](reply_atom, call_reply& r) {
      auto i = open->find(r.id);
      if (i == open->end())
        return;
      auto p = i->second;
      open->erase(i);
      // What a bulwark HTTP service answers for this reply
      // (to_service_response), read back as the transport would.
      auto answer = to_service_response(std::move(r));
      attempt_result res = answer.status < 300
                             ? success_result(std::move(answer.body))
                             : status_result(answer.status);
      res.do_not_retry = propagate && answer.do_not_retry;
      if (answer.retry_after >= duration{0})
        res.retry_after_ns = to_wire_duration(answer.retry_after);
      res.attempt_id = p.attempt_id;
      if (auto dest = caf::actor_cast<caf::actor>(p.sender))
        self->send(dest, result_atom::value, std::move(res));
    },
  };
}

struct storm_setup {
  double rate = 500; // requests per virtual second into the top
  duration length = seconds(20);
};

fault_schedule dead_downstream() {
  error_list errors;
  auto schedule =
    parse_fault_schedule(boost::json::parse(R"({"errors": {"transient": 100},
                           "latency": {"kind": "fixed", "value": "1ms"}})"),
                         json_path{}, errors);
  if (!errors.empty())
    throw std::runtime_error("storm schedule invalid: " + errors.to_string());
  return schedule;
}

void run_mode(const scenario_options& sopts, bench_mode m, const storm_setup& s,
              const mode_settings& ms, std::uint64_t seed, field_list& out) {
  virtual_system vs;
  auto t0 = vs.now();
  auto chaos = chaos_transport::spawn(vs.sys(), dead_downstream(), seed);
  vs.own(chaos.handle());
  bool propagate = m == bench_mode::bulwark;
  auto spawn_layer = [&](const char* name, caf::actor transport,
                         std::uint64_t layer_seed) {
    dependency_options opts;
    opts.config = mode_config(m, ms, name);
    opts.transport = std::move(transport);
    opts.seed = layer_seed;
    auto dep =
      caf::actor_cast<caf::actor>(spawn_dependency(vs.sys(), std::move(opts)));
    vs.own(dep);
    return dep;
  };
  auto bottom = spawn_layer("bottom", chaos.handle(), seed * 3 + 1);
  auto bottom_calls = std::make_shared<std::uint64_t>(0);
  auto to_bottom =
    vs.sys().spawn(call_adapter, bottom, propagate, bottom_calls);
  vs.own(to_bottom);
  auto middle = spawn_layer("middle", to_bottom, seed * 3 + 2);
  auto middle_calls = std::make_shared<std::uint64_t>(0);
  auto to_middle =
    vs.sys().spawn(call_adapter, middle, propagate, middle_calls);
  vs.own(to_middle);
  auto top = spawn_layer("top", to_middle, seed * 3 + 3);
  auto log = std::make_shared<std::vector<client_reply>>();
  auto client = spawn_client(vs.sys(), log);
  vs.own(client);
  vs.run();
  rng gen{seed};
  std::uint64_t requests = 0;
  duration next_report = duration::zero();
  call_request proto;
  proto.operation = "get";
  proto.payload = "x";
  for (auto t = t0 + poisson_gap(gen, s.rate); t < t0 + s.length;
       t += poisson_gap(gen, s.rate)) {
    vs.advance_to(t);
    if (t - t0 >= next_report) {
      report_progress(sopts, to_string(m),
                      to_seconds(t - t0) / to_seconds(s.length));
      next_report += seconds(1);
    }
    auto req = proto;
    req.id = requests++;
    req.idempotency_key = "k" + std::to_string(req.id);
    caf::send_as(client, top, call_atom::value, std::move(req));
  }
  vs.advance_to(t0 + s.length + seconds(6));
  std::uint64_t ok = 0;
  for (auto& r : *log)
    ok += r.ok ? 1 : 0;
  auto per_request = [&](std::uint64_t n) {
    return requests == 0
             ? 0.0
             : static_cast<double>(n) / static_cast<double>(requests);
  };
  out.add("amplification_bottom", per_request(chaos.stats().attempts()));
  out.add("calls_to_middle", per_request(*middle_calls));
  out.add("calls_to_bottom", per_request(*bottom_calls));
  out.add("requests", requests);
  out.add("replies", log->size());
  out.add("success_ratio", per_request(ok));
}

scenario_result run_storm(const scenario_options& opts) {
  storm_setup s;
  if (opts.quick) {
    s.rate = 200;
    s.length = seconds(10);
  }
  mode_settings ms;
  scenario_result result;
  result.fields.add("rate_per_s", s.rate);
  result.fields.add("duration_s", to_seconds(s.length));
  result.fields.add("layers", 3);
  for (auto m : all_bench_modes)
    run_mode(opts, m, s, ms, opts.seed, result.mode(to_string(m)));
  return result;
}

const scenario_registrar storm_registrar{
  "storm",
  "3-layer chain of dependency actors, the bottom's downstream failing 100%: "
  "attempts reaching the bottom per request entering the top, per mode",
  run_storm};

} // namespace

} // namespace bulwark::bench
