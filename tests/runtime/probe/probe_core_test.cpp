#include "bulwark/runtime/probe/probe_core.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

probe_config test_config() {
  probe_config cfg;
  cfg.enabled = true;
  cfg.operation = "ping";
  cfg.interval = seconds(1);
  cfg.timeout = milliseconds(200);
  cfg.unhealthy_threshold = 3;
  cfg.healthy_threshold = 2;
  return cfg;
}

/// Sends the probe due at `now` and answers it with `o` at once; returns
/// the actions other than send_probe.
probe_action_list probe_once(probe_core& p, time_point now, const outcome& o) {
  probe_action_list out;
  p.advance(now, out);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].kind == probe_action_kind::send_probe);
  auto id = out[0].id;
  out.clear();
  p.on_result(id, o, now, out);
  return out;
}

const outcome ok = outcome::ok();
const outcome down = outcome::failure(failure_class::transient);

} // namespace

TEST_CASE("probe core: a probe goes every interval, only one at a time, with "
          "an id no call attempt has",
          "[runtime][probe]") {
  probe_core p;
  probe_action_list out;
  CHECK(p.next_deadline() == no_deadline); // off
  p.reconfigure(test_config(), at(seconds(5)), out);
  CHECK(out.empty());
  CHECK(p.next_deadline() == at(seconds(5)));
  p.advance(at(seconds(5)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == probe_action_kind::send_probe);
  CHECK(out[0].deadline == at(seconds(5) + milliseconds(200)));
  CHECK(probe_core::is_probe_id(out[0].id));
  CHECK_FALSE(probe_core::is_probe_id(correlation_id::make(3, 7, 1)));
  CHECK_FALSE(probe_core::is_probe_id(correlation_id::make(0xffffffffu, 7, 1)));
  // In flight: nothing more before its timeout.
  CHECK(p.next_deadline() == at(seconds(5) + milliseconds(200)));
  p.advance(at(seconds(5) + milliseconds(100)), out);
  CHECK(out.size() == 1);
  auto id = out[0].id;
  out.clear();
  p.on_result(id, ok, at(seconds(5) + milliseconds(150)), out);
  CHECK(out.empty());
  CHECK(p.next_deadline() == at(seconds(6)));
  p.advance(at(seconds(6)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id != id);
  CHECK(p.counters().sent == 2);
  CHECK(p.counters().successes == 1);
}

TEST_CASE("probe core: unhealthy_threshold consecutive failures pause and "
          "healthy_threshold consecutive successes resume",
          "[runtime][probe]") {
  probe_core p;
  probe_action_list out;
  p.reconfigure(test_config(), at(seconds(0)), out);
  CHECK(probe_once(p, at(seconds(0)), down).empty());
  CHECK(probe_once(p, at(seconds(1)), down).empty());
  CHECK(probe_once(p, at(seconds(2)), ok).empty()); // breaks the streak
  CHECK(probe_once(p, at(seconds(3)), down).empty());
  CHECK(probe_once(p, at(seconds(4)), down).empty());
  CHECK_FALSE(p.paused());
  auto paused = probe_once(p, at(seconds(5)), down);
  REQUIRE(paused.size() == 1);
  CHECK(paused[0].kind == probe_action_kind::pause);
  CHECK(p.paused());
  CHECK(probe_once(p, at(seconds(6)), down).empty()); // paused once only
  CHECK(probe_once(p, at(seconds(7)), ok).empty());
  CHECK(probe_once(p, at(seconds(8)), down).empty()); // breaks the streak
  CHECK(probe_once(p, at(seconds(9)), ok).empty());
  auto resumed = probe_once(p, at(seconds(10)), ok);
  REQUIRE(resumed.size() == 1);
  CHECK(resumed[0].kind == probe_action_kind::resume);
  CHECK_FALSE(p.paused());
  CHECK(p.counters().pauses == 1);
  CHECK(p.counters().resumes == 1);
  CHECK(p.counters().failures == 7);
  CHECK(p.counters().successes == 4);
}

TEST_CASE("probe core: a probe without a result in time is a timeout failure, "
          "and its late result is dropped",
          "[runtime][probe]") {
  auto cfg = test_config();
  cfg.unhealthy_threshold = 2;
  probe_core p;
  probe_action_list out;
  p.reconfigure(cfg, at(seconds(0)), out);
  p.advance(at(seconds(0)), out);
  auto first = out.at(0).id;
  out.clear();
  p.advance(at(milliseconds(200)), out); // timed out
  CHECK(out.empty());
  CHECK(p.counters().timeouts == 1);
  CHECK(p.consecutive_failures() == 1);
  p.on_result(first, ok, at(milliseconds(300)), out); // late
  CHECK(p.counters().late == 1);
  CHECK(p.counters().successes == 0);
  p.advance(at(seconds(1)), out);
  REQUIRE(out.size() == 1);
  out.clear();
  p.advance(at(seconds(1) + milliseconds(200)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == probe_action_kind::pause);
}

TEST_CASE("probe core: failure_on decides which classes fail a probe; others "
          "count neither way",
          "[runtime][probe]") {
  auto cfg = test_config();
  cfg.unhealthy_threshold = 1;
  cfg.failure_on = {failure_class::overloaded};
  probe_core p;
  probe_action_list out;
  p.reconfigure(cfg, at(seconds(0)), out);
  CHECK(probe_once(p, at(seconds(0)), down).empty());
  CHECK(probe_once(p, at(seconds(1)),
                   outcome::failure(failure_class::rejected_locally))
          .empty());
  CHECK(p.counters().ignored == 2);
  p.advance(at(seconds(2)), out);
  out.clear();
  p.advance(at(seconds(2) + milliseconds(200)), out); // timeout: not listed
  CHECK(out.empty());
  CHECK(p.counters().timeouts == 1);
  auto paused =
    probe_once(p, at(seconds(3)), outcome::failure(failure_class::overloaded));
  REQUIRE(paused.size() == 1);
  CHECK(paused[0].kind == probe_action_kind::pause);
}

TEST_CASE("probe core: a reload that turns probing off resumes the path it "
          "paused and forgets the probe in flight",
          "[runtime][probe]") {
  auto cfg = test_config();
  cfg.unhealthy_threshold = 1;
  probe_core p;
  probe_action_list out;
  p.reconfigure(cfg, at(seconds(0)), out);
  REQUIRE(probe_once(p, at(seconds(0)), down).size() == 1);
  p.advance(at(seconds(1)), out);
  auto in_flight = out.at(0).id;
  out.clear();
  auto off = cfg;
  off.enabled = false;
  p.reconfigure(off, at(seconds(1)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == probe_action_kind::resume);
  CHECK_FALSE(p.paused());
  CHECK(p.next_deadline() == no_deadline);
  out.clear();
  p.on_result(in_flight, down, at(seconds(1)), out);
  CHECK(out.empty());
  CHECK(p.counters().late == 1);
  p.advance(at(seconds(100)), out);
  CHECK(out.empty()); // off: nothing is sent
  // Off while not paused: no resume.
  p.reconfigure(off, at(seconds(100)), out);
  CHECK(out.empty());
}

TEST_CASE("probe core: a reload that stays on keeps the pause and brings the "
          "next probe forward when the interval shrank",
          "[runtime][probe]") {
  auto cfg = test_config();
  cfg.unhealthy_threshold = 1;
  cfg.interval = seconds(60);
  cfg.timeout = seconds(1);
  probe_core p;
  probe_action_list out;
  p.reconfigure(cfg, at(seconds(0)), out);
  REQUIRE(probe_once(p, at(seconds(0)), down).size() == 1);
  CHECK(p.next_deadline() == at(seconds(60)));
  cfg.interval = seconds(5);
  cfg.healthy_threshold = 1;
  p.reconfigure(cfg, at(seconds(2)), out);
  CHECK(out.empty());
  CHECK(p.paused());
  CHECK(p.next_deadline() == at(seconds(7)));
  auto resumed = probe_once(p, at(seconds(7)), ok);
  REQUIRE(resumed.size() == 1);
  CHECK(resumed[0].kind == probe_action_kind::resume);
  CHECK(to_string(probe_action_kind::send_probe) == "send_probe");
  CHECK(to_string(probe_action_kind::pause) == "pause");
  CHECK(to_string(probe_action_kind::resume) == "resume");
}
