// The member process of the `cluster` scenario:
//
//   bulwark-bench cluster-node --node NAME --port N [--bare-port N]
//                              [--seed N] [--threads N]
//
// A bulwark node on 127.0.0.1:N (address reuse, so a restart gets its port
// back) publishing two dependencies at their default policies: `work`,
// idempotent, whose transport answers each attempt after U[1, 5] ms (a
// timer, never a sleep), and `echo`, answered at once. It also publishes a
// plain CAF actor on a second port (`--bare-port`, 0 = any free one) that
// answers `(call_atom | rcall_atom, call_request)` with `(reply_atom,
// call_reply)`: the bare CAF remote send the overhead phase compares with.
// It prints `port N`, `bare N` and `ready` on stdout, then runs until
// SIGTERM; errors go to stderr (exit 2: bad arguments, 3: cannot start).
#include "bench/scenarios/cluster_node_command.hpp"

#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/actors/transport/echo_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace bulwark::bench {

namespace {

void announce(const std::string& line) {
  auto text = line + "\n";
  auto rc = ::write(1, text.data(), text.size());
  (void)rc;
}

int fail(int code, const std::string& what) {
  std::fprintf(stderr, "bulwark-bench cluster-node: %s\n", what.c_str());
  return code;
}

/// A downstream that answers every attempt successfully after U[1, 5] ms.
caf::behavior delayed_echo(caf::event_based_actor* self,
                           std::shared_ptr<rng> gen) {
  return {
    [self, gen](attempt_atom, attempt_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (!to)
        return;
      auto result = success_result(std::move(req.payload));
      result.attempt_id = req.attempt_id;
      auto delay = std::chrono::microseconds{
        static_cast<std::int64_t>(gen->uniform(1000.0, 5000.0))};
      self->delayed_send(to, delay, result_atom::value, std::move(result));
    },
    [](cancel_atom, std::uint64_t) {
      // The timer answers anyway; the dependency drops a late result.
    },
  };
}

call_reply echo_reply(call_request& req) {
  call_reply rep;
  rep.id = req.id;
  rep.ok = true;
  rep.payload = std::move(req.payload);
  rep.attempts = 1;
  return rep;
}

/// The bare CAF remote echo: no policy, no table, one reply per call.
caf::behavior bare_echo(caf::event_based_actor* self) {
  return {
    [self](call_atom, call_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (to)
        self->send(to, reply_atom::value, echo_reply(req));
    },
    [self](rcall_atom, call_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (to)
        self->send(to, reply_atom::value, echo_reply(req));
    },
  };
}

std::string member_document(const std::string& node, std::uint16_t port) {
  return R"({
  "dependencies": {
    "work": {"idempotency": "idempotent",
             "operations": {"read": {"idempotency": "idempotent"}}},
    "echo": {}
  },
  "cluster": {"node": ")"
         + node + R"(", "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + R"(}, "publish": ["work", "echo"]}
})";
}

bool parse_number(const std::string& text, std::uint64_t max,
                  std::uint64_t& out) {
  if (text.empty() || text.size() > 20)
    return false;
  std::uint64_t x = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    x = x * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (x > max)
    return false;
  out = x;
  return true;
}

} // namespace

int run_cluster_node_command(int argc, char** argv) {
  std::string node;
  std::uint64_t port = 0, bare_port = 0, seed = 1, threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      return fail(2, "missing value after " + arg);
    std::string value = argv[++i];
    bool ok = true;
    if (arg == "--node")
      node = value;
    else if (arg == "--port")
      ok = parse_number(value, 65535, port) && port > 0;
    else if (arg == "--bare-port")
      ok = parse_number(value, 65535, bare_port);
    else if (arg == "--seed")
      ok = parse_number(value, ~std::uint64_t{0}, seed);
    else if (arg == "--threads")
      ok = parse_number(value, 64, threads) && threads > 0;
    else
      return fail(2, "unknown argument: " + arg);
    if (!ok)
      return fail(2, "bad value for " + arg + ": '" + value + "'");
  }
  if (node.empty() || port == 0)
    return fail(2, "needs --node NAME and --port N");
  // The name goes into a JSON document: only the characters a node name
  // may have (the document's own check then applies its rules).
  for (char c : node)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'
        && c != '.')
      return fail(2, "--node: only A-Z a-z 0-9 _ - . are allowed");
  auto parsed = parse_bulwark_config(
    member_document(node, static_cast<std::uint16_t>(port)));
  if (!parsed.ok())
    return fail(2, parsed.errors.to_string());
  auto& doc = *parsed.config;
  // SIGTERM ends the node through sigwait below; blocked before CAF starts
  // its threads so none of them takes it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("stealing"));
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  if (auto errors = configure_cluster(cfg, *doc.cluster); !errors.empty())
    return fail(2, errors.front());
  caf::actor_system sys{cfg};
  service_host_options opts;
  auto gen = std::make_shared<rng>(seed);
  opts.transports["work"] = [gen](caf::actor_system& s) {
    return s.spawn(delayed_echo, gen);
  };
  opts.transports["echo"] = [](caf::actor_system& s) {
    return spawn_echo_transport(s);
  };
  auto host = service_host::start(sys, doc, std::move(opts));
  if (!host.ok())
    return fail(3, host.errors.front());
  cluster_node_options node_opts;
  node_opts.config = *doc.cluster;
  node_opts.seed = seed;
  node_opts.published = published_entries(
    doc, [&](const std::string& name) { return host.host->alias(name); });
  auto started = cluster_node::start(sys, std::move(node_opts));
  if (!started.node)
    return fail(3, started.errors.front());
  auto bare = sys.spawn(bare_echo);
  auto bare_bound = sys.middleman().publish(
    bare, static_cast<std::uint16_t>(bare_port), "127.0.0.1", true);
  if (!bare_bound)
    return fail(3, "cannot publish the bare echo: "
                     + sys.render(bare_bound.error()));
  announce("port " + std::to_string(started.node->port()));
  announce("bare " + std::to_string(*bare_bound));
  announce("ready");
  int sig = 0;
  sigwait(&stop_signals, &sig);
  sys.middleman().unpublish(bare, *bare_bound);
  caf::anon_send_exit(bare, caf::exit_reason::user_shutdown);
  started.node->stop();
  host.host->stop();
  return 0;
}

} // namespace bulwark::bench
