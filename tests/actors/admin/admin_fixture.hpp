// What the admin endpoint tests share: dependency actors started from a JSON
// document in a real (threaded) CAF actor system, all on one function
// transport that a test-defined `Downstream` answers, an admin server started
// on demand in front of them, a bounded call helper and the JSON helpers
// that read the server's answers. Real I/O, so no deterministic scheduler:
// every wait is bounded (`bound`, the test client's deadline).
#pragma once

#include "bulwark/actors/admin/admin_server.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/function_transport.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bulwark::testing {

inline constexpr auto admin_test_bound = std::chrono::seconds(10);

/// Sends `req` to `target` (the request form of the call protocol) and waits
/// for its one reply, at most `admin_test_bound`; an error fails the test.
template <class Handle>
call_reply call_and_wait(caf::actor_system& sys, const Handle& target,
                         const call_request& req) {
  caf::scoped_actor self{sys};
  call_reply out;
  bool got = false;
  self->request(target, admin_test_bound, call_atom::value, req)
    .receive(
      [&](reply_atom, call_reply& r) {
        out = std::move(r);
        got = true;
      },
      [&](caf::error& err) { FAIL_CHECK(sys.render(err)); });
  REQUIRE(got);
  return out;
}

/// A threaded actor system for the admin tests: two workers, quiet logs,
/// bulwark's message types.
inline caf::actor_system_config& init_config(caf::actor_system_config& c) {
  c.set("scheduler.max-threads", 2);
  c.set("logger.file-verbosity", caf::atom("quiet"));
  c.set("logger.console-verbosity", caf::atom("quiet"));
  add_bulwark_types(c);
  return c;
}

inline bulwark_config parse_ok(const std::string& text) {
  auto result = parse_bulwark_config(text);
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return *result.config;
}

inline boost::json::value body_json(const http_response& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body(), ec);
  INFO(res.body());
  REQUIRE_FALSE(ec);
  return v;
}

/// The `error` member of a JSON error body.
inline std::string error_of(const http_response& res) {
  auto v = body_json(res);
  REQUIRE(v.is_object());
  REQUIRE(v.as_object().contains("error"));
  return std::string{v.as_object().at("error").as_string()};
}

/// One dependency actor per entry of `document`, each on a function
/// transport that `downstream` answers, and (after `start`) an admin server.
template <class Downstream>
struct admin_actors {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::shared_ptr<Downstream> downstream = std::make_shared<Downstream>();
  std::vector<caf::actor> spawned;
  bulwark_config config;
  std::map<std::string, dependency_actor> deps;
  std::unique_ptr<admin_server> admin;

  /// `journey_sample` as in dependency_options (1 keeps every journey).
  explicit admin_actors(const std::string& document,
                        std::uint32_t journey_sample = 64)
    : sys(init_config(cfg)),
      config(parse_ok(document)) {
    auto transport = spawn_function_transport(
      sys, [d = downstream](const attempt_request& req) { return (*d)(req); });
    spawned.push_back(transport);
    for (auto& dep_cfg : config.dependencies) {
      dependency_options opts;
      opts.config = dep_cfg;
      opts.transport = transport;
      opts.journey_sample = journey_sample;
      auto dep = spawn_dependency(sys, std::move(opts));
      spawned.push_back(caf::actor_cast<caf::actor>(dep));
      deps.emplace(dep_cfg.name, dep);
    }
  }

  ~admin_actors() {
    admin.reset();
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  void start(admin_options opts = {}) {
    admin = start_admin_server(sys, config, deps, std::move(opts));
    REQUIRE(admin->port() != 0);
  }

  std::uint16_t port() const {
    return admin->port();
  }

  /// One call (id 1) through the request form, waited for with a bound.
  call_reply call(const std::string& dep, const std::string& operation,
                  const std::string& payload, const std::string& key) {
    call_request req;
    req.id = 1;
    req.operation = operation;
    req.payload = payload;
    req.idempotency_key = key;
    return call_and_wait(sys, deps.at(dep), req);
  }

  std::optional<http_response> get(const std::string& target) {
    return http_get(port(), target);
  }
};

} // namespace bulwark::testing
