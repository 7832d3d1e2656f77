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

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/service/keyed_service.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

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
                 "a keyed operation runs its side effect once per key under "
                 "crashes, errors, slow replies, retries and hedges",
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
    // One in ten refused before the side effect, one in ten answered with
    // an error after it and one in ten never answered; one in ten slower
    // than the hedge delay, some slower than the per-attempt timeout.
    keyed_service_options so;
    so.seed = seed;
    so.refuse_percent = 10;
    so.error_after_percent = 10;
    so.silence_after_percent = 10;
    so.slow_percent = 10;
    keyed_service svc{so};
    std::vector<caf::actor> replicas;
    auto tree = spawn_supervisor_tree(
      sys, document(seed), "payments",
      [&](const std::string&) {
        replicas.push_back(svc.spawn_replica(sys));
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
    auto stats =
      boost::json::serialize(to_json(p.messages()[0].get<supervisor_stats>(1)));
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
    for (auto& key : keys) {
      INFO("key " << key);
      CHECK(svc.executions(key) == 1);
    }
    auto counts = svc.counts();
    CHECK(counts.keys_executed_twice == 0);
    auto side_effects = counts.side_effects;
    for (auto& [id, r] : reply_of) {
      INFO("request " << id << ": " << r.message);
      CHECK(r.ok);
      if (r.ok)
        CHECK(r.payload == "done:" + key_of[id]);
    }
    CHECK(side_effects == keys.size());
    total_requests += requests;
    total_duplicates_answered += counts.duplicates_answered;
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
