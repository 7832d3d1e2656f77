// Real external programs (Prometheus, headless Chromium) started by the
// observability tests. A child_process owns its process group: destroying it
// (also when a REQUIRE throws) terminates the whole group — Chromium forks
// helpers — and reaps the child, so no test leaves a process behind. Waiting
// for a real process has no virtual clock to drive, so these helpers block
// on the process itself (a pidfd), always bounded.
// purity: real time — waiting on real processes (bounded).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bulwark::testing {

class child_process {
 public:
  /// Starts argv[0] (an absolute path) with its stdout and stderr appended
  /// to `log_path`, in a new process group.
  child_process(std::vector<std::string> argv, const std::string& log_path) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      throw std::runtime_error("cannot open " + log_path);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fd);
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    // Also from the parent: the group exists before we might signal it.
    ::setpgid(pid_, pid_);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    stop();
  }

  /// The exit status once the child ended within `timeout` (its process
  /// group is killed afterwards, leftover helpers included), else nullopt.
  /// Blocks on the child's pidfd (readable when it exits), never sleeps.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    if (pid_ <= 0)
      return status_;
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(timeout.count()));
      ::close(fd);
    }
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_ && r >= 0)
      return std::nullopt;
    ::kill(-pid_, SIGKILL);
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return status_;
  }

  bool running() {
    return pid_ > 0 && !wait_for(std::chrono::milliseconds(0));
  }

  /// SIGTERM to the group, up to 5 s to exit, then SIGKILL; reaps the child.
  /// Idempotent.
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(-pid_, SIGTERM);
    if (wait_for(std::chrono::seconds(5)))
      return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = 137;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

/// A port that was free a moment ago on 127.0.0.1.
inline std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// `<dir of the test binary>/artifacts/<name>`, created empty: test
/// artifacts stay in the build directory.
inline std::filesystem::path artifact_dir(const std::string& name) {
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path()
             / "artifacts" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace bulwark::testing
