// The shortest useful bulwark program: a flaky in-process "pricing" service
// (every third attempt fails with a 503, 10% with a 500, and it is down for
// calls 12 to 14) protected by a dependency actor with retries, a breaker and
// a static fallback. It makes 20 calls and prints what happened to each.
#include <cstdio>
#include <string>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

constexpr auto config = R"({"dependencies": {"pricing": {
  "idempotency": "idempotent",
  "default_timeout": "2s",
  "retry": {"max_attempts": 3,
            "backoff": {"kind": "exponential", "jitter": "full", "base": "10ms"}},
  "fallback": [{"kind": "static", "value": "{\"price\": null, \"degraded\": true}"}]
}}})";

int main() {
  caf::actor_system_config cfg;
  add_bulwark_types(cfg);
  caf::actor_system sys{cfg};
  auto parsed = parse_bulwark_config(config);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s", parsed.errors.to_string().c_str());
    return 1;
  }
  // The downstream: a plain function that fails now and then.
  auto flaky = [gen = rng{42}, n = 0](const attempt_request& req) mutable {
    auto sku = std::stoi(req.payload.substr(4));
    if (++n % 3 == 0 || (sku >= 12 && sku <= 14))
      return status_result(503);
    if (gen.uniform() < 0.1)
      return status_result(500);
    return success_result("{\"sku\": \"" + req.payload + "\", \"price\": 42}");
  };
  dependency_options opts;
  opts.config = *parsed.config->find("pricing");
  opts.transport = spawn_function_transport(sys, flaky);
  auto pricing = spawn_dependency(sys, std::move(opts));
  caf::scoped_actor self{sys};
  for (int i = 1; i <= 20; ++i) {
    call_request req;
    req.id = static_cast<std::uint64_t>(i);
    req.operation = "get_price";
    req.payload = "sku-" + std::to_string(i);
    req.idempotency_key = req.payload;
    self->request(pricing, caf::infinite, call_atom::value, std::move(req))
      .receive(
        [&](reply_atom, const call_reply& r) {
          std::printf("call %2d: %-7s after %u attempt(s), from %-15s %s\n", i,
                      r.ok ? "ok" : "FAILED", r.attempts,
                      to_string(r.source).c_str(),
                      r.ok ? r.payload.c_str() : r.message.c_str());
        },
        [&](const caf::error& err) {
          std::printf("call %2d: error %s\n", i, sys.render(err).c_str());
        });
  }
  self->request(pricing, caf::infinite, stats_atom::value)
    .receive(
      [](stats_atom, const bulwark::dependency_stats& stats) {
        std::printf("\nstats: %s\n",
                    boost::json::serialize(to_json(stats)).c_str());
      },
      [](const caf::error&) {});
  caf::anon_send_exit(pricing, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(opts.transport, caf::exit_reason::user_shutdown);
}
