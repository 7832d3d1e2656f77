#include "bench/scenarios/bare_forwarding.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bench/runner/bench_system.hpp"
#include "bench/runner/load_generator.hpp"
#include "bench/runner/scenario.hpp"

#include <caf/all.hpp>

#include <stdexcept>
#include <vector>

namespace bulwark::bench {

caf::behavior instant_server(caf::event_based_actor* self) {
  return {
    [self](call_atom, call_request& req) {
      call_reply rep;
      rep.id = req.id;
      rep.ok = true;
      rep.payload = std::move(req.payload);
      rep.attempts = 1;
      rep.journey_id = req.journey_id;
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 reply_atom::value, std::move(rep));
    },
  };
}

caf::behavior forwarder(caf::stateful_actor<forwarder_state>* self,
                        caf::actor server) {
  return {
    [self, server](call_atom, call_request& req) {
      auto& st = self->state;
      auto id = ++st.next_id;
      st.pending.emplace(
        id, forwarder_state::origin{self->current_sender(), req.id});
      req.id = id;
      self->send(server, call_atom::value, std::move(req));
    },
    [self](reply_atom, call_reply& rep) {
      auto& st = self->state;
      auto i = st.pending.find(rep.id);
      if (i == st.pending.end())
        return;
      rep.id = i->second.id;
      auto to = caf::actor_cast<caf::actor>(std::move(i->second.sender));
      st.pending.erase(i);
      self->send(to, reply_atom::value, std::move(rep));
    },
  };
}

namespace {

scenario_result run_bare(const scenario_options& opts) {
  load_config cfg;
  cfg.calls = opts.quick ? 50000 : 1000000;
  cfg.inflight = 100;
  cfg.prototype.operation = "get";
  bench_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  std::vector<double> ns_per_call;
  for (int run = 0; run < opts.runs; ++run) {
    auto server = sys.spawn(instant_server);
    auto fwd = sys.spawn(forwarder, server);
    auto report = run_closed_loop(sys, fwd, cfg);
    if (!report.complete || report.ok != cfg.calls)
      throw std::runtime_error("bare forwarding lost replies");
    ns_per_call.push_back(report.ns_per_call());
    caf::anon_send_exit(fwd, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  }
  scenario_result result;
  result.fields.add("ns_per_call", median(ns_per_call));
  result.fields.add("calls", cfg.calls);
  result.fields.add("inflight", cfg.inflight);
  result.fields.add("runs", opts.runs);
  result.fields.add("workers", sys.scheduler().num_workers());
  return result;
}

const scenario_registrar registrar{
  "bare",
  "plain CAF send + correlation ids through one forwarding actor to an "
  "instant server (the floor for a protected call)",
  run_bare};

} // namespace

} // namespace bulwark::bench
