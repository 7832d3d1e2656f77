// A running admin server in front of real actors for the observability
// tests: one dependency ("payments") and one supervisor ("checkout" over the
// dependencies r1 and r2), all on a function transport that fails the first
// attempt of every key and answers the retry, so requests, retries and
// failovers all show in /metrics. Real actor_system, real loopback.
#pragma once

#include "bulwark/actors/admin/admin_server.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "tests/actors/admin/admin_fixture.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>

namespace bulwark::testing {

inline const std::string live_admin_document = R"({
  "dependencies": {
    "payments": {"idempotency": "idempotent",
                 "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
                           "backoff": {"kind": "constant", "jitter": "none",
                                       "base": "1ms"}}},
    "r1": {"idempotency": "idempotent"},
    "r2": {"idempotency": "idempotent"}
  },
  "supervisors": {"checkout": {"members": ["r1", "r2"]}}
})";

struct live_admin {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::vector<caf::actor> spawned;
  std::map<std::string, dependency_actor> deps;
  supervisor_actor checkout;
  std::unique_ptr<admin_server> admin;
  std::shared_ptr<std::mutex> mtx = std::make_shared<std::mutex>();
  std::shared_ptr<std::map<std::string, int>> seen =
    std::make_shared<std::map<std::string, int>>();

  live_admin() : sys(init_config(cfg)) {
    auto parsed = parse_bulwark_config(live_admin_document);
    INFO(parsed.errors.to_string());
    REQUIRE(parsed.ok());
    auto transport = spawn_function_transport(
      sys, [mtx = mtx, seen = seen](const attempt_request& req) {
        std::lock_guard<std::mutex> guard{*mtx};
        if (++(*seen)[req.idempotency_key] == 1)
          return class_result(failure_class::transient);
        return success_result("done " + req.payload);
      });
    spawned.push_back(transport);
    dependency_options opts;
    opts.config = *parsed.config->find("payments");
    opts.transport = transport;
    auto dep = spawn_dependency(sys, std::move(opts));
    spawned.push_back(caf::actor_cast<caf::actor>(dep));
    deps.emplace("payments", dep);
    checkout = spawn_supervisor_tree(
      sys, *parsed.config, "checkout",
      [transport](const std::string&) { return transport; });
    REQUIRE(checkout);
    spawned.push_back(caf::actor_cast<caf::actor>(checkout));
    admin_options aopts;
    aopts.supervisors.emplace("checkout", checkout);
    admin = start_admin_server(sys, *parsed.config, deps, std::move(aopts));
    REQUIRE(admin->port() != 0);
  }

  ~live_admin() {
    admin.reset();
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  std::uint16_t port() const {
    return admin->port();
  }

  /// One call to `target` (a dependency or the supervisor), waited for.
  template <class Handle>
  call_reply call(const Handle& target, const std::string& key) {
    call_request req;
    req.id = 1;
    req.operation = "charge";
    req.payload = key;
    req.idempotency_key = key;
    return call_and_wait(sys, target, req);
  }

  /// `n` successful calls to payments and `m` to checkout (keys unique).
  void traffic(int n, int m) {
    for (int i = 0; i < n; ++i)
      CHECK(call(deps.at("payments"), "p" + std::to_string(i)).ok);
    for (int i = 0; i < m; ++i)
      CHECK(call(checkout, "c" + std::to_string(i)).ok);
  }

  std::string metrics() {
    auto res = http_get(port(), "/metrics");
    REQUIRE(res);
    REQUIRE(res->result_int() == 200);
    return res->body();
  }
};

/// The value of the sample `name{kind="component"}` in Prometheus text, or
/// -1 when absent.
inline double sample_value(const std::string& text, const std::string& name,
                           const std::string& kind,
                           const std::string& component) {
  auto prefix = name + "{" + kind + "=\"" + component + "\"} ";
  auto pos = text.find("\n" + prefix);
  if (pos == std::string::npos)
    return -1;
  pos += 1 + prefix.size();
  return std::stod(text.substr(pos, text.find('\n', pos) - pos));
}

} // namespace bulwark::testing
