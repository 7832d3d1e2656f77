// bulwark-basp-peer: the other node of the CAF BASP facts test
// (tests/actors/cluster/caf_basp_facts_test.cpp). A separate process, so the
// test can SIGKILL or SIGSTOP it. It publishes an echo actor on 127.0.0.1:
// `(call_atom, uint64 id, string text)` is answered to the sender with
// `(reply_atom, id, text)`, then the peer prints `sent <id>` on stdout.
//
//   bulwark-basp-peer [--role server|sender] [--port P] [--reuse]
//                     [--heartbeat-ms H --timeout-ms T] [--extra] [--open]
//
// Roles: `server` echoes until SIGTERM; `sender` SIGKILLs itself right after
// it sent its first reply (a node that dies just after sending M).
// Every line on stdout announces something the test waits for:
// `port N` (the echo's bound port; --port 0 picks any), `extra N` (--extra:
// a second echo actor published on its own port, another proxy of the same
// node), `open N` (--open: a BASP port with no actor published, whose
// connects are never served from the connecting middleman's cache),
// `ready`, and `sent <id>` per reply. Errors go to stderr; exit 2 for bad
// arguments, 3 when a port cannot be opened.
// --heartbeat-ms sets CAF's middleman.heartbeat-interval, --timeout-ms its
// middleman.connection-timeout (both 0 = CAF's default: no heartbeats).
#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/actors/cluster/peer_program.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

// announce: one line on stdout in one write(2): the echo actor and main
// both print, and the test reads the pipe while this process may be
// SIGKILLed.
using bulwark::testing::announce;

int bad_argument(const std::string& what) {
  return bulwark::testing::fail("bulwark-basp-peer", 2, what);
}

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 9)
    return std::nullopt;
  std::uint64_t x = 0;
  for (auto c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    x = x * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return x;
}

// Texts are echoed only up to this size: the port is loopback-only, but a
// test helper stays bounded like everything else that reads a network.
constexpr std::size_t max_text = 64 * 1024;

caf::behavior echo(caf::event_based_actor* self, bool die_after_reply) {
  return {
    [=](bulwark::call_atom, std::uint64_t id, std::string& text) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (!to || text.size() > max_text)
        return;
      self->send(to, bulwark::reply_atom::value, id, std::move(text));
      if (die_after_reply)
        ::kill(::getpid(), SIGKILL);
      announce("sent " + std::to_string(id));
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  bool sender = false;
  bool reuse = false;
  bool extra = false;
  bool open = false;
  std::uint64_t port = 0;
  std::uint64_t heartbeat_ms = 0;
  std::uint64_t timeout_ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--reuse") {
      reuse = true;
      continue;
    }
    if (arg == "--extra") {
      extra = true;
      continue;
    }
    if (arg == "--open") {
      open = true;
      continue;
    }
    if (i + 1 >= argc)
      return bad_argument("unknown flag or missing value: "
                          + std::string{arg.substr(0, 40)});
    std::string_view value = argv[++i];
    if (arg == "--role") {
      if (value != "server" && value != "sender")
        return bad_argument("--role is server or sender");
      sender = value == "sender";
      continue;
    }
    auto num = number(value);
    if (!num)
      return bad_argument(std::string{arg.substr(0, 40)}
                          + " needs a whole number below 10^9");
    if (arg == "--port" && *num <= 65535)
      port = *num;
    else if (arg == "--heartbeat-ms")
      heartbeat_ms = *num;
    else if (arg == "--timeout-ms")
      timeout_ms = *num;
    else
      return bad_argument("unknown flag or bad value: "
                          + std::string{arg.substr(0, 40)});
  }
  // SIGTERM ends the peer (wait_for_stop below).
  auto stop_signals = bulwark::testing::block_stop_signals();
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  if (heartbeat_ms > 0) {
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{std::chrono::milliseconds(heartbeat_ms)});
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::milliseconds(timeout_ms)});
  }
  caf::actor_system sys{cfg};
  auto& mm = sys.middleman();
  std::vector<caf::actor> echoes;
  auto publish = [&](std::uint16_t at) -> std::optional<std::uint16_t> {
    auto e = sys.spawn(echo, sender);
    echoes.push_back(e);
    auto bound = mm.publish(e, at, "127.0.0.1", reuse);
    if (!bound) {
      std::fprintf(stderr, "bulwark-basp-peer: cannot publish on port %u: %s\n",
                   static_cast<unsigned>(at),
                   sys.render(bound.error()).c_str());
      return std::nullopt;
    }
    return *bound;
  };
  int rc = 0;
  if (auto bound = publish(static_cast<std::uint16_t>(port))) {
    announce("port " + std::to_string(*bound));
    if (extra) {
      if (auto second = publish(0))
        announce("extra " + std::to_string(*second));
      else
        rc = 3;
    }
    if (open && rc == 0) {
      auto opened = mm.open(0, "127.0.0.1", true);
      if (opened) {
        announce("open " + std::to_string(*opened));
      } else {
        std::fprintf(stderr, "bulwark-basp-peer: cannot open a port: %s\n",
                     sys.render(opened.error()).c_str());
        rc = 3;
      }
    }
  } else {
    rc = 3;
  }
  if (rc == 0) {
    announce("ready");
    bulwark::testing::wait_for_stop(stop_signals);
  }
  for (auto& e : echoes)
    caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  return rc;
}
