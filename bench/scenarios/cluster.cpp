// Scenario `cluster` (issue 17, docs/benchmarks.md): bulwark across
// processes on 127.0.0.1. This process is the driver and the gateway node;
// three member nodes m1..m3 are this binary again (`bulwark-bench
// cluster-node`, bench/scenarios/cluster_node.cpp), each publishing
// dependency `work` (idempotent `read`, answered after U[1, 5] ms), `echo`,
// and `pay` (keyed `charge`: HTTP to the member's own `POST /pay`, a route
// of the shared ledger). A fifth process, the `ledger` node (the same
// binary with --journal), owns that ledger and its journal in the run's
// temp dir; it is never killed or stopped, so the journal is the one
// account of side effects. Two phases:
// 1. Overhead: on the gateway <-> m1 connection, 100 calls in flight from
//    one closed loop, alternately to m1's bare CAF echo actor (a plain
//    remote send with our own ids) and through a remote member standing in
//    for m1's dependency `echo` (policies at defaults). Wall ratio = median
//    of the per-pair ratios.
// 2. Chaos: supervisor `work` (least outstanding, 2 failovers, no hedging)
//    over remote members w1..w3 for m1..m3's `work`, supervisor `pay` over
//    p1..p3 for their `pay`, and a closed loop of 64 calls: 48 idempotent
//    `read`s (budget 3 s each) and 16 keyed `charge`s, each with its own
//    key and a 3 s budget within which the driver re-sends a retryable
//    failure with the same key. Per run with seed s:
//    SIGKILL m[s%3] at 600+U[0,200] ms and restart it on its port 300 ms
//    later; SIGSTOP m[(s+1)%3] at 1500+U[0,200] ms, SIGCONT 1000 ms later
//    (offsets scale with --run-ms below 3000 ms); then drain. Every final
//    reply is checked against the driver's table: lost, extra, late.
//    After the last run the members and then the ledger node are stopped
//    (no commit can land later) and the journal is read: more than one
//    record for a key is a duplicate side effect, a successful charge
//    without its key's record (or with another body) a lie.
// Exits non-zero (through `failed_bars`) when a bar fails. Real processes
// and real time: the driver sleeps until its schedule's stamps and reads
// steady_clock; member processes die with this one (PR_SET_PDEATHSIG).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "bench/runner/load_generator.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/scenarios/cluster_charges.hpp"
#include "bench/scenarios/cluster_members.hpp"
#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

using namespace std::chrono_literals;
using wall = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

using cl_start_atom = caf::atom_constant<caf::atom("clstart")>;
using cl_drain_atom = caf::atom_constant<caf::atom("cldrain")>;
using cl_late_atom = caf::atom_constant<caf::atom("cllate")>;
using cl_resend_atom = caf::atom_constant<caf::atom("clresend")>;

using cluster_charges::account_charges;
using cluster_charges::add_keyed_bars;
using cluster_charges::add_keyed_fields;
using cluster_charges::add_owner_fields;
using cluster_charges::charge_key;
using cluster_charges::charge_record;
using cluster_charges::keyed_result;
using cluster_charges::parse_owner_counters;
using cluster_members::free_loopback_port;
using cluster_members::member_process;
using cluster_members::process_cpu_ns;
using cluster_members::self_exe;
using cluster_members::temp_dir;

constexpr int member_count = 3;
constexpr std::uint32_t chaos_inflight = 64;
/// Of the calls in flight, this many are keyed charges (the rest reads):
/// a fixed mix, so every run loads both supervisors alike.
constexpr std::uint32_t charge_inflight = 16;
constexpr auto call_budget = 3s;
/// A charge that failed retryably is re-sent with its key after this
/// (a supervisor's failure came after its failovers: an instant re-send
/// would mostly meet the same state), if at least `min_resend_budget` of
/// its budget is left.
constexpr auto resend_delay = 10ms;
constexpr auto min_resend_budget = 20ms;
/// A call with no final reply by its deadline plus this is lost.
constexpr auto lost_grace = 1s;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           wall::now().time_since_epoch())
    .count();
}

double to_ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// -- the gateway node ---------------------------------------------------------

std::string member_name(int i) {
  return "m" + std::to_string(i + 1);
}

std::string gateway_document(const std::vector<std::uint16_t>& ports) {
  std::string peers, remotes;
  for (int i = 0; i < member_count; ++i) {
    auto m = member_name(i);
    peers += (i == 0 ? "" : ", ")
             + fmt::format(R"("{}": {{"host": "127.0.0.1", "port": {}}})", m,
                           ports[static_cast<std::size_t>(i)]);
    remotes += fmt::format(
      R"("w{}": {{"node": "{}", "name": "work", "default_idempotency": "idempotent", "operations": {{"read": "idempotent"}}}}, )",
      i + 1, m);
    // Keyed, as the member declares it: the supervisor fails a charge over
    // (with its key) and never hedges it.
    remotes += fmt::format(
      R"("p{}": {{"node": "{}", "name": "pay", "default_idempotency": "keyed", "operations": {{"charge": "keyed"}}}}, )",
      i + 1, m);
  }
  remotes += R"("echo1": {"node": "m1", "name": "echo"})";
  return R"({
  "dependencies": {},
  "supervisors": {"work": {"members": ["w1", "w2", "w3"],
                           "routing": "least_outstanding",
                           "max_failovers": 2},
                  "pay": {"members": ["p1", "p2", "p3"],
                          "routing": "least_outstanding",
                          "max_failovers": 2}},
  "cluster": {"node": "gateway", "peers": {)"
         + peers + R"(}, "remotes": {)" + remotes + R"(},
    "connect": {"min_backoff": "20ms", "max_backoff": "200ms"}}
})";
}

struct gateway {
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<cluster_node> node;
  std::unique_ptr<service_host> host;

  explicit gateway(const std::string& text) {
    auto parsed = parse_bulwark_config(text);
    if (!parsed.ok())
      throw std::runtime_error("cluster: gateway document: "
                               + parsed.errors.to_string());
    auto& doc = *parsed.config;
    cfg = std::make_unique<caf::actor_system_config>();
    cfg->set("scheduler.policy", caf::atom("stealing"));
    cfg->set("scheduler.max-threads", std::size_t{2});
    cfg->set("logger.console-verbosity", caf::atom("quiet"));
    cfg->set("logger.file-verbosity", caf::atom("quiet"));
    if (auto errors = configure_cluster(*cfg, *doc.cluster); !errors.empty())
      throw std::runtime_error("cluster: " + errors.front());
    sys = std::make_unique<caf::actor_system>(*cfg);
    cluster_node_options o;
    o.config = *doc.cluster;
    auto started = cluster_node::start(*sys, std::move(o));
    if (!started.node)
      throw std::runtime_error("cluster: gateway node: "
                               + started.errors.front());
    node = std::move(started.node);
    service_host_options h;
    auto* n = node.get();
    h.remotes = [n](caf::actor_system&, const std::string& name,
                    const caf::actor& owner) {
      return n->spawn_remote(name, owner);
    };
    auto s = service_host::start(*sys, doc, std::move(h));
    if (!s.ok())
      throw std::runtime_error("cluster: gateway host: " + s.errors.front());
    host = std::move(s.host);
  }

  ~gateway() {
    if (host)
      host->stop();
    host.reset();
    node.reset();
  }

  /// Waits (bounded) until supervisors `work` and `pay` count every
  /// member running: a link being up is not enough, its remote members
  /// must have told the supervisors.
  bool members_running(ms timeout) {
    caf::scoped_actor self{*sys};
    auto until = wall::now() + timeout;
    while (wall::now() < until) {
      std::uint64_t running = 0;
      for (auto name : {"work", "pay"})
        self->request(host->find(name), 1s, stats_atom::value)
          .receive(
            [&](stats_atom, supervisor_stats& s) {
              running += s.members_in(member_status::running);
            },
            [](caf::error&) {});
      if (running == 2 * member_count)
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

// -- overhead phase -------------------------------------------------------------

struct overhead_result {
  double ratio = 0;
  double cpu_ratio = 0;
  double remote_ns = 0;
  double bare_ns = 0;
  int chunks = 0;
  std::uint64_t calls_per_chunk = 0;
  std::uint64_t failed = 0;
};

overhead_result measure_overhead(gateway& gw, const member_process& m1,
                                 int chunks, std::uint64_t calls,
                                 std::uint64_t warmup) {
  auto bare = gw.sys->middleman().remote_actor("127.0.0.1", m1.bare_port());
  if (!bare)
    throw std::runtime_error("cluster: cannot reach m1's bare echo: "
                             + gw.sys->render(bare.error()));
  auto stub = gw.node->spawn_remote("echo1");
  if (!stub)
    throw std::runtime_error("cluster: no remote member for echo1");
  // The stub learns the target's handle from the link; wait until a call
  // goes through (bounded).
  load_config cfg;
  cfg.inflight = 100;
  cfg.prototype.operation = "echo";
  cfg.prototype.payload = "0123456789abcdef";
  cfg.prototype.idempotency_key = "k";
  auto until = wall::now() + 5s;
  for (;;) {
    load_config probe = cfg;
    probe.calls = 1;
    probe.inflight = 1;
    auto r = run_closed_loop(*gw.sys, stub, probe);
    if (r.ok == 1)
      break;
    if (wall::now() > until)
      throw std::runtime_error("cluster: m1's echo never answered through "
                               "its remote member");
    std::this_thread::sleep_for(10ms);
  }
  cfg.calls = warmup;
  run_closed_loop(*gw.sys, *bare, cfg);
  run_closed_loop(*gw.sys, stub, cfg);
  overhead_result out;
  out.chunks = chunks;
  out.calls_per_chunk = calls;
  cfg.calls = calls;
  std::vector<double> ratios, cpu_ratios, remote_ns, bare_ns;
  for (int i = 0; i < chunks; ++i) {
    auto m1_cpu0 = process_cpu_ns(m1.pid());
    auto b = run_closed_loop(*gw.sys, *bare, cfg);
    auto m1_cpu1 = process_cpu_ns(m1.pid());
    auto p = run_closed_loop(*gw.sys, stub, cfg);
    auto m1_cpu2 = process_cpu_ns(m1.pid());
    out.failed +=
      b.failed + p.failed + (b.complete ? 0 : 1) + (p.complete ? 0 : 1);
    ratios.push_back(
      static_cast<double>(p.wall_ns)
      / static_cast<double>(std::max<std::int64_t>(b.wall_ns, 1)));
    auto bare_cpu = b.cpu_ns + (m1_cpu1 - m1_cpu0);
    auto prot_cpu = p.cpu_ns + (m1_cpu2 - m1_cpu1);
    cpu_ratios.push_back(
      static_cast<double>(prot_cpu)
      / static_cast<double>(std::max<std::int64_t>(bare_cpu, 1)));
    remote_ns.push_back(p.ns_per_call());
    bare_ns.push_back(b.ns_per_call());
  }
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
  out.ratio = median(ratios);
  out.cpu_ratio = median(cpu_ratios);
  out.remote_ns = median(remote_ns);
  out.bare_ns = median(bare_ns);
  return out;
}

// -- chaos phase: the closed loop and its table --------------------------------

/// One send (a read, or one try of a charge).
struct call_record {
  std::int64_t sent_ns = 0;
  /// The first send of its logical call (a re-sent charge's first try):
  /// a reroute is measured from there.
  std::int64_t origin_ns = 0;
  std::int64_t reply_ns = 0;
  /// 0 for a read; a charge's index in `call_table::charges` + 1.
  std::uint32_t charge = 0;
  std::uint32_t finals = 0;
  /// `call_reply::attempts` of the first final reply (> 1: failed over).
  std::uint16_t attempts = 0;
  bool ok = false;
  /// The first send of its logical call (every read; a charge's first try).
  bool first = false;
};

/// Every send of every run, by id - 1, and every charge, written by the
/// load actor and read by the driver between runs (under the mutex).
struct call_table {
  std::mutex mtx;
  /// Deques: growing never copies (or stalls on) what is there.
  std::deque<call_record> calls;
  std::deque<charge_record> charges;
  std::uint64_t unknown_replies = 0;
  std::uint64_t preliminaries = 0;
};

struct load_state {
  std::shared_ptr<call_table> table;
  caf::actor work;
  caf::actor pay;
  bool active = false;
  /// The first id and the first charge of the current run: replies to
  /// older runs' calls are recorded but do not drive the loop.
  std::uint64_t run_first = 1;
  std::size_t charge_first = 0;
  std::uint64_t outstanding = 0;
  caf::response_promise drained;
  bool draining = false;
  /// Tells a drain's own late timer from an earlier drain's.
  std::uint64_t drain_gen = 0;
};

std::int64_t budget_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(call_budget)
    .count();
}

void send_read(caf::event_based_actor* self, load_state& st) {
  call_request req;
  req.operation = "read";
  req.payload = "item";
  req.deadline_ns = budget_ns();
  {
    std::lock_guard<std::mutex> guard{st.table->mtx};
    call_record rec;
    rec.sent_ns = rec.origin_ns = now_ns();
    rec.first = true;
    st.table->calls.push_back(rec);
    req.id = st.table->calls.size();
  }
  req.idempotency_key = "r" + std::to_string(req.id);
  ++st.outstanding;
  self->send(st.work, rcall_atom::value, std::move(req));
}

/// One try of charge `index` with what is left of its budget and its key.
/// The caller checked that enough is left.
void send_charge(caf::event_based_actor* self, load_state& st,
                 std::size_t index) {
  call_request req;
  req.operation = "charge";
  req.payload = "10 EUR";
  req.idempotency_key = charge_key(index);
  {
    std::lock_guard<std::mutex> guard{st.table->mtx};
    auto& c = st.table->charges[index];
    call_record rec;
    rec.sent_ns = now_ns();
    rec.origin_ns = c.first_ns;
    rec.charge = static_cast<std::uint32_t>(index + 1);
    rec.first = c.sends++ == 0;
    req.deadline_ns = c.first_ns + budget_ns() - rec.sent_ns;
    st.table->calls.push_back(rec);
    req.id = st.table->calls.size();
  }
  self->send(st.pay, rcall_atom::value, std::move(req));
}

void start_charge(caf::event_based_actor* self, load_state& st) {
  std::size_t index;
  {
    std::lock_guard<std::mutex> guard{st.table->mtx};
    charge_record c;
    c.first_ns = now_ns();
    st.table->charges.push_back(c);
    index = st.table->charges.size() - 1;
  }
  ++st.outstanding;
  send_charge(self, st, index);
}

/// A failure another try may fix: not a refusal of the request itself
/// (`persistent`), not a spent budget, not a cancel.
bool resendable(failure_class c) {
  return c == failure_class::transient || c == failure_class::timeout
         || c == failure_class::overloaded
         || c == failure_class::rejected_locally;
}

// The closed loop: 64 logical calls out while active (48 reads, 16
// charges), each as `rcall` with its budget; every reply is checked against
// the table (unknown id, second final). A charge that fails retryably is
// re-sent with its key while its budget allows, and ends at its first
// success or when it cannot be re-sent. `cldrain` stops starting calls and
// answers when every logical call of the run has ended, or when the last
// one is past deadline + 1 s.
caf::behavior load_actor(caf::event_based_actor* self,
                         std::shared_ptr<call_table> table, caf::actor work,
                         caf::actor pay) {
  auto st = std::make_shared<load_state>();
  st->table = std::move(table);
  st->work = std::move(work);
  st->pay = std::move(pay);
  auto finish = [st] {
    if (st->draining) {
      st->draining = false;
      st->drained.deliver(cl_drain_atom::value);
    }
  };
  // A logical call of the current run ended: start the next of its kind.
  auto ended = [self, st, finish](bool charge) {
    --st->outstanding;
    if (st->active) {
      if (charge)
        start_charge(self, *st);
      else
        send_read(self, *st);
    } else if (st->outstanding == 0) {
      finish();
    }
  };
  return {
    [self, st](cl_start_atom) {
      {
        std::lock_guard<std::mutex> guard{st->table->mtx};
        st->run_first = st->table->calls.size() + 1;
        st->charge_first = st->table->charges.size();
      }
      st->active = true;
      st->outstanding = 0;
      for (std::uint32_t i = 0; i < chaos_inflight; ++i) {
        if (i < charge_inflight)
          start_charge(self, *st);
        else
          send_read(self, *st);
      }
    },
    [self, st, ended](reply_atom, call_reply& r) {
      bool fresh = false;
      std::uint32_t charge = 0;
      bool charge_ended = false;
      bool resend = false;
      {
        std::lock_guard<std::mutex> guard{st->table->mtx};
        auto& calls = st->table->calls;
        if (r.id == 0 || r.id > calls.size()) {
          ++st->table->unknown_replies;
        } else {
          auto& rec = calls[r.id - 1];
          if (rec.finals++ == 0) {
            rec.reply_ns = now_ns();
            rec.ok = r.ok;
            rec.attempts = static_cast<std::uint16_t>(
              std::min<std::uint32_t>(r.attempts, 0xffff));
            fresh = r.id >= st->run_first;
            charge = rec.charge;
          }
        }
        if (fresh && charge != 0) {
          auto& c = st->table->charges[charge - 1];
          auto left = c.first_ns + budget_ns() - now_ns();
          if (r.ok) {
            c.ok = true;
            c.payload = r.payload;
            charge_ended = true;
          } else if (resendable(r.cls)
                     && left > std::chrono::duration_cast<
                                 std::chrono::nanoseconds>(resend_delay
                                                           + min_resend_budget)
                                 .count()) {
            resend = true;
          } else {
            charge_ended = true;
          }
          c.done = charge_ended;
        }
      }
      if (!fresh)
        return;
      if (resend)
        self->delayed_send(self, resend_delay, cl_resend_atom::value,
                           static_cast<std::uint64_t>(charge - 1));
      else
        ended(charge != 0);
    },
    [self, st](cl_resend_atom, std::uint64_t index) {
      // A charge of a run whose drain gave up (its calls count as lost)
      // is not re-sent into the next run.
      if (index < st->charge_first || (!st->active && !st->draining))
        return;
      send_charge(self, *st, static_cast<std::size_t>(index));
    },
    [st](preliminary_atom, call_reply&) {
      std::lock_guard<std::mutex> guard{st->table->mtx};
      ++st->table->preliminaries;
    },
    [self, st](cl_drain_atom) {
      st->active = false;
      auto rp = self->make_response_promise();
      if (st->outstanding == 0) {
        rp.deliver(cl_drain_atom::value);
        return rp;
      }
      st->draining = true;
      st->drained = rp;
      self->delayed_send(self, call_budget + lost_grace + 100ms,
                         cl_late_atom::value, ++st->drain_gen);
      return rp;
    },
    [st, finish](cl_late_atom, std::uint64_t gen) {
      if (gen != st->drain_gen || !st->draining)
        return;
      // What is still out now is lost; the driver counts it from the table.
      st->outstanding = 0;
      finish();
    },
  };
}

// -- chaos phase: watching the links --------------------------------------------

struct link_event {
  int member = 0;
  peer_link_state state = peer_link_state::idle;
  std::int64_t at_ns = 0;
};

/// Polls the directory every millisecond and keeps each peer's state
/// changes with their time (the directory has no change callback).
class link_watch {
 public:
  explicit link_watch(std::shared_ptr<cluster_directory> dir)
    : dir_(std::move(dir)),
      thread_([this] { loop(); }) {}

  ~link_watch() {
    done_ = true;
    thread_.join();
  }

  std::vector<link_event> events() {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_;
  }

 private:
  void loop() {
    std::vector<peer_link_state> last(member_count, peer_link_state::idle);
    while (!done_) {
      auto t = now_ns();
      for (int i = 0; i < member_count; ++i) {
        auto state = dir_->peer(member_name(i)).state;
        if (state != last[static_cast<std::size_t>(i)]) {
          last[static_cast<std::size_t>(i)] = state;
          std::lock_guard<std::mutex> guard{mtx_};
          events_.push_back({i, state, t});
        }
      }
      std::this_thread::sleep_for(1ms);
    }
  }

  std::shared_ptr<cluster_directory> dir_;
  std::atomic<bool> done_{false};
  std::mutex mtx_;
  std::vector<link_event> events_;
  std::thread thread_;
};

struct run_result {
  /// Logical calls (reads, charges) started in the run, and those that
  /// ended in success.
  std::uint64_t calls = 0;
  std::uint64_t ok = 0;
  /// Sends (a charge's re-sends included) without a final reply by their
  /// deadline + 1 s.
  std::uint64_t lost = 0;
  double reroute_ms = 0;
  /// The same, over reads only and over charges only.
  double reroute_read_ms = 0;
  double reroute_charge_ms = 0;
  double hung_ms = 0;
  bool hung_detected = false;
  std::uint64_t false_downs = 0;
  double reconnect_ms = -1;
  /// The killed peer's link leaving `up`, after the SIGKILL stamp.
  double kill_detected_ms = -1;
  /// The largest gap between two replies while the kill was rerouted.
  double reply_gap_ms = 0;
};

struct chaos_params {
  std::int64_t run_ms = 3000;
};

run_result chaos_run(gateway& gw,
                     std::vector<std::unique_ptr<member_process>>& members,
                     const caf::actor& load, call_table& table,
                     link_watch& watch, std::uint64_t seed,
                     const chaos_params& p) {
  rng gen{seed};
  auto scale = std::min(1.0, static_cast<double>(p.run_ms) / 3000.0);
  auto kill_at = ms{static_cast<std::int64_t>(scale * gen.uniform(600, 800))};
  auto stop_at = ms{static_cast<std::int64_t>(scale * gen.uniform(1500, 1700))};
  auto killed = static_cast<int>(seed % member_count);
  auto stopped = static_cast<int>((seed + 1) % member_count);
  std::vector<std::uint64_t> downs_before;
  for (int i = 0; i < member_count; ++i)
    downs_before.push_back(
      gw.node->directory()->peer(member_name(i)).counters.downs);
  std::uint64_t first_id;
  {
    std::lock_guard<std::mutex> guard{table.mtx};
    first_id = table.calls.size() + 1;
  }
  auto t0 = wall::now();
  caf::anon_send(load, cl_start_atom::value);
  auto& k = *members[static_cast<std::size_t>(killed)];
  std::this_thread::sleep_until(t0 + kill_at);
  auto kill_ns = now_ns();
  k.kill_now();
  std::this_thread::sleep_until(t0 + kill_at + 300ms);
  auto restart_ns = now_ns();
  k.start();
  std::this_thread::sleep_until(t0 + stop_at);
  auto& s = *members[static_cast<std::size_t>(stopped)];
  auto stop_ns = now_ns();
  s.signal(SIGSTOP);
  std::this_thread::sleep_until(t0 + stop_at + 1000ms);
  auto cont_ns = now_ns();
  s.signal(SIGCONT);
  std::this_thread::sleep_until(t0 + ms{p.run_ms});
  {
    caf::scoped_actor self{*gw.sys};
    self->request(load, call_budget + lost_grace + 5s, cl_drain_atom::value)
      .receive([](cl_drain_atom) {},
               [&](caf::error& e) {
                 throw std::runtime_error("cluster: drain failed: "
                                          + gw.sys->render(e));
               });
  }
  if (!k.wait_ready(10s))
    throw std::runtime_error("cluster: restarted " + member_name(killed)
                             + " did not start");
  if (!gw.members_running(10s))
    throw std::runtime_error("cluster: not every member came back");
  run_result out;
  std::string debug;
  {
    std::lock_guard<std::mutex> guard{table.mtx};
    auto lost_after = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        call_budget + lost_grace)
                        .count();
    std::int64_t reroute = 0, reroute_read = 0, reroute_charge = 0;
    for (auto id = first_id; id <= table.calls.size(); ++id) {
      auto& r = table.calls[id - 1];
      out.calls += r.first ? 1 : 0;
      if (r.finals == 0 || r.reply_ns - r.sent_ns > lost_after) {
        ++out.lost;
        continue;
      }
      // A logical call has at most one ok send (a charge is not re-sent
      // after its success).
      if (r.ok)
        ++out.ok;
      // From the logical call's first send: a charge in flight at the kill
      // that succeeded only on the driver's re-send counts too.
      if (r.ok && r.origin_ns <= kill_ns && r.reply_ns > kill_ns) {
        reroute = std::max(reroute, r.reply_ns - kill_ns);
        auto& kind = r.charge != 0 ? reroute_charge : reroute_read;
        kind = std::max(kind, r.reply_ns - kill_ns);
      }
    }
    out.reroute_ms = to_ms(reroute);
    out.reroute_read_ms = to_ms(reroute_read);
    out.reroute_charge_ms = to_ms(reroute_charge);
    // The largest gap between any two replies (of any call) from the kill
    // to the last rerouted reply: a reroute slower than this gap only by a
    // few ms was a stall of the whole gateway (no CPU), not slow rerouting.
    std::vector<std::int64_t> replies{kill_ns};
    for (auto id = first_id; id <= table.calls.size(); ++id) {
      auto& r = table.calls[id - 1];
      if (r.finals > 0 && r.reply_ns > kill_ns
          && r.reply_ns <= kill_ns + reroute)
        replies.push_back(r.reply_ns);
    }
    std::sort(replies.begin(), replies.end());
    std::int64_t gap = 0;
    for (std::size_t i = 1; i < replies.size(); ++i)
      gap = std::max(gap, replies[i] - replies[i - 1]);
    out.reply_gap_ms = to_ms(gap);
    if (std::getenv("BULWARK_CLUSTER_DEBUG") != nullptr) {
      // Reply time in ms after the kill; `c` marks a charge (its re-sends
      // each appear), `*` a call that took more than one attempt (failed
      // over).
      std::vector<std::tuple<std::int64_t, std::uint16_t, bool>> xs;
      for (auto id = first_id; id <= table.calls.size(); ++id) {
        auto& r = table.calls[id - 1];
        if (r.finals > 0 && r.origin_ns <= kill_ns && r.reply_ns > kill_ns)
          xs.emplace_back((r.reply_ns - kill_ns) / 100000, r.attempts,
                          r.charge != 0);
      }
      std::sort(xs.begin(), xs.end());
      debug = fmt::format("max gap between any two replies {:.1f} ms; in "
                          "flight at the kill:",
                          to_ms(gap));
      for (auto& [x, attempts, charge] : xs)
        debug += fmt::format(" {:.1f}{}{}", static_cast<double>(x) / 10.0,
                             charge ? "c" : "", attempts > 1 ? "*" : "");
    }
  }
  // The stopped peer's first state change after SIGSTOP, before SIGCONT;
  // the restarted peer's first `up` after its restart.
  for (auto& e : watch.events()) {
    if (e.member == stopped && !out.hung_detected && e.at_ns >= stop_ns
        && e.at_ns <= cont_ns && e.state != peer_link_state::up) {
      out.hung_detected = true;
      out.hung_ms = to_ms(e.at_ns - stop_ns);
    }
    if (e.member == killed && out.kill_detected_ms < 0 && e.at_ns >= kill_ns
        && e.at_ns < restart_ns && e.state != peer_link_state::up)
      out.kill_detected_ms = to_ms(e.at_ns - kill_ns);
    if (e.member == killed && out.reconnect_ms < 0 && e.at_ns >= restart_ns
        && e.state == peer_link_state::up)
      out.reconnect_ms = to_ms(e.at_ns - restart_ns);
  }
  if (!out.hung_detected)
    out.hung_ms = to_ms(cont_ns - stop_ns);
  if (!debug.empty())
    std::fprintf(stderr,
                 "run seed %llu: kill m%d, seen down after %.1f ms, %s\n",
                 static_cast<unsigned long long>(seed), killed + 1,
                 out.kill_detected_ms, debug.c_str());
  for (int i = 0; i < member_count; ++i) {
    auto downs = gw.node->directory()->peer(member_name(i)).counters.downs
                 - downs_before[static_cast<std::size_t>(i)];
    std::uint64_t expected = (i == killed || i == stopped) ? 1 : 0;
    out.false_downs += downs > expected ? downs - expected : 0;
  }
  return out;
}

// -- the scenario ----------------------------------------------------------------

scenario_result run_cluster(const scenario_options& opts) {
  auto runs = opts.runs_given ? opts.runs : (opts.quick ? 3 : 50);
  chaos_params params;
  params.run_ms = opts.run_ms > 0 ? opts.run_ms : (opts.quick ? 2000 : 3000);
  auto chunks = opts.quick ? 4 : 10;
  std::uint64_t chunk_calls = opts.quick ? 5000 : 20000;
  std::uint64_t warmup = opts.quick ? 2000 : 10000;
  // Bars: the issue's, or with slack for CI's shared cores under --quick.
  double reroute_bar = opts.quick ? 250 : 50;
  double hung_bar = opts.quick ? 1500 : 1000;

  auto exe = self_exe();
  temp_dir dir;
  auto journal = dir.path() + "/pay.journal";
  // The ledger node first: each member announces itself only once its link
  // to the ledger is up.
  member_process ledger{exe, "ledger", free_loopback_port(), opts.seed * 10 + 9,
                        std::vector<std::string>{"--journal", journal}};
  ledger.start();
  if (!ledger.wait_ready(10s))
    throw std::runtime_error("cluster: the ledger node did not start");
  std::vector<std::uint16_t> ports;
  std::vector<std::unique_ptr<member_process>> members;
  for (int i = 0; i < member_count; ++i) {
    ports.push_back(free_loopback_port());
    members.push_back(std::make_unique<member_process>(
      exe, member_name(i), ports.back(),
      opts.seed * 10 + static_cast<std::uint64_t>(i),
      std::vector<std::string>{"--ledger-port",
                               std::to_string(ledger.port())}));
    members.back()->start();
  }
  for (int i = 0; i < member_count; ++i)
    if (!members[static_cast<std::size_t>(i)]->wait_ready(10s))
      throw std::runtime_error("cluster: " + member_name(i) + " did not start");
  gateway gw{gateway_document(ports)};
  for (int i = 0; i < member_count; ++i)
    if (!gw.node->directory()->wait_up(member_name(i), 10s))
      throw std::runtime_error("cluster: link to " + member_name(i)
                               + " not up");
  if (!gw.members_running(10s))
    throw std::runtime_error(
      "cluster: supervisors work and pay have not every member");

  report_progress(opts, "overhead", 0);
  auto over = measure_overhead(gw, *members[0], chunks, chunk_calls, warmup);

  auto table = std::make_shared<call_table>();
  auto load = gw.sys->spawn(load_actor, table, gw.host->find("work"),
                            gw.host->find("pay"));
  std::vector<run_result> results;
  {
    link_watch watch{gw.node->directory()};
    for (int r = 0; r < runs; ++r) {
      report_progress(opts, "chaos", static_cast<double>(r) / runs);
      results.push_back(chaos_run(gw, members, load, *table, watch,
                                  opts.seed + static_cast<std::uint64_t>(r),
                                  params));
      // The owner's counters so far, after each run's drain: which ledger
      // paths that run's kill and stop took.
      if (std::getenv("BULWARK_CLUSTER_DEBUG") != nullptr
          && ledger.signal(SIGUSR1))
        if (auto line = ledger.read_line("owner ", 5s))
          std::fprintf(stderr, "after run seed %llu: owner %s\n",
                       static_cast<unsigned long long>(
                         opts.seed + static_cast<std::uint64_t>(r)),
                       line->c_str());
    }
  }
  caf::anon_send_exit(load, caf::exit_reason::user_shutdown);
  // Every process that could still commit a charge ends first (a member
  // stops its HTTP service, whose executions commit within its grace), then
  // the owner: the journal is then final, and a duplicate cannot land after
  // it was read. The ledger must have lived through every run.
  if (!ledger.running())
    throw std::runtime_error("cluster: the ledger node died during the runs");
  // The owner's counters before the members stop (their stops end their
  // route actors, which the owner counts as client downs too): a kill or
  // stop of a member that is the owner's client is one client down.
  std::optional<std::string> owner_after_runs;
  if (ledger.signal(SIGUSR1))
    owner_after_runs = ledger.read_line("owner ", 5s);
  auto owner = parse_owner_counters(owner_after_runs);
  // How the supervisors treated their members over the runs: an ejected
  // member is out of rotation for 30 s (the default base ejection time).
  std::map<std::string, supervisor_counters> sup;
  {
    caf::scoped_actor self{*gw.sys};
    for (auto name : {"work", "pay"})
      self->request(gw.host->find(name), 1s, stats_atom::value)
        .receive(
          [&](stats_atom, supervisor_stats& s) { sup[name] = s.counters; },
          [](caf::error&) {});
  }
  for (auto& m : members)
    m->signal(SIGTERM);
  for (auto& m : members)
    m->stop();
  ledger.signal(SIGTERM);
  auto owner_at_stop = parse_owner_counters(ledger.read_line("owner ", 5s));
  ledger.stop();
  keyed_result keyed;
  {
    std::lock_guard<std::mutex> guard{table->mtx};
    keyed = account_charges(table->charges, journal);
  }

  std::uint64_t calls = 0, ok = 0, lost = 0, false_downs = 0, undetected = 0;
  double reroute_max = 0, hung_max = 0, reconnect_max = 0, kill_seen_max = 0;
  double reroute_read_max = 0, reroute_charge_max = 0;
  std::vector<double> reroutes;
  double gap_of_slowest = 0;
  for (auto& x : results) {
    calls += x.calls;
    ok += x.ok;
    lost += x.lost;
    false_downs += x.false_downs;
    undetected += x.hung_detected ? 0 : 1;
    if (x.reroute_ms >= reroute_max)
      gap_of_slowest = x.reply_gap_ms;
    reroute_max = std::max(reroute_max, x.reroute_ms);
    reroute_read_max = std::max(reroute_read_max, x.reroute_read_ms);
    reroute_charge_max = std::max(reroute_charge_max, x.reroute_charge_ms);
    hung_max = std::max(hung_max, x.hung_ms);
    reconnect_max = std::max(reconnect_max, x.reconnect_ms);
    kill_seen_max = std::max(kill_seen_max, x.kill_detected_ms);
    reroutes.push_back(x.reroute_ms);
  }
  std::uint64_t extra = 0, unknown = 0, sends = 0;
  {
    std::lock_guard<std::mutex> guard{table->mtx};
    for (auto& r : table->calls)
      extra += r.finals > 1 ? r.finals - 1 : 0;
    unknown = table->unknown_replies;
    sends = table->calls.size();
  }
  lost += unknown;

  scenario_result result;
  auto& f = result.fields;
  f.add("runs", static_cast<std::int64_t>(results.size()));
  f.add("calls", calls);
  f.add("sends", sends);
  f.add("lost", lost);
  f.add("extra_replies", extra);
  std::vector<std::string> members_named;
  for (int i = 0; i < member_count; ++i)
    members_named.push_back(member_name(i));
  add_keyed_fields(f, keyed, members_named);
  f.add("pay_failovers", sup["pay"].failovers);
  f.add("pay_ejections", sup["pay"].ejections);
  f.add("work_ejections", sup["work"].ejections);
  add_owner_fields(f, owner);
  f.add("success_ratio",
        calls == 0 ? 0.0
                   : static_cast<double>(ok) / static_cast<double>(calls));
  f.add("reroute_ms_max", reroute_max);
  f.add("reroute_ms_p50", median(reroutes));
  f.add("reroute_read_ms_max", reroute_read_max);
  f.add("reroute_charge_ms_max", reroute_charge_max);
  f.add("reroute_stall_ms", gap_of_slowest);
  f.add("kill_detected_ms_max", kill_seen_max);
  f.add("hung_detected_ms_max", hung_max);
  f.add("hung_undetected", undetected);
  f.add("false_downs", false_downs);
  f.add("reconnect_ms_max", reconnect_max);
  f.add("remote_overhead_ratio", over.ratio);
  f.add("remote_cpu_ratio", over.cpu_ratio);
  f.add("remote_ns_per_call", over.remote_ns);
  f.add("bare_remote_ns_per_call", over.bare_ns);
  f.add("overhead_chunks", over.chunks);
  f.add("overhead_calls_per_chunk", over.calls_per_chunk);
  f.add("overhead_failed", over.failed);
  f.add("seed", opts.seed);
  f.add("run_ms", params.run_ms);

  auto& bars = result.failed_bars;
  if (lost != 0)
    bars.push_back(fmt::format("lost {} != 0", lost));
  if (extra != 0)
    bars.push_back(fmt::format("extra_replies {} != 0", extra));
  add_keyed_bars(bars, keyed, owner_at_stop);
  if (reroute_max > reroute_bar)
    bars.push_back(
      fmt::format("reroute_ms_max {:.1f} > {} (that run's largest gap "
                  "between any two replies: {:.1f} ms)",
                  reroute_max, reroute_bar, gap_of_slowest));
  if (hung_max > hung_bar)
    bars.push_back(
      fmt::format("hung_detected_ms_max {:.1f} > {}", hung_max, hung_bar));
  if (undetected != 0)
    bars.push_back(fmt::format(
      "hung_undetected {} != 0 (a stop not seen before its SIGCONT)",
      undetected));
  // Under --quick (CI, two shared cores) a heartbeat false positive is
  // reported, not failed: it costs no reply, and CI's load is not ours.
  if (false_downs != 0 && !opts.quick)
    bars.push_back(fmt::format("false_downs {} != 0", false_downs));
  if (over.failed != 0)
    bars.push_back(fmt::format("overhead_failed {} != 0", over.failed));
  if (!opts.quick && over.ratio > 1.25)
    bars.push_back(
      fmt::format("remote_overhead_ratio {:.3f} > 1.25", over.ratio));
  return result;
}

const scenario_registrar registrar{
  "cluster",
  "gateway + 3 member processes + a ledger node on loopback: a remote "
  "call's cost vs a bare CAF remote send, then SIGKILL/SIGSTOP runs of reads "
  "and keyed charges (lost, extra, duplicates, reroute, hung)",
  run_cluster};

} // namespace

} // namespace bulwark::bench
