// Shared pieces of the checkout example: a tiny blocking HTTP client for the
// driver (raw loopback sockets, so the driver measures what a plain client
// sees and never shares code paths with the gateway it checks), free-port
// lookup, and the three programs' entry points (service, gateway, driver).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/actors/host/service_host.hpp"

namespace checkout {

/// What one blocking HTTP call returned; `status == 0` means no answer
/// (connection refused, reset, or timed out) and `error` says which.
struct http_answer {
  int status = 0;
  std::string body;
  std::string error;
};

/// One request to 127.0.0.1:port with `Connection: close`; waits at most
/// `timeout_ms` for the whole answer. `extra_headers` are whole header lines
/// ("Name: value\r\n" each), written as they are.
http_answer http_call(std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body,
                      int timeout_ms, const std::string& extra_headers = "");

/// A port that was free on 127.0.0.1 a moment ago (bind port 0, read it,
/// close).
std::uint16_t free_port();

/// True once 127.0.0.1:port answers GET /health with 200 (polls up to `ms`).
bool wait_ready(std::uint16_t port, int ms);

/// The host options every checkout process starts from: an admin server on
/// 127.0.0.1 at `--admin-port` (0, the default, picks a free port).
bulwark::service_host_options
host_options(const std::vector<std::string>& args);

/// A host with no dependencies and `host_options(args)`: what a service
/// process runs only for its admin server (its service's counters and the
/// dashboard). Null, each error said on stderr as "WHO: ...", when it
/// cannot start.
std::unique_ptr<bulwark::service_host>
start_admin_host(caf::actor_system& sys, const std::vector<std::string>& args,
                 const std::string& who);

/// `checkout inventory|pricing|payments|recommendations ...`
int run_service(const std::string& kind, const std::vector<std::string>& args);

/// `checkout payments-ledger ...`: the node that owns payments' shared
/// ledgers when payments runs as replicas (payments_ledger.cpp).
int run_payments_ledger(const std::vector<std::string>& args);

/// The cluster node name of the payments-ledger process, which replicas
/// name as their peer.
constexpr const char* payments_ledger_node = "payments-ledger";

/// The name a keyed payments route's ledger owner is published under:
/// "charge-ledger" for "/charge".
std::string published_ledger_name(const std::string& path);

/// `checkout gateway ...`
int run_gateway(const std::vector<std::string>& args);

/// `checkout` (no arguments) and `checkout e2e`: start every process, drive
/// load, check the invariants, stop everything (driver.cpp).
int run_driver(bool drill);

/// `checkout hostile PATH/TO/bulwark-hostile [SEED] [CASES]`: start every
/// process, send the hostile HTTP corpus to the gateway and to payments, then
/// check that every process serves, a normal checkout completes, no fault
/// was injected downstream and each RSS is within 2x its start.
int run_hostile(const std::string& hostile_bin, std::uint64_t seed, int cases);

/// The value after `--name` in args, or `fallback`.
std::string flag(const std::vector<std::string>& args, const std::string& name,
                 const std::string& fallback);

/// Whether `--name` is in args.
bool has_flag(const std::vector<std::string>& args, const std::string& name);

/// The port after `--name` (`fallback` when the flag is absent); nullopt,
/// said on stderr as "WHO: --name must be a port 1..65535 (got: ...)", for
/// anything but a decimal number in range (0 only when `allow_zero`).
std::optional<std::uint16_t> port_flag(const std::string& who,
                                       const std::vector<std::string>& args,
                                       const std::string& name,
                                       std::uint16_t fallback,
                                       bool allow_zero = false);

} // namespace checkout
