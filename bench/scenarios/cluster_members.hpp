// The member node processes of the `cluster` scenario (bench/scenarios/
// cluster.cpp): each is this bench binary started as `bulwark-bench
// cluster-node` (bench/scenarios/cluster_node.cpp), forked with
// PR_SET_PDEATHSIG, killed, stopped, resumed and restarted on its port by the
// scenario, which also reads each one's CPU time, and the run's temporary
// directory (the ledger's journal). Process management only:
// what the nodes do and how the runs are judged stay in the scenario.
#pragma once

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
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

namespace bulwark::bench::cluster_members {

using namespace std::chrono_literals;
using wall = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

inline std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("cluster: no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

/// A directory of its own under $TMPDIR (or /tmp), removed on destruction
/// unless BULWARK_CLUSTER_DEBUG is set (then its path is printed).
class temp_dir {
 public:
  temp_dir() {
    auto base = std::getenv("TMPDIR");
    std::string pattern =
      std::string{base != nullptr && *base != '\0' ? base : "/tmp"}
      + "/bulwark-cluster-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cluster: cannot create a temp dir from "
                               + pattern);
    path_ = pattern;
  }

  ~temp_dir() {
    if (std::getenv("BULWARK_CLUSTER_DEBUG") != nullptr) {
      std::fprintf(stderr, "cluster: kept %s\n", path_.c_str());
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

 private:
  std::string path_;
};

inline std::string self_exe() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    throw std::runtime_error("cluster: cannot read /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

/// utime + stime of process `pid` in ns (0 when unreadable).
inline std::int64_t process_cpu_ns(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // Fields after the command name, which is in parentheses and may hold
  // spaces: state is field 3, utime 14, stime 15.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  std::int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::atoll(field.c_str());
    if (i == 15)
      stime = std::atoll(field.c_str());
  }
  auto hz = ::sysconf(_SC_CLK_TCK);
  return (utime + stime) * (1'000'000'000 / (hz > 0 ? hz : 100));
}

// One node process (`bulwark-bench cluster-node`): a member, or with
// `extra` {"--journal", FILE} the ledger node. Started only from the
// scenario's own thread, which lives as long as the scenario: the child's
// PR_SET_PDEATHSIG fires when the thread that forked it ends.
class member_process {
 public:
  member_process(std::string exe, std::string node, std::uint16_t port,
                 std::uint64_t seed, std::vector<std::string> extra = {})
    : exe_(std::move(exe)),
      node_(std::move(node)),
      port_(port),
      seed_(seed),
      extra_(std::move(extra)) {}

  member_process(const member_process&) = delete;
  member_process& operator=(const member_process&) = delete;

  ~member_process() {
    stop();
  }

  /// Forks and execs the node; `wait_ready` reads its announcement.
  void start() {
    stop();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("cluster: pipe failed");
    std::vector<std::string> args{
      exe_,          "cluster-node",
      "--node",      node_,
      "--port",      std::to_string(port_),
      "--bare-port", std::to_string(bare_port_),
      "--seed",      std::to_string(seed_ + starts_)};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec: the parent has threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      ::dup2(fds[1], 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      throw std::runtime_error("cluster: fork failed");
    }
    out_fd_ = fds[0];
    buffer_.clear();
    ++starts_;
  }

  /// Reads `port`, `bare` and `ready` (bounded); false when the node did
  /// not announce itself in time.
  bool wait_ready(ms timeout) {
    return read_line("ready", timeout).has_value();
  }

  /// The rest of the first line from the node that starts with `prefix`
  /// (bounded; earlier lines are consumed, a `bare N` one noted); nullopt
  /// when none came in time or the node closed its output.
  std::optional<std::string> read_line(const std::string& prefix, ms timeout) {
    auto until = wall::now() + timeout;
    for (;;) {
      for (auto nl = buffer_.find('\n'); nl != std::string::npos;
           nl = buffer_.find('\n')) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.rfind("bare ", 0) == 0)
          bare_port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + 5));
        if (line.rfind(prefix, 0) == 0)
          return line.substr(prefix.size());
      }
      auto left = std::chrono::duration_cast<ms>(until - wall::now());
      if (left.count() <= 0 || out_fd_ < 0)
        return std::nullopt;
      pollfd p{out_fd_, POLLIN, 0};
      auto n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno != EINTR)
        return std::nullopt;
      if (n <= 0)
        continue;
      char chunk[256];
      auto got = ::read(out_fd_, chunk, sizeof chunk);
      if (got <= 0)
        return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  bool signal(int sig) {
    return pid_ > 0 && ::kill(pid_, sig) == 0;
  }

  /// Whether the process still runs (one that exited is reaped here).
  bool running() {
    if (pid_ <= 0)
      return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == 0)
      return true;
    pid_ = -1;
    close_pipe();
    return false;
  }

  /// SIGKILL and reap.
  void kill_now() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    close_pipe();
    pid_ = -1;
  }

  /// SIGTERM (and SIGCONT), up to 3 s to exit, then SIGKILL. Idempotent.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::kill(pid_, SIGCONT);
      auto until = wall::now() + 3s;
      bool gone = false;
      while (!gone && wall::now() < until) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
          gone = true;
        else
          std::this_thread::sleep_for(5ms);
      }
      if (!gone) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
      pid_ = -1;
    }
    close_pipe();
  }

  pid_t pid() const {
    return pid_;
  }

  std::uint16_t port() const {
    return port_;
  }

  std::uint16_t bare_port() const {
    return bare_port_;
  }

 private:
  void close_pipe() {
    if (out_fd_ >= 0)
      ::close(out_fd_);
    out_fd_ = -1;
  }

  std::string exe_;
  std::string node_;
  std::uint16_t port_;
  std::uint16_t bare_port_ = 0;
  std::uint64_t seed_;
  std::vector<std::string> extra_;
  std::uint64_t starts_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

} // namespace bulwark::bench::cluster_members
