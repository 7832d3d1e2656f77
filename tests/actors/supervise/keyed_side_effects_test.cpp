// The no-duplicate-side-effects guarantee end to end, over 1,000 seeds: a
// `keyed` operation called through a supervisor with hedging and failover
// over three dependency actors (each retrying), whose replicas share one
// service behind an idempotency ledger. Faults mix refusals before the side
// effect, errors and silence after it, slow replies (hedges and per-attempt
// timeouts), callers resending the same key, and member crashes with
// restarts. For every seed: each request gets exactly one reply, each key's
// side effect runs at most once, every success carries the key's recorded
// result, and the side effects executed equal the distinct keys.
// BULWARK_SEED=N replays seed N alone and prints the supervisor's failed
// journeys.
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "actors/supervise/supervisor_actor.hpp"
#include "runtime/classify/classifier.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/ledger/idempotency_ledger.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

using finish_atom = caf::atom_constant<caf::atom("finish")>;

/// One service (think: a payments database) behind three replicas: every
/// replica admits requests through the same ledger.
struct keyed_service {
  explicit keyed_service(std::uint64_t seed) : gen(seed) {}

  idempotency_ledger ledger;
  rng gen;
  std::map<std::string, int> executions;
  struct waiter {
    caf::actor to;
    std::uint64_t attempt_id;
  };
  std::map<std::uint64_t, waiter> waiters;
  std::uint64_t next_waiter = 0;

  duration latency() {
    // Mostly fast; one in ten is slower than the hedge delay, and some are
    // slower than the per-attempt timeout.
    if (gen.below(10) == 0)
      return milliseconds(20 + gen.below(60));
    return milliseconds(1 + gen.below(5));
  }
};

caf::behavior replica(caf::event_based_actor* self,
                      std::shared_ptr<keyed_service> svc) {
  auto answer = [self](const caf::actor& to, std::uint64_t attempt_id,
                       attempt_result r) {
    r.attempt_id = attempt_id;
    self->send(to, result_atom::value, std::move(r));
  };
  return {
    [=](attempt_atom, const attempt_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      auto& s = *svc;
      // A refusal before anything ran: provably never executed.
      if (s.gen.below(10) == 0) {
        answer(to, req.attempt_id, error_result(transport_error::connection_refused));
        return;
      }
      auto id = ++s.next_waiter;
      auto now = self->clock().now();
      auto out = s.ledger.begin(req.idempotency_key, id, now);
      switch (out.verdict) {
        case ledger_verdict::execute:
          ++s.executions[req.idempotency_key];
          s.waiters.emplace(id, keyed_service::waiter{to, req.attempt_id});
          self->delayed_send(self, s.latency(), finish_atom::value,
                             req.idempotency_key, out.ticket, id);
          break;
        case ledger_verdict::duplicate_done:
          answer(to, req.attempt_id, success_result(out.result->body));
          break;
        case ledger_verdict::wait:
          s.waiters.emplace(id, keyed_service::waiter{to, req.attempt_id});
          break;
        case ledger_verdict::rejected_full:
          answer(to, req.attempt_id, status_result(503));
          break;
      }
    },
    [=](finish_atom, const std::string& key, ledger_ticket ticket,
        std::uint64_t executor) {
      auto& s = *svc;
      auto body = "done:" + key;
      auto waiting = s.ledger.complete(key, ticket, ledger_result{200, body},
                                       self->clock().now());
      waiting.push_back(executor);
      for (auto w : waiting) {
        auto i = s.waiters.find(w);
        if (i == s.waiters.end())
          continue;
        auto [to, attempt_id] = i->second;
        s.waiters.erase(i);
        switch (s.gen.below(10)) {
          case 0: // the side effect happened, the answer is an error
            answer(to, attempt_id, status_result(500));
            break;
          case 1: // ... or never arrives
            break;
          default:
            answer(to, attempt_id, success_result(body));
        }
      }
    },
    [](cancel_atom, std::uint64_t) {
      // The work goes on: the ledger keeps it from running twice.
    },
  };
}

const char* routing_of(std::uint64_t seed) {
  switch (seed % 3) {
    case 0:
      return "round_robin";
    case 1:
      return "least_outstanding";
    default:
      return "power_of_two";
  }
}

std::string document(std::uint64_t seed) {
  return std::string{R"({"dependencies": {)"}
         + R"("r1": {"idempotency": "keyed", "retry": {"max_attempts": 6,
               "per_attempt_timeout": "50ms",
               "backoff": {"base": "5ms", "jitter": "full"}}},
             "r2": {"idempotency": "keyed", "retry": {"max_attempts": 6,
               "per_attempt_timeout": "50ms",
               "backoff": {"base": "5ms", "jitter": "full"}}},
             "r3": {"idempotency": "keyed", "retry": {"max_attempts": 6,
               "per_attempt_timeout": "50ms",
               "backoff": {"base": "5ms", "jitter": "full"}}}},
           "supervisors": {"payments": {"members": ["r1", "r2", "r3"],
             "routing": ")"
         + routing_of(seed) + R"(",
             "max_failovers": 4,
             "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "8ms"},
             "restart": {"max_restarts": 100, "min_backoff": "2ms",
                         "max_backoff": "20ms"}}}})";
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a keyed operation runs its side effect once per key under crashes, errors, slow replies, retries and hedges",
                 "[actors][supervise][idempotency]") {
  std::uint64_t total_requests = 0;
  std::uint64_t total_hedges = 0;
  std::uint64_t total_crashes = 0;
  std::uint64_t total_duplicates_answered = 0;
  auto* replay = std::getenv("BULWARK_SEED");
  std::uint64_t first = replay != nullptr ? std::stoull(replay) : 1;
  std::uint64_t last = replay != nullptr ? first : 1000;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    auto svc = std::make_shared<keyed_service>(seed);
    std::vector<caf::actor> replicas;
    auto tree = spawn_supervisor_tree(
      sys, document(seed), "payments",
      [&](const std::string&) {
        replicas.push_back(sys.spawn(replica, svc));
        return replicas.back();
      },
      seed);
    REQUIRE(tree.errors.empty());
    auto sup = tree.root;
    run();
    auto caller = make_probe();
    // 30 requests over ~60 ms; one in five resends an earlier key (a caller
    // retrying the same logical request).
    std::vector<std::string> keys;
    std::map<std::uint64_t, std::string> key_of;
    const std::uint64_t requests = 30;
    for (std::uint64_t id = 1; id <= requests; ++id) {
      std::string key;
      if (!keys.empty() && gen.below(5) == 0) {
        key = keys[gen.below(keys.size())];
      } else {
        key = "s" + std::to_string(seed) + "-k" + std::to_string(id);
        keys.push_back(key);
      }
      key_of[id] = key;
      call_request req;
      req.id = id;
      req.operation = "charge";
      req.payload = "amount=1";
      req.idempotency_key = key;
      req.deadline_ns = to_wire_time(now() + seconds(10));
      caller.send(sup, call_atom::value, std::move(req));
      run();
      // Now and then a member crashes (about one per seed).
      if (gen.below(20) == 0) {
        auto p = make_probe();
        p.send(sup, members_atom::value);
        run();
        auto members = p.messages()[0].get<std::vector<caf::actor>>(1);
        auto& victim = members[gen.below(members.size())];
        if (victim) {
          caf::anon_send_exit(victim, caf::exit_reason::kill);
          ++total_crashes;
        }
        run();
      }
      advance_time(milliseconds(gen.below(4)));
    }
    advance_time(seconds(11));
    auto p = make_probe();
    p.send(sup, stats_atom::value);
    run();
    auto stats = p.messages()[0].get<std::string>(1);
    INFO(stats);
    if (replay != nullptr) {
      auto q3 = make_probe();
      q3.send(sup, journey_atom::value, failed_atom::value);
      run();
      std::cout << "SUP " << q3.messages()[0].get<std::string>(1) << "\n";
    }
    // Exactly one reply per request.
    std::map<std::uint64_t, int> replies_per_id;
    std::map<std::uint64_t, call_reply> reply_of;
    for (auto& r : caller.replies()) {
      ++replies_per_id[r.id];
      reply_of[r.id] = r;
    }
    for (std::uint64_t id = 1; id <= requests; ++id) {
      INFO("request " << id);
      CHECK(replies_per_id[id] == 1);
    }
    CHECK(replies_per_id.size() == requests);
    // At most one execution per key; every success carries its key's result.
    std::uint64_t side_effects = 0;
    for (auto& [key, n] : svc->executions) {
      INFO("key " << key);
      CHECK(n == 1);
      side_effects += static_cast<std::uint64_t>(n);
    }
    for (auto& [id, r] : reply_of) {
      INFO("request " << id << ": " << r.message);
      CHECK(r.ok);
      if (r.ok)
        CHECK(r.payload == "done:" + key_of[id]);
    }
    CHECK(side_effects == keys.size());
    total_requests += requests;
    total_duplicates_answered += svc->ledger.counters().duplicates_answered;
    auto pos = stats.find("\"hedges\":");
    if (pos != std::string::npos)
      total_hedges += std::stoull(stats.substr(pos + 9));
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    for (auto& r : replicas)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    run();
  }
  if (replay != nullptr)
    return;
  // The mix really exercised what it claims to.
  CHECK(total_requests == 30'000);
  CHECK(total_hedges > 1000);
  CHECK(total_crashes > 1000);
  CHECK(total_duplicates_answered > 1000);
}
