// The admin HTTP endpoints of a bulwark process: what an operator uses during
// an incident to see where retries, hedges, timeouts and fallbacks happen
// (`/metrics`, `/journeys`), whether the process is alive and its dependency
// actors responsive (`/healthz`, `/readyz`), and to change the configuration
// of the running actors without a deploy (`PUT /config`). It runs on the
// generic `http_server`; every request becomes a message to one admin actor,
// which asks the dependency actors with CAF requests and answers through the
// responder when their replies arrive, so neither an io thread nor an actor
// thread ever blocks on a reply. A configuration change is validated whole
// first, then sent to every running dependency actor; the server's current
// document changes only when all of them accepted it (those that did are
// rolled back otherwise); supervisors get it too, after the dependencies,
// with the same rule across both. Feature flags (`/flags`) are kept apart from
// the document: a flags change goes only to the dependency actors whose flags
// it changes, with the same all-or-nothing rule, and a configuration reload
// leaves them as they are. Bound to 127.0.0.1 by default; on any other
// address a bearer token is mandatory for the control endpoints. Endpoints
// and examples: docs/admin.md.
#pragma once

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/host/service_registry.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/flags/feature_flags.hpp"

#include <boost/json/object.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bulwark {

/// Renders the stats of the dependencies, (name, stats) in name order, as
/// the body of `GET /metrics` (Prometheus text format 0.0.4).
using metrics_renderer = std::function<std::string(
  const std::vector<std::pair<std::string, dependency_stats>>&)>;

struct admin_options {
  /// An IP address or "localhost". Anything but loopback needs `token`.
  std::string host = "127.0.0.1";
  /// 0 picks a free port (see admin_server::port()).
  std::uint16_t port = 0;
  /// Bearer token for the control endpoints (`PUT`, `DELETE`). Mandatory when
  /// `host` is not loopback; when set, it is checked on loopback too.
  std::string token;
  /// Larger request bodies are answered 413.
  std::size_t max_body = 1 << 20;
  /// Request line plus header fields; larger is answered 431.
  std::size_t max_header = 8 * 1024;
  /// A whole request must arrive within this (slowloris), see
  /// http_server_options::read_timeout.
  std::chrono::milliseconds read_timeout{10'000};
  std::size_t max_connections = 64;
  /// io threads of the HTTP server.
  std::size_t threads = 1;
  /// How long `/metrics`, `/readyz` and `/journeys` wait for each
  /// dependency actor's answer; `/readyz` fails for an actor slower than this.
  std::chrono::milliseconds ask_timeout{1'000};
  /// How long `PUT /config` and a flags change wait for each dependency
  /// actor to apply.
  std::chrono::milliseconds apply_timeout{5'000};
  /// Body of `GET /metrics`; empty means ONE `render_prometheus` call over
  /// the dependencies (label `dependency`) and the supervisors (label
  /// `supervisor`). A custom renderer gets the dependencies only.
  metrics_renderer render_metrics;
  /// Running supervisors by configured name: `GET /metrics` asks them for
  /// their stats as it asks the dependencies, and `/dashboard` shows them.
  std::map<std::string, supervisor_actor> supervisors;
  /// When set, every request resolves the dependency actors and supervisors
  /// through it (the live incarnations; `deps` and `supervisors` are only
  /// where the first request starts from), and an applied `PUT /config`
  /// replaces its document, so members started later run it. A service host
  /// (bulwark/actors/host/service_host.hpp) passes its registry here.
  service_registry_ptr registry;
  /// The feature flags to start with (`GET /flags` shows them until a
  /// `PUT`/`DELETE /flags/<name>` changes them). When they are not all
  /// defaults, every dependency actor is sent its `flags_for(name)` at start.
  feature_flags_config flags;
  /// Other admin servers (`http://HOST:PORT` or `HOST:PORT`, at most 16)
  /// that `GET /traces/<id>/tree` asks for their spans of the trace, each
  /// within 2 s and 1 MiB. Only these are ever fetched; a bad entry is a
  /// std::invalid_argument at start naming it.
  std::vector<std::string> trace_peers;
};

/// True when control endpoints on `host` must check a bearer token: always
/// off loopback, and on loopback when a token is configured.
bool admin_requires_token(const std::string& host, const std::string& token);

/// A running admin server. Destroying it stops it (in-flight requests get
/// the HTTP server's grace period), then stops its admin actor.
class admin_server {
 public:
  /// Validates `opts` (std::invalid_argument, e.g. a non-loopback host
  /// without a token), binds (boost::system::system_error) and starts.
  /// `current` is the document `GET /config` shows until a `PUT` replaces
  /// it; `deps` are the running dependency actors by configured name.
  admin_server(caf::actor_system& sys, bulwark_config current,
               std::map<std::string, dependency_actor> deps,
               admin_options opts = {});

  ~admin_server();

  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// The bound port.
  std::uint16_t port() const noexcept;

  const std::string& host() const noexcept;

  /// Stops serving (idempotent); see ~admin_server.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Starts an admin server (see admin_server's constructor).
std::unique_ptr<admin_server>
start_admin_server(caf::actor_system& sys, const bulwark_config& current,
                   std::map<std::string, dependency_actor> deps,
                   admin_options opts = {});

} // namespace bulwark
