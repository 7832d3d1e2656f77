// Scenario `idempotency`: the no-duplicate-side-effects guarantee at volume.
// 1,000,000 `keyed` requests (open loop, Poisson arrivals, in virtual time)
// go through a supervisor with hedging and failover over three dependency
// actors (each retrying) to the replicas of one service that admits requests
// through an idempotency ledger. 20% of attempts meet a fault — refused
// before the side effect (10%), answered with an error after it (5%) or
// never answered after it (5%) — 5% are slower than the hedge delay, and a
// random member crashes every half second (restarted by the supervisor).
// One request in ten resends a recent key, as a client retrying a logical
// request would. Counted at the service: side effects per key.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/service/keyed_service.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/virtual_system.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

const char* const idempotency_document = R"({
  "dependencies": {
    "pay-1": {"idempotency": "keyed", "retry": {"max_attempts": 4,
      "per_attempt_timeout": "50ms", "backoff": {"base": "5ms", "jitter": "full"}},
      "breaker": {"failure_rate_threshold": 90},
      "budget": {"finagle": {"percent_can_retry": 50}},
      "bulkhead": {"max_concurrent": 2000, "max_queue": 0}},
    "pay-2": {"idempotency": "keyed", "retry": {"max_attempts": 4,
      "per_attempt_timeout": "50ms", "backoff": {"base": "5ms", "jitter": "full"}},
      "breaker": {"failure_rate_threshold": 90},
      "budget": {"finagle": {"percent_can_retry": 50}},
      "bulkhead": {"max_concurrent": 2000, "max_queue": 0}},
    "pay-3": {"idempotency": "keyed", "retry": {"max_attempts": 4,
      "per_attempt_timeout": "50ms", "backoff": {"base": "5ms", "jitter": "full"}},
      "breaker": {"failure_rate_threshold": 90},
      "budget": {"finagle": {"percent_can_retry": 50}},
      "bulkhead": {"max_concurrent": 2000, "max_queue": 0}}},
  "supervisors": {"payments": {"members": ["pay-1", "pay-2", "pay-3"],
    "routing": "least_outstanding", "max_failovers": 4,
    "budget": {"finagle": {"percent_can_retry": 50}},
    "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "10ms"},
    "restart": {"max_restarts": 100, "min_backoff": "5ms", "max_backoff": "50ms"}}}
})";

// The supervisor's current member handles (run to completion, no time moves).
std::vector<caf::actor> members_of(virtual_system& vs, const caf::actor& sup) {
  auto out = std::make_shared<std::vector<caf::actor>>();
  vs.sys().spawn([out, sup](caf::event_based_actor* self) -> caf::behavior {
    self->send(sup, members_atom::value);
    return {
      [self, out](members_atom, std::vector<caf::actor>& xs) {
        *out = std::move(xs);
        self->quit();
      },
    };
  });
  vs.run();
  return *out;
}

// One actor's stats JSON (run to completion, no time moves).
std::string stats_of(virtual_system& vs, const caf::actor& x) {
  auto out = std::make_shared<std::string>();
  vs.sys().spawn([out, x](caf::event_based_actor* self) -> caf::behavior {
    self->send(x, stats_atom::value);
    return {
      [self, out](stats_atom, supervisor_stats& s) {
        *out = boost::json::serialize(to_json(s));
        self->quit();
      },
      [self, out](stats_atom, dependency_stats& s) {
        *out = boost::json::serialize(to_json(s));
        self->quit();
      },
    };
  });
  vs.run();
  return *out;
}

scenario_result run_idempotency(const scenario_options& opts) {
  const std::uint64_t requests = opts.quick ? 50'000 : 1'000'000;
  const double rate = 5'000.0; // per virtual second
  virtual_system vs;
  keyed_service_options so;
  so.seed = opts.seed;
  so.refuse_percent = 10;
  so.error_after_percent = 5;
  so.silence_after_percent = 5;
  so.slow_percent = 5;
  keyed_service svc{so};
  std::vector<caf::actor> replicas;
  auto tree = spawn_supervisor_tree(
    vs.sys(), idempotency_document, "payments",
    [&](const std::string&) {
      replicas.push_back(svc.spawn_replica(vs.sys()));
      vs.own(replicas.back());
      return replicas.back();
    },
    opts.seed);
  if (!tree.errors.empty())
    throw std::runtime_error("idempotency: bad document: "
                             + tree.errors.front());
  auto sup = caf::actor_cast<caf::actor>(tree.root);
  vs.own(sup);
  auto log = std::make_shared<std::vector<client_reply>>();
  log->reserve(requests);
  auto client = spawn_client(vs.sys(), log);
  vs.own(client);
  vs.run();
  rng gen{opts.seed};
  auto t0 = vs.now();
  auto t = t0;
  auto next_crash = t0 + milliseconds(500);
  std::uint64_t crashes = 0;
  std::uint64_t resent = 0;
  std::uint64_t distinct_keys = 0;
  // The key number of every request: a resend names the key of an earlier
  // request, itself possibly a resend.
  std::vector<std::uint64_t> key_of(requests);
  call_request proto;
  proto.operation = "charge";
  proto.payload = "amount=1";
  for (std::uint64_t id = 0; id < requests; ++id) {
    t += poisson_gap(gen, rate);
    vs.advance_to(t);
    if (t >= next_crash) {
      next_crash += milliseconds(500);
      auto members = members_of(vs, sup);
      auto& victim = members[gen.below(members.size())];
      if (victim) {
        caf::anon_send_exit(victim, caf::exit_reason::kill);
        ++crashes;
      }
    }
    if (id % 10'000 == 0)
      report_progress(opts, "bulwark",
                      static_cast<double>(id) / static_cast<double>(requests));
    auto req = proto;
    req.id = id;
    if (id > 0 && gen.below(10) == 0) {
      // A resend of a recent logical request: same key.
      auto back = 1 + gen.below(id < 1'000 ? id : 1'000);
      key_of[id] = key_of[id - back];
      ++resent;
    } else {
      key_of[id] = id;
      ++distinct_keys;
    }
    req.idempotency_key = "k" + std::to_string(key_of[id]);
    req.deadline_ns = to_wire_time(t + seconds(10));
    caf::send_as(client, sup, call_atom::value, std::move(req));
  }
  vs.advance_to(t + seconds(15));
  std::vector<std::uint8_t> replies(requests, 0);
  std::uint64_t ok = 0;
  std::uint64_t extra_replies = 0;
  for (auto& r : *log) {
    if (r.id < requests && replies[r.id]++ == 0)
      ok += r.ok ? 1 : 0;
    else
      ++extra_replies;
  }
  std::uint64_t lost = 0;
  for (auto n : replies)
    lost += n == 0 ? 1 : 0;
  auto counts = svc.counts();
  if (std::getenv("BULWARK_DEBUG")) {
    std::cerr << stats_of(vs, sup) << "\n";
    for (auto& m : members_of(vs, sup))
      if (m)
        std::cerr << stats_of(vs, m) << "\n";
  }
  scenario_result result;
  auto& f = result.fields;
  f.add("requests", requests);
  f.add("distinct_keys", distinct_keys);
  f.add("side_effects", counts.side_effects);
  f.add("duplicates", static_cast<std::int64_t>(counts.side_effects)
                        - static_cast<std::int64_t>(distinct_keys));
  f.add("keys_executed_twice", counts.keys_executed_twice);
  f.add("lost", lost);
  f.add("extra_replies", extra_replies);
  f.add("success_ratio",
        static_cast<double>(ok) / static_cast<double>(requests));
  f.add("resent_requests", resent);
  f.add("member_crashes", crashes);
  f.add("duplicates_answered_by_ledger", counts.duplicates_answered);
  f.add("waits_in_ledger", counts.waits);
  f.add("refused_before_side_effect", counts.refused);
  f.add("fault_percent", 20);
  return result;
}

const scenario_registrar idempotency_registrar{
  "idempotency",
  "1,000,000 keyed requests through a hedging, failing-over supervisor over "
  "3 retrying replicas sharing an idempotency ledger, 20% faults and a member "
  "crash every 0.5 s: side effects vs distinct keys, lost requests",
  run_idempotency};

} // namespace

} // namespace bulwark::bench
