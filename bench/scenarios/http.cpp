// Scenario `http`: bulwark against an HAProxy sidecar on real loopback
// sockets (issue #7 item 5). Three replica HTTP services (http_service, in
// this process, each on its own io thread and port) answer `GET /item`; with
// faults on, 20% of requests fail (10% 503, 10% 500) and 5% are slow
// (50–200 ms, the rest take 1 ms), drawn from a seeded generator per replica.
// A closed loop keeps 64 calls in flight:
// - mode `haproxy`: a dependency actor without retries -> HTTP transport ->
//   HAProxy 2.6 (started by the scenario with a generated config:
//   roundrobin, `retries 3`, `option redispatch 1`, `retry-on
//   all-retryable-errors`) -> the replicas;
// - mode `bulwark`: a supervisor (least outstanding, 3 failovers, one hedge
//   at 20 ms, Finagle retry budget of 50%) over three dependency actors
//   without retries of their own, one HTTP transport each -> the replicas.
// A failing request gets 4 attempts in both modes (first + 3 retries or
// failovers); in bulwark a hedged request can get one more (the hedge is
// paid from the budget), which amplification shows. Both modes run in
// alternating rounds on the same replicas, reseeded alike per round, then
// the same with faults off (`goodput_no_faults`).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/actors/transport/http_transport.hpp"
#include "bench/runner/bench_system.hpp"
#include "bench/runner/load_generator.hpp"
#include "bench/runner/scenario.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark::bench {

namespace {

using hb_deliver_atom = caf::atom_constant<caf::atom("hbdeliver")>;
using hb_reseed_atom = caf::atom_constant<caf::atom("hbreseed")>;

constexpr int replica_count = 3;
constexpr double error_rate = 0.20; // half 503, half 500
constexpr double slow_rate = 0.05; // 50–200 ms
constexpr std::uint32_t inflight = 64;

// -- replicas ---------------------------------------------------------------------

struct replica_state {
  rng gen{1};
  std::uint64_t next = 0;
  std::unordered_map<std::uint64_t,
                     std::pair<caf::response_promise, service_response>>
    pending;
};

// A replica's route actor: draws the fault of each request, and answers
// after its latency through a timer (never sleeping on a CAF thread).
caf::behavior replica_actor(caf::event_based_actor* self,
                            std::shared_ptr<std::atomic<bool>> faults) {
  auto st = std::make_shared<replica_state>();
  return {
    [self, st, faults](service_request&) -> caf::response_promise {
      service_response res;
      res.content_type = "text/plain";
      res.body = "item";
      duration delay = milliseconds(1);
      if (faults->load(std::memory_order_relaxed)) {
        auto u = st->gen.uniform();
        if (u < error_rate / 2) {
          res.status = 503;
          res.body = "injected 503";
        } else if (u < error_rate) {
          res.status = 500;
          res.body = "injected 500";
        }
        if (st->gen.uniform() < slow_rate)
          delay = microseconds(
            static_cast<std::int64_t>(st->gen.uniform(50'000.0, 200'000.0)));
      }
      auto rp = self->make_response_promise();
      auto id = st->next++;
      st->pending.emplace(id, std::make_pair(rp, std::move(res)));
      self->delayed_send(self, delay, hb_deliver_atom::value, id);
      return rp;
    },
    [st](hb_deliver_atom, std::uint64_t id) {
      auto i = st->pending.find(id);
      if (i == st->pending.end())
        return;
      auto [rp, res] = std::move(i->second);
      st->pending.erase(i);
      rp.deliver(std::move(res));
    },
    [st](hb_reseed_atom, std::uint64_t seed) { st->gen = rng{seed}; },
  };
}

struct replica_set {
  std::shared_ptr<std::atomic<bool>> faults =
    std::make_shared<std::atomic<bool>>(true);
  std::vector<caf::actor> actors;
  std::vector<std::unique_ptr<http_service>> services;

  explicit replica_set(caf::actor_system& sys) {
    for (int i = 0; i < replica_count; ++i) {
      actors.push_back(sys.spawn(replica_actor, faults));
      http_service_options opts;
      opts.max_in_flight = 1024;
      services.push_back(std::make_unique<http_service>(sys, opts));
      services.back()->route("GET", "/item", actors.back());
      services.back()->start();
    }
  }

  ~replica_set() {
    for (auto& s : services)
      s->stop();
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  // Every replica's generator from the same seed, so both modes meet the
  // same fault sequence per replica.
  void reseed(std::uint64_t seed) {
    for (std::size_t i = 0; i < actors.size(); ++i)
      caf::anon_send(actors[i], hb_reseed_atom::value, seed * 1000 + i);
  }

  std::uint64_t received() const {
    std::uint64_t n = 0;
    for (auto& s : services)
      n += s->stats().received;
    return n;
  }
};

// -- HAProxy ----------------------------------------------------------------------

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("http: socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("http: could not find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// The configuration documented in docs/benchmarks.md (section `http`).
std::string haproxy_config(std::uint16_t listen,
                           const std::vector<std::uint16_t>& servers) {
  std::string out = "global\n"
                    "    maxconn 4096\n"
                    "    nbthread 1\n"
                    "\n"
                    "defaults\n"
                    "    mode http\n"
                    "    timeout connect 1s\n"
                    "    timeout client 30s\n"
                    "    timeout server 5s\n"
                    "    retries 3\n"
                    "    option redispatch 1\n"
                    "    retry-on all-retryable-errors\n"
                    "\n"
                    "frontend fe\n"
                    "    bind 127.0.0.1:"
                    + std::to_string(listen)
                    + "\n"
                      "    default_backend replicas\n"
                      "\n"
                      "backend replicas\n"
                      "    balance roundrobin\n";
  for (std::size_t i = 0; i < servers.size(); ++i)
    out += "    server r" + std::to_string(i + 1)
           + " 127.0.0.1:" + std::to_string(servers[i]) + "\n";
  return out;
}

// An HAProxy child process for the lifetime of this object: stopped (TERM,
// then KILL) and its config file removed in the destructor, also when the
// scenario throws; PR_SET_PDEATHSIG kills it should this process die first.
class haproxy_process {
 public:
  haproxy_process(const std::string& config, std::uint16_t port) {
    const char* exe = std::getenv("BULWARK_HAPROXY");
    if (exe == nullptr || *exe == 0)
      exe = "/usr/sbin/haproxy";
    if (::access(exe, X_OK) != 0)
      throw std::runtime_error(std::string{"http: HAProxy not found at "} + exe
                               + " (install the haproxy package or set "
                                 "BULWARK_HAPROXY)");
    char path[] = "/tmp/bulwark-bench-haproxy-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0)
      throw std::runtime_error("http: cannot write the HAProxy config");
    path_ = path;
    auto written = ::write(fd, config.data(), config.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(config.size())) {
      ::unlink(path_.c_str());
      throw std::runtime_error("http: cannot write the HAProxy config");
    }
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ::unlink(path_.c_str());
      throw std::runtime_error("http: fork failed");
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(126);
      int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0)
        ::dup2(devnull, STDOUT_FILENO);
      ::execl(exe, "haproxy", "-f", path, "-db", "-q",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 250; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ::unlink(path_.c_str());
        throw std::runtime_error("http: HAProxy exited at startup (status "
                                 + std::to_string(status) + ")");
      }
      if (port_accepts(port)) {
        // HAProxy has read its config: remove the file now, so not even a
        // SIGKILL of this process leaves it behind.
        ::unlink(path_.c_str());
        path_.clear();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("http: HAProxy did not listen within 5 s");
  }

  haproxy_process(const haproxy_process&) = delete;
  haproxy_process& operator=(const haproxy_process&) = delete;

  ~haproxy_process() {
    stop();
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      bool gone = false;
      for (int i = 0; i < 100 && !gone; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
          gone = true;
        else
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!gone) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
      pid_ = -1;
    }
    if (!path_.empty()) {
      ::unlink(path_.c_str());
      path_.clear();
    }
  }

 private:
  pid_t pid_ = -1;
  std::string path_;
};

// -- the two callers --------------------------------------------------------------

const char* const dependency_policies = R"(
  "idempotency": "idempotent", "default_timeout": "5s",
  "retry": {"max_attempts": 1, "per_attempt_timeout": "5s"},
  "bulkhead": {"max_concurrent": 1024, "max_queue": 0})";

std::string bulwark_document() {
  std::string deps;
  for (int i = 1; i <= replica_count; ++i) {
    if (i > 1)
      deps += ", ";
    deps += "\"r" + std::to_string(i) + "\": {" + dependency_policies + "}";
  }
  // No rejection cooldown: the 503s here are random faults, not overload,
  // so routing around the member that just sent one would only skew load.
  // No outlier ejection: with 20% random errors, 5 in a row happen by
  // chance every few thousand requests and would eject a healthy replica.
  // Hedge at a fixed 20 ms: with 64 calls in flight on two cores, a normal
  // call queues for several ms, and the slow tail starts at 50 ms; at 10 ms
  // a sixth of all calls were hedged and the budget began to refuse
  // failovers, at 20 ms about 5% are (the slow ones). Budget 50%: failovers
  // (~25% of calls) plus hedges (~5%) fit, and a retry storm still cannot
  // double the load.
  return R"({"dependencies": {)" + deps + R"(},
    "supervisors": {"replicas": {"members": ["r1", "r2", "r3"],
      "routing": "least_outstanding", "max_failovers": 3,
      "rejection_cooldown": "0s", "default_timeout": "5s",
      "budget": {"mode": "finagle", "finagle": {"percent_can_retry": 50}},
      "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "20ms",
                "max_hedges": 1},
      "outlier_detection": {"enabled": false}}}})";
}

http_transport_options transport_to(std::uint16_t port) {
  http_transport_options t;
  t.host = "127.0.0.1";
  t.port = port;
  t.default_method = "GET";
  t.path_template = "/item";
  t.max_connections = 2 * inflight;
  t.max_queued = 4 * inflight;
  return t;
}

// What a mode calls, and what to stop afterwards.
struct target {
  caf::actor entry;
  std::vector<caf::actor> owned;

  void stop() {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    owned.clear();
    entry = nullptr;
  }
};

target make_bulwark(caf::actor_system& sys, const replica_set& replicas,
                    std::uint64_t seed) {
  target t;
  std::vector<caf::actor> transports;
  auto tree = spawn_supervisor_tree(
    sys, bulwark_document(), "replicas",
    [&](const std::string& name) {
      auto i = static_cast<std::size_t>(std::stoi(name.substr(1)) - 1);
      auto tr =
        http_transport::spawn(sys, transport_to(replicas.services[i]->port()));
      transports.push_back(tr.handle());
      return tr.handle();
    },
    seed);
  if (!tree.errors.empty())
    throw std::runtime_error("http: bad bulwark document: "
                             + tree.errors.front());
  t.entry = caf::actor_cast<caf::actor>(tree.root);
  t.owned.push_back(t.entry);
  for (auto& x : transports)
    t.owned.push_back(x);
  return t;
}

target make_haproxy_client(caf::actor_system& sys, std::uint16_t port,
                           std::uint64_t seed) {
  auto text = std::string{R"({"dependencies": {"haproxy": {)"}
              + dependency_policies + "}}}";
  auto parsed = parse_bulwark_config(text);
  if (!parsed.ok())
    throw std::runtime_error("http: bad haproxy-mode document: "
                             + parsed.errors.to_string());
  auto tr = http_transport::spawn(sys, transport_to(port));
  dependency_options opts;
  opts.config = parsed.config->dependencies.at(0);
  opts.transport = tr.handle();
  opts.seed = seed;
  target t;
  t.entry = caf::actor_cast<caf::actor>(spawn_dependency(sys, std::move(opts)));
  t.owned = {t.entry, tr.handle()};
  return t;
}

// -- measuring --------------------------------------------------------------------

// With BULWARK_BENCH_MEMORY set, one stderr line per run: calls so far, the
// process's resident set (/proc/self/statm) and the bytes malloc has handed
// out and not got back (mallinfo2: arenas + mmapped chunks), so memory per
// call can be read off the slope between runs (issue #7 memory growth).
void report_memory(const std::string& what, std::uint64_t calls_so_far) {
  if (std::getenv("BULWARK_BENCH_MEMORY") == nullptr)
    return;
  long pages = 0;
  long resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  auto rss = static_cast<double>(resident)
             * static_cast<double>(::sysconf(_SC_PAGESIZE));
  auto m = mallinfo2();
  std::fprintf(stderr,
               "memory after %-22s calls %8llu  rss %8.1f MB  malloc in use "
               "%8.1f MB\n",
               what.c_str(), static_cast<unsigned long long>(calls_so_far),
               rss / 1e6, static_cast<double>(m.uordblks + m.hblkhd) / 1e6);
}

double quantile_ms(std::vector<std::int64_t> xs, double q) {
  if (xs.empty())
    return 0.0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k),
                   xs.end());
  return static_cast<double>(xs[k]) / 1e6;
}

// One or more runs of one kind (faulty or clean) of one mode, added up.
struct measured {
  load_report load;
  std::uint64_t replica_requests = 0;

  void add(const measured& x) {
    load.calls += x.load.calls;
    load.ok += x.load.ok;
    load.failed += x.load.failed;
    load.wall_ns += x.load.wall_ns;
    load.latencies_ns.insert(load.latencies_ns.end(),
                             x.load.latencies_ns.begin(),
                             x.load.latencies_ns.end());
    replica_requests += x.replica_requests;
  }
};

measured run_once(caf::actor_system& sys, replica_set& replicas,
                  const target& t, std::uint64_t calls, bool faults,
                  std::uint64_t seed) {
  replicas.faults->store(faults);
  replicas.reseed(seed);
  load_config load;
  load.calls = calls;
  load.inflight = inflight;
  load.record_latency = true;
  load.prototype.operation = "get_item";
  load.prototype.idempotency_key = "item";
  auto before = replicas.received();
  measured m;
  m.load = run_closed_loop(sys, t.entry, load);
  if (!m.load.complete)
    throw std::runtime_error("http: the load generator lost replies");
  // Late hedges and cancelled attempts may still be on the wire: let them
  // land so they count where they belong.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  m.replica_requests = replicas.received() - before;
  return m;
}

void add_fields(field_list& f, const measured& faulty, const measured& clean) {
  auto& r = faulty.load;
  auto secs = static_cast<double>(r.wall_ns) / 1e9;
  auto calls = static_cast<double>(r.calls);
  f.add("goodput", static_cast<double>(r.ok) / secs);
  f.add("success_ratio", static_cast<double>(r.ok) / calls);
  f.add("p99_ms", quantile_ms(r.latencies_ns, 0.99));
  f.add("amplification", static_cast<double>(faulty.replica_requests) / calls);
  f.add("goodput_no_faults",
        static_cast<double>(clean.load.ok)
          / (static_cast<double>(clean.load.wall_ns) / 1e9));
  f.add("p50_ms", quantile_ms(r.latencies_ns, 0.5));
  f.add("p999_ms", quantile_ms(r.latencies_ns, 0.999));
  f.add("calls", r.calls);
  f.add("failed", r.failed);
  f.add("replica_requests", faulty.replica_requests);
  f.add("p99_ms_no_faults", quantile_ms(clean.load.latencies_ns, 0.99));
  f.add("success_ratio_no_faults", static_cast<double>(clean.load.ok)
                                     / static_cast<double>(clean.load.calls));
}

scenario_result run_http(const scenario_options& opts) {
  const std::uint64_t calls = opts.quick ? 2'000 : 100'000;
  const std::uint64_t clean_calls = opts.quick ? 2'000 : 40'000;
  const int rounds = opts.quick ? 1 : 4;
  const std::uint64_t warmup = opts.quick ? 200 : 1'000;
  bench_config cfg;
  caf::actor_system sys{cfg};
  scenario_result result;
  {
    replica_set replicas{sys};
    std::vector<std::uint16_t> ports;
    for (auto& s : replicas.services)
      ports.push_back(s->port());
    auto listen = free_loopback_port();
    haproxy_process haproxy{haproxy_config(listen, ports), listen};
    struct side {
      std::string name;
      target t;
      measured faulty, clean;
    };
    std::vector<side> sides;
    sides.push_back(
      {"bulwark", make_bulwark(sys, replicas, opts.seed), {}, {}});
    sides.push_back(
      {"haproxy", make_haproxy_client(sys, listen, opts.seed), {}, {}});
    std::uint64_t calls_so_far = 0;
    report_memory("start", calls_so_far);
    try {
      for (auto& s : sides) {
        run_once(sys, replicas, s.t, warmup, true, opts.seed + 7);
        calls_so_far += warmup;
        report_memory(s.name + " warm-up", calls_so_far);
      }
      // Rounds alternate the modes (faulty, then clean), so a burst of load
      // from elsewhere on this shared machine hits both alike. Every round
      // reseeds the replicas: both modes meet the same fault draws.
      for (int round = 0; round < rounds; ++round) {
        for (bool faults : {true, false})
          for (auto& s : sides) {
            report_progress(opts, s.name,
                            (round + (faults ? 0.0 : 0.5)) / rounds);
            auto m = run_once(sys, replicas, s.t,
                              (faults ? calls : clean_calls) / rounds, faults,
                              opts.seed + static_cast<std::uint64_t>(round));
            (faults ? s.faulty : s.clean).add(m);
            calls_so_far += m.load.calls;
            report_memory(s.name + (faults ? " faulty " : " clean ")
                            + std::to_string(round + 1),
                          calls_so_far);
          }
      }
      for (auto& s : sides)
        report_progress(opts, s.name, 1.0);
    } catch (...) {
      for (auto& s : sides)
        s.t.stop();
      throw;
    }
    if (std::getenv("BULWARK_DEBUG")) {
      caf::scoped_actor self{sys};
      self->send(sides[0].t.entry, stats_atom::value);
      self->receive([](stats_atom, dependency_stats& x) {
        std::fprintf(stderr, "%s\n",
                     boost::json::serialize(to_json(x)).c_str());
      });
    }
    for (auto& s : sides) {
      s.t.stop();
      add_fields(result.mode(s.name), s.faulty, s.clean);
    }
    haproxy.stop();
  }
  return result;
}

const scenario_registrar http_registrar{
  "http",
  "loopback HTTP, 3 replicas with 20% errors (503/500) and a 5% slow tail "
  "(50-200 ms), 64 in flight: bulwark supervisor (4 attempts, hedge) vs an "
  "HAProxy sidecar (retries 3, redispatch): goodput, success, p99, "
  "amplification",
  run_http};

} // namespace

} // namespace bulwark::bench
