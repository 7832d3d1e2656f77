#include "processes.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common.hpp"

namespace checkout {

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
  auto until =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
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

/// Waits up to `ms` for `pid` to exit; the time it took, or -1.
long wait_exit_ms(pid_t pid, int ms) {
  auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - t0
         < std::chrono::milliseconds(ms)) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t0)
          .count());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

/// VmRSS of `pid` in kB (0 when unreadable).
long rss_kb(pid_t pid) {
  std::FILE* f =
    std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr)
    return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr)
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  std::fclose(f);
  return kb;
}

/// Runs `argv` to completion; its exit status (-1 when it could not run).
int run_program(const std::vector<std::string>& argv) {
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::fflush(stdout);
  auto pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0)
    return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

process_group::~process_group() {
  for (auto i = children.rbegin(); i != children.rend(); ++i)
    stop_child(*i, 3000);
}

child& process_group::get(const std::string& name) {
  for (auto& c : children)
    if (c.name == name)
      return c;
  throw std::logic_error("no child " + name);
}

bool process_group::start(const std::string& name,
                          std::vector<std::string> args, std::uint16_t port,
                          std::uint16_t admin_port) {
  child c;
  c.name = name;
  c.args = std::move(args);
  c.port = port;
  c.admin_port = admin_port;
  c.pid = spawn_child(c.args);
  children.push_back(c);
  return c.pid > 0 && wait_ready(port, 10'000);
}

bool process_group::restart(child& c) {
  c.pid = spawn_child(c.args);
  return c.pid > 0 && wait_ready(c.port, 10'000);
}

data_dir::data_dir() {
  std::string tmpl =
    (std::filesystem::temp_directory_path() / "checkout-data-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) != nullptr)
    path = tmpl;
}

data_dir::~data_dir() {
  if (path.empty())
    return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string data_dir::sub(const std::string& name) const {
  return path + "/" + name;
}

namespace {

bool start_all(process_group& pg, const data_dir& data, int pricing_replicas,
               int payments_replicas, deployment& out) {
  auto ps = [](std::uint16_t p) { return std::to_string(p); };
  // Every process gets an admin server on a port of its own, kept across
  // restarts (the arguments are reused).
  auto start = [&](const std::string& name, std::vector<std::string> args,
                   std::uint16_t port) {
    auto admin = free_port();
    args.insert(args.end(), {"--port", ps(port), "--admin-port", ps(admin)});
    return pg.start(name, std::move(args), port, admin);
  };
  // Replicas of one kind: ports, names (KIND-N when there are several)
  // and the comma-separated list the gateway is given.
  auto replicas = [&](const std::string& kind, int n,
                      std::vector<std::uint16_t>& ports) {
    ports.clear();
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      ports.push_back(free_port());
      names.push_back(n > 1 ? kind + "-" + std::to_string(i + 1) : kind);
    }
    return names;
  };
  auto list = [&](const std::vector<std::uint16_t>& ports) {
    std::string out;
    for (std::size_t i = 0; i < ports.size(); ++i)
      out += (i == 0 ? "" : ",") + ps(ports[i]);
    return out;
  };
  out.inventory = free_port();
  out.recommendations = free_port();
  out.gateway = free_port();
  auto pricing_names = replicas("pricing", pricing_replicas, out.pricing);
  auto payments_names = replicas("payments", payments_replicas, out.payments);
  if (!start("inventory", {"inventory", "--data-dir", data.sub("inventory")},
             out.inventory))
    return false;
  for (std::size_t i = 0; i < out.pricing.size(); ++i)
    if (!start(pricing_names[i], {"pricing"}, out.pricing[i]))
      return false;
  if (out.payments.size() == 1) {
    out.payments_ledger = out.payments_ledger_cluster = 0;
    if (!start("payments", {"payments", "--data-dir", data.sub("payments")},
               out.payments.front()))
      return false;
  } else {
    // The journals live with the ledgers' owner; the replicas keep none.
    out.payments_ledger = free_port();
    out.payments_ledger_cluster = free_port();
    if (!start("payments-ledger",
               {"payments-ledger", "--data-dir", data.sub("payments"),
                "--cluster-port", ps(out.payments_ledger_cluster)},
               out.payments_ledger))
      return false;
    for (std::size_t i = 0; i < out.payments.size(); ++i)
      if (!start(payments_names[i],
                 {"payments", "--ledger-port", ps(out.payments_ledger_cluster)},
                 out.payments[i]))
        return false;
  }
  return start("recommendations", {"recommendations"}, out.recommendations)
         && start("gateway",
                  {"gateway", "--inventory", ps(out.inventory), "--pricing",
                   list(out.pricing), "--payments", list(out.payments),
                   "--recommendations", ps(out.recommendations), "--data-dir",
                   data.sub("gateway")},
                  out.gateway);
}

} // namespace

bool start_deployment(process_group& pg, const data_dir& data,
                      int pricing_replicas, int payments_replicas,
                      deployment& out) {
  if (data.path.empty()) {
    std::fprintf(stderr, "FAILED: cannot create a temporary data directory\n");
    return false;
  }
  if (!start_all(pg, data, pricing_replicas, payments_replicas, out)) {
    std::fprintf(stderr, "FAILED: a process did not become ready\n");
    return false;
  }
  print_processes(pg, data);
  return true;
}

void print_processes(const process_group& pg, const data_dir& data) {
  std::printf("data dir: %s\n", data.path.c_str());
  std::printf("pids:");
  for (auto& c : pg.children)
    std::printf(" %s=%d", c.name.c_str(), static_cast<int>(c.pid));
  std::printf("\n");
  std::fflush(stdout);
}

} // namespace checkout
