#include "bulwark/runtime/cluster/peer_link_core.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

constexpr std::uint64_t seed = 20261207;

const time_point t0 = time_point{} + hours(1);

hello_verdict accepted() {
  return hello_verdict{};
}

hello_verdict refused_verdict() {
  return hello_verdict{false, hello_refusal::message_types_differ,
                       "message types differ: local 0x1, remote 0x2"};
}

cluster_connect_config no_jitter() {
  cluster_connect_config cfg;
  cfg.random_factor = 0.0;
  return cfg;
}

struct link_fixture {
  explicit link_fixture(cluster_connect_config c = {}, std::uint64_t s = seed)
    : cfg(c),
      core(c, s) {
    // The core starts idle; tests call start themselves.
  }

  std::vector<peer_link_action> take() {
    auto result = std::move(out);
    out.clear();
    return result;
  }

  // Brings a fresh core up at t0 and returns its generation.
  std::uint64_t bring_up() {
    core.start(now, out);
    auto g = core.generation();
    core.probe_done(g, true, now, out);
    core.connected(g, true, connect_error::none, now, out);
    core.welcome(g, accepted(), now, out);
    REQUIRE(core.state() == peer_link_state::up);
    out.clear();
    return g;
  }

  cluster_connect_config cfg;
  peer_link_core core;
  time_point now = t0;
  std::vector<peer_link_action> out;
};

bool is(const peer_link_action& a, peer_link_action_kind kind,
        std::uint64_t gen) {
  return a.kind == kind && a.gen == gen;
}

} // namespace

TEST_CASE("link states, connect errors, down reasons and actions have names",
          "[runtime][cluster]") {
  CHECK(to_string(peer_link_state::idle) == "idle");
  CHECK(to_string(peer_link_state::probing) == "probing");
  CHECK(to_string(peer_link_state::connecting) == "connecting");
  CHECK(to_string(peer_link_state::greeting) == "greeting");
  CHECK(to_string(peer_link_state::up) == "up");
  CHECK(to_string(peer_link_state::backoff) == "backoff");
  CHECK(to_string(peer_link_state::refused) == "refused");
  CHECK(to_string(connect_error::none) == "none");
  CHECK(to_string(connect_error::connection_timeout) == "connection_timeout");
  CHECK(to_string(connect_error::other) == "other");
  CHECK(to_string(down_reason::link_lost) == "link_lost");
  CHECK(to_string(down_reason::gate_down) == "gate_down");
  CHECK(to_string(peer_link_action_kind::probe) == "probe");
  CHECK(to_string(peer_link_action_kind::connect) == "connect");
  CHECK(to_string(peer_link_action_kind::send_hello) == "send_hello");
  CHECK(to_string(peer_link_action_kind::up) == "up");
  CHECK(to_string(peer_link_action_kind::down) == "down");
  CHECK(to_string(peer_link_action_kind::refused) == "refused");
}

TEST_CASE("a link goes up through probe, connect, hello and welcome",
          "[runtime][cluster]") {
  link_fixture f;
  CHECK(f.core.state() == peer_link_state::idle);
  CHECK_FALSE(f.core.next_timer());
  f.core.start(f.now, f.out);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::probe, 1));
  CHECK(a[0].deadline == t0 + milliseconds(250));
  CHECK(f.core.next_timer() == t0 + milliseconds(250));
  CHECK(f.core.state() == peer_link_state::probing);
  f.core.start(f.now, f.out); // a second start changes nothing
  CHECK(f.take().empty());

  f.now = t0 + milliseconds(3);
  f.core.probe_done(1, true, f.now, f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::connect, 1));
  CHECK(f.core.state() == peer_link_state::connecting);
  CHECK(f.core.connect_outstanding());
  CHECK(f.core.next_timer() == t0 + milliseconds(1003));

  f.now = t0 + milliseconds(5);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::send_hello, 1));
  CHECK(f.core.state() == peer_link_state::greeting);
  CHECK_FALSE(f.core.connect_outstanding());
  // The handshake deadline runs from the connect to the welcome.
  CHECK(f.core.next_timer() == t0 + milliseconds(1003));

  f.core.welcome(1, accepted(), f.now, f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::up, 1));
  CHECK(f.core.state() == peer_link_state::up);
  CHECK_FALSE(f.core.next_timer());
  CHECK(f.core.counters().connects_ok == 1);
  CHECK(f.core.counters().ups == 1);
  CHECK(f.core.stale_events() == 0);
  f.core.advance(t0 + hours(1), f.out); // nothing is due while up
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::up);
}

TEST_CASE("failed probes back off min x 2^(n-1) up to max, exactly without "
          "jitter",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  std::vector<std::int64_t> expected_ms{50,   100,  200,  400,  800,
                                        1600, 3200, 5000, 5000, 5000};
  for (std::size_t n = 0; n < expected_ms.size(); ++n) {
    CAPTURE(n);
    auto g = f.core.generation();
    CHECK(g == n + 1);
    f.take();
    f.core.probe_done(g, false, f.now, f.out);
    CHECK(f.take().empty());
    CHECK(f.core.state() == peer_link_state::backoff);
    CHECK(f.core.consecutive_failures() == n + 1);
    REQUIRE(f.core.next_timer());
    CHECK(*f.core.next_timer() - f.now == milliseconds(expected_ms[n]));
    // One nanosecond early: nothing happens.
    f.core.advance(*f.core.next_timer() - nanoseconds(1), f.out);
    CHECK(f.take().empty());
    f.now = *f.core.next_timer();
    f.core.advance(f.now, f.out);
    auto a = f.take();
    REQUIRE(a.size() == 1);
    CHECK(is(a[0], peer_link_action_kind::probe, g + 1));
    CHECK(a[0].deadline == f.now + milliseconds(250));
    f.out = std::move(a);
  }
  CHECK(f.core.counters().probe_failures == expected_ms.size());
}

TEST_CASE("backoff jitter is min x 2^(n-1) x (1 + random_factor x u) from the "
          "seeded generator",
          "[runtime][cluster]") {
  INFO("seed " << seed);
  link_fixture f;
  rng reference{seed};
  f.core.start(f.now, f.out);
  for (std::uint32_t n = 1; n <= 9; ++n) {
    CAPTURE(n);
    f.core.probe_done(f.core.generation(), false, f.now, f.out);
    auto base = std::min<std::int64_t>(50 << (n - 1), 5000);
    nanoseconds d = milliseconds(base);
    auto expected = d
                    + nanoseconds(std::llround(static_cast<double>(d.count())
                                               * 0.2 * reference.uniform()));
    CAPTURE(f.core.last_backoff().count(), expected.count());
    CHECK(f.core.last_backoff() == expected);
    CHECK(f.core.base_backoff(n) == d);
    CHECK(*f.core.next_timer() == f.now + expected);
    CHECK(expected >= d);
    CHECK(expected <= d * 1.2);
    f.now = *f.core.next_timer();
    f.core.advance(f.now, f.out);
  }
}

TEST_CASE("a probe that does not answer by its deadline counts as failed",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.now = t0 + milliseconds(250);
  f.core.advance(f.now, f.out);
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.counters().probe_failures == 1);
  CHECK(f.core.next_timer() == f.now + milliseconds(50));
  // Its late answer belongs to an abandoned attempt.
  f.core.probe_done(1, true, f.now, f.out);
  CHECK(f.take().size() == 1); // only the first probe
  CHECK(f.core.stale_events() == 1);
  CHECK(f.core.state() == peer_link_state::backoff);
}

TEST_CASE("a connect that fails with connection_timeout is retried at once, "
          "up to handshake_retries",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.take();
  for (int retry = 1; retry <= 3; ++retry) {
    CAPTURE(retry);
    f.now += milliseconds(2);
    f.core.connected(1, false, connect_error::connection_timeout, f.now, f.out);
    auto a = f.take();
    REQUIRE(a.size() == 1);
    CHECK(is(a[0], peer_link_action_kind::connect, 1));
    CHECK(f.core.state() == peer_link_state::connecting);
    CHECK(f.core.next_timer() == t0 + seconds(1)); // not extended
  }
  f.core.connected(1, false, connect_error::connection_timeout, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.counters().connect_retries == 3);
  CHECK(f.core.counters().connects_connection_timeout == 4);
  CHECK_FALSE(f.core.connect_outstanding());
  // The next attempt has its retries again.
  f.now = *f.core.next_timer();
  f.core.advance(f.now, f.out);
  f.core.probe_done(2, true, f.now, f.out);
  f.take();
  f.core.connected(2, false, connect_error::connection_timeout, f.now, f.out);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::connect, 2));
}

TEST_CASE("any other connect error backs off without a retry",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.take();
  f.core.connected(1, false, connect_error::other, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.next_timer() == t0 + milliseconds(50));
  CHECK(f.core.counters().connects_other_error == 1);
  CHECK(f.core.counters().connect_retries == 0);
}

TEST_CASE("with handshake_retries 0 a connection_timeout backs off",
          "[runtime][cluster]") {
  auto cfg = no_jitter();
  cfg.handshake_retries = 0;
  link_fixture f{cfg};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.take();
  f.core.connected(1, false, connect_error::connection_timeout, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::backoff);
}

TEST_CASE("no welcome by handshake_timeout fails the attempt and its late "
          "welcome is dropped",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  f.take();
  f.core.advance(t0 + seconds(1) - nanoseconds(1), f.out);
  CHECK(f.core.state() == peer_link_state::greeting);
  f.now = t0 + seconds(1);
  f.core.advance(f.now, f.out);
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.counters().handshake_timeouts == 1);
  CHECK(f.core.next_timer() == f.now + milliseconds(50));
  f.core.welcome(1, accepted(), f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.stale_events() == 1);
  CHECK(f.core.counters().ups == 0);
}

TEST_CASE("a refused welcome waits max_backoff before the next attempt",
          "[runtime][cluster]") {
  link_fixture f; // jitter on: a refusal is not jittered
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  f.take();
  f.core.welcome(1, refused_verdict(), f.now, f.out);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::refused, 1));
  CHECK(a[0].refusal == hello_refusal::message_types_differ);
  CHECK(a[0].reason == "message types differ: local 0x1, remote 0x2");
  CHECK(f.core.state() == peer_link_state::refused);
  CHECK(f.core.next_timer() == t0 + seconds(5));
  CHECK(f.core.counters().refusals == 1);
  f.core.advance(t0 + seconds(5), f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::probe, 2));
  CHECK(f.core.state() == peer_link_state::probing);
}

TEST_CASE("an up link that goes down reports it and backs off from "
          "min_backoff again",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  // Three failures first: the backoff grows...
  for (int i = 0; i < 3; ++i) {
    f.core.probe_done(f.core.generation(), false, f.now, f.out);
    f.now = *f.core.next_timer();
    f.core.advance(f.now, f.out);
  }
  CHECK(f.core.last_backoff() == milliseconds(200));
  auto g = f.core.generation();
  f.core.probe_done(g, true, f.now, f.out);
  f.core.connected(g, true, connect_error::none, f.now, f.out);
  f.core.welcome(g, accepted(), f.now, f.out);
  CHECK(f.core.consecutive_failures() == 0);
  f.take();
  // ... and an up resets it.
  f.core.link_down(g, f.now, f.out, down_reason::gate_down);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::down, g));
  CHECK(a[0].why_down == down_reason::gate_down);
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.next_timer() == f.now + milliseconds(50));
  CHECK(f.core.counters().downs == 1);
  // A second down of the same link is not news.
  f.core.link_down(g, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.counters().downs == 1);
  CHECK(f.core.stale_events() == 1);
}

TEST_CASE("a link that dies during the hello fails the attempt without a down",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  f.take();
  f.core.link_down(1, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.counters().downs == 0);
}

TEST_CASE("events of an older generation are dropped and counted",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  auto g = f.bring_up();
  f.core.link_down(g, f.now, f.out);
  f.now = *f.core.next_timer();
  f.core.advance(f.now, f.out);
  f.take();
  CHECK(f.core.generation() == g + 1);
  f.core.probe_done(g, true, f.now, f.out);
  f.core.welcome(g, accepted(), f.now, f.out);
  f.core.link_down(g, f.now, f.out);
  f.core.connected(g, true, connect_error::none, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.state() == peer_link_state::probing);
  CHECK(f.core.stale_events() == 4);
  // Events the state does not expect are dropped too.
  f.core.welcome(g + 1, accepted(), f.now, f.out);
  f.core.connected(g + 1, true, connect_error::none, f.now, f.out);
  CHECK(f.take().empty());
  CHECK(f.core.stale_events() == 6);
  CHECK(f.core.state() == peer_link_state::probing);
}

TEST_CASE("a new attempt waits for the answer of an abandoned connect",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, true, f.now, f.out);
  f.take();
  // The middleman blocks: no answer by the handshake deadline.
  f.now = t0 + seconds(1);
  f.core.advance(f.now, f.out);
  CHECK(f.core.state() == peer_link_state::backoff);
  CHECK(f.core.connect_outstanding());
  f.now = *f.core.next_timer();
  f.core.advance(f.now, f.out);
  f.core.probe_done(2, true, f.now, f.out);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::probe, 2)); // no second connect
  CHECK(f.core.state() == peer_link_state::connecting);
  auto deadline = f.now + seconds(1);
  CHECK(f.core.next_timer() == deadline);
  // The abandoned connect answers (even with success): dropped, and the
  // waiting attempt's connect goes out now.
  f.now += milliseconds(10);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::connect, 2));
  CHECK(f.core.stale_events() == 1);
  CHECK(f.core.counters().connects_ok == 1);
  CHECK(f.core.state() == peer_link_state::connecting);
  CHECK(f.core.next_timer() == deadline);
  f.core.connected(2, true, connect_error::none, f.now, f.out);
  a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::send_hello, 2));
}

TEST_CASE("an answer to no outstanding connect is dropped",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.connected(1, true, connect_error::none, f.now, f.out);
  CHECK(f.core.state() == peer_link_state::probing);
  CHECK(f.core.stale_events() == 1);
  CHECK(f.core.counters().connects_ok == 0);
}

TEST_CASE("a late timer starts the next attempt from the time it fired",
          "[runtime][cluster]") {
  link_fixture f{no_jitter()};
  f.core.start(f.now, f.out);
  f.core.probe_done(1, false, f.now, f.out);
  f.take();
  f.now = t0 + seconds(10); // the backoff ended at t0 + 50ms
  f.core.advance(f.now, f.out);
  auto a = f.take();
  REQUIRE(a.size() == 1);
  CHECK(is(a[0], peer_link_action_kind::probe, 2));
  CHECK(a[0].deadline == f.now + milliseconds(250));
  CHECK(f.core.state() == peer_link_state::probing);
}

// Random schedules against an environment that behaves like CAF and the
// prober: each probe and each connect is answered at most once, answers may
// come late (after their attempt was abandoned), welcomes and downs may name
// any generation. Invariants: never two connects outstanding; up only after
// a welcome of the current generation to a hello sent for it; every backoff
// within [base, base x (1 + random_factor)], base = min(max, min x 2^(n-1));
// a refusal waits exactly max_backoff.
TEST_CASE("random schedules keep one connect out, up only after a current "
          "welcome, and backoffs within bounds",
          "[runtime][cluster]") {
  constexpr int schedules = 1000;
  constexpr int events = 200;
  // The schedules must reach every state change the invariants are about.
  peer_link_counters total;
  std::uint64_t waited_for_connect = 0;
  for (int i = 0; i < schedules; ++i) {
    auto s = seed + static_cast<std::uint64_t>(i);
    INFO("seed " << s << " (schedule " << i << ")");
    rng gen{s};
    cluster_connect_config cfg;
    cfg.handshake_retries = static_cast<std::uint32_t>(gen.below(4));
    cfg.random_factor = gen.uniform();
    cfg.min_backoff = milliseconds(1 + gen.below(100));
    cfg.max_backoff = cfg.min_backoff * static_cast<int>(1 + gen.below(200));
    link_fixture f{cfg, s ^ 0x9e3779b97f4a7c15ULL};
    std::vector<std::uint64_t> probes_out, connects_out, hellos_sent;
    std::uint64_t connects_issued = 0, answered = 0;
    f.core.start(f.now, f.out);
    probes_out.push_back(f.take().at(0).gen);
    for (int e = 0; e < events; ++e) {
      CAPTURE(e);
      auto before_gen = f.core.generation();
      auto before_state = f.core.state();
      bool current_welcome_ok = false;
      switch (gen.below(10)) {
        case 0:
        case 1: // a probe answers
          if (!probes_out.empty()) {
            auto k = gen.below(probes_out.size());
            auto g = probes_out[k];
            probes_out.erase(probes_out.begin() + static_cast<long>(k));
            f.core.probe_done(g, gen.below(3) != 0, f.now, f.out);
          }
          break;
        case 2:
        case 3: { // the outstanding connect answers
          if (!connects_out.empty()) {
            auto g = connects_out.front();
            connects_out.erase(connects_out.begin());
            ++answered;
            auto r = gen.below(4);
            f.core.connected(g, r <= 1,
                             r == 2 ? connect_error::connection_timeout
                                    : connect_error::other,
                             f.now, f.out);
          }
          break;
        }
        case 4:
        case 5: { // a welcome for a hello we sent (or a bogus generation)
          auto r = gen.below(8);
          std::uint64_t g =
            hellos_sent.empty() || r == 0 ? gen.below(before_gen + 2)
            : r == 1 ? hellos_sent[gen.below(hellos_sent.size())]
                     : hellos_sent.back();
          bool ok = gen.below(4) != 0;
          current_welcome_ok =
            ok && g == before_gen && before_state == peer_link_state::greeting;
          f.core.welcome(g, ok ? accepted() : refused_verdict(), f.now, f.out);
          break;
        }
        case 6: // a link goes down
          f.core.link_down(gen.below(before_gen + 2), f.now, f.out,
                           gen.below(2) == 0 ? down_reason::link_lost
                                             : down_reason::gate_down);
          break;
        case 7: // a bogus connect answer: never for the outstanding one
        {
          auto g = gen.below(before_gen + 2);
          if (connects_out.empty() || connects_out.front() != g)
            f.core.connected(g, true, connect_error::none, f.now, f.out);
          break;
        }
        default: { // time passes, often exactly to the next timer
          auto t = f.core.next_timer();
          if (t && gen.below(3) == 0)
            f.now = std::max(f.now, *t);
          else
            f.now +=
              microseconds(gen.below(gen.below(4) == 0 ? 2'000'000 : 20'000));
          f.core.advance(f.now, f.out);
          break;
        }
      }
      auto state = f.core.state();
      bool entered_backoff = state != before_state
                             && (state == peer_link_state::backoff
                                 || state == peer_link_state::refused);
      for (auto& a : f.take()) {
        switch (a.kind) {
          case peer_link_action_kind::probe:
            CHECK(a.gen == f.core.generation());
            CHECK(a.deadline == f.now + cfg.probe_timeout);
            probes_out.push_back(a.gen);
            break;
          case peer_link_action_kind::connect:
            connects_out.push_back(a.gen);
            ++connects_issued;
            break;
          case peer_link_action_kind::send_hello:
            hellos_sent.push_back(a.gen);
            break;
          case peer_link_action_kind::up:
            CHECK(current_welcome_ok);
            CHECK(a.gen == before_gen);
            CHECK(std::find(hellos_sent.begin(), hellos_sent.end(), a.gen)
                  != hellos_sent.end());
            break;
          case peer_link_action_kind::down:
            CHECK(before_state == peer_link_state::up);
            break;
          case peer_link_action_kind::refused:
            CHECK(before_state == peer_link_state::greeting);
            break;
        }
      }
      REQUIRE(connects_out.size() <= 1);
      if (state == peer_link_state::connecting && !connects_out.empty()
          && connects_out.front() != f.core.generation())
        ++waited_for_connect;
      CHECK(f.core.connect_outstanding() == !connects_out.empty());
      if (state == peer_link_state::up)
        CHECK_FALSE(f.core.next_timer());
      else
        CHECK(f.core.next_timer());
      if (entered_backoff) {
        auto d = f.core.last_backoff();
        CHECK(*f.core.next_timer() == f.now + d);
        if (state == peer_link_state::refused) {
          CHECK(d == cfg.max_backoff);
        } else {
          auto base = f.core.base_backoff(f.core.consecutive_failures());
          CHECK(d >= base);
          CHECK(d.count() <= std::llround(static_cast<double>(base.count())
                                          * (1.0 + cfg.random_factor)));
          CHECK(d >= cfg.min_backoff);
        }
      }
    }
    CHECK(f.core.counters().connects_ok
            + f.core.counters().connects_connection_timeout
            + f.core.counters().connects_other_error
          == answered);
    CHECK(connects_issued >= answered);
    auto& c = f.core.counters();
    total.ups += c.ups;
    total.downs += c.downs;
    total.refusals += c.refusals;
    total.connect_retries += c.connect_retries;
    total.handshake_timeouts += c.handshake_timeouts;
    total.stale_events += c.stale_events;
  }
  CAPTURE(total.ups, total.downs, total.refusals, total.connect_retries,
          total.handshake_timeouts, total.stale_events, waited_for_connect);
  CHECK(total.ups > 500);
  CHECK(total.downs > 100);
  CHECK(total.refusals > 100);
  CHECK(total.connect_retries > 100);
  CHECK(total.handshake_timeouts > 100);
  CHECK(total.stale_events > 1000);
  CHECK(waited_for_connect > 10);
}
