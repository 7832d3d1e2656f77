// bulwark-ledger-peer: one node of a shared ledger in its own process, for
// the tests that SIGKILL real owners and replicas
// (tests/actors/cluster/shared_ledger_cluster_test.cpp).
//
//   bulwark-ledger-peer --document FILE --role owner --journal FILE
//                       [--route R] [--ledger NAME]
//   bulwark-ledger-peer --document FILE --role replica --owner-node PEER
//                       [--route R] [--ledger NAME] [--work-ms N]
//
// The document is a bulwark document whose `/cluster` section names the node.
// An owner spawns a ledger owner for route R (default "POST /pay") on the
// journal, publishes it as NAME (default "pay-ledger") and prints `port N`.
// A replica serves `POST /pay` over HTTP on 127.0.0.1 (a free port, printed
// as `http N`) through the shared ledger, finding the owner at PEER with
// `ledger_locator`; the route answers `<node> <n>` (n: this process's
// executions) N ms after it starts (default 0), so a kill can land while
// one runs. Both print `ready` (a replica once the owner's node is up), then
// run until SIGTERM. Exit 2 for bad arguments or a bad document, 3 when the
// node or the service cannot start.
#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/ledger/ledger_owner.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace {

using work_done_atom = caf::atom_constant<caf::atom("work_done")>;

void announce(const std::string& line) {
  auto text = line + "\n";
  auto rc = ::write(1, text.data(), text.size());
  (void)rc;
}

int fail(int code, const std::string& what) {
  std::fprintf(stderr, "bulwark-ledger-peer: %s\n", what.c_str());
  return code;
}

struct work_state {
  int executions = 0;
  std::uint64_t next = 0;
  std::map<std::uint64_t,
           std::pair<caf::typed_response_promise<bulwark::service_response>,
                     bulwark::service_response>>
    pending;
};

/// The route: counts an execution at once, answers `<node> <n>` after
/// `work` (a delayed message, so a kill can land while it runs).
caf::behavior work_actor(caf::stateful_actor<work_state>* self,
                         std::string node, std::chrono::milliseconds work) {
  return {
    [self, node, work](
      bulwark::service_request&) -> caf::result<bulwark::service_response> {
      auto& st = self->state;
      bulwark::service_response res;
      res.content_type = "text/plain";
      res.body = node + " " + std::to_string(++st.executions);
      if (work.count() == 0)
        return res;
      auto id = st.next++;
      auto rp = self->make_response_promise<bulwark::service_response>();
      st.pending.emplace(id, std::make_pair(rp, std::move(res)));
      self->delayed_send(self, work, work_done_atom::value, id);
      return rp;
    },
    [self](work_done_atom, std::uint64_t id) {
      auto i = self->state.pending.find(id);
      if (i == self->state.pending.end())
        return;
      i->second.first.deliver(std::move(i->second.second));
      self->state.pending.erase(i);
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  std::string path, role, journal, owner_node;
  std::string route = "POST /pay";
  std::string ledger = "pay-ledger";
  int work_ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      return i + 1 < argc ? argv[++i] : std::string{};
    };
    if (arg == "--document")
      path = value();
    else if (arg == "--role")
      role = value();
    else if (arg == "--journal")
      journal = value();
    else if (arg == "--owner-node")
      owner_node = value();
    else if (arg == "--route")
      route = value();
    else if (arg == "--ledger")
      ledger = value();
    else if (arg == "--work-ms")
      work_ms = std::atoi(value().c_str());
    else
      return fail(2, "unknown argument: " + arg);
  }
  if (role != "owner" && role != "replica")
    return fail(2, "--role must be owner or replica");
  if (role == "owner" && journal.empty())
    return fail(2, "an owner needs --journal FILE");
  if (role == "replica" && owner_node.empty())
    return fail(2, "a replica needs --owner-node PEER");
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
  bulwark::cluster_node_options node_opts;
  node_opts.config = *doc.cluster;
  caf::actor owner;
  if (role == "owner") {
    bulwark::ledger_owner_settings s;
    s.route = route;
    s.journal_path = journal;
    try {
      owner = bulwark::spawn_ledger_owner(sys, s);
    } catch (const std::exception& e) {
      return fail(3, e.what());
    }
    node_opts.published = std::vector<bulwark::published_entry>{
      bulwark::published_ledger(ledger, owner)};
  }
  auto node = bulwark::cluster_node::start(sys, std::move(node_opts));
  if (!node.node)
    return fail(3, node.errors.front());
  std::unique_ptr<bulwark::http_service> svc;
  if (role == "owner") {
    announce("port " + std::to_string(node.node->port()));
  } else {
    bulwark::route_options ropts;
    ropts.shared_ledger = bulwark::shared_ledger_options{};
    ropts.shared_ledger->route = route;
    ropts.shared_ledger->execution_timeout = std::chrono::seconds(5);
    ropts.shared_ledger->locate =
      bulwark::ledger_locator(node.node->directory(), owner_node, ledger);
    svc = std::make_unique<bulwark::http_service>(sys);
    try {
      svc->route("POST", "/pay",
                 sys.spawn(work_actor, doc.cluster->node,
                           std::chrono::milliseconds(work_ms)),
                 ropts);
      svc->start();
    } catch (const std::exception& e) {
      return fail(3, e.what());
    }
    if (!node.node->directory()->wait_up(owner_node, std::chrono::seconds(10)))
      return fail(3, "the owner's node is not up within 10 s");
    announce("http " + std::to_string(svc->port()));
  }
  announce("ready");
  int sig = 0;
  sigwait(&stop_signals, &sig);
  svc.reset();
  node.node->stop();
  if (owner)
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  return 0;
}
