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

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace {

void announce(const std::string& line) {
  auto text = line + "\n";
  auto rc = ::write(1, text.data(), text.size());
  (void)rc;
}

int fail(int code, const std::string& what) {
  std::fprintf(stderr, "bulwark-cluster-peer: %s\n", what.c_str());
  return code;
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
  std::ifstream in{path};
  if (path.empty() || !in)
    return fail(2, "cannot read the document (--document FILE)");
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto parsed = bulwark::parse_bulwark_config(text);
  if (!parsed.ok())
    return fail(2, parsed.errors.to_string());
  auto& doc = *parsed.config;
  if (!doc.cluster)
    return fail(2, "the document has no /cluster section");
  // SIGTERM ends the node through sigwait below; blocked before CAF starts
  // its threads so none of them takes it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
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
  int sig = 0;
  sigwait(&stop_signals, &sig);
  node.node->stop();
  host.host->stop();
  return 0;
}
