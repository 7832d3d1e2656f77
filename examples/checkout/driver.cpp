// The driver: starts the four services and the gateway as child processes
// (fork + exec of /proc/self/exe), drives checkouts with faults changed at
// run time through PUT /faults (and, for `e2e`, a SIGKILL and restart of the
// inventory process early and of the payments process later, then a crash
// payments injects into itself between a charge's side effect and its
// ledger record, each restarted on the same port and ledger journals), then
// checks the invariants against the
// answers and the services' GET /ledger, and stops every child whatever
// happened (SIGTERM, wait, SIGKILL after a grace period; children also get
// PR_SET_PDEATHSIG so a crashed driver leaves nothing behind). The
// services' journals live in a temporary directory the driver creates and
// removes.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "common.hpp"

namespace json = boost::json;

namespace checkout {

namespace {

struct child {
  std::string name;
  std::vector<std::string> args;
  std::uint16_t port = 0;
  pid_t pid = -1;
};

pid_t spawn_child(const std::vector<std::string>& args) {
  // Everything is allocated before fork: the driver has threads, and only
  // async-signal-safe calls are allowed in the child until exec.
  std::string self = "checkout";
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  argv.push_back(self.data());
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto parent = getpid();
  auto pid = fork();
  if (pid != 0)
    return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
  execv("/proc/self/exe", argv.data());
  _exit(127);
}

/// SIGTERM, up to `grace_ms` for a clean exit, then SIGKILL; always reaps.
void stop_child(child& c, int grace_ms) {
  if (c.pid <= 0)
    return;
  kill(c.pid, SIGTERM);
  auto until = std::chrono::steady_clock::now()
               + std::chrono::milliseconds(grace_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "%s did not stop in %d ms: SIGKILL\n", c.name.c_str(),
               grace_ms);
  kill(c.pid, SIGKILL);
  waitpid(c.pid, &status, 0);
  c.pid = -1;
}

/// Owns the children: the destructor stops every one, on every path.
struct process_group {
  std::vector<child> children;
  ~process_group() {
    for (auto i = children.rbegin(); i != children.rend(); ++i)
      stop_child(*i, 3000);
  }
  child& get(const std::string& name) {
    for (auto& c : children)
      if (c.name == name)
        return c;
    throw std::logic_error("no child " + name);
  }
  bool start(const std::string& name, std::vector<std::string> args,
             std::uint16_t port) {
    child c;
    c.name = name;
    c.args = std::move(args);
    c.port = port;
    c.pid = spawn_child(c.args);
    children.push_back(c);
    return c.pid > 0 && wait_ready(port, 10'000);
  }
  bool restart(child& c) {
    c.pid = spawn_child(c.args);
    return c.pid > 0 && wait_ready(c.port, 10'000);
  }
};

/// The services' ledger journals: a fresh directory, removed with everything
/// in it on every path (declared before the process_group, so the children
/// are gone first).
struct data_dir {
  std::string path;
  data_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path()
                        / "checkout-data-XXXXXX")
                         .string();
    if (::mkdtemp(tmpl.data()) != nullptr)
      path = tmpl;
  }
  ~data_dir() {
    if (path.empty())
      return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string sub(const std::string& name) const {
    return path + "/" + name;
  }
};

struct order_result {
  std::string order;
  int status = 0;
  std::string error;
  json::object body;
};

int ledger_count(const json::object& ledger, const char* kind,
                 const std::string& key) {
  auto* m = ledger.if_contains(kind);
  if (m == nullptr || !m->is_object())
    return 0;
  auto* v = m->as_object().if_contains(key);
  return v != nullptr && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
}

bool has_step(const json::object& body, const char* step) {
  auto* s = body.if_contains("steps");
  if (s == nullptr || !s->is_array())
    return false;
  for (auto& x : s->as_array())
    if (x.is_string() && x.as_string() == step)
      return true;
  return false;
}

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string{v->as_string().c_str()}
                                        : std::string{};
}

json::object get_ledger(std::uint16_t port) {
  auto a = http_call(port, "GET", "/ledger", "", 5000);
  json::error_code ec;
  auto v = json::parse(a.body, ec);
  return (a.status == 200 && !ec && v.is_object()) ? v.as_object()
                                                   : json::object{};
}

void put_faults(std::uint16_t port, const std::string& body) {
  auto a = http_call(port, "PUT", "/faults", body, 5000);
  if (a.status != 200)
    std::fprintf(stderr, "PUT /faults on %u failed: %d %s\n",
                 static_cast<unsigned>(port), a.status, a.error.c_str());
}

} // namespace

int run_driver(bool kill_and_restart) {
  auto t0 = std::chrono::steady_clock::now();
  signal(SIGPIPE, SIG_IGN);
  data_dir data;
  if (data.path.empty()) {
    std::fprintf(stderr, "FAILED: cannot create a temporary data directory\n");
    return 1;
  }
  process_group pg;
  auto p_inv = free_port(), p_pri = free_port(), p_pri2 = free_port(),
       p_pay = free_port(), p_rec = free_port(), p_gw = free_port();
  auto ps = [](std::uint16_t p) { return std::to_string(p); };
  bool ok = pg.start("inventory",
                     {"inventory", "--port", ps(p_inv), "--data-dir",
                      data.sub("inventory")},
                     p_inv)
            && pg.start("pricing-1", {"pricing", "--port", ps(p_pri)}, p_pri)
            && pg.start("pricing-2", {"pricing", "--port", ps(p_pri2)}, p_pri2)
            && pg.start("payments",
                        {"payments", "--port", ps(p_pay), "--data-dir",
                         data.sub("payments")},
                        p_pay)
            && pg.start("recommendations",
                        {"recommendations", "--port", ps(p_rec)}, p_rec)
            && pg.start("gateway",
                        {"gateway", "--port", ps(p_gw), "--inventory", ps(p_inv),
                         "--pricing", ps(p_pri) + "," + ps(p_pri2),
                         "--payments", ps(p_pay),
                         "--recommendations", ps(p_rec)},
                        p_gw);
  if (!ok) {
    std::fprintf(stderr, "FAILED: a process did not become ready\n");
    return 1;
  }
  std::printf("data dir: %s\n", data.path.c_str());
  std::printf("pids:");
  for (auto& c : pg.children)
    std::printf(" %s=%d", c.name.c_str(), static_cast<int>(c.pid));
  std::printf("\n");
  std::fflush(stdout);
  // Faults from the start: errors before and after payments' side effect,
  // inventory errors and latency, flaky pricing.
  const char* pay_faults = R"({"error_rate": 0.05, "error_after_rate": 0.05})";
  const char* inv_faults = R"({"error_rate": 0.05, "latency_ms": 2})";
  put_faults(p_pay, pay_faults);
  put_faults(p_inv, inv_faults);
  put_faults(p_pri, R"({"error_rate": 0.2})");
  put_faults(p_pri2, R"({"error_rate": 0.2})");
  constexpr int total = 200;
  constexpr int threads = 8;
  std::atomic<int> next{0};
  std::mutex mtx;
  std::vector<order_result> results;
  auto worker = [&] {
    for (;;) {
      auto i = next++;
      if (i >= total)
        return;
      order_result r;
      r.order = "order-" + std::to_string(i);
      json::object req{{"sku", "sku-" + std::to_string(i % 5)},
                       {"qty", 1 + i % 3},
                       {"order_id", r.order}};
      auto a = http_call(p_gw, "POST", "/checkout", json::serialize(req), 60'000);
      r.status = a.status;
      r.error = a.error;
      json::error_code ec;
      auto v = json::parse(a.body, ec);
      if (!ec && v.is_object())
        r.body = v.as_object();
      {
        std::lock_guard<std::mutex> guard{mtx};
        results.push_back(std::move(r));
      }
      // Paced (about 65 checkouts a second) so that the run lasts a few
      // seconds and the scheduled faults hit the middle of it.
      std::this_thread::sleep_for(std::chrono::milliseconds(120));
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back(worker);
  // Scheduled faults, changed at run time: a recommendations outage, a
  // pricing outage (stale prices), and for e2e a SIGKILL + restart of
  // inventory, then of payments (mid-run, requests in flight). Both restart
  // on their journals, so no exemption is needed for what they did before.
  bool restarted = true;
  auto wait_for = [&](int n) {
    while (next.load() < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  // The restarted process lost the faults set through PUT /faults: they are
  // set again, so the rest of the run breaks it the same way.
  auto kill_restart = [&](const char* name, const char* faults) {
    auto& c = pg.get(name);
    std::printf("killing %s (pid %d) at request %d\n", name,
                static_cast<int>(c.pid), next.load());
    std::fflush(stdout);
    kill(c.pid, SIGKILL);
    int status = 0;
    waitpid(c.pid, &status, 0);
    c.pid = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bool ok = pg.restart(c);
    std::printf("%s restarted (pid %d): %s\n", name, static_cast<int>(c.pid),
                ok ? "ready" : "NOT READY");
    std::fflush(stdout);
    restarted = restarted && ok;
    put_faults(c.port, faults);
  };
  wait_for(20);
  put_faults(p_pri, R"({"outage_s": 0.5})"); // one replica: the other serves
  if (kill_and_restart) {
    wait_for(30);
    kill_restart("inventory", inv_faults);
  }
  wait_for(40);
  put_faults(p_rec, R"({"outage_s": 0.5})");
  wait_for(80);
  put_faults(p_pri, R"({"outage_s": 1.5})"); // both replicas: stale prices
  put_faults(p_pri2, R"({"outage_s": 1.5})");
  if (kill_and_restart) {
    wait_for(100);
    kill_restart("payments", pay_faults);
    // Then payments kills itself right after a charge's side effect, before
    // its ledger record: that charge must still happen exactly once.
    wait_for(140);
    auto& pay = pg.get("payments");
    put_faults(p_pay, R"({"crash_after_effect": true})");
    int status = 0;
    bool died = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!died && std::chrono::steady_clock::now() < until) {
      died = waitpid(pay.pid, &status, WNOHANG) == pay.pid;
      if (!died)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!died) {
      kill(pay.pid, SIGKILL);
      waitpid(pay.pid, &status, 0);
    }
    bool by_itself = died && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    std::printf("payments crashed after a side effect (pid %d) at request %d: "
                "%s\n",
                static_cast<int>(pay.pid), next.load(),
                by_itself ? "yes" : "NO");
    std::fflush(stdout);
    pay.pid = -1;
    restarted = restarted && by_itself;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bool ok = pg.restart(pay);
    std::printf("payments restarted (pid %d): %s\n", static_cast<int>(pay.pid),
                ok ? "ready" : "NOT READY");
    std::fflush(stdout);
    restarted = restarted && ok;
    put_faults(p_pay, pay_faults);
  }
  for (auto& t : pool)
    t.join();
  auto run_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  // -- invariants ---------------------------------------------------------------
  if (std::getenv("CHECKOUT_STATS") != nullptr)
    std::printf("gateway stats: %s\n",
                http_call(p_gw, "GET", "/stats", "", 5000).body.c_str());
  auto pay = get_ledger(p_pay);
  auto inv = get_ledger(p_inv);
  std::vector<std::string> violations;
  auto violate = [&](std::string s) {
    if (violations.size() < 20)
      violations.push_back(std::move(s));
    else if (violations.size() == 20)
      violations.push_back("...");
  };
  std::map<std::string, int> outcomes, rec_sources, price_sources;
  int answered = 0;
  int releases_checked = 0;
  for (auto& r : results) {
    if (r.status == 0 || r.body.empty() || str(r.body, "order_id") != r.order) {
      violate(r.order + ": no proper answer (" + std::to_string(r.status) + " "
              + r.error + ")");
      continue;
    }
    ++answered;
    auto outcome = str(r.body, "outcome");
    ++outcomes[outcome];
    ++rec_sources[str(r.body, "recommendations_source")];
    ++price_sources[str(r.body, "price_source")];
    auto charges = ledger_count(pay, "charge", r.order);
    auto refunds = ledger_count(pay, "refund", r.order + "-refund");
    auto releases = ledger_count(inv, "release", r.order + "-release");
    if (charges > 1)
      violate(r.order + ": charged " + std::to_string(charges) + " times");
    if (refunds > 1)
      violate(r.order + ": refunded " + std::to_string(refunds) + " times");
    if (outcome == "completed") {
      if (charges != 1 || refunds != 0)
        violate(r.order + ": completed with charges=" + std::to_string(charges)
                + " refunds=" + std::to_string(refunds));
    } else if (outcome == "compensated") {
      bool charged_step = has_step(r.body, "charge");
      if (charged_step && refunds != 1)
        violate(r.order + ": failed after the charge, refunds="
                + std::to_string(refunds));
      if (!charged_step && (charges != 0 || refunds != 0))
        violate(r.order + ": failed before the charge, charges="
                + std::to_string(charges));
      // Journaled: the restarted inventory still holds every release.
      ++releases_checked;
      if (releases != 1)
        violate(r.order + ": compensated, releases="
                + std::to_string(releases));
    } else if (outcome == "rejected") {
      if (has_step(r.body, "reserve"))
        violate(r.order + ": rejected after the reserve step");
      if (charges != 0 || refunds != 0)
        violate(r.order + ": rejected before reserve but charged/refunded");
    } else {
      violate(r.order + ": outcome " + outcome + ": " + json::serialize(r.body));
    }
  }
  if (static_cast<int>(results.size()) != total)
    violate("answers recorded " + std::to_string(results.size()) + " of "
            + std::to_string(total));
  if (rec_sources["static_fallback"] + rec_sources["gateway_fallback"] == 0)
    violate("recommendations never degraded to the fallback during their outage");
  if (!restarted)
    violate("inventory or payments did not come back after the restart (or "
            "payments did not crash after a side effect)");
  // A charge key the gateway never used would be a stray side effect.
  if (auto* m = pay.if_contains("charge"); m != nullptr && m->is_object())
    for (auto& kv : m->as_object())
      if (kv.value().is_int64() && kv.value().as_int64() > 1)
        violate(std::string{kv.key()} + ": charged "
                + std::to_string(kv.value().as_int64()) + " times");
  if (pay.empty())
    violate("payments ledger unreadable");
  std::printf("checkout %s: %d requests, %d answered in %lld ms\n",
              kill_and_restart
                ? "e2e (inventory and payments killed and restarted)"
                : "demo",
              total, answered, static_cast<long long>(run_ms));
  auto print_map = [](const char* title, const std::map<std::string, int>& m) {
    std::printf("  %-24s", title);
    for (auto& [k, n] : m)
      std::printf(" %s=%d", k.empty() ? "-" : k.c_str(), n);
    std::printf("\n");
  };
  print_map("outcomes:", outcomes);
  print_map("recommendations source:", rec_sources);
  print_map("price source:", price_sources);
  auto total_of = [](const json::object& ledger, const char* kind) {
    long n = 0;
    if (auto* m = ledger.if_contains(kind); m != nullptr && m->is_object())
      for (auto& kv : m->as_object())
        if (kv.value().is_int64())
          n += kv.value().as_int64();
    return n;
  };
  std::printf("  %-24s charges=%ld refunds=%ld reserves=%ld releases=%ld "
              "confirms=%ld\n",
              "side effects (ledgers):", total_of(pay, "charge"),
              total_of(pay, "refund"), total_of(inv, "reserve"),
              total_of(inv, "release"), total_of(inv, "confirm"));
  // Stop everything before reporting (the destructor would do it too).
  for (auto i = pg.children.rbegin(); i != pg.children.rend(); ++i)
    stop_child(*i, 3000);
  std::printf("all processes stopped\n");
  if (violations.empty()) {
    std::printf("invariants hold: one answer per request, at most one charge "
                "per key (one per completed order), one refund per failed saga "
                "after the charge, one release per failed saga (%d checked), "
                "recommendations degraded instead of failing checkout%s\n",
                releases_checked,
                kill_and_restart
                  ? ", across SIGKILL + restart of inventory and payments"
                  : "");
    return 0;
  }
  std::printf("INVARIANTS VIOLATED:\n");
  for (auto& v : violations)
    std::printf("  %s\n", v.c_str());
  return 1;
}

} // namespace checkout
