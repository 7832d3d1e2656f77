// Real external programs (Prometheus, headless Chromium, bulwark's own helper
// programs) started by tests. A child_process owns its process group:
// destroying it (also when a REQUIRE throws) terminates the whole group —
// Chromium forks helpers — and reaps the child, so no test leaves a process
// behind; a child also gets SIGKILL when the test process dies
// (PR_SET_PDEATHSIG), so even a crashed test leaves nothing. A child's stdout
// can go to a pipe the test reads line by line (a helper announcing the port
// it bound). Waiting for a real process has no virtual clock to drive, so
// these helpers block on the process itself (a pidfd) or on the pipe (poll),
// always bounded.
// purity: real time — waiting on real processes and their output (bounded).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bulwark::testing {

/// Where a child's stdout goes; stderr always goes to the log file.
enum class child_stdout {
  log, ///< appended to the log file, with stderr
  pipe, ///< a pipe the test reads with `read_line`
};

inline const char* to_string(child_stdout x) {
  switch (x) {
    case child_stdout::log:
      return "log";
    case child_stdout::pipe:
      return "pipe";
  }
  return "?";
}

class child_process {
 public:
  /// Starts argv[0] (an absolute path) in a new process group, its stderr
  /// (and its stdout unless `out` is `pipe`) written to `log_path`.
  child_process(std::vector<std::string> argv, const std::string& log_path,
                child_stdout out = child_stdout::log) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    int fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      throw std::runtime_error("cannot open " + log_path);
    int pipe_fds[2] = {-1, -1};
    if (out == child_stdout::pipe && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      ::close(fd);
      throw std::runtime_error("pipe failed");
    }
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec: the parent has threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) // the parent died before prctl
        ::_exit(127);
      ::setpgid(0, 0);
      ::dup2(pipe_fds[1] >= 0 ? pipe_fds[1] : fd, 1);
      ::dup2(fd, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fd);
    if (pipe_fds[1] >= 0)
      ::close(pipe_fds[1]);
    if (pid_ < 0) {
      if (pipe_fds[0] >= 0)
        ::close(pipe_fds[0]);
      throw std::runtime_error("fork failed");
    }
    out_fd_ = pipe_fds[0];
    // Also from the parent: the group exists before we might signal it.
    ::setpgid(pid_, pid_);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    stop();
    if (out_fd_ >= 0)
      ::close(out_fd_);
  }

  /// The child's pid (also its process group id); -1 once reaped.
  pid_t pid() const {
    return pid_;
  }

  /// Sends `sig` (SIGKILL, SIGSTOP, SIGCONT, ...) to the child's group.
  /// False when the child is already reaped or the signal failed.
  bool signal(int sig) {
    return pid_ > 0 && ::kill(-pid_, sig) == 0;
  }

  /// The exit status once the child ended within `timeout` (its process
  /// group is killed afterwards, leftover helpers included), else nullopt.
  /// A child ended by a signal reports 128 + the signal, like a shell.
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
    status_ = WIFEXITED(status)     ? WEXITSTATUS(status)
              : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                    : 128;
    return status_;
  }

  bool running() {
    return pid_ > 0 && !wait_for(std::chrono::milliseconds(0));
  }

  /// The next line (without '\n') the child wrote to its stdout pipe, or
  /// nullopt when none is complete within `timeout` or the pipe is closed
  /// (the child exited). Lines are at most 4096 bytes (longer ones are cut).
  /// Polls the pipe, never sleeps.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + timeout;
    for (;;) {
      if (auto pos = buffer_.find('\n'); pos != std::string::npos) {
        auto line = buffer_.substr(0, std::min<std::size_t>(pos, 4096));
        buffer_.erase(0, pos + 1);
        return line;
      }
      if (out_fd_ < 0 || eof_)
        return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock::now());
      if (left.count() < 0)
        return std::nullopt;
      pollfd p{out_fd_, POLLIN, 0};
      auto n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno != EINTR)
        return std::nullopt;
      if (n <= 0)
        continue;
      char chunk[512];
      auto got = ::read(out_fd_, chunk, sizeof chunk);
      if (got <= 0)
        eof_ = true;
      else
        buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  /// Reads lines until one starts with `prefix` and returns its rest, or
  /// nullopt at `timeout` or the end of the pipe; skipped lines are kept in
  /// `skipped` for failure messages.
  std::optional<std::string>
  read_line_starting(const std::string& prefix,
                     std::chrono::milliseconds timeout,
                     std::vector<std::string>* skipped = nullptr) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock::now());
      auto line = read_line(std::max(left, std::chrono::milliseconds(0)));
      if (!line)
        return std::nullopt;
      if (line->compare(0, prefix.size(), prefix) == 0)
        return line->substr(prefix.size());
      if (skipped != nullptr)
        skipped->push_back(*line);
    }
  }

  /// SIGTERM (and SIGCONT, in case it is stopped) to the group, up to 5 s to
  /// exit, then SIGKILL; reaps the child. Idempotent.
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(-pid_, SIGTERM);
    ::kill(-pid_, SIGCONT);
    if (wait_for(std::chrono::seconds(5)))
      return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = 128 + SIGKILL;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  int out_fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
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

/// `<dir of the test binary>/artifacts/<name>/<pid>`, created empty: test
/// artifacts stay in the build directory. One per process, because ctest
/// runs the cases of one binary in parallel and a shared directory was
/// emptied under a running case; the directories of processes that have
/// ended are removed, so a name keeps only its latest run's artifacts.
inline std::filesystem::path artifact_dir(const std::string& name) {
  namespace fs = std::filesystem;
  auto base =
    fs::read_symlink("/proc/self/exe").parent_path() / "artifacts" / name;
  std::error_code ec;
  fs::create_directories(base, ec);
  for (fs::directory_iterator it{base, ec}, end; !ec && it != end;
       it.increment(ec)) {
    auto stem = it->path().filename().string();
    char* rest = nullptr;
    auto pid = std::strtol(stem.c_str(), &rest, 10);
    bool pid_named = rest != stem.c_str() && *rest == '\0' && pid > 0;
    if (!pid_named
        || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
  auto dir = base / std::to_string(::getpid());
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace bulwark::testing
