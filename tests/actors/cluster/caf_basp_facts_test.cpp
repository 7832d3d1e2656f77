// The CAF 0.17.6 BASP (io::middleman) behaviour that bulwark's cluster
// design (issue 17, /work/drafts/issue17-design.md §4 step 0) relies on,
// pinned with real processes, so that a CAF package update that changes one
// fails here first. The other node is bulwark-basp-peer
// (tests/actors/cluster/basp_peer.cpp); this process runs its own actor
// system with io::middleman per test case (heartbeat settings differ) and
// talks to the peer through a scoped_actor. Each test prints what it
// measured, in ms.
// purity: real time — the facts are timings of real processes and sockets
// (SIGKILL, SIGSTOP, CAF heartbeats); every wait is bounded (scoped_actor
// receive with after, poll on the peer's stdout pipe, pidfd), none sleeps.
#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/child_process.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace bulwark;
using namespace bulwark::testing;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0)
    .count();
}

/// CAF's heartbeat settings of one node; zero = CAF's default (none).
struct heartbeat_setting {
  milliseconds interval{0};
  milliseconds timeout{0};
};

/// This process's node: an actor system with io::middleman and a scoped
/// actor that monitors, calls and connects. Declared before `self`, `sys`
/// outlives it.
struct node {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;

  explicit node(heartbeat_setting hb = {}) : sys(init(cfg, hb)), self(sys) {}

  static caf::actor_system_config& init(caf::actor_system_config& c,
                                        heartbeat_setting hb) {
    c.load<caf::io::middleman>();
    c.set("scheduler.max-threads", 2);
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    if (hb.interval.count() > 0) {
      c.set("middleman.heartbeat-interval", caf::timespan{hb.interval});
      c.set("middleman.connection-timeout", caf::timespan{hb.timeout});
    }
    return c;
  }
};

/// One bulwark-basp-peer process and what it announced.
struct peer {
  std::unique_ptr<child_process> proc;
  std::filesystem::path log;
  std::vector<std::string> lines;
  std::uint16_t port = 0;
  std::uint16_t extra = 0;
  std::uint16_t open = 0;
  bool ready = false;
};

std::filesystem::path artifacts() {
  static auto dir = artifact_dir("caf_basp_facts");
  return dir;
}

/// Starts a peer and reads its announcements until `ready` (true) or its
/// exit or 10 s (a loaded 2-core machine starts CAF slowly).
peer launch_peer(std::vector<std::string> flags) {
  static int count = 0;
  peer p;
  p.log = artifacts() / ("peer-" + std::to_string(++count) + ".log");
  std::vector<std::string> argv{BULWARK_BASP_PEER};
  argv.insert(argv.end(), flags.begin(), flags.end());
  p.proc =
    std::make_unique<child_process>(argv, p.log.string(), child_stdout::pipe);
  auto deadline = clock_type::now() + 10s;
  while (!p.ready) {
    auto left =
      std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    auto line = p.proc->read_line(std::max(left, milliseconds(0)));
    if (!line)
      break;
    p.lines.push_back(*line);
    auto value = [&](const std::string& prefix) -> std::uint16_t {
      return static_cast<std::uint16_t>(
        std::stoul(line->substr(prefix.size())));
    };
    if (line->rfind("port ", 0) == 0)
      p.port = value("port ");
    else if (line->rfind("extra ", 0) == 0)
      p.extra = value("extra ");
    else if (line->rfind("open ", 0) == 0)
      p.open = value("open ");
    else if (*line == "ready")
      p.ready = true;
  }
  return p;
}

std::string describe(const peer& p) {
  std::string out = "peer stdout:";
  for (auto& l : p.lines)
    out += " [" + l + "]";
  return out + "\npeer stderr: " + read_text(p.log);
}

peer start_peer(std::vector<std::string> flags) {
  auto p = launch_peer(std::move(flags));
  INFO(describe(p));
  REQUIRE(p.ready);
  REQUIRE(p.port != 0);
  return p;
}

/// The answer of the middleman actor to `(connect_atom, host, port)`.
struct connect_result {
  bool answered = false;
  bool ok = false;
  caf::error err;
  caf::node_id nid;
  caf::strong_actor_ptr ptr;
  std::set<std::string> ifs;
  double ms = 0;
};

/// `(connect_atom, "127.0.0.1", port)` to the middleman actor, as a plain
/// send (no request: its timeout would never be cancelled, [MM §6.1]); the
/// answer arrives as an ordinary message, an error as a `caf::error`.
connect_result connect(node& n, std::uint16_t port,
                       milliseconds timeout = 5000ms) {
  connect_result r;
  auto mm = caf::actor_cast<caf::actor>(n.sys.middleman().actor_handle());
  auto t0 = clock_type::now();
  n.self->send(mm, caf::connect_atom::value, std::string{"127.0.0.1"}, port);
  n.self->receive(
    [&](caf::node_id& nid, caf::strong_actor_ptr& ptr,
        std::set<std::string>& ifs) {
      r.answered = true;
      r.ok = true;
      r.nid = std::move(nid);
      r.ptr = std::move(ptr);
      r.ifs = std::move(ifs);
    },
    [&](caf::error& err) {
      r.answered = true;
      r.err = std::move(err);
    },
    caf::after(timeout) >> [] {});
  r.ms = ms_since(t0);
  return r;
}

/// A call to the peer's echo; the text that came back, if within `timeout`.
std::optional<std::string> call(node& n, const caf::actor& echo,
                                std::uint64_t id, const std::string& text,
                                milliseconds timeout = 5000ms) {
  n.self->send(echo, call_atom::value, id, text);
  std::optional<std::string> got;
  auto deadline = clock_type::now() + timeout;
  for (auto now = clock_type::now(); !got && now < deadline;
       now = clock_type::now()) {
    n.self->receive(
      [&](reply_atom, std::uint64_t rid, std::string& back) {
        if (rid == id)
          got = std::move(back);
      },
      caf::after(std::chrono::duration_cast<milliseconds>(deadline - now)) >>
        [] {});
  }
  return got;
}

std::optional<caf::down_msg> await_down(node& n, milliseconds timeout) {
  std::optional<caf::down_msg> got;
  n.self->receive([&](caf::down_msg& dm) { got = std::move(dm); },
                  caf::after(timeout) >> [] {});
  return got;
}

/// A connected, monitored proxy of a peer's echo that answered one call.
caf::actor connect_and_monitor(node& n, const peer& p) {
  auto c = connect(n, p.port);
  INFO(n.sys.render(c.err) << "\n" << describe(p));
  REQUIRE(c.ok);
  auto echo = caf::actor_cast<caf::actor>(c.ptr);
  REQUIRE(echo);
  n.self->monitor(echo);
  REQUIRE(call(n, echo, 1, "hello") == std::string{"hello"});
  return echo;
}

std::string render_reason(node& n, const caf::down_msg& dm) {
  return n.sys.render(dm.reason);
}

void report(const std::string& line) {
  std::printf("caf_basp_facts: %s\n", line.c_str());
  std::fflush(stdout);
}

std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

} // namespace

TEST_CASE("a SIGKILLed peer is reported within 100 ms by a down_msg with "
          "remote_link_unreachable on every monitored proxy of it",
          "[basp][kill]") {
  node n;
  auto p = start_peer({"--extra"});
  auto a = connect_and_monitor(n, p);
  auto b_conn = connect(n, p.extra);
  REQUIRE(b_conn.ok);
  auto b = caf::actor_cast<caf::actor>(b_conn.ptr);
  REQUIRE(b);
  REQUIRE(b.node() == a.node());
  n.self->monitor(b);
  auto t0 = clock_type::now();
  REQUIRE(p.proc->signal(SIGKILL));
  std::set<caf::actor_addr> sources;
  double last = 0;
  for (int i = 0; i < 2; ++i) {
    auto dm = await_down(n, 2000ms);
    REQUIRE(dm);
    last = ms_since(t0);
    INFO(render_reason(n, *dm));
    CHECK(dm->reason == caf::exit_reason::remote_link_unreachable);
    sources.insert(dm->source);
  }
  report("fact 1: SIGKILL -> both down_msgs after " + fmt_ms(last));
  CHECK(sources == std::set<caf::actor_addr>{a.address(), b.address()});
  CHECK(last < 100);
}

TEST_CASE("with heartbeats every 100 ms and a 500 ms timeout on both sides "
          "an idle peer stays and a SIGSTOPped one is dropped within "
          "500 to 1000 ms",
          "[basp][stop]") {
  node n{{100ms, 500ms}};
  // The keys CAF reads (libcaf_io basp_broker): set as timespans.
  CHECK(caf::get_or(n.sys.config(), "middleman.heartbeat-interval",
                    caf::timespan{0})
        == caf::timespan{100ms});
  CHECK(caf::get_or(n.sys.config(), "middleman.connection-timeout",
                    caf::timespan{0})
        == caf::timespan{500ms});
  auto p = start_peer({"--heartbeat-ms", "100", "--timeout-ms", "500"});
  auto echo = connect_and_monitor(n, p);
  // Idle for twice the detection bound: heartbeats keep a healthy link.
  CHECK_FALSE(await_down(n, 1200ms));
  REQUIRE(call(n, echo, 2, "still here") == std::string{"still here"});
  auto t0 = clock_type::now();
  REQUIRE(p.proc->signal(SIGSTOP));
  auto dm = await_down(n, 3000ms);
  REQUIRE(dm);
  auto ms = ms_since(t0);
  report("fact 2: SIGSTOP, heartbeats 100/500 on both -> down_msg after "
         + fmt_ms(ms) + " (" + render_reason(n, *dm) + ")");
  CHECK(dm->reason == caf::exit_reason::remote_link_unreachable);
  CHECK(ms >= 500);
  CHECK(ms <= 1000);
}

TEST_CASE("a node that checks heartbeats drops a healthy idle peer that "
          "sends none within 500 to 1000 ms of its last byte",
          "[basp][stop]") {
  node n{{100ms, 500ms}};
  auto p = start_peer({});
  connect_and_monitor(n, p); // the echo's reply is the peer's last byte
  auto t0 = clock_type::now();
  auto dm = await_down(n, 3000ms);
  REQUIRE(dm);
  auto ms = ms_since(t0);
  report("fact 2b: heartbeats only on the checker -> healthy idle peer "
         "dropped after "
         + fmt_ms(ms));
  CHECK(p.proc->running());
  CHECK(ms >= 500);
  CHECK(ms <= 1000);
}

namespace {

/// Where a message sent just before the sender's death arrived, relative to
/// the down_msg of the sender's proxy.
enum class arrival { before_down, after_down, never };

const char* to_string(arrival x) {
  switch (x) {
    case arrival::before_down:
      return "before";
    case arrival::after_down:
      return "after";
    case arrival::never:
      return "never";
  }
  return "?";
}

/// The peer answers one call with M and dies: killed by this test as soon as
/// it printed `sent` (`self_kill` false), or by itself right after its send
/// (`self_kill`, role sender). Requires the down_msg; M may come or not.
arrival one_death(node& n, bool self_kill, std::uint64_t id) {
  auto p = start_peer({"--role", self_kill ? "sender" : "server"});
  auto c = connect(n, p.port);
  INFO(n.sys.render(c.err) << "\n" << describe(p));
  REQUIRE(c.ok);
  auto echo = caf::actor_cast<caf::actor>(c.ptr);
  n.self->monitor(echo);
  n.self->send(echo, call_atom::value, id, std::string{"M"});
  if (!self_kill) {
    REQUIRE(p.proc->read_line_starting("sent ", 5000ms) == std::to_string(id));
    REQUIRE(p.proc->signal(SIGKILL));
  }
  bool down = false;
  std::optional<arrival> seen;
  auto deadline = clock_type::now() + 5000ms;
  // After the down_msg, M gets 200 ms more to show up late.
  while (!seen || !down) {
    auto now = clock_type::now();
    if (down)
      deadline = std::min(deadline, now + 200ms);
    if (now >= deadline)
      break;
    n.self->receive(
      [&](reply_atom, std::uint64_t rid, std::string&) {
        if (rid == id && !seen)
          seen = down ? arrival::after_down : arrival::before_down;
      },
      [&](caf::down_msg& dm) {
        if (dm.source == echo.address())
          down = true;
      },
      caf::after(std::chrono::duration_cast<milliseconds>(deadline - now)) >>
        [] {});
  }
  INFO(describe(p));
  REQUIRE(down);
  return seen.value_or(arrival::never);
}

} // namespace

TEST_CASE("a message a peer sent right before it was SIGKILLed arrives "
          "before the down_msg of its proxy or not at all",
          "[basp][order]") {
  node n;
  constexpr int runs = 4;
  for (bool self_kill : {false, true}) {
    std::map<arrival, int> tally;
    for (int i = 0; i < runs; ++i)
      ++tally[one_death(n, self_kill, 100 + static_cast<std::uint64_t>(i))];
    std::string line = self_kill ? "peer kills itself right after its send:"
                                 : "test kills the peer once it printed sent:";
    for (auto x : {arrival::before_down, arrival::after_down, arrival::never})
      line += std::string{" "} + to_string(x) + "=" + std::to_string(tally[x]);
    report("fact 3: " + line);
    // Never after the down_msg: what BASP delivered of a dead node is in
    // the mailbox before the down_msg.
    CHECK(tally[arrival::after_down] == 0);
    // Not asserted: send() only queues M for the BASP broker, so whether M
    // was on the wire when the node died is a race. Measured: killed by
    // itself right after send(), M was mostly lost; killed by the test
    // once it printed `sent`, about half the runs saw M (before).
  }
}

TEST_CASE("connect_atom to the middleman actor answers with the node id "
          "and actor and interface set and fails within 100 ms against a "
          "closed port",
          "[basp][connect]") {
  node n;
  auto p = start_peer({});
  auto c = connect(n, p.port);
  INFO(n.sys.render(c.err));
  REQUIRE(c.ok);
  CHECK(c.nid != caf::node_id{});
  REQUIRE(c.ptr);
  CHECK(c.ptr->node() == c.nid);
  CHECK(c.ifs.empty()); // a dynamically typed echo has no signature
  auto echo = caf::actor_cast<caf::actor>(c.ptr);
  CHECK(call(n, echo, 3, "via connect") == std::string{"via connect"});
  auto closed = free_loopback_port();
  auto e = connect(n, closed);
  report("fact 4: connect answered in " + fmt_ms(c.ms) + "; closed port -> "
         + n.sys.render(e.err) + " in " + fmt_ms(e.ms));
  REQUIRE(e.answered);
  CHECK_FALSE(e.ok);
  CHECK(e.err == caf::sec::cannot_connect_to_node);
  CHECK(e.ms < 100);
}

TEST_CASE("with 2 ms heartbeats on both sides every failed connect is a "
          "connection_timeout and immediate retries end in a connect",
          "[basp][connect][handshake]") {
  node n{{2ms, 10000ms}};
  // An open port with no actor: the middleman caches only connects that
  // returned an actor, so every connect here is a new TCP connection and
  // BASP handshake (the server side closes it as redundant afterwards).
  auto p =
    start_peer({"--open", "--heartbeat-ms", "2", "--timeout-ms", "10000"});
  REQUIRE(p.open != 0);
  constexpr int connects = 100;
  // A retry is a new handshake with about the same odds as the first, and
  // failures cluster (load): measured 1-14 failures per 100 connects, up to
  // 3 failed retries in a row for one connect. So the fact pinned is "every
  // failure is a connection_timeout and retrying at once ends in a
  // connect", within the design's largest handshake_retries (10).
  constexpr int max_retries = 10;
  int failures = 0;
  int retry_failures = 0;
  int most_retries = 0;
  double slowest = 0;
  for (int i = 0; i < connects; ++i) {
    int retries = 0;
    for (;;) {
      auto r = connect(n, p.open);
      slowest = std::max(slowest, r.ms);
      INFO("connect " << i << " retry " << retries << ": "
                      << n.sys.render(r.err));
      REQUIRE(r.answered);
      if (r.ok) {
        CHECK(r.nid != caf::node_id{});
        CHECK_FALSE(r.ptr); // nothing published on an open port
        break;
      }
      CHECK(r.err == caf::sec::connection_timeout);
      ++(retries == 0 ? failures : retry_failures);
      REQUIRE(retries < max_retries);
      ++retries;
    }
    most_retries = std::max(most_retries, retries);
  }
  report("fact 4: " + std::to_string(connects)
         + " connects with 2 ms heartbeats: " + std::to_string(failures)
         + " failed with connection_timeout, " + std::to_string(retry_failures)
         + " retries failed again (at most " + std::to_string(most_retries)
         + " retries for one connect); slowest attempt " + fmt_ms(slowest));
}

TEST_CASE("a peer restarted on the same port with reuse accepts a connect "
          "within 1 s of the restart",
          "[basp][restart]") {
  node n;
  auto first = start_peer({"--reuse"});
  auto port = std::to_string(first.port);
  auto old = connect_and_monitor(n, first);
  REQUIRE(first.proc->signal(SIGKILL));
  REQUIRE(await_down(n, 2000ms));
  REQUIRE(first.proc->wait_for(2000ms));
  // Without SO_REUSEADDR the port usually stays taken: the killed side's
  // connection sits in TIME_WAIT ([MM §4 R3]: about 60 s). Not always (a
  // run published at once), so this is reported, not asserted.
  auto refused = launch_peer({"--port", port});
  std::string without_reuse = "published";
  if (!refused.ready) {
    auto status = refused.proc->wait_for(5000ms);
    INFO(describe(refused));
    CHECK(status == 3);
    without_reuse = "refused";
  }
  refused.proc->signal(SIGKILL);
  refused.proc->wait_for(2000ms);
  auto t0 = clock_type::now();
  auto second = start_peer({"--port", port, "--reuse"});
  auto published = ms_since(t0);
  auto c = connect(n, second.port);
  auto ms = ms_since(t0);
  INFO(n.sys.render(c.err));
  REQUIRE(c.ok);
  report("fact 5: restart without reuse " + without_reuse
         + "; with reuse published after " + fmt_ms(published) + ", connected "
         + fmt_ms(ms) + " after the restart");
  CHECK(second.port == first.port);
  CHECK(c.nid != old.node()); // a new process is a new node
  auto echo = caf::actor_cast<caf::actor>(c.ptr);
  CHECK(call(n, echo, 4, "again") == std::string{"again"});
  CHECK(ms < 1000);
}

TEST_CASE("a bare TCP connect and close on the published port leaves the "
          "peer serving BASP",
          "[basp][probe]") {
  node n;
  auto p = start_peer({});
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(p.port);
    auto rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    REQUIRE(rc == 0);
  }
  // The first BASP connection of this node comes after the probes.
  auto t0 = clock_type::now();
  auto echo = connect_and_monitor(n, p);
  auto ms = ms_since(t0);
  report("fact 6: 3 bare TCP probes, then connect + call in " + fmt_ms(ms));
  CHECK(p.proc->running());
  CHECK(call(n, echo, 5, "after probes") == std::string{"after probes"});
  CHECK_FALSE(await_down(n, 0ms));
  INFO(read_text(p.log));
  CHECK(read_text(p.log).empty());
}
