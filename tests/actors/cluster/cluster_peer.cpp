// bulwark-cluster-peer: a bulwark node in its own process, for the cluster
// tests (tests/actors/cluster/cluster_node_test.cpp), which SIGKILL, SIGSTOP
// and restart it. It reads a whole bulwark document (with its `/cluster`
// section), starts every dependency and supervisor with a service host, and
// publishes what `/cluster/publish` lists through a cluster node.
//
//   bulwark-cluster-peer --document FILE [--hold NAME]...
//
// Every dependency's transport echoes the payload at once, except those named
// with --hold, whose transport never answers (a slow or hung downstream).
// It prints `port N` (the gate's port) and `ready` on stdout, then runs until
// SIGTERM. Errors go to stderr; exit 2 for bad arguments or a bad document,
// 3 when the node cannot start.
#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/actors/transport/echo_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "tests/actors/cluster/peer_program.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <set>
#include <string>

namespace {

using bulwark::testing::announce;

int fail(int code, const std::string& what) {
  return bulwark::testing::fail("bulwark-cluster-peer", code, what);
}

/// A downstream that takes every attempt and never answers.
caf::behavior held_transport() {
  return {
    [](bulwark::attempt_atom, bulwark::attempt_request&) {},
    [](bulwark::cancel_atom, std::uint64_t) {},
  };
}

} // namespace

int main(int argc, char** argv) {
  std::string path;
  std::set<std::string> held;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--document" && i + 1 < argc)
      path = argv[++i];
    else if (arg == "--hold" && i + 1 < argc)
      held.insert(argv[++i]);
    else
      return fail(2, "unknown argument: " + arg);
  }
  std::string error;
  auto read = bulwark::testing::read_node_document(path, error);
  if (!read)
    return fail(2, error);
  auto& doc = *read;
  // SIGTERM ends the node (wait_for_stop below).
  auto stop_signals = bulwark::testing::block_stop_signals();
  caf::actor_system_config cfg;
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  if (auto errors = bulwark::configure_cluster(cfg, *doc.cluster);
      !errors.empty())
    return fail(2, errors.front());
  caf::actor_system sys{cfg};
  bulwark::service_host_options opts;
  for (auto& dep : doc.dependencies) {
    if (held.count(dep.name) > 0)
      opts.transports[dep.name] = [](caf::actor_system& s) {
        return s.spawn(held_transport);
      };
    else
      opts.transports[dep.name] = [](caf::actor_system& s) {
        return bulwark::spawn_echo_transport(s);
      };
  }
  auto host = bulwark::service_host::start(sys, doc, std::move(opts));
  if (!host.ok())
    return fail(2, host.errors.front());
  bulwark::cluster_node_options node_opts;
  node_opts.config = *doc.cluster;
  node_opts.published = bulwark::published_entries(
    doc, [&](const std::string& name) { return host.host->alias(name); });
  auto node = bulwark::cluster_node::start(sys, std::move(node_opts));
  if (!node.node)
    return fail(3, node.errors.front());
  announce("port " + std::to_string(node.node->port()));
  announce("ready");
  bulwark::testing::wait_for_stop(stop_signals);
  node.node->stop();
  host.host->stop();
  return 0;
}
