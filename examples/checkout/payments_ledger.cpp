// The payments-ledger process: when payments runs as replicas in several
// processes, a key must execute once across all of them, so their keyed
// routes (POST /charge, POST /refund) share one idempotency ledger per route
// (docs/ledger.md, "Shared ledger"). This process is the cluster node that
// owns them: one ledger owner per route, each with the route's journal in
// --data-dir, published on its cluster gate (--cluster-port) as
// "charge-ledger" and "refund-ledger". A replica (`checkout payments
// --ledger-port P`) finds them through its own node's directory.
//
// The journals are the payments book: a record is a committed charge or
// refund, and nothing else is. Its HTTP port serves GET /health, GET /ledger
// (the records per key, read from the journal files, in the shape a single
// payments process answers: {"charge": {key: n}, "refund": {...}}) and
// GET /stats (each owner's counters). A SIGKILLed ledger process restarted
// on the same data directory and cluster port replays the journals; the
// replicas' links come back and every committed key is answered its record.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/ledger/ledger_owner.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/ledger/ledger_owner_core.hpp"
#include "common.hpp"

namespace json = boost::json;
using namespace bulwark;

namespace checkout {

namespace {

/// The keyed payments routes whose ledgers this process owns.
const std::vector<std::string> keyed_paths{"/charge", "/refund"};

/// Records per key in the journal at `path`, read as text while the owner
/// may be appending: only complete lines count (a record is one line,
/// written whole and fdatasynced before anyone hears of it, so a line
/// without its newline is one still being written, never acknowledged).
/// The file is not opened as a ledger_journal: the owner holds its lock.
std::optional<json::object> journal_counts(const std::string& path,
                                           std::string& error) {
  std::ifstream in{path, std::ios::binary};
  json::object counts;
  if (!in)
    return counts; // no journal yet: nothing committed
  std::map<std::string, std::int64_t> by_key;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (in.eof())
      break; // the last line has no newline: not written whole yet
    journal_record r;
    std::string why;
    if (!decode_journal_record(line, r, why)) {
      error = path + ":" + std::to_string(n) + ": " + why;
      return std::nullopt;
    }
    ++by_key[r.key];
  }
  for (auto& [key, n] : by_key)
    counts[key] = n;
  return counts;
}

} // namespace

int run_payments_ledger(const std::vector<std::string>& args) {
  const std::string who = payments_ledger_node;
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  auto port = port_flag(who, args, "port", 0, true);
  auto cluster_port = port_flag(who, args, "cluster-port", 0);
  if (!port || !cluster_port)
    return 2;
  if (*cluster_port == 0) {
    // Replicas name this address; a free port picked at start would change
    // with every restart and strand them.
    std::fprintf(stderr,
                 "%s: --cluster-port P is required (the replicas' "
                 "--ledger-port)\n",
                 who.c_str());
    return 2;
  }
  auto data_dir =
    flag(args, "data-dir",
         "/tmp/bulwark-checkout-payments-ledger-" + std::to_string(*port));
  auto doc = R"({"dependencies": {}, "cluster": {"node": ")" + who
             + R"(", "listen": {"host": "127.0.0.1", "port": )"
             + std::to_string(*cluster_port) + "}}}";
  auto parsed = parse_bulwark_config(doc);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s: %s", who.c_str(),
                 parsed.errors.to_string().c_str());
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  if (auto errors = configure_cluster(cfg, *parsed.config->cluster);
      !errors.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), errors.front().c_str());
    return 2;
  }
  caf::actor_system sys{cfg};
  // One owner per keyed route, on its journal: opening replays it, and a
  // locked journal (another ledger process on this directory) or a corrupt
  // one refuses the start rather than forget or invent a charge.
  std::vector<std::pair<std::string, caf::actor>> owners;
  std::vector<published_entry> published;
  std::uint64_t replayed_records = 0;
  auto stop_owners = [&] {
    for (auto& [name, owner] : owners)
      caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  };
  try {
    std::filesystem::create_directories(data_dir);
    for (auto& path : keyed_paths) {
      ledger_owner_settings s;
      s.route = "POST " + path;
      // Kept longer than a replica's execution timeout (5 s), so a slow
      // execution's commit is not refused for its age.
      s.ledger.in_progress_timeout = seconds(10);
      s.journal_path = data_dir + path + ".journal";
      std::string error;
      if (auto counts = journal_counts(s.journal_path, error))
        for (auto& kv : *counts)
          replayed_records += static_cast<std::uint64_t>(kv.value().as_int64());
      auto owner = spawn_ledger_owner(sys, s);
      owners.emplace_back(published_ledger_name(path), owner);
      published.push_back(published_ledger(published_ledger_name(path), owner));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot start: %s\n", who.c_str(), e.what());
    stop_owners();
    return 1;
  }
  cluster_node_options node_opts;
  node_opts.config = *parsed.config->cluster;
  node_opts.published = std::move(published);
  auto node = cluster_node::start(sys, std::move(node_opts));
  if (!node.node) {
    std::fprintf(stderr, "%s: cannot start its cluster node: %s\n", who.c_str(),
                 node.errors.front().c_str());
    stop_owners();
    return 1;
  }
  auto host = start_admin_host(sys, args, who);
  if (!host) {
    node.node->stop();
    stop_owners();
    return 1;
  }
  http_service_options opts;
  opts.port = *port;
  opts.grace = std::chrono::milliseconds(1000);
  auto& svc = host->attach(who, std::make_unique<http_service>(sys, opts));
  svc.route("GET", "/health", service_function{[](const service_request&) {
              service_response r;
              r.content_type = "text/plain";
              r.body = "ok";
              return r;
            }});
  svc.route(
    "GET", "/ledger", service_function{[data_dir](const service_request&) {
      json::object out;
      for (auto& path : keyed_paths) {
        std::string error;
        auto counts = journal_counts(data_dir + path + ".journal", error);
        if (!counts)
          return error_reply(500, "unreadable journal: " + error);
        out[path.substr(1)] = std::move(*counts);
      }
      return json_reply(out);
    }});
  // The owners' counters: begins, executions, duplicates (hedges and
  // failovers of a key answered its record), waits (a concurrent duplicate
  // waiting for the first), abandoned executions (a replica died or said
  // not executed). A diagnostic route: blocking a scoped actor is fine here.
  svc.route("GET", "/stats",
            service_function{[&sys, owners](const service_request&) {
              json::object out;
              caf::scoped_actor self{sys};
              for (auto& [name, owner] : owners)
                self->request(owner, std::chrono::seconds(2), stats_atom::value)
                  .receive(
                    [&, n = name](const ledger_owner_counters& c) {
                      out[n] = json::object{{"begins", c.begins},
                                            {"executes", c.executes},
                                            {"duplicates", c.duplicates},
                                            {"waits", c.waits},
                                            {"committed", c.committed},
                                            {"stale_commits", c.stale_commits},
                                            {"abandoned", c.abandoned},
                                            {"client_downs", c.client_downs},
                                            {"replayed", c.replayed}};
                    },
                    [&, n = name](const caf::error& err) {
                      out[n] = caf::to_string(err).c_str();
                    });
              return json_reply(out);
            }});
  svc.start();
  std::fprintf(stderr,
               "%s listening on 127.0.0.1:%u, cluster gate 127.0.0.1:%u "
               "(ledgers charge-ledger, refund-ledger; journals in %s, %llu "
               "records replayed; admin http://127.0.0.1:%u/dashboard)\n",
               who.c_str(), static_cast<unsigned>(svc.port()),
               static_cast<unsigned>(node.node->port()), data_dir.c_str(),
               static_cast<unsigned long long>(replayed_records),
               static_cast<unsigned>(host->admin()->port()));
  int sig = 0;
  sigwait(&sigs, &sig);
  // The HTTP side first, then the gate (replicas see the owners go and
  // answer 503), then the owners: every record they acknowledged is on
  // disk already.
  host->stop();
  node.node->stop();
  stop_owners();
  return 0;
}

} // namespace checkout
