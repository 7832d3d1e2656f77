// The saga state machine: every rule, resume from every prefix of a record
// sequence, and a seeded randomized property test with crashes.
// BULWARK_SEED=N replays seed N of the randomized test alone.
#include "bulwark/runtime/saga/saga_core.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace bulwark;

namespace {

using kind = saga_record_kind;
using act = saga_action_kind;

/// A config from step names; a name ending in '!' is non-compensable.
saga_config make_config(std::vector<std::string> names,
                        std::uint32_t max_tries = 3,
                        std::uint32_t max_comp_tries = 3) {
  saga_config cfg;
  for (auto& n : names) {
    saga_step_config s;
    s.compensable = n.back() != '!';
    s.name = s.compensable ? n : n.substr(0, n.size() - 1);
    s.max_tries = max_tries;
    cfg.steps.push_back(s);
  }
  cfg.max_compensation_tries = max_comp_tries;
  cfg.step_timeout = seconds(10);
  // No jitter: delays are exact in the rule tests.
  cfg.forward_backoff = {backoff_kind::exponential, jitter_kind::none,
                         milliseconds(100), 2.0, seconds(1)};
  cfg.compensation_backoff = {backoff_kind::constant, jitter_kind::none,
                              milliseconds(250), 1.0, milliseconds(250)};
  REQUIRE(validate_saga_config(cfg).empty());
  return cfg;
}

std::string show(const saga_config& cfg, const saga_record& r) {
  auto name = [&] { return cfg.steps.at(r.step).name; };
  switch (r.kind) {
    case kind::started:
      return "started " + r.data;
    case kind::step_started:
      return "step " + name() + " #" + std::to_string(r.attempt);
    case kind::step_result:
      return "result " + name() + " #" + std::to_string(r.attempt) + " "
             + to_string(r.verdict);
    case kind::compensation_started:
      return "comp " + name() + " #" + std::to_string(r.attempt);
    case kind::compensation_result:
      return "comp-result " + name() + " #" + std::to_string(r.attempt) + " "
             + to_string(r.verdict);
    case kind::finished:
      return "finished " + to_string(r.outcome.status);
  }
  return "?";
}

/// Drives one saga_core: keeps the durable log, the tries it was asked to
/// run, the live timer and the answers; checks on every action list that
/// each effect is preceded by its own log record.
struct harness {
  saga_config cfg;
  std::optional<saga_core> core;
  time_point now = time_point{} + hours(1);
  std::vector<saga_record> log;
  /// "step NAME #n" / "comp NAME #n" for every run action.
  std::vector<std::string> runs;
  std::optional<saga_action> timer;
  std::vector<saga_outcome> answers;

  explicit harness(saga_config c, std::uint64_t seed = 7) : cfg(std::move(c)) {
    core.emplace(cfg, seed);
  }

  void take(const saga_core::action_list& out) {
    const saga_record* last_logged = nullptr;
    for (auto& a : out) {
      switch (a.kind) {
        case act::log:
          log.push_back(a.record);
          last_logged = &a.record;
          break;
        case act::run_step:
        case act::run_compensation: {
          bool comp = a.kind == act::run_compensation;
          REQUIRE(last_logged != nullptr);
          CHECK(last_logged->kind
                == (comp ? kind::compensation_started : kind::step_started));
          CHECK(last_logged->step == a.step);
          CHECK(last_logged->attempt == a.attempt);
          runs.push_back((comp ? "comp " : "step ") + cfg.steps[a.step].name
                         + " #" + std::to_string(a.attempt));
          break;
        }
        case act::set_timer:
          CHECK(a.at >= now);
          timer = a;
          break;
        case act::finish:
          REQUIRE(last_logged != nullptr);
          CHECK(last_logged->kind == kind::finished);
          CHECK(last_logged->outcome == core->outcome());
          answers.push_back(core->outcome());
          break;
      }
    }
  }

  void start(std::string input = "in") {
    saga_core::action_list out;
    core->start(std::move(input), now, out);
    take(out);
  }

  bool step(std::uint32_t i, std::uint32_t n, saga_verdict v,
            std::string data = {}) {
    saga_core::action_list out;
    auto ok = core->on_step_result(i, n, v, std::move(data), now, out);
    take(out);
    return ok;
  }

  bool comp(std::uint32_t i, std::uint32_t n, saga_verdict v,
            std::string data = {}) {
    saga_core::action_list out;
    auto ok = core->on_compensation_result(i, n, v, std::move(data), now, out);
    take(out);
    return ok;
  }

  /// Moves time to the live timer and fires it; returns the wait.
  duration fire() {
    REQUIRE(timer.has_value());
    auto t = *timer;
    timer.reset();
    auto waited = t.at - now;
    now = t.at;
    saga_core::action_list out;
    core->on_timer(t.timer, now, out);
    take(out);
    return waited;
  }

  /// Fires the last timer set: true when that changes nothing (the saga
  /// asks for no timer any more).
  bool fire_is_void() {
    auto records = log.size();
    auto answered = answers.size();
    fire();
    return log.size() == records && answers.size() == answered
           && !timer.has_value();
  }

  /// A fresh core rebuilt from the log, resumed ("the process restarted").
  void crash_and_resume(std::uint64_t seed = 11) {
    core.emplace(cfg, seed);
    timer.reset();
    for (auto& r : log) {
      std::string error;
      REQUIRE(core->restore(r, error));
    }
    saga_core::action_list out;
    core->resume(now, out);
    take(out);
  }

  std::vector<std::string> records() const {
    std::vector<std::string> out;
    for (auto& r : log)
      out.push_back(show(cfg, r));
    return out;
  }

  const saga_outcome& outcome() const {
    return core->outcome();
  }
};

using strings = std::vector<std::string>;
constexpr auto done = saga_verdict::done;
constexpr auto not_executed = saga_verdict::not_executed;
constexpr auto unknown = saga_verdict::unknown;

} // namespace

TEST_CASE("saga actions and phases have names", "[runtime][saga]") {
  CHECK(to_string(saga_action_kind::log) == "log");
  CHECK(to_string(saga_action_kind::run_step) == "run_step");
  CHECK(to_string(saga_action_kind::run_compensation) == "run_compensation");
  CHECK(to_string(saga_action_kind::set_timer) == "set_timer");
  CHECK(to_string(saga_action_kind::finish) == "finish");
  CHECK(to_string(saga_phase::idle) == "idle");
  CHECK(to_string(saga_phase::forward) == "forward");
  CHECK(to_string(saga_phase::compensating) == "compensating");
  CHECK(to_string(saga_phase::finished) == "finished");
}

// -- forward ------------------------------------------------------------------

TEST_CASE("a saga whose steps are all done completes, each step logged before "
          "it runs",
          "[runtime][saga][core]") {
  harness h{make_config({"reserve", "charge", "confirm!"})};
  h.start("order-1");
  CHECK(h.runs == strings{"step reserve #1"});
  CHECK(h.step(0, 1, done, "r-ok"));
  CHECK(h.core->results()[0] == "r-ok");
  CHECK(h.step(1, 1, done, "c-ok"));
  CHECK(h.step(2, 1, done));
  CHECK(h.records()
        == strings{"started order-1", "step reserve #1",
                   "result reserve #1 done", "step charge #1",
                   "result charge #1 done", "step confirm #1",
                   "result confirm #1 done", "finished completed"});
  REQUIRE(h.answers.size() == 1);
  auto& o = h.answers[0];
  CHECK(o.status == saga_status::completed);
  CHECK(o.steps
        == std::vector<saga_step_data>{
          {"reserve", "r-ok"}, {"charge", "c-ok"}, {"confirm", ""}});
  CHECK(o.compensations.empty());
  CHECK(o.failure.empty());
  CHECK(h.core->finished());
  CHECK(h.core->input() == "order-1");
}

// -- compensable steps --------------------------------------------------------

TEST_CASE("a compensable step that was not executed compensates the earlier "
          "steps in reverse order, not itself",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b", "c", "d!"})};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, done);
  h.step(2, 1, not_executed, "breaker open");
  CHECK(h.runs == strings{"step a #1", "step b #1", "step c #1", "comp b #1"});
  h.comp(1, 1, done, "b undone");
  h.comp(0, 1, done);
  REQUIRE(h.answers.size() == 1);
  auto& o = h.answers[0];
  CHECK(o.status == saga_status::compensated);
  CHECK(o.failed_step == "c");
  CHECK(o.failure == "c try 1: not_executed: breaker open");
  CHECK(o.compensations
        == std::vector<saga_step_data>{{"b", "b undone"}, {"a", ""}});
  CHECK(o.steps == std::vector<saga_step_data>{{"a", ""}, {"b", ""}});
}

TEST_CASE("a compensable step whose try is unknown is compensated itself, "
          "first",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b", "c"})};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, unknown, "timeout");
  h.comp(1, 1, done);
  h.comp(0, 1, done);
  CHECK(h.runs == strings{"step a #1", "step b #1", "comp b #1", "comp a #1"});
  CHECK(h.outcome().status == saga_status::compensated);
}

TEST_CASE("a first step that was not executed ends compensated with nothing "
          "to undo",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b"})};
  h.start();
  h.step(0, 1, not_executed);
  CHECK(h.runs == strings{"step a #1"});
  CHECK(h.records().back() == "finished compensated");
  CHECK(h.outcome().compensations.empty());
  CHECK(h.outcome().failed_step == "a");
}

// -- the pivot ----------------------------------------------------------------

TEST_CASE("a pivot not executed on its first try compensates the earlier "
          "steps and is never compensated",
          "[runtime][saga][core]") {
  harness h{make_config({"reserve", "charge", "confirm!"})};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, done);
  h.step(2, 1, not_executed);
  h.comp(1, 1, done);
  h.comp(0, 1, done);
  CHECK(h.runs
        == strings{"step reserve #1", "step charge #1", "step confirm #1",
                   "comp charge #1", "comp reserve #1"});
  CHECK(h.outcome().status == saga_status::compensated);
  CHECK(h.outcome().failed_step == "confirm");
}

TEST_CASE("a pivot whose try is unknown only goes forward: retried with the "
          "forward backoff until done",
          "[runtime][saga][core]") {
  harness h{make_config({"reserve", "confirm!"}, 4)};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, unknown, "lost answer");
  CHECK(h.fire() == milliseconds(100));
  CHECK(h.runs.back() == "step confirm #2");
  // Not executed now, but try 1 may have: still forward.
  h.step(1, 2, not_executed);
  CHECK(h.fire() == milliseconds(200));
  CHECK(h.runs.back() == "step confirm #3");
  h.step(1, 3, done, "confirmed");
  CHECK(h.outcome().status == saga_status::completed);
  CHECK(h.outcome().failure.empty());
  for (auto& r : h.runs)
    CHECK(r.rfind("comp", 0) == std::string::npos);
}

TEST_CASE("a pivot that may have executed and never completes ends stuck "
          "after its tries, never compensated",
          "[runtime][saga][core]") {
  harness h{make_config({"reserve", "confirm!"}, 3)};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, unknown);
  h.fire();
  h.step(1, 2, not_executed);
  h.fire();
  h.step(1, 3, unknown, "still down");
  CHECK(h.fire_is_void());
  REQUIRE(h.answers.size() == 1);
  CHECK(h.answers[0].status == saga_status::stuck);
  CHECK(h.answers[0].failed_step == "confirm");
  CHECK(h.answers[0].failure
        == "confirm did not complete in 3 tries (last: confirm try 3: "
           "unknown: still down)");
  CHECK(h.runs
        == strings{"step reserve #1", "step confirm #1", "step confirm #2",
                   "step confirm #3"});
}

TEST_CASE("after the pivot is done a later step only goes forward, even when "
          "it was not executed",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "pivot!", "ship!"}, 2)};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, done);
  h.step(2, 1, not_executed);
  h.fire();
  h.step(2, 2, not_executed);
  CHECK(h.outcome().status == saga_status::stuck);
  CHECK(h.outcome().failed_step == "ship");
  CHECK(
    h.runs
    == strings{"step a #1", "step pivot #1", "step ship #1", "step ship #2"});
}

// -- compensations ------------------------------------------------------------

TEST_CASE("a failed compensation is retried after its delay and the saga "
          "goes on when it succeeds",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b", "c"})};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, done);
  h.step(2, 1, not_executed);
  h.comp(1, 1, unknown);
  CHECK(h.fire() == milliseconds(250));
  h.comp(1, 2, not_executed);
  CHECK(h.fire() == milliseconds(250));
  h.comp(1, 3, done);
  h.comp(0, 1, done);
  CHECK(h.runs
        == strings{"step a #1", "step b #1", "step c #1", "comp b #1",
                   "comp b #2", "comp b #3", "comp a #1"});
  CHECK(h.outcome().status == saga_status::compensated);
}

TEST_CASE("a compensation that fails on every try ends the saga "
          "compensation_failed naming it, and is not retried again",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b", "c"}, 3, 2)};
  h.start();
  h.step(0, 1, done);
  h.step(1, 1, done);
  h.step(2, 1, unknown, "timeout");
  h.comp(2, 1, done);
  h.comp(1, 1, unknown);
  h.fire();
  h.comp(1, 2, not_executed, "down");
  CHECK(h.fire_is_void());
  REQUIRE(h.answers.size() == 1);
  auto& o = h.answers[0];
  CHECK(o.status == saga_status::compensation_failed);
  CHECK(o.failed_compensation == "b");
  CHECK(o.failed_step == "c");
  CHECK(o.failure
        == "c try 1: unknown: timeout; compensation of b failed 2 tries "
           "(last: b try 2: not_executed: down)");
  CHECK(o.compensations == std::vector<saga_step_data>{{"c", ""}});
  CHECK(h.runs.back() == "comp b #2");
}

// -- timeouts and stale events ------------------------------------------------

TEST_CASE("a try without a verdict is unknown after the step timeout and its "
          "late verdict is dropped",
          "[runtime][saga][core]") {
  harness h{make_config({"a", "b"})};
  h.start();
  h.step(0, 1, done);
  CHECK(h.fire() == seconds(10));
  CHECK(h.log.back().kind == kind::compensation_started);
  CHECK(h.log[h.log.size() - 2].verdict == unknown);
  CHECK(h.log[h.log.size() - 2].data == "no verdict within 10s");
  auto records = h.log.size();
  CHECK_FALSE(h.step(1, 1, done)); // late
  CHECK_FALSE(h.step(0, 1, done)); // long over
  CHECK_FALSE(h.comp(1, 2, done)); // not the try that is out
  CHECK(h.log.size() == records);
  CHECK(h.comp(1, 1, done));
  CHECK(h.comp(0, 1, done));
  CHECK(h.outcome().status == saga_status::compensated);
}

TEST_CASE("a void timer changes nothing", "[runtime][saga][core]") {
  harness h{make_config({"a", "b"})};
  h.start();
  auto stale = *h.timer;
  h.step(0, 1, done);
  saga_core::action_list out;
  h.core->on_timer(stale.timer, h.now + hours(1), out);
  h.core->on_timer(0, h.now + hours(1), out);
  CHECK(out.empty());
  CHECK(h.core->outstanding());
}

TEST_CASE("a finished saga ignores every later event",
          "[runtime][saga][core]") {
  harness h{make_config({"a"})};
  h.start();
  h.step(0, 1, done);
  auto n = h.log.size();
  h.start();
  CHECK_FALSE(h.step(0, 1, done));
  CHECK_FALSE(h.comp(0, 1, done));
  CHECK(h.log.size() == n);
  CHECK(h.answers.size() == 1);
}

// -- resume -------------------------------------------------------------------

TEST_CASE("resume: a compensable step in flight at a crash is compensated, a "
          "pivot in flight is retried forward",
          "[runtime][saga][core]") {
  SECTION("compensable step") {
    harness h{make_config({"a", "b", "c!"})};
    h.start();
    h.step(0, 1, done);
    CHECK(h.runs.back() == "step b #1");
    h.crash_and_resume(); // b started, no result: unknown
    CHECK(h.log[h.log.size() - 2].data
          == "interrupted: no verdict was recorded before a restart");
    CHECK(h.runs.back() == "comp b #1");
    h.crash_and_resume(); // the compensation too: retried after its delay
    CHECK(h.fire() == milliseconds(250));
    CHECK(h.runs.back() == "comp b #2");
    h.comp(1, 2, done);
    h.comp(0, 1, done);
    CHECK(h.outcome().status == saga_status::compensated);
  }
  SECTION("pivot") {
    harness h{make_config({"a", "b", "c!"})};
    h.start();
    h.step(0, 1, done);
    h.step(1, 1, done);
    CHECK(h.runs.back() == "step c #1");
    h.crash_and_resume(); // c #1 has no result: unknown, so forward only
    CHECK(h.runs.size() == 3);
    CHECK(h.fire() == milliseconds(100));
    CHECK(h.runs.back() == "step c #2");
    h.step(2, 2, done);
    CHECK(h.outcome().status == saga_status::completed);
    for (auto& r : h.runs)
      CHECK(r.rfind("comp", 0) == std::string::npos);
  }
}

TEST_CASE("resume continues a saga from every prefix of its records to the "
          "same kind of end, by the same rules",
          "[runtime][saga][core]") {
  auto cfg = make_config({"a", "b", "p!", "z!"}, 3, 3);
  // A full history: b unknown -> compensate b (fails once), a.
  harness full{cfg};
  full.start("x");
  full.step(0, 1, done, "A");
  full.step(1, 1, unknown);
  full.comp(1, 1, not_executed);
  full.fire();
  full.comp(1, 2, done);
  full.comp(0, 1, done);
  // A second: the pivot's first try unknown, then done, then z retried.
  harness full2{cfg};
  full2.start("y");
  full2.step(0, 1, done);
  full2.step(1, 1, done);
  full2.step(2, 1, unknown);
  full2.fire();
  full2.step(2, 2, done);
  full2.step(3, 1, not_executed);
  full2.fire();
  full2.step(3, 2, done);
  for (auto* history : {&full.log, &full2.log}) {
    for (std::size_t k = 1; k <= history->size(); ++k) {
      CAPTURE(k);
      harness h{cfg};
      h.log.assign(history->begin(), history->begin() + k);
      h.crash_and_resume();
      // Drive to the end: every try done, every timer fired.
      for (int guard = 0; !h.core->finished() && guard < 50; ++guard) {
        if (h.core->outstanding()) {
          auto& last = h.log.back();
          REQUIRE((last.kind == kind::step_started
                   || last.kind == kind::compensation_started));
          if (last.kind == kind::step_started)
            h.step(last.step, last.attempt, done);
          else
            h.comp(last.step, last.attempt, done);
        } else {
          h.fire();
        }
      }
      REQUIRE(h.core->finished());
      // Exactly one finished record, and the whole log restores cleanly.
      int finished = 0;
      for (auto& r : h.log)
        finished += r.kind == kind::finished;
      CHECK(finished == 1);
      saga_core again{cfg, 1};
      for (auto& r : h.log) {
        std::string error;
        REQUIRE(again.restore(r, error));
      }
      CHECK(again.outcome() == h.outcome());
      // The prefix decided the direction: once a compensation started, it
      // ends compensated; once the pivot may have run, never compensated.
      bool compensating = false;
      bool pivot_maybe = false;
      for (std::size_t i = 0; i < k; ++i) {
        auto& r = (*history)[i];
        compensating = compensating || r.kind == kind::compensation_started;
        pivot_maybe =
          pivot_maybe || (r.kind == kind::step_started && r.step == 2);
      }
      if (compensating)
        CHECK(h.outcome().status == saga_status::compensated);
      if (pivot_maybe) {
        CHECK(h.outcome().status == saga_status::completed);
        for (auto& r : h.log)
          CHECK(r.kind != kind::compensation_started);
      }
    }
  }
}

TEST_CASE("restore refuses records that cannot follow the ones before, and "
          "accepts a finished record alone",
          "[runtime][saga][core]") {
  auto cfg = make_config({"a", "b"});
  std::string error;
  {
    saga_core c{cfg, 1};
    saga_record r;
    r.kind = kind::step_started;
    CHECK_FALSE(c.restore(r, error));
    CHECK(error
          == "step_started record of step \"a\" try 0 does not follow the "
             "records before it (phase idle)");
  }
  {
    saga_core c{cfg, 1};
    saga_record s;
    s.kind = kind::started;
    REQUIRE(c.restore(s, error));
    saga_record r;
    r.kind = kind::step_started;
    r.step = 1;
    r.attempt = 1;
    CHECK_FALSE(c.restore(r, error)); // step b before step a
    r.step = 0;
    r.attempt = 2;
    CHECK_FALSE(c.restore(r, error)); // try 2 before try 1
    r.attempt = 1;
    CHECK(c.restore(r, error));
    saga_record f;
    f.kind = kind::finished;
    f.outcome.status = saga_status::completed;
    CHECK_FALSE(c.restore(f, error));
    CHECK(error
          == "a finished record (completed) where the records before it do "
             "not end the saga that way (phase forward)");
    CHECK_FALSE(c.restore(s, error));
    CHECK(error == "a second started record");
  }
  {
    saga_core c{cfg, 1};
    saga_record f;
    f.kind = kind::finished;
    f.outcome.status = saga_status::compensated;
    f.outcome.failed_step = "a";
    REQUIRE(c.restore(f, error));
    CHECK(c.finished());
    CHECK(c.outcome() == f.outcome);
    saga_core::action_list out;
    c.resume(time_point{}, out);
    CHECK(out.empty());
  }
}

// -- the property test --------------------------------------------------------

namespace {

/// A downstream that deduplicates by key (the step's key is executed at most
/// once, like a keyed dependency) and the truth of what happened, hidden
/// from the saga.
struct truth {
  std::vector<bool> executed;
  std::vector<bool> compensated;
};

struct pending_verdict {
  bool compensation = false;
  std::uint32_t step = 0;
  std::uint32_t attempt = 0;
  saga_verdict verdict = done;
  std::uint64_t incarnation = 0;
};

struct run_result {
  std::vector<saga_record> log;
  std::vector<saga_outcome> answers;
  truth downstream;
  int crashes = 0;
};

run_result random_run(const saga_config& cfg, rng& gen) {
  run_result res;
  auto n = cfg.steps.size();
  res.downstream.executed.assign(n, false);
  res.downstream.compensated.assign(n, false);
  time_point now = time_point{} + hours(1);
  std::optional<saga_core> core;
  core.emplace(cfg, gen());
  std::uint64_t incarnation = 0;
  std::vector<pending_verdict> pending;
  std::optional<saga_action> timer;
  bool crash_now = false;
  auto take = [&](const saga_core::action_list& out) {
    for (auto& a : out) {
      // A crash between any two actions: what was logged stays.
      if (res.crashes < 6 && gen.below(40) == 0) {
        crash_now = true;
        return;
      }
      switch (a.kind) {
        case act::log:
          res.log.push_back(a.record);
          break;
        case act::run_step:
        case act::run_compensation: {
          bool comp = a.kind == act::run_compensation;
          // What the downstream does: it runs or not, and answers or not.
          auto roll = gen.below(10);
          bool runs = roll < 6;
          if (comp && roll >= 4 && roll < 6)
            runs = false; // compensations fail more often
          if (runs)
            (comp ? res.downstream.compensated
                  : res.downstream.executed)[a.step] = true;
          saga_verdict v = runs ? done : unknown;
          if (!runs && gen.below(2) == 0)
            v = not_executed;
          else if (runs && gen.below(5) == 0)
            v = unknown; // ran, answer lost
          if (gen.below(8) != 0) // else it hangs: the timeout decides
            pending.push_back({comp, a.step, a.attempt, v, incarnation});
          break;
        }
        case act::set_timer:
          timer = a;
          break;
        case act::finish:
          res.answers.push_back(core->outcome());
          break;
      }
    }
  };
  saga_core::action_list out;
  core->start("input", now, out);
  take(out);
  for (int guard = 0; guard < 100000; ++guard) {
    if (crash_now) {
      crash_now = false;
      ++res.crashes;
      ++incarnation;
      core.emplace(cfg, gen());
      timer.reset();
      pending.clear(); // the process and its callbacks are gone
      for (auto& r : res.log) {
        std::string error;
        REQUIRE(core->restore(r, error));
      }
      out.clear();
      if (res.log.empty())
        core->start("input", now, out); // never began: the client re-sends
      else
        core->resume(now, out);
      take(out);
      continue;
    }
    if (core->finished())
      break;
    out.clear();
    if (!pending.empty() && gen.below(4) != 0) {
      auto i = gen.below(pending.size());
      auto p = pending[i];
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      if (p.compensation)
        core->on_compensation_result(p.step, p.attempt, p.verdict, "", now,
                                     out);
      else
        core->on_step_result(p.step, p.attempt, p.verdict, "", now, out);
    } else if (timer) {
      auto t = *timer;
      timer.reset();
      now = std::max(now, t.at);
      core->on_timer(t.timer, now, out);
    } else {
      std::ostringstream trace;
      for (auto& r : res.log)
        trace << show(cfg, r) << "\n";
      FAIL("a saga that is not finished has nothing to wait for:\n"
           << trace.str());
    }
    take(out);
  }
  REQUIRE(core->finished());
  return res;
}

} // namespace

TEST_CASE("randomized: thousands of sagas with random verdicts, hangs and "
          "crashes end once, never compensate past a pivot that may have run, "
          "and compensate everything that may have run otherwise",
          "[runtime][saga][core][property]") {
  auto* env = std::getenv("BULWARK_SEED");
  std::uint64_t first = env != nullptr ? std::stoull(env) : 1;
  std::uint64_t last = env != nullptr ? first : 3000;
  std::map<saga_status, int> seen;
  for (auto seed = first; seed <= last; ++seed) {
    INFO("seed " << seed << " (replay with BULWARK_SEED=" << seed << ")");
    rng gen{seed};
    // 1-5 steps, a pivot somewhere or none.
    auto n = 1 + gen.below(5);
    auto pivot = gen.below(n + 1);
    std::vector<std::string> names;
    for (std::uint64_t i = 0; i < n; ++i)
      names.push_back("s" + std::to_string(i) + (i >= pivot ? "!" : ""));
    auto cfg = make_config(names, 1 + static_cast<std::uint32_t>(gen.below(4)),
                           1 + static_cast<std::uint32_t>(gen.below(4)));
    auto res = random_run(cfg, gen);
    std::ostringstream trace;
    for (auto& r : res.log)
      trace << show(cfg, r) << "\n";
    INFO(trace.str());
    // Exactly one final outcome, answered the same every time.
    int finished = 0;
    const saga_outcome* final_outcome = nullptr;
    for (auto& r : res.log)
      if (r.kind == kind::finished) {
        ++finished;
        final_outcome = &r.outcome;
      }
    REQUIRE(finished == 1);
    REQUIRE(res.log.back().kind == kind::finished);
    for (auto& a : res.answers)
      CHECK(a == *final_outcome);
    auto status = final_outcome->status;
    ++seen[status];
    // Which steps may have executed, as the log shows it: a started try
    // whose result is not `not_executed` (no result: a crash, unknown).
    std::vector<bool> maybe(n, false);
    std::vector<std::uint32_t> tries(n, 0);
    std::vector<std::uint32_t> comp_tries(n, 0);
    std::vector<bool> comp_done(n, false);
    bool pivot_maybe = false;
    bool compensation_after_pivot = false;
    bool any_compensation = false;
    for (std::size_t i = 0; i < res.log.size(); ++i) {
      auto& r = res.log[i];
      if (r.kind == kind::step_started) {
        ++tries[r.step];
        bool has_not_executed = i + 1 < res.log.size()
                                && res.log[i + 1].kind == kind::step_result
                                && res.log[i + 1].verdict == not_executed;
        if (!has_not_executed) {
          maybe[r.step] = true;
          if (!cfg.steps[r.step].compensable)
            pivot_maybe = true;
        }
      }
      if (r.kind == kind::compensation_started) {
        any_compensation = true;
        ++comp_tries[r.step];
        compensation_after_pivot = compensation_after_pivot || pivot_maybe;
      }
      if (r.kind == kind::compensation_result && r.verdict == done)
        comp_done[r.step] = true;
    }
    // A non-compensable step that may have executed is never followed by
    // a compensation.
    CHECK_FALSE(compensation_after_pivot);
    if (pivot_maybe)
      CHECK((status == saga_status::completed || status == saga_status::stuck));
    // Once compensating, it ends compensated or compensation_failed.
    if (any_compensation)
      CHECK((status == saga_status::compensated
             || status == saga_status::compensation_failed));
    // Compensated: every compensable step that may have executed (as logged,
    // and in truth) was compensated at least once.
    if (status == saga_status::compensated) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!cfg.steps[i].compensable)
          continue;
        if (maybe[i])
          CHECK(comp_done[i]);
        if (res.downstream.executed[i])
          CHECK(res.downstream.compensated[i]);
      }
    }
    if (status == saga_status::completed) {
      CHECK_FALSE(any_compensation);
      for (std::size_t i = 0; i < n; ++i)
        CHECK(res.downstream.executed[i]);
      CHECK(final_outcome->steps.size() == n);
    }
    if (status == saga_status::compensation_failed)
      CHECK_FALSE(final_outcome->failed_compensation.empty());
    if (status == saga_status::stuck)
      CHECK_FALSE(final_outcome->failed_step.empty());
    // Bounded tries, crashes included.
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(tries[i]
            <= (cfg.steps[i].compensable ? 1u : cfg.steps[i].max_tries));
      CHECK(comp_tries[i] <= cfg.max_compensation_tries);
    }
  }
  // The runs covered every ending.
  if (env == nullptr) {
    CHECK(seen[saga_status::completed] > 0);
    CHECK(seen[saga_status::compensated] > 0);
    CHECK(seen[saga_status::compensation_failed] > 0);
    CHECK(seen[saga_status::stuck] > 0);
  }
}
