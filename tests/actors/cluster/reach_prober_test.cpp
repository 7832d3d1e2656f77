// purity: real time — real sockets on 127.0.0.1 and the prober's own deadline
// timers are the subject; every wait is bounded (a condition variable with a
// timeout, poll), nothing sleeps.
#include "bulwark/actors/cluster/reach_prober.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace bulwark;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// A result not there by then is a failure, not a wait.
constexpr auto bound = std::chrono::seconds(3);

/// Closes its descriptor.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {
    // nop
  }
  fd_guard(fd_guard&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
    // nop
  }
  fd_guard& operator=(fd_guard&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~fd_guard() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const {
    return fd_;
  }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

std::uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin_port);
}

/// A socket bound to 127.0.0.1 on a free port.
fd_guard bound_socket() {
  fd_guard fd{::socket(AF_INET, SOCK_STREAM, 0)};
  REQUIRE(fd.get() >= 0);
  auto addr = loopback(0);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0);
  return fd;
}

/// A listener on 127.0.0.1 that never accepts on its own.
struct listener {
  explicit listener(int backlog) : fd(bound_socket()) {
    REQUIRE(::listen(fd.get(), backlog) == 0);
    port = port_of(fd.get());
  }
  fd_guard fd;
  std::uint16_t port = 0;
};

/// A port on 127.0.0.1 with nothing listening (bound, read, closed).
std::uint16_t closed_port() {
  auto fd = bound_socket();
  return port_of(fd.get());
}

/// Starts a non-blocking connect to `port`; true and the socket in `out`
/// once it is established within `wait`, false (the connect still hanging
/// in `out`) otherwise.
bool connect_within(std::uint16_t port, std::chrono::milliseconds wait,
                    fd_guard& out) {
  fd_guard fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)};
  REQUIRE(fd.get() >= 0);
  auto addr = loopback(port);
  auto rc =
    ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  bool established = rc == 0;
  if (!established) {
    REQUIRE(errno == EINPROGRESS);
    pollfd p{fd.get(), POLLOUT, 0};
    auto n = ::poll(&p, 1, static_cast<int>(wait.count()));
    REQUIRE(n >= 0);
    if (n == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      REQUIRE(::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0);
      REQUIRE(err == 0);
      established = true;
    }
  }
  out = std::move(fd);
  return established;
}

/// A listener that drops SYNs: backlog 0, never accepting, its accept queue
/// filled by connects from here until one hangs (on Linux a full accept
/// queue drops the SYN, so the client retransmits after 1 s at the earliest).
struct syn_dropper {
  syn_dropper() : lst(0) {
    for (int i = 0; i < 16; ++i) {
      fd_guard fd;
      auto established = connect_within(lst.port, 100ms, fd);
      fillers.push_back(std::move(fd));
      if (!established)
        return;
    }
    FAIL("16 connects to a listener with backlog 0 were all accepted");
  }
  listener lst;
  std::vector<fd_guard> fillers;
};

/// What a probe answered, with the thread that answered it.
struct answer {
  std::string tag;
  probe_result result;
  std::thread::id thread;
};

/// Collects answers from the io thread; the test waits on it, bounded.
class collector {
 public:
  std::function<void(probe_result)> done(std::string tag) {
    return [this, tag](probe_result r) {
      std::lock_guard<std::mutex> guard{mtx_};
      answers_.push_back({tag, std::move(r), std::this_thread::get_id()});
      cv_.notify_all();
    };
  }

  /// Waits up to `bound` for `n` answers in total.
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, bound, [&] { return answers_.size() >= n; });
  }

  std::vector<answer> answers() {
    std::lock_guard<std::mutex> guard{mtx_};
    return answers_;
  }

  /// The one answer for `tag` (fails when there is none or more than one).
  probe_result only(const std::string& tag) {
    auto all = answers();
    auto n = std::count_if(all.begin(), all.end(),
                           [&](const answer& a) { return a.tag == tag; });
    REQUIRE(n == 1);
    return std::find_if(all.begin(), all.end(),
                        [&](const answer& a) { return a.tag == tag; })
      ->result;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<answer> answers_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a probe to an open listener succeeds and sends no byte",
          "[reach_prober]") {
  listener open{8};
  collector got;
  reach_prober prober;
  prober.probe("127.0.0.1", open.port, 2s, got.done("open"));
  REQUIRE(got.wait_for(1));
  auto r = got.only("open");
  CHECK(r.ok);
  CHECK(r.error.empty());
  CHECK(r.took < 2s);
  CHECK(prober.in_flight() == 0);
  // The connection sits in the accept queue: closed by the prober, empty.
  pollfd p{open.fd.get(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  fd_guard conn{::accept(open.fd.get(), nullptr, nullptr)};
  REQUIRE(conn.get() >= 0);
  pollfd q{conn.get(), POLLIN, 0};
  REQUIRE(::poll(&q, 1, 2000) == 1);
  char byte = 0;
  CHECK(::recv(conn.get(), &byte, 1, 0) == 0);
}

TEST_CASE("a probe to a closed port fails quickly with the connect error",
          "[reach_prober]") {
  auto port = closed_port();
  collector got;
  reach_prober prober;
  auto t0 = clock_type::now();
  prober.probe("127.0.0.1", port, 2s, got.done("closed"));
  REQUIRE(got.wait_for(1));
  auto elapsed = clock_type::now() - t0;
  auto r = got.only("closed");
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "TCP connect to 127.0.0.1:" + std::to_string(port)
                            + " failed"));
  CHECK(r.took < 1s);
  CHECK(elapsed < 1s);
}

TEST_CASE("a probe to a host that drops SYNs fails at its deadline while a "
          "probe to a healthy host started with it succeeds at once",
          "[reach_prober]") {
  syn_dropper dropper;
  listener healthy{8};
  collector got;
  reach_prober prober;
  constexpr auto deadline = 300ms;
  constexpr auto slack = 1500ms;
  auto t0 = clock_type::now();
  prober.probe("127.0.0.1", dropper.lst.port, deadline, got.done("dropper"));
  prober.probe("127.0.0.1", healthy.port, deadline, got.done("healthy"));
  REQUIRE(got.wait_for(2));
  auto elapsed = clock_type::now() - t0;
  auto answers = got.answers();
  CHECK(answers.front().tag == "healthy");
  auto ok = got.only("healthy");
  CHECK(ok.ok);
  CHECK(ok.took < deadline / 2);
  auto late = got.only("dropper");
  CHECK_FALSE(late.ok);
  CHECK(late.error
        == "no TCP connection to 127.0.0.1:" + std::to_string(dropper.lst.port)
             + " within 300ms");
  CHECK(late.took >= deadline);
  CHECK(late.took < deadline + slack);
  CHECK(elapsed >= deadline);
  CHECK(elapsed < deadline + slack);
}

TEST_CASE("a host that is not an IP literal is refused at once, on the io "
          "thread, with the host escaped and cut",
          "[reach_prober]") {
  listener open{8};
  collector got;
  reach_prober prober;
  std::string hostile(10'000, 'a');
  hostile += "\r\nX-Injected: 1";
  prober.probe("example.com", 80, 2s, got.done("name"));
  prober.probe(hostile, 80, 2s, got.done("hostile"));
  prober.probe(std::string("127.0.0.1\0.evil", 15), open.port, 2s,
               got.done("nul"));
  prober.probe("", 80, 2s, got.done("empty"));
  prober.probe("127.1", 80, 2s, got.done("short"));
  prober.probe("127.0.0.1", 0, 2s, got.done("port 0"));
  prober.probe("127.0.0.1", open.port, 0s, got.done("no deadline"));
  prober.probe("localhost", open.port, 2s, got.done("localhost"));
  REQUIRE(got.wait_for(8));
  for (auto& a : got.answers())
    CHECK(a.thread != std::this_thread::get_id());
  auto name = got.only("name");
  CHECK_FALSE(name.ok);
  CHECK(name.error
        == "host \"example.com\" is not an IP literal or \"localhost\" "
           "(names are not resolved)");
  auto bad = got.only("hostile");
  CHECK_FALSE(bad.ok);
  CHECK(contains(bad.error, "is not an IP literal"));
  CHECK(bad.error.size() < 200);
  CHECK_FALSE(contains(bad.error, "\n"));
  CHECK_FALSE(contains(bad.error, "\r"));
  CHECK(contains(got.only("nul").error, "is not an IP literal"));
  CHECK(contains(got.only("empty").error, "is not an IP literal"));
  CHECK(contains(got.only("short").error, "is not an IP literal"));
  CHECK(got.only("port 0").error
        == "port 0 of host 127.0.0.1 is not a destination");
  CHECK(got.only("no deadline").error
        == "probe deadline must be positive (got: 0ns)");
  CHECK(got.only("localhost").ok);
}

TEST_CASE("probes over the concurrency bound are refused at once and a "
          "finished probe frees its slot",
          "[reach_prober]") {
  syn_dropper dropper;
  listener open{8};
  collector got;
  reach_prober prober{2};
  CHECK(prober.max_concurrent() == 2);
  prober.probe("127.0.0.1", dropper.lst.port, 10s, got.done("hang 1"));
  prober.probe("127.0.0.1", dropper.lst.port, 10s, got.done("hang 2"));
  CHECK(prober.in_flight() == 2);
  prober.probe("127.0.0.1", open.port, 10s, got.done("over"));
  REQUIRE(got.wait_for(1));
  CHECK(got.only("over").error == "too many probes in flight (limit: 2)");
  CHECK(prober.in_flight() == 2);
  // One slot: a finished probe gives it back.
  collector seq;
  reach_prober single{1};
  single.probe("127.0.0.1", open.port, 2s, seq.done("first"));
  REQUIRE(seq.wait_for(1));
  single.probe("127.0.0.1", open.port, 2s, seq.done("second"));
  REQUIRE(seq.wait_for(2));
  CHECK(seq.only("first").ok);
  CHECK(seq.only("second").ok);
}

TEST_CASE("destroying the prober calls every pending done once with prober "
          "stopped, and a probe from such a done is refused",
          "[reach_prober]") {
  syn_dropper dropper;
  collector got;
  auto prober = std::make_unique<reach_prober>();
  auto* raw = prober.get();
  for (int i = 0; i < 5; ++i)
    prober->probe("127.0.0.1", dropper.lst.port, 10s,
                  got.done("pending " + std::to_string(i)));
  // A done that probes again while the prober stops (e.g. a retry).
  auto retry = got.done("retry");
  prober->probe("127.0.0.1", dropper.lst.port, 10s,
                [&got, raw, retry, port = dropper.lst.port](probe_result r) {
                  got.done("retrying")(std::move(r));
                  raw->probe("127.0.0.1", port, 10s, retry);
                });
  CHECK(prober->in_flight() == 6);
  auto t0 = clock_type::now();
  prober.reset();
  auto elapsed = clock_type::now() - t0;
  CHECK(elapsed < 2s);
  // Every answer arrived before the destructor returned.
  auto answers = got.answers();
  REQUIRE(answers.size() == 7);
  for (int i = 0; i < 5; ++i) {
    auto r = got.only("pending " + std::to_string(i));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "prober stopped");
  }
  CHECK(got.only("retrying").error == "prober stopped");
  CHECK(got.only("retry").error == "prober stopped");
}
