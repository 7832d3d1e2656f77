// The saga coordinator under CAF's test scheduler (virtual time): the happy
// path, each rule through the actor, re-sent ids, resume after a "crash" at
// many points, a torn log, compaction and retention, the bounds, and a
// seeded randomized run with many sagas, random downstream behaviour and
// random restarts, checked against a keyed downstream that counts executions
// per key. BULWARK_SEED=N replays seed N of the randomized test.
#include "bulwark/actors/saga/saga_coordinator.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bulwark/actors/saga/saga_log.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

// -- a keyed downstream that counts executions --------------------------------

/// What the downstream does with one call (a key it has not executed yet).
struct plan {
  enum answer_kind { ok, fail, hang };
  /// The side effect runs (and the answer is recorded for the key).
  bool execute = true;
  answer_kind answer = ok;
  failure_class cls = failure_class::transient;
  std::uint32_t attempts = 1;
  std::string payload;
};

plan refused_before_sending() {
  return plan{false, plan::fail, failure_class::rejected_locally, 0, {}};
}
plan failed_after_effect() {
  return plan{true, plan::fail, failure_class::transient, 1, {}};
}
plan failed_without_effect() {
  return plan{false, plan::fail, failure_class::transient, 1, {}};
}
plan hangs(bool execute) {
  return plan{execute, plan::hang, failure_class::transient, 1, {}};
}

/// A service whose operations are keyed: the first call of a key decides
/// (by `planner`) and, if it executed, its answer is recorded and every
/// later call of the key gets it without executing again — the idempotency
/// ledger of a real service. Compensations are keys too.
struct downstream_model {
  std::function<plan(const call_request&, int call_number)> planner;
  std::map<std::string, int> executions;
  std::map<std::string, call_reply> recorded;
  /// "operation key" per call, in arrival order.
  std::vector<std::string> calls;
  std::vector<
    std::pair<caf::typed_response_promise<reply_atom, call_reply>, call_reply>>
    held;

  /// Tries whose action ran before the saga log held the record that
  /// announces them (must stay empty).
  std::vector<std::string> unannounced;

  int calls_of(const std::string& op) const {
    int n = 0;
    for (auto& c : calls)
      n += c.rfind(op + " ", 0) == 0;
    return n;
  }

  bool executed(const std::string& key) const {
    auto i = executions.find(key);
    return i != executions.end() && i->second > 0;
  }
};

using model_ptr = std::shared_ptr<downstream_model>;

caf::behavior downstream_actor(caf::event_based_actor* self, model_ptr m) {
  return {
    [self, m](call_atom,
              call_request& req) -> caf::result<reply_atom, call_reply> {
      m->calls.push_back(req.operation + " " + req.idempotency_key);
      auto& key = req.idempotency_key;
      if (auto i = m->recorded.find(key); i != m->recorded.end()) {
        auto r = i->second;
        r.id = req.id;
        return {reply_atom::value, std::move(r)};
      }
      auto p = m->planner ? m->planner(req, static_cast<int>(m->calls.size()))
                          : plan{};
      call_reply r;
      r.id = req.id;
      r.attempts = p.attempts;
      if (p.answer == plan::fail) {
        r.cls = p.cls;
        r.message = "planned failure of " + req.operation;
      } else {
        r.ok = true;
        r.payload = p.payload.empty() ? req.operation + ":" + key : p.payload;
      }
      if (p.execute) {
        ++m->executions[key];
        m->recorded[key] = r;
      }
      if (p.answer == plan::hang) {
        if (!p.execute) {
          // Answered late, if ever: it did not run, but says so no better
          // than a timeout would.
          r.ok = false;
          r.payload.clear();
          r.cls = failure_class::timeout;
          r.message = "late timeout of " + req.operation;
        }
        auto rp = self->make_response_promise<reply_atom, call_reply>();
        m->held.emplace_back(rp, r);
        return rp;
      }
      return {reply_atom::value, std::move(r)};
    },
    // Answers every held call (as planned, had it not hung).
    [m](deliver_atom) {
      auto held = std::move(m->held);
      m->held.clear();
      for (auto& [rp, r] : held)
        rp.deliver(reply_atom::value, r);
    },
  };
}

// -- the saga under test ------------------------------------------------------

std::string key_of(const saga_step_call& c) {
  return c.saga_id + "/" + c.step;
}

/// Checks, when a try's action runs, that the log file already holds the
/// record announcing exactly this try (appended before acting).
void check_announced(downstream_model& m, const std::string& path,
                     const saga_step_call& c, bool compensation) {
  auto line = "{\"saga\":\"" + c.saga_id + "\",\"event\":\""
              + (compensation ? "compensation_started" : "step_started")
              + "\",\"step\":\"" + c.step
              + "\",\"try\":" + std::to_string(c.attempt) + "}\n";
  if (read_file(path).find(line) == std::string::npos)
    m.unannounced.push_back(line);
}

saga_coordinator_options options_for(const saga_config& cfg,
                                     const caf::actor& dep,
                                     const std::string& path,
                                     const model_ptr& model) {
  saga_coordinator_options opts;
  opts.config = cfg;
  opts.log_path = path;
  opts.seed = 42;
  for (auto& s : cfg.steps) {
    saga_step_functions fns;
    auto op = s.name;
    fns.action = [dep, op, path, model](saga_coordinator_actor::pointer self,
                                        const saga_step_call& c,
                                        saga_done done) {
      check_announced(*model, path, c, false);
      call_request req;
      req.operation = op;
      req.payload = c.input;
      req.idempotency_key = key_of(c);
      saga_call(self, dep, std::move(req), std::move(done));
    };
    if (s.compensable)
      fns.compensation = [dep, op, path,
                          model](saga_coordinator_actor::pointer self,
                                 const saga_step_call& c, saga_done done) {
        check_announced(*model, path, c, true);
        call_request req;
        req.operation = "undo-" + op;
        // The step's own result, when it was done (e.g. what to refund).
        req.payload = c.results[c.step_index];
        req.idempotency_key = key_of(c) + "/undo";
        saga_call(self, dep, std::move(req), std::move(done));
      };
    opts.steps.push_back(std::move(fns));
  }
  return opts;
}

saga_config checkout_config() {
  saga_config cfg;
  cfg.steps = {
    {"reserve", true, 1}, {"charge", true, 1}, {"confirm", false, 3}};
  cfg.step_timeout = seconds(1);
  cfg.max_compensation_tries = 3;
  cfg.forward_backoff = {backoff_kind::constant, jitter_kind::none,
                         milliseconds(100), 1.0, milliseconds(100)};
  cfg.compensation_backoff = cfg.forward_backoff;
  return cfg;
}

struct saga_fixture : deterministic_fixture {
  temp_dir dir;
  std::string path = dir.file("sagas.log");
  model_ptr model = std::make_shared<downstream_model>();
  caf::actor dep = sys.spawn(downstream_actor, model);
  saga_config cfg = checkout_config();
  saga_coordinator_actor coord;
  probe p = make_probe();

  ~saga_fixture() override {
    model->held.clear();
    if (coord)
      caf::anon_send_exit(coord, caf::exit_reason::kill);
    caf::anon_send_exit(dep, caf::exit_reason::kill);
    run();
  }

  /// A fresh downstream (and model) for the next run of a test loop.
  void replace_downstream() {
    model->held.clear();
    caf::anon_send_exit(dep, caf::exit_reason::kill);
    run();
    model = std::make_shared<downstream_model>();
    dep = sys.spawn(downstream_actor, model);
  }

  void spawn() {
    coord = spawn_saga_coordinator(sys, options_for(cfg, dep, path, model));
    run();
  }

  /// The process died: the actor goes, the file stays.
  void kill() {
    caf::anon_send_exit(coord, caf::exit_reason::kill);
    coord = nullptr;
    run();
  }

  void start(const std::string& id, const std::string& input = "in") {
    p.request<saga_reply>(coord, caf::infinite, saga_atom::value, id, input);
    run();
  }

  /// Every saga_reply the probe got, in order.
  std::vector<saga_reply> replies() const {
    std::vector<saga_reply> out;
    for (auto& [r] : p.collect<saga_reply>())
      out.push_back(r);
    return out;
  }

  std::optional<saga_reply> last_reply_for(const std::string& id) const {
    std::optional<saga_reply> out;
    for (auto& r : replies())
      if (r.saga_id == id)
        out = r;
    return out;
  }

  saga_reply query(const std::string& id) {
    auto before = replies().size();
    p.request<saga_reply>(coord, caf::infinite, saga_query_atom::value, id);
    run();
    auto all = replies();
    REQUIRE(all.size() == before + 1);
    return all.back();
  }

  saga_stats stats() {
    p.request<saga_stats>(coord, caf::infinite, stats_atom::value);
    run();
    auto all = p.collect<saga_stats>();
    REQUIRE_FALSE(all.empty());
    return std::get<0>(all.back());
  }

  /// Lets virtual time pass in steps (timeouts, backoffs) until nothing runs.
  void settle(int rounds = 100) {
    for (int i = 0; i < rounds; ++i)
      advance_time(milliseconds(250));
  }

  std::vector<std::string> log_lines() const {
    std::vector<std::string> out;
    std::istringstream in{read_file(path)};
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

  std::vector<std::string> undo_calls() const {
    std::vector<std::string> out;
    for (auto& c : model->calls)
      if (c.rfind("undo-", 0) == 0)
        out.push_back(c);
    return out;
  }
};

/// The invariants of one finished saga against what the downstream did.
void check_invariants(const downstream_model& m, const saga_config& cfg,
                      const std::string& id, const saga_outcome& o) {
  INFO("saga " << id << " ended " << to_string(o.status) << ": " << o.failure);
  for (auto& [key, n] : m.executions)
    CHECK(n <= 1); // keyed: nothing runs twice
  // Every call was announced in the log before it was made.
  CHECK(m.unannounced.empty());
  auto pivot = cfg.pivot();
  auto executed = [&](std::size_t i) {
    return m.executed(id + "/" + cfg.steps[i].name);
  };
  auto undone = [&](std::size_t i) {
    return m.executed(id + "/" + cfg.steps[i].name + "/undo");
  };
  switch (o.status) {
    case saga_status::completed:
      for (std::size_t i = 0; i < cfg.steps.size(); ++i) {
        CHECK(executed(i));
        CHECK_FALSE(undone(i));
      }
      CHECK(o.steps.size() == cfg.steps.size());
      break;
    case saga_status::compensated:
      for (std::size_t i = 0; i < cfg.steps.size(); ++i) {
        if (i >= pivot)
          CHECK_FALSE(executed(i)); // a pivot that ran is never compensated
        else if (executed(i))
          CHECK(undone(i));
      }
      break;
    case saga_status::stuck:
      for (std::size_t i = 0; i < pivot; ++i)
        CHECK_FALSE(undone(i));
      CHECK_FALSE(o.failed_step.empty());
      break;
    case saga_status::compensation_failed:
      CHECK_FALSE(o.failed_compensation.empty());
      for (std::size_t i = pivot; i < cfg.steps.size(); ++i)
        CHECK_FALSE(executed(i));
      break;
    case saga_status::running:
      FAIL("saga " << id << " did not finish");
  }
}

} // namespace

// -- the happy path -----------------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "a saga whose steps all succeed completes, each step called "
                 "once with its key, every record synced before it acts",
                 "[actors][saga]") {
  spawn();
  start("o-1", "{\"sku\":\"s\"}");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->refused == saga_refusal::none);
  CHECK_FALSE(r->duplicate);
  CHECK(r->outcome.status == saga_status::completed);
  CHECK(r->outcome.steps
        == std::vector<saga_step_data>{{"reserve", "reserve:o-1/reserve"},
                                       {"charge", "charge:o-1/charge"},
                                       {"confirm", "confirm:o-1/confirm"}});
  CHECK(model->calls
        == std::vector<std::string>{"reserve o-1/reserve", "charge o-1/charge",
                                    "confirm o-1/confirm"});
  auto lines = log_lines();
  REQUIRE(lines.size() == 8);
  CHECK(lines[0]
        == R"({"saga":"o-1","event":"started","input":"{\"sku\":\"s\"}"})");
  CHECK(lines[1]
        == R"({"saga":"o-1","event":"step_started","step":"reserve",)"
           R"("try":1})");
  CHECK(lines[7].find(R"("event":"finished","outcome":{"status":"completed")")
        != std::string::npos);
  auto s = stats();
  CHECK(s.started == 1);
  CHECK(s.completed == 1);
  CHECK(s.step_tries == 3);
  CHECK(s.running == 0);
  CHECK(s.retained == 1);
  // Each write carries the record that announces the next action: 4 syncs
  // for 8 records.
  CHECK(s.log_records == 8);
  CHECK(s.log_writes == 4);
  check_invariants(*model, cfg, "o-1", r->outcome);
}

// -- each rule through the actor ----------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "a compensable step refused before sending compensates the "
                 "steps before it, not itself",
                 "[actors][saga]") {
  model->planner = [](const call_request& req, int) {
    return req.operation == "charge" ? refused_before_sending() : plan{};
  };
  spawn();
  start("o-1");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::compensated);
  CHECK(r->outcome.failed_step == "charge");
  CHECK(r->outcome.compensations
        == std::vector<saga_step_data>{
          {"reserve", "undo-reserve:o-1/reserve/undo"}});
  CHECK(undo_calls()
        == std::vector<std::string>{"undo-reserve o-1/reserve/undo"});
  // The compensation got the step's result to undo.
  check_invariants(*model, cfg, "o-1", r->outcome);
}

TEST_CASE_METHOD(saga_fixture,
                 "a compensable step that may have executed is compensated "
                 "itself, then the steps before it",
                 "[actors][saga]") {
  model->planner = [](const call_request& req, int) {
    return req.operation == "charge" ? failed_after_effect() : plan{};
  };
  spawn();
  start("o-1");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::compensated);
  CHECK(undo_calls()
        == std::vector<std::string>{"undo-charge o-1/charge/undo",
                                    "undo-reserve o-1/reserve/undo"});
  CHECK(model->executed("o-1/charge"));
  check_invariants(*model, cfg, "o-1", r->outcome);
}

TEST_CASE_METHOD(saga_fixture,
                 "a pivot refused before sending compensates every earlier "
                 "step",
                 "[actors][saga]") {
  model->planner = [](const call_request& req, int) {
    return req.operation == "confirm" ? refused_before_sending() : plan{};
  };
  spawn();
  start("o-1");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::compensated);
  CHECK(r->outcome.failed_step == "confirm");
  CHECK(undo_calls()
        == std::vector<std::string>{"undo-charge o-1/charge/undo",
                                    "undo-reserve o-1/reserve/undo"});
  check_invariants(*model, cfg, "o-1", r->outcome);
}

TEST_CASE_METHOD(saga_fixture,
                 "a pivot without a verdict times out and is retried forward "
                 "with the same key until done, never compensated",
                 "[actors][saga]") {
  int confirms = 0;
  model->planner = [&confirms](const call_request& req, int) {
    if (req.operation == "confirm" && ++confirms == 1)
      return hangs(false);
    return plan{};
  };
  spawn();
  start("o-1");
  CHECK_FALSE(last_reply_for("o-1").has_value());
  advance_time(milliseconds(999));
  CHECK(model->calls_of("confirm") == 1);
  advance_time(milliseconds(1)); // step_timeout: unknown
  advance_time(milliseconds(100)); // forward backoff: try 2
  CHECK(model->calls_of("confirm") == 2);
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::completed);
  CHECK(undo_calls().empty());
  check_invariants(*model, cfg, "o-1", r->outcome);
}

TEST_CASE_METHOD(saga_fixture,
                 "a pivot that failed after its effect ends stuck after its "
                 "tries and is never compensated",
                 "[actors][saga]") {
  model->planner = [](const call_request& req, int) {
    return req.operation == "confirm" ? failed_after_effect() : plan{};
  };
  spawn();
  start("o-1");
  settle(10);
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::stuck);
  CHECK(r->outcome.failed_step == "confirm");
  CHECK(model->calls_of("confirm") == 3); // max_tries, same key each time
  CHECK(model->executions["o-1/confirm"] == 1);
  CHECK(undo_calls().empty());
  CHECK(stats().stuck == 1);
  check_invariants(*model, cfg, "o-1", r->outcome);
}

TEST_CASE_METHOD(saga_fixture,
                 "a failed compensation is retried after its delay; one that "
                 "keeps failing ends compensation_failed naming it, and the "
                 "compensations before it never run",
                 "[actors][saga]") {
  SECTION("retried, then done") {
    int undos = 0;
    model->planner = [&undos](const call_request& req, int) {
      if (req.operation == "charge")
        return failed_after_effect();
      if (req.operation == "undo-charge" && ++undos == 1)
        return failed_without_effect();
      return plan{};
    };
    spawn();
    start("o-1");
    CHECK(model->calls_of("undo-charge") == 1);
    advance_time(milliseconds(100));
    auto r = last_reply_for("o-1");
    REQUIRE(r.has_value());
    CHECK(r->outcome.status == saga_status::compensated);
    CHECK(model->calls_of("undo-charge") == 2);
    CHECK(model->calls_of("undo-reserve") == 1);
    check_invariants(*model, cfg, "o-1", r->outcome);
  }
  SECTION("given up") {
    model->planner = [](const call_request& req, int) {
      if (req.operation == "charge")
        return failed_after_effect();
      if (req.operation == "undo-charge")
        return failed_without_effect();
      return plan{};
    };
    spawn();
    start("o-1");
    settle(5);
    auto r = last_reply_for("o-1");
    REQUIRE(r.has_value());
    CHECK(r->outcome.status == saga_status::compensation_failed);
    CHECK(r->outcome.failed_compensation == "charge");
    CHECK(model->calls_of("undo-charge") == 3);
    CHECK(model->calls_of("undo-reserve") == 0);
    check_invariants(*model, cfg, "o-1", r->outcome);
  }
}

TEST_CASE_METHOD(saga_fixture,
                 "a step without a compensation function is undone at once, "
                 "and a result over max_data_bytes counts as unknown",
                 "[actors][saga]") {
  cfg.max_data_bytes = 40;
  model->planner = [](const call_request& req, int) {
    plan p;
    if (req.operation == "charge")
      p.payload = std::string(41, 'x');
    return p;
  };
  auto opts = options_for(cfg, dep, path, model);
  opts.steps[0].compensation = nullptr; // reserve: nothing to undo
  coord = spawn_saga_coordinator(sys, std::move(opts));
  run();
  start("o-1");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK(r->outcome.status == saga_status::compensated);
  CHECK(r->outcome.failure
        == "charge try 1: unknown: result data too large (41 bytes, at most "
           "40)");
  CHECK(undo_calls()
        == std::vector<std::string>{"undo-charge o-1/charge/undo"});
  CHECK(r->outcome.compensations.size() == 2);
  CHECK(stats().oversized_results == 1);
}

// -- re-sent ids --------------------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "a re-sent id joins the running saga and gets the same "
                 "outcome; once finished it gets the recorded outcome at once "
                 "and nothing runs",
                 "[actors][saga]") {
  int reserves = 0;
  model->planner = [&reserves](const call_request& req, int) {
    if (req.operation == "reserve" && ++reserves == 1)
      return hangs(true);
    return plan{};
  };
  spawn();
  start("o-1", "first");
  start("o-1", "second input is ignored");
  CHECK(replies().empty());
  caf::anon_send(dep, deliver_atom::value);
  run();
  auto all = replies();
  REQUIRE(all.size() == 2);
  CHECK(all[0].outcome == all[1].outcome);
  CHECK(all[0].outcome.status == saga_status::completed);
  CHECK(all[0].duplicate != all[1].duplicate);
  CHECK(model->calls.size() == 3);
  start("o-1");
  all = replies();
  REQUIRE(all.size() == 3);
  CHECK(all[2].duplicate);
  CHECK(all[2].outcome == all[0].outcome);
  CHECK(model->calls.size() == 3);
  CHECK(query("o-1").outcome == all[0].outcome);
  auto s = stats();
  CHECK(s.started == 1);
  CHECK(s.joined == 1);
  CHECK(s.answered_from_log == 1);
  // What the log says was the first input.
  CHECK(log_lines()[0].find("\"input\":\"first\"") != std::string::npos);
}

// -- resume after a crash -----------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "a coordinator killed at any call of a saga is finished by a "
                 "new one on the same log, without a client, by the same "
                 "rules",
                 "[actors][saga][resume]") {
  // Two histories: all steps succeed (calls: reserve, charge, confirm), or
  // the charge fails after its effect (reserve, charge, undo-charge,
  // undo-reserve). The first coordinator dies while call k hangs.
  for (bool charge_fails : {false, true}) {
    for (int k = 1; k <= (charge_fails ? 4 : 3); ++k) {
      for (bool effect : {false, true}) {
        INFO("charge fails: " << charge_fails << ", killed during call " << k
                              << ", its effect ran: " << effect);
        temp_dir d;
        path = d.file("sagas.log");
        replace_downstream();
        bool crashing = true;
        model->planner = [&crashing, k, effect,
                          charge_fails](const call_request& req, int n) {
          if (crashing && n == k)
            return hangs(effect);
          if (charge_fails && req.operation == "charge")
            return failed_after_effect();
          return plan{};
        };
        spawn();
        start("o-1");
        CHECK(model->calls.size() == static_cast<std::size_t>(k));
        kill();
        // The waiting client was told, not left hanging.
        auto told = last_reply_for("o-1");
        REQUIRE(told.has_value());
        CHECK(told->refused == saga_refusal::stopped);
        crashing = false;
        p.clear();
        spawn(); // resumes at once
        settle(10);
        auto q = query("o-1");
        REQUIRE(q.refused == saga_refusal::none);
        auto& o = q.outcome;
        check_invariants(*model, cfg, "o-1", o);
        // A call in flight at the crash is `unknown`: a compensable step is
        // compensated, the pivot retried forward.
        auto in_flight = model->calls.at(static_cast<std::size_t>(k - 1));
        if (!charge_fails && k == 3) {
          CHECK(o.status == saga_status::completed);
        } else {
          CHECK(o.status == saga_status::compensated);
          auto op = in_flight.substr(0, in_flight.find(' '));
          if (op == "reserve" || op == "charge")
            CHECK(model->calls_of("undo-" + op) >= 1);
        }
        // A re-sent id gets that outcome.
        start("o-1");
        auto again = last_reply_for("o-1");
        REQUIRE(again.has_value());
        CHECK(again->outcome == o);
        CHECK(again->duplicate);
        CHECK(stats().resumed == 1);
        kill();
        p.clear();
      }
    }
  }
}

TEST_CASE_METHOD(saga_fixture,
                 "a torn last record is dropped at start and the saga goes on "
                 "from the records before it",
                 "[actors][saga][resume]") {
  saga_log_entry started{"o-1", {}};
  started.record.kind = saga_record_kind::started;
  started.record.data = "in";
  saga_log_entry step{"o-1", {}};
  step.record.kind = saga_record_kind::step_started;
  step.record.attempt = 1;
  auto torn = encode_saga_log_entry(cfg, step);
  write_file(path, encode_saga_log_entry(cfg, started) + "\n"
                     + encode_saga_log_entry(cfg, step) + "\n"
                     + torn.substr(0, 20));
  spawn();
  settle(5);
  // reserve #1 was started, never recorded as ended: unknown, compensated.
  auto q = query("o-1");
  CHECK(q.outcome.status == saga_status::compensated);
  CHECK(q.outcome.failure
        == "reserve try 1: unknown: interrupted: no verdict was recorded "
           "before a restart");
  CHECK(model->calls
        == std::vector<std::string>{"undo-reserve o-1/reserve/undo"});
  CHECK(stats().resumed == 1);
}

TEST_CASE_METHOD(saga_fixture,
                 "a coordinator refuses a log whose records do not follow "
                 "each other, naming the line",
                 "[actors][saga][resume]") {
  saga_log_entry started{"o-1", {}};
  started.record.kind = saga_record_kind::started;
  saga_log_entry result{"o-1", {}};
  result.record.kind = saga_record_kind::step_result;
  result.record.attempt = 1;
  write_file(path, encode_saga_log_entry(cfg, started) + "\n"
                     + encode_saga_log_entry(cfg, result) + "\n");
  CHECK_THROWS_WITH(
    spawn_saga_coordinator(sys, options_for(cfg, dep, path, model)),
    "saga log " + path
      + ":2: saga \"o-1\": step_result record of step "
        "\"reserve\" try 1 does not follow the records "
        "before it (phase forward)");
}

// -- compaction and retention -------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "at open the log is compacted to one record per finished "
                 "saga, the newest retain_finished are kept, and a forgotten "
                 "id runs again",
                 "[actors][saga][compaction]") {
  cfg.retain_finished = 3;
  spawn();
  for (int i = 1; i <= 5; ++i)
    start("o-" + std::to_string(i));
  CHECK(log_lines().size() == 40);
  auto before = replies();
  REQUIRE(before.size() == 5);
  CHECK(stats().forgotten == 2); // o-1, o-2, while running
  CHECK(query("o-1").refused == saga_refusal::unknown_id);
  kill();
  spawn();
  auto lines = log_lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("\"saga\":\"o-3\",\"event\":\"finished\"")
        != std::string::npos);
  CHECK(lines[2].find("\"saga\":\"o-5\"") != std::string::npos);
  auto s = stats();
  CHECK(s.compactions == 1);
  CHECK(s.retained == 3);
  CHECK(query("o-5").outcome == before[4].outcome);
  // o-1 is forgotten: it runs again (its keys were executed already, so the
  // keyed downstream answers with the recorded results and nothing runs
  // twice).
  auto calls = model->calls.size();
  start("o-1");
  auto r = last_reply_for("o-1");
  REQUIRE(r.has_value());
  CHECK_FALSE(r->duplicate);
  CHECK(r->outcome.status == saga_status::completed);
  CHECK(model->calls.size() == calls + 3);
  CHECK(model->executions["o-1/reserve"] == 1);
  CHECK(stats().started == 1);
}

TEST_CASE_METHOD(saga_fixture,
                 "a running coordinator compacts its log after compact_after "
                 "records and keeps the sagas in flight whole",
                 "[actors][saga][compaction]") {
  cfg.compact_after = 10;
  int reserves = 0;
  model->planner = [&reserves](const call_request& req, int) {
    if (req.operation == "reserve" && ++reserves == 1)
      return hangs(true); // o-0 stays in flight
    return plan{};
  };
  spawn();
  for (int i = 0; i < 4; ++i)
    start("o-" + std::to_string(i));
  auto s = stats();
  CHECK(s.compactions >= 1);
  // Finished sagas are one line each now; o-0's two records are whole.
  auto lines = log_lines();
  CHECK(lines.size() < 26);
  kill();
  spawn(); // o-0: reserve in flight -> compensated
  settle(5);
  CHECK(query("o-0").outcome.status == saga_status::compensated);
  for (int i = 1; i < 4; ++i)
    CHECK(query("o-" + std::to_string(i)).outcome.status
          == saga_status::completed);
}

// -- bounds -------------------------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "ids, inputs and the running bound are checked at the edge: "
                 "refused at once with a clear error, nothing logged",
                 "[actors][saga][bounds]") {
  cfg.max_running = 1;
  cfg.max_id_bytes = 8;
  cfg.max_input_bytes = 10;
  model->planner = [](const call_request&, int) { return hangs(false); };
  spawn();
  start("o-1");
  auto size = read_file(path).size();
  struct row {
    std::string id;
    std::string input;
    saga_refusal why;
    std::string error;
  };
  std::vector<row> rows = {
    {"o-2", "x", saga_refusal::busy,
     "busy: 1 sagas running (max_running); try again later"},
    {"", "x", saga_refusal::invalid_id, "saga id is empty"},
    {"123456789", "x", saga_refusal::invalid_id,
     "saga id longer than 8 bytes (got 9 bytes)"},
    {std::string{"a\0b", 3}, "x", saga_refusal::invalid_id,
     "saga id contains a NUL (0x00) at byte 1; allowed: visible ASCII "
     "0x21-0x7E"},
    {"a\nb", "x", saga_refusal::invalid_id,
     "saga id contains a LF (0x0A) at byte 1; allowed: visible ASCII "
     "0x21-0x7E"},
    {"a b", "x", saga_refusal::invalid_id,
     "saga id contains a space (0x20) at byte 1; allowed: visible ASCII "
     "0x21-0x7E"},
    {"caf\xc3\xa9", "x", saga_refusal::invalid_id,
     "saga id contains a non-ASCII byte (0xC3) at byte 3; allowed: "
     "visible ASCII 0x21-0x7E"},
    {"o-3", "12345678901", saga_refusal::input_too_large,
     "saga input is 11 bytes, at most 10 are allowed"},
  };
  for (auto& r : rows) {
    CAPTURE(r.id);
    p.clear();
    start(r.id, r.input);
    auto all = replies();
    REQUIRE(all.size() == 1);
    CHECK(all[0].refused == r.why);
    CHECK(all[0].error == r.error);
    // A refused id is never echoed back.
    CHECK(all[0].saga_id == (r.why == saga_refusal::invalid_id ? "" : r.id));
  }
  CHECK(read_file(path).size() == size);
  auto s = stats();
  CHECK(s.refused_busy == 1);
  CHECK(s.refused_invalid_id == 6);
  CHECK(s.refused_input_too_large == 1);
  CHECK(s.running == 1);
  p.clear();
  CHECK(query("o-9").refused == saga_refusal::unknown_id);
  CHECK(query("o-1").outcome.status == saga_status::running);
}

TEST_CASE_METHOD(saga_fixture, "spawning refuses options that cannot work",
                 "[actors][saga][bounds]") {
  auto opts = options_for(cfg, dep, path, model);
  opts.steps.pop_back();
  CHECK_THROWS_WITH(spawn_saga_coordinator(sys, opts),
                    "saga coordinator: 2 step functions for 3 steps");
  opts = options_for(cfg, dep, path, model);
  opts.steps[2].compensation = opts.steps[0].compensation;
  CHECK_THROWS_WITH(spawn_saga_coordinator(sys, opts),
                    "saga coordinator: step \"confirm\" is not compensable "
                    "but has a compensation");
  opts = options_for(cfg, dep, path, model);
  opts.config.steps.clear();
  opts.steps.clear();
  CHECK_THROWS_WITH(spawn_saga_coordinator(sys, opts),
                    "saga coordinator: invalid config:\n/steps: must list at "
                    "least one step\n");
  opts = options_for(cfg, dep, path, model);
  {
    auto first = spawn_saga_coordinator(sys, opts);
    CHECK_THROWS_AS(spawn_saga_coordinator(sys, opts), saga_log_error);
    caf::anon_send_exit(first, caf::exit_reason::kill);
    run();
  }
}

TEST_CASE("the common verdict mapping tells refused-before-sending from "
          "may-have-run",
          "[actors][saga]") {
  call_reply r;
  r.ok = true;
  CHECK(verdict_of(r) == saga_verdict::done);
  r.ok = false;
  r.cls = failure_class::rejected_locally;
  r.attempts = 0;
  CHECK(verdict_of(r) == saga_verdict::not_executed);
  r.attempts = 2; // a retry was refused after an attempt went out
  CHECK(verdict_of(r) == saga_verdict::unknown);
  r.cls = failure_class::timeout;
  r.attempts = 0;
  CHECK(verdict_of(r) == saga_verdict::unknown);
}

// -- randomized ---------------------------------------------------------------

TEST_CASE_METHOD(saga_fixture,
                 "randomized: many sagas with random downstream behaviour, "
                 "re-sent ids and restarts all end once, consistently with "
                 "what the downstream executed",
                 "[actors][saga][property]") {
  auto* env = std::getenv("BULWARK_SEED");
  std::uint64_t first = env != nullptr ? std::stoull(env) : 1;
  std::uint64_t last = env != nullptr ? first : 25;
  cfg.steps = {
    {"a", true, 1}, {"b", true, 1}, {"p", false, 3}, {"z", false, 2}};
  cfg.max_compensation_tries = 4;
  std::map<saga_status, int> seen;
  for (auto seed = first; seed <= last; ++seed) {
    INFO("seed " << seed << " (replay with BULWARK_SEED=" << seed << ")");
    rng gen{seed};
    temp_dir d;
    path = d.file("sagas.log");
    replace_downstream();
    model->planner = [&gen](const call_request& req, int) {
      auto roll = gen.below(100);
      bool undo = req.operation.rfind("undo-", 0) == 0;
      if (roll < 55)
        return plan{};
      if (roll < 65)
        return refused_before_sending();
      if (roll < 75)
        return failed_without_effect();
      if (roll < 82 && !undo)
        return failed_after_effect();
      return hangs(gen.below(2) == 0);
    };
    cfg.compact_after = static_cast<std::uint32_t>(gen.below(2) * 50);
    spawn();
    constexpr int sagas = 30;
    std::map<std::string, std::vector<saga_outcome>> outcomes;
    int restarts = 0;
    for (int tick = 0; tick < 200; ++tick) {
      auto roll = gen.below(100);
      if (roll < 20) {
        auto id = "s-" + std::to_string(gen.below(sagas));
        start(id, "input of " + id);
      } else if (roll < 23) {
        kill();
        ++restarts;
        spawn();
      } else if (roll < 26) {
        caf::anon_send(dep, deliver_atom::value); // late answers
        run();
      } else {
        advance_time(milliseconds(gen.below(300)));
      }
    }
    // Let everything end, then ask for every saga.
    settle(60);
    for (int i = 0; i < sagas; ++i)
      start("s-" + std::to_string(i), "late");
    settle(60);
    for (int i = 0; i < sagas; ++i) {
      auto id = "s-" + std::to_string(i);
      start(id, "final ask");
    }
    for (auto& r : replies()) {
      REQUIRE(r.refused != saga_refusal::busy);
      if (r.refused == saga_refusal::stopped)
        continue;
      REQUIRE(r.refused == saga_refusal::none);
      outcomes[r.saga_id].push_back(r.outcome);
    }
    REQUIRE(outcomes.size() == static_cast<std::size_t>(sagas));
    for (auto& [id, list] : outcomes) {
      // One outcome per id, however often and across whichever restarts it
      // was asked.
      for (auto& o : list)
        CHECK(o == list.front());
      ++seen[list.front().status];
      check_invariants(*model, cfg, id, list.front());
    }
    CHECK(stats().running == 0);
    kill();
    p.clear();
    UNSCOPED_INFO("seed " << seed << ": " << restarts << " restarts");
  }
  if (env == nullptr) {
    CHECK(seen[saga_status::completed] > 0);
    CHECK(seen[saga_status::compensated] > 0);
    CHECK(seen[saga_status::stuck] > 0);
  }
}
