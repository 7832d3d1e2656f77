// The node processes of the `cluster` scenario:
//
//   bulwark-bench cluster-node --node NAME --port N [--bare-port N]
//                              [--ledger-port N] [--seed N] [--threads N]
//   bulwark-bench cluster-node --node NAME --port N --journal FILE
//
// A member: a bulwark node on 127.0.0.1:N (address reuse, so a restart gets
// its port back) publishing two dependencies at their default policies:
// `work`, idempotent, whose transport answers each attempt after U[1, 5] ms
// (a timer, never a sleep), and `echo`, answered at once. It also publishes
// a plain CAF actor on a second port (`--bare-port`, 0 = any free one) that
// answers `(call_atom | rcall_atom, call_request)` with `(reply_atom,
// call_reply)`: the bare CAF remote send the overhead phase compares with.
// With `--ledger-port` it also publishes `pay` (operation `charge`, keyed):
// its transport is HTTP to the member's own `POST /pay` on a free
// 127.0.0.1 port, a route of the shared ledger that the ledger node (peer
// `ledger` on that port) owns, found with `ledger_locator`; the route's
// handler answers `<node> <key> <n>` after U[1, 5] ms. The side effect of a
// charge is the owner's journal record, which the scenario counts per key.
// A member announces `ready` only once its link to the ledger node is up.
//
// With `--journal` the process is the ledger node instead: no dependencies,
// a ledger owner for route `POST /pay` on FILE, published as `pay-ledger`.
// The scenario never kills or stops it, and reads FILE after stopping it;
// at SIGUSR1, and at SIGTERM before it stops, it prints the owner's
// counters (`owner begins N ...`).
//
// Each prints `port N` (a member also `bare N`, and with `--ledger-port`
// `http N`, its POST /pay's port) and `ready` on stdout, then
// runs until SIGTERM; errors go to stderr (exit 2: bad arguments, 3: cannot
// start).
#include "bench/scenarios/cluster_node_command.hpp"

#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/ledger/ledger_owner.hpp"
#include "bulwark/runtime/ledger/ledger_owner_core.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/actors/transport/echo_transport.hpp"
#include "bulwark/actors/transport/http_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace bulwark::bench {

namespace {

using charge_done_atom = caf::atom_constant<caf::atom("chdone")>;

/// The shared ledger's route and the name its owner is published under;
/// the owner's node is peer `ledger` of every member.
constexpr const char* pay_route = "POST /pay";
constexpr const char* pay_ledger = "pay-ledger";
constexpr const char* ledger_node = "ledger";

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

struct charge_state {
  std::uint64_t executions = 0;
  std::uint64_t next = 0;
  std::map<
    std::uint64_t,
    std::pair<caf::typed_response_promise<service_response>, service_response>>
    pending;
};

/// The handler of `POST /pay`: runs only with the owner's ticket, and
/// answers after U[1, 5] ms (a timer, so a SIGKILL or SIGSTOP can land
/// while an execution runs). The body names the node, the key and this
/// process's execution count: a success whose body is not the journal's
/// record for its key was not the one execution of that key.
caf::behavior charge_actor(caf::stateful_actor<charge_state>* self,
                           std::string node, std::shared_ptr<rng> gen) {
  return {
    [self, node, gen](service_request& req) -> caf::result<service_response> {
      auto& st = self->state;
      service_response res;
      res.content_type = "text/plain";
      res.body = node + " " + req.idempotency_key + " "
                 + std::to_string(++st.executions);
      auto id = st.next++;
      auto rp = self->make_response_promise<service_response>();
      st.pending.emplace(id, std::make_pair(rp, std::move(res)));
      auto delay = std::chrono::microseconds{
        static_cast<std::int64_t>(gen->uniform(1000.0, 5000.0))};
      self->delayed_send(self, delay, charge_done_atom::value, id);
      return rp;
    },
    [self](charge_done_atom, std::uint64_t id) {
      auto i = self->state.pending.find(id);
      if (i == self->state.pending.end())
        return;
      i->second.first.deliver(std::move(i->second.second));
      self->state.pending.erase(i);
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

/// The links' backoff, as the gateway's: a restarted or resumed peer is
/// linked again within 200 ms.
constexpr const char* connect_section =
  R"("connect": {"min_backoff": "20ms", "max_backoff": "200ms"})";

std::string member_document(const std::string& node, std::uint16_t port,
                            std::uint16_t ledger_port) {
  std::string pay, peers, publish = R"("work", "echo")";
  if (ledger_port != 0) {
    // Keyed: a failover or retry repeats a charge only with its key, and
    // the gateway's remotes declare it so (the hello refuses a mismatch).
    pay = R"(,
    "pay": {"idempotency": "keyed",
            "operations": {"charge": {"idempotency": "keyed"}}})";
    peers = R"(, "peers": {")" + std::string{ledger_node}
            + R"(": {"host": "127.0.0.1", "port": )"
            + std::to_string(ledger_port) + "}}, " + connect_section;
    publish += R"(, "pay")";
  }
  return R"({
  "dependencies": {
    "work": {"idempotency": "idempotent",
             "operations": {"read": {"idempotency": "idempotent"}}},
    "echo": {})"
         + pay + R"(
  },
  "cluster": {"node": ")"
         + node + R"(", "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + R"(}, "publish": [)" + publish + "]" + peers
         + R"(}
})";
}

std::string ledger_document(const std::string& node, std::uint16_t port) {
  return R"({"dependencies": {}, "cluster": {"node": ")" + node
         + R"(", "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + "}, " + connect_section + "}}";
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

void configure_scheduler(caf::actor_system_config& cfg, std::uint64_t threads) {
  cfg.set("scheduler.policy", caf::atom("stealing"));
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
}

/// Prints the owner's counters as one line, `owner begins N executes N
/// ...`, or `owner none` when it does not answer.
void announce_owner_counters(caf::actor_system& sys, const caf::actor& owner) {
  caf::scoped_actor self{sys};
  self->request(owner, std::chrono::seconds(2), stats_atom::value)
    .receive(
      [](const ledger_owner_counters& c) {
        announce("owner begins " + std::to_string(c.begins) + " executes "
                 + std::to_string(c.executes) + " duplicates "
                 + std::to_string(c.duplicates) + " waits "
                 + std::to_string(c.waits) + " appends "
                 + std::to_string(c.appends) + " stale_commits "
                 + std::to_string(c.stale_commits) + " abandoned "
                 + std::to_string(c.abandoned) + " client_downs "
                 + std::to_string(c.client_downs) + " retries_told "
                 + std::to_string(c.retries_told));
      },
      [](const caf::error&) { announce("owner none"); });
}

/// The ledger node: the owner of `POST /pay`'s shared ledger on `journal`,
/// published as `pay-ledger`, until a signal of `stop_signals`. SIGUSR1
/// prints the owner's counters and goes on (the scenario's per-run debug
/// output); the stop prints them last.
int run_ledger_node(const bulwark_config& doc, const std::string& journal,
                    std::uint64_t threads, sigset_t& stop_signals) {
  // Added to the blocked set before CAF starts its threads, as the others.
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  caf::actor_system_config cfg;
  configure_scheduler(cfg, threads);
  if (auto errors = configure_cluster(cfg, *doc.cluster); !errors.empty())
    return fail(2, errors.front());
  caf::actor_system sys{cfg};
  ledger_owner_settings s;
  s.route = pay_route;
  s.journal_path = journal;
  caf::actor owner;
  try {
    owner = spawn_ledger_owner(sys, s);
  } catch (const std::exception& e) {
    return fail(3, e.what());
  }
  cluster_node_options node_opts;
  node_opts.config = *doc.cluster;
  node_opts.published =
    std::vector<published_entry>{published_ledger(pay_ledger, owner)};
  auto started = cluster_node::start(sys, std::move(node_opts));
  if (!started.node) {
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    return fail(3, started.errors.front());
  }
  announce("port " + std::to_string(started.node->port()));
  announce("ready");
  // The owner's counters tell the scenario which of the ledger's paths its
  // kills and stops took (waits on a dead replica's key, answers from the
  // record, stale commits of a resumed one).
  for (;;) {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    announce_owner_counters(sys, owner);
    if (sig != SIGUSR1)
      break;
  }
  started.node->stop();
  // The journal is closed when the owner ends, before the system's
  // destructor returns (it waits for every actor).
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace

int run_cluster_node_command(int argc, char** argv) {
  std::string node, journal;
  std::uint64_t port = 0, bare_port = 0, ledger_port = 0, seed = 1, threads = 2;
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
    else if (arg == "--ledger-port")
      ok = parse_number(value, 65535, ledger_port) && ledger_port > 0;
    else if (arg == "--journal")
      ok = !(journal = value).empty();
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
  if (!journal.empty() && ledger_port != 0)
    return fail(2, "--journal (the ledger node) and --ledger-port (a member) "
                   "exclude each other");
  // The name goes into a JSON document: only the characters a node name
  // may have (the document's own check then applies its rules).
  for (char c : node)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'
        && c != '.')
      return fail(2, "--node: only A-Z a-z 0-9 _ - . are allowed");
  auto parsed = parse_bulwark_config(
    journal.empty() ? member_document(node, static_cast<std::uint16_t>(port),
                                      static_cast<std::uint16_t>(ledger_port))
                    : ledger_document(node, static_cast<std::uint16_t>(port)));
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
  if (!journal.empty())
    return run_ledger_node(doc, journal, threads, stop_signals);
  caf::actor_system_config cfg;
  configure_scheduler(cfg, threads);
  if (auto errors = configure_cluster(cfg, *doc.cluster); !errors.empty())
    return fail(2, errors.front());
  caf::actor_system sys{cfg};
  // The node first, its gate later (`publish`): the pay route's locator
  // needs the node's directory, the host's `pay` transport needs the
  // route's port, and the gate needs the host's aliases.
  cluster_node_options node_opts;
  node_opts.config = *doc.cluster;
  node_opts.seed = seed;
  node_opts.published = std::nullopt;
  auto started = cluster_node::start(sys, std::move(node_opts));
  if (!started.node)
    return fail(3, started.errors.front());
  auto gen = std::make_shared<rng>(seed);
  std::unique_ptr<http_service> svc;
  caf::actor charge;
  if (ledger_port != 0) {
    route_options keyed;
    keyed.shared_ledger = shared_ledger_options{};
    keyed.shared_ledger->route = pay_route;
    keyed.shared_ledger->execution_timeout = std::chrono::seconds(5);
    keyed.shared_ledger->locate =
      ledger_locator(started.node->directory(), ledger_node, pay_ledger);
    http_service_options svc_opts;
    // Nothing is in flight when the scenario stops a member.
    svc_opts.grace = std::chrono::milliseconds(500);
    svc = std::make_unique<http_service>(sys, svc_opts);
    charge =
      sys.spawn(charge_actor, node, std::make_shared<rng>(seed * 7919 + 1));
    try {
      svc->route("POST", "/pay", charge, keyed);
      svc->start();
    } catch (const std::exception& e) {
      return fail(3, e.what());
    }
  }
  service_host_options opts;
  opts.transports["work"] = [gen](caf::actor_system& s) {
    return s.spawn(delayed_echo, gen);
  };
  opts.transports["echo"] = [](caf::actor_system& s) {
    return spawn_echo_transport(s);
  };
  if (svc) {
    http_transport_options t;
    t.host = "127.0.0.1";
    t.port = svc->port();
    t.path_template = "/pay";
    t.default_method = "POST";
    opts.transports["pay"] = [t](caf::actor_system& s) {
      return http_transport::spawn(s, t).handle();
    };
  }
  auto host = service_host::start(sys, doc, std::move(opts));
  if (!host.ok())
    return fail(3, host.errors.front());
  // A charge before the ledger's link is up would be answered 503, so the
  // gate (which the gateway's link waits for) opens only after it; a
  // restarted member then takes calls only when it can charge.
  if (svc
      && !started.node->directory()->wait_up(ledger_node,
                                             std::chrono::seconds(10)))
    return fail(3, "the ledger node is not up within 10 s");
  if (auto errors = started.node->publish(published_entries(
        doc, [&](const std::string& name) { return host.host->alias(name); }));
      !errors.empty())
    return fail(3, errors.front());
  auto bare = sys.spawn(bare_echo);
  auto bare_bound = sys.middleman().publish(
    bare, static_cast<std::uint16_t>(bare_port), "127.0.0.1", true);
  if (!bare_bound)
    return fail(3, "cannot publish the bare echo: "
                     + sys.render(bare_bound.error()));
  announce("port " + std::to_string(started.node->port()));
  announce("bare " + std::to_string(*bare_bound));
  if (svc)
    announce("http " + std::to_string(svc->port()));
  announce("ready");
  int sig = 0;
  sigwait(&stop_signals, &sig);
  svc.reset();
  if (charge)
    caf::anon_send_exit(charge, caf::exit_reason::user_shutdown);
  sys.middleman().unpublish(bare, *bare_bound);
  caf::anon_send_exit(bare, caf::exit_reason::user_shutdown);
  started.node->stop();
  host.host->stop();
  return 0;
}

} // namespace bulwark::bench
