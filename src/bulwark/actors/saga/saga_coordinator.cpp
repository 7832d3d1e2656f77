#include "bulwark/actors/saga/saga_coordinator.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "bulwark/actors/saga/saga_log.hpp"
#include "bulwark/runtime/core/timer_heap.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/saga/saga_core.hpp"

namespace bulwark {

std::string to_string(saga_refusal x) {
  switch (x) {
    case saga_refusal::none:
      return "none";
    case saga_refusal::busy:
      return "busy";
    case saga_refusal::invalid_id:
      return "invalid_id";
    case saga_refusal::input_too_large:
      return "input_too_large";
    case saga_refusal::unknown_id:
      return "unknown_id";
    case saga_refusal::stopped:
      return "stopped";
  }
  return "invalid";
}

saga_verdict verdict_of(const call_reply& r) noexcept {
  if (r.ok)
    return saga_verdict::done;
  if (r.cls == failure_class::rejected_locally && r.attempts == 0)
    return saga_verdict::not_executed;
  return saga_verdict::unknown;
}

void saga_call(saga_coordinator_actor::pointer self,
               const caf::actor& dependency, call_request req, saga_done done) {
  self->request(dependency, caf::infinite, call_atom::value, std::move(req))
    .then(
      [done](reply_atom, const call_reply& r) {
        done(verdict_of(r), r.ok ? r.payload : r.message);
      },
      [done](const caf::error& err) {
        done(saga_verdict::unknown, "no reply: " + caf::to_string(err));
      });
}

namespace {

constexpr time_point never = no_deadline;

/// What spawn prepares on the caller's thread and hands to the actor.
struct coordinator_init {
  std::shared_ptr<const saga_config> cfg;
  std::vector<saga_step_functions> steps;
  std::unique_ptr<saga_log> log;
  std::uint64_t seed = 1;
  /// Unfinished sagas, rebuilt and ready to resume.
  std::vector<std::pair<std::string, std::unique_ptr<saga_core>>> running;
  std::vector<std::vector<saga_record>> running_records;
  /// Finished sagas kept by retention, oldest first.
  std::vector<std::pair<std::string, saga_outcome>> finished;
  std::uint64_t forgotten = 0;
  bool compacted = false;
};

struct waiter {
  caf::typed_response_promise<saga_reply> promise;
  bool duplicate = false;
};

struct saga_entry {
  std::string id;
  /// Unique per entry: a completion for an earlier run of the same id (one
  /// forgotten by retention) never reaches this one.
  std::uint64_t generation = 0;
  /// Running only.
  std::unique_ptr<saga_core> core;
  /// Finished only.
  saga_outcome outcome;
  bool finished = false;
  std::vector<waiter> waiters;
  /// Running only: its records so far, for compaction while running.
  std::vector<saga_record> records;
  /// Running only: the timer slot, and the core's id of its live timer.
  std::uint32_t slot = timer_heap::npos;
  std::uint64_t timer = 0;
};

/// A completion that arrived while the coordinator was busy acting.
struct verdict_event {
  std::string id;
  std::uint64_t generation = 0;
  bool compensation = false;
  std::uint32_t step = 0;
  std::uint32_t attempt = 0;
  saga_verdict verdict = saga_verdict::done;
  std::string data;
};

struct coordinator_state {
  static inline const char* name = "bulwark.saga_coordinator";

  saga_coordinator_actor::stateful_pointer<coordinator_state> self = nullptr;
  std::shared_ptr<const saga_config> cfg;
  std::vector<saga_step_functions> steps;
  std::unique_ptr<saga_log> log;
  std::uint64_t seed = 1;
  std::uint64_t generations = 0;
  std::unordered_map<std::string, std::unique_ptr<saga_entry>> sagas;
  /// Finished sagas in the order they finished: (id, generation).
  std::deque<std::pair<std::string, std::uint64_t>> finished_order;
  std::uint32_t running = 0;
  std::uint32_t retained = 0;
  std::vector<saga_entry*> slots;
  std::vector<std::uint32_t> free_slots;
  timer_heap timers;
  time_point pending_tick = never;
  std::vector<saga_log_entry> pending_log;
  std::deque<verdict_event> deferred;
  bool busy = false;
  saga_core::action_list actions;
  saga_stats stats;
  /// Expires with the state: completions kept by callbacks outliving the
  /// coordinator become no-ops.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  ~coordinator_state() {
    // The log holds every running saga; a coordinator started on it again
    // finishes them. Callers waiting now are told so instead of hanging.
    for (auto& [id, e] : sagas)
      for (auto& w : e->waiters)
        w.promise.deliver(refusal(id, saga_refusal::stopped,
                                  "the saga coordinator stopped before the "
                                  "saga ended; it continues when a "
                                  "coordinator runs on its log again"));
  }

  time_point now() const {
    return self->clock().now();
  }

  static saga_reply refusal(std::string id, saga_refusal why,
                            std::string error) {
    saga_reply r;
    r.saga_id = std::move(id);
    r.refused = why;
    r.error = std::move(error);
    return r;
  }

  saga_reply reply_of(const saga_entry& e, bool duplicate) const {
    saga_reply r;
    r.saga_id = e.id;
    r.duplicate = duplicate;
    r.outcome = e.finished ? e.outcome : e.core->outcome();
    return r;
  }

  /// Empty when `id` is acceptable, else why not (never quoting it): the
  /// rule for every key and id (bulwark/runtime/core/idempotency_key.hpp).
  std::string check_id(const std::string& id) const {
    if (id.empty())
      return "saga id is empty";
    if (auto problem = key_problem(id, cfg->max_id_bytes))
      return "saga id " + *problem;
    return {};
  }

  // -- entries ---------------------------------------------------------------

  saga_entry& add_running(std::string id, std::unique_ptr<saga_core> core) {
    auto e = std::make_unique<saga_entry>();
    e->id = id;
    e->generation = ++generations;
    e->core = std::move(core);
    if (free_slots.empty()) {
      e->slot = static_cast<std::uint32_t>(slots.size());
      slots.push_back(e.get());
    } else {
      e->slot = free_slots.back();
      free_slots.pop_back();
      slots[e->slot] = e.get();
    }
    ++running;
    auto& ref = *e;
    sagas[std::move(id)] = std::move(e);
    return ref;
  }

  void add_finished(std::string id, saga_outcome outcome) {
    auto e = std::make_unique<saga_entry>();
    e->id = id;
    e->generation = ++generations;
    e->finished = true;
    e->outcome = std::move(outcome);
    finished_order.emplace_back(id, e->generation);
    ++retained;
    sagas[std::move(id)] = std::move(e);
  }

  std::unique_ptr<saga_core> make_core() {
    return std::make_unique<saga_core>(*cfg, seed * 0x9e3779b97f4a7c15ULL
                                               + ++generations);
  }

  // -- acting -----------------------------------------------------------------

  /// Performs the core's actions for `e`: records are appended (one write
  /// and one sync per batch) before every try and every answer, and at the
  /// end. `e` may be erased by retention afterwards: do not touch it then.
  void dispatch(saga_entry& e) {
    busy = true;
    for (auto& a : actions) {
      switch (a.kind) {
        case saga_action_kind::log:
          if (!e.finished)
            e.records.push_back(a.record);
          pending_log.push_back(saga_log_entry{e.id, std::move(a.record)});
          break;
        case saga_action_kind::run_step:
        case saga_action_kind::run_compensation:
          flush();
          invoke(e, a.kind == saga_action_kind::run_compensation, a.step,
                 a.attempt);
          break;
        case saga_action_kind::set_timer:
          e.timer = a.timer;
          timers.schedule(e.slot, a.at);
          break;
        case saga_action_kind::finish:
          flush();
          finalize(e);
          break;
      }
    }
    actions.clear();
    flush();
    busy = false;
    forget_old();
    maybe_compact();
    arm_tick(now());
  }

  /// Handles completions that arrived while acting, until none is left.
  void settle() {
    while (!deferred.empty()) {
      auto ev = std::move(deferred.front());
      deferred.pop_front();
      on_verdict(std::move(ev));
    }
  }

  void flush() {
    if (pending_log.empty())
      return;
    try {
      log->append(pending_log);
    } catch (const std::exception& ex) {
      std::fprintf(stderr,
                   "bulwark saga coordinator: %s; aborting: acting without a "
                   "durable record could repeat or lose a compensation "
                   "after a restart\n",
                   ex.what());
      std::fflush(stderr);
      std::abort();
    }
    ++stats.log_writes;
    stats.log_records += pending_log.size();
    pending_log.clear();
  }

  void invoke(saga_entry& e, bool compensation, std::uint32_t step,
              std::uint32_t attempt) {
    auto& fns = steps[step];
    auto& fn = compensation ? fns.compensation : fns.action;
    ++(compensation ? stats.compensation_tries : stats.step_tries);
    auto done = make_done(e, compensation, step, attempt);
    if (!fn) {
      // Nothing to undo: done at once (deferred: we are acting).
      done(saga_verdict::done, {});
      return;
    }
    saga_step_call call;
    call.saga_id = e.id;
    call.input = e.core->input();
    call.results = e.core->results();
    call.step = cfg->steps[step].name;
    call.step_index = step;
    call.attempt = attempt;
    try {
      fn(self, call, done);
    } catch (const std::exception& ex) {
      // It may have sent something before throwing.
      done(saga_verdict::unknown,
           std::string{"the callback threw: "} + ex.what());
    }
  }

  saga_done make_done(const saga_entry& e, bool compensation,
                      std::uint32_t step, std::uint32_t attempt) {
    std::weak_ptr<int> token = alive;
    auto once = std::make_shared<bool>(false);
    auto* st = this;
    return [st, token, once, id = e.id, gen = e.generation, compensation, step,
            attempt](saga_verdict v, std::string data) {
      if (*once || token.expired())
        return;
      *once = true;
      st->on_verdict(verdict_event{id, gen, compensation, step, attempt, v,
                                   std::move(data)});
    };
  }

  void on_verdict(verdict_event ev) {
    if (busy) {
      deferred.push_back(std::move(ev));
      return;
    }
    auto i = sagas.find(ev.id);
    if (i == sagas.end() || i->second->generation != ev.generation
        || i->second->finished) {
      ++stats.late_verdicts;
      return;
    }
    auto& e = *i->second;
    if (ev.data.size() > cfg->max_data_bytes) {
      ++stats.oversized_results;
      ev.data = fmt::format("result data too large ({} bytes, at most {})",
                            ev.data.size(), cfg->max_data_bytes);
      if (ev.verdict == saga_verdict::done)
        ev.verdict = saga_verdict::unknown; // it ran; we cannot record it
    }
    actions.clear();
    bool taken =
      ev.compensation
        ? e.core->on_compensation_result(ev.step, ev.attempt, ev.verdict,
                                         std::move(ev.data), now(), actions)
        : e.core->on_step_result(ev.step, ev.attempt, ev.verdict,
                                 std::move(ev.data), now(), actions);
    if (!taken)
      ++stats.late_verdicts;
    dispatch(e);
    settle();
  }

  void finalize(saga_entry& e) {
    e.outcome = e.core->outcome();
    e.finished = true;
    e.core.reset();
    e.records.clear();
    e.records.shrink_to_fit();
    timers.cancel(e.slot);
    slots[e.slot] = nullptr;
    free_slots.push_back(e.slot);
    e.slot = timer_heap::npos;
    --running;
    switch (e.outcome.status) {
      case saga_status::completed:
        ++stats.completed;
        break;
      case saga_status::compensated:
        ++stats.compensated;
        break;
      case saga_status::compensation_failed:
        ++stats.compensation_failed;
        break;
      case saga_status::stuck:
        ++stats.stuck;
        break;
      case saga_status::running:
        break;
    }
    for (auto& w : e.waiters)
      w.promise.deliver(reply_of(e, w.duplicate));
    e.waiters.clear();
    finished_order.emplace_back(e.id, e.generation);
    ++retained;
  }

  /// Retention: the oldest finished sagas beyond `retain_finished` are
  /// forgotten (a re-sent id of one runs again).
  void forget_old() {
    while (retained > cfg->retain_finished && !finished_order.empty()) {
      auto [id, gen] = std::move(finished_order.front());
      finished_order.pop_front();
      auto i = sagas.find(id);
      if (i != sagas.end() && i->second->generation == gen
          && i->second->finished) {
        sagas.erase(i);
        --retained;
        ++stats.forgotten;
      }
    }
  }

  /// What the log must keep: finished sagas as one record each (oldest
  /// first), then every record of each running saga.
  std::vector<saga_log_entry> snapshot() const {
    std::vector<saga_log_entry> out;
    for (auto& [id, gen] : finished_order) {
      auto i = sagas.find(id);
      if (i == sagas.end() || i->second->generation != gen)
        continue;
      saga_record r;
      r.kind = saga_record_kind::finished;
      r.outcome = i->second->outcome;
      out.push_back(saga_log_entry{id, std::move(r)});
    }
    for (auto& [id, e] : sagas)
      if (!e->finished)
        for (auto& r : e->records)
          out.push_back(saga_log_entry{id, r});
    return out;
  }

  void maybe_compact() {
    if (cfg->compact_after == 0
        || log->appended_since_rewrite() < cfg->compact_after)
      return;
    try {
      log->rewrite(snapshot());
      ++stats.compactions;
    } catch (const std::exception& ex) {
      // The old file is intact and still ours: keep appending to it.
      std::fprintf(stderr, "bulwark saga coordinator: compaction failed: %s\n",
                   ex.what());
    }
  }

  // -- timers -----------------------------------------------------------------

  void arm_tick(time_point n) {
    if (timers.empty())
      return;
    auto t = timers.next();
    if (pending_tick <= t)
      return;
    pending_tick = t;
    auto delay = t > n ? t - n : duration{0};
    self->delayed_send(self, delay, saga_tick_atom::value);
  }

  void on_tick() {
    auto n = now();
    if (pending_tick <= n)
      pending_tick = never;
    for (;;) {
      auto slot = timers.pop_due(n);
      if (slot == timer_heap::npos)
        break;
      auto* e = slots[slot];
      if (e == nullptr)
        continue;
      actions.clear();
      e->core->on_timer(e->timer, n, actions);
      dispatch(*e);
      settle();
    }
    arm_tick(n);
  }

  // -- requests ---------------------------------------------------------------

  caf::result<saga_reply> on_start(std::string& id, std::string& input) {
    if (auto why = check_id(id); !why.empty()) {
      ++stats.refused_invalid_id;
      return refusal({}, saga_refusal::invalid_id, std::move(why));
    }
    if (input.size() > cfg->max_input_bytes) {
      ++stats.refused_input_too_large;
      return refusal(id, saga_refusal::input_too_large,
                     fmt::format("saga input is {} bytes, at most {} are "
                                 "allowed",
                                 input.size(), cfg->max_input_bytes));
    }
    if (auto i = sagas.find(id); i != sagas.end()) {
      auto& e = *i->second;
      if (e.finished) {
        ++stats.answered_from_log;
        return reply_of(e, true);
      }
      ++stats.joined;
      auto rp = self->make_response_promise<saga_reply>();
      e.waiters.push_back(waiter{rp, true});
      return rp;
    }
    if (running >= cfg->max_running) {
      ++stats.refused_busy;
      return refusal(id, saga_refusal::busy,
                     fmt::format("busy: {} sagas running (max_running); try "
                                 "again later",
                                 running));
    }
    ++stats.started;
    auto rp = self->make_response_promise<saga_reply>();
    auto& e = add_running(id, make_core());
    e.waiters.push_back(waiter{rp, false});
    actions.clear();
    e.core->start(std::move(input), now(), actions);
    dispatch(e);
    settle();
    return rp;
  }

  saga_reply on_query(const std::string& id) const {
    if (auto why = check_id(id); !why.empty())
      return refusal({}, saga_refusal::invalid_id, std::move(why));
    auto i = sagas.find(id);
    if (i == sagas.end())
      return refusal(id, saga_refusal::unknown_id,
                     "no saga with this id is running or remembered");
    return reply_of(*i->second, true);
  }

  saga_stats current_stats() const {
    auto s = stats;
    s.running = running;
    s.retained = retained;
    s.log_bytes = log->bytes();
    return s;
  }
};

saga_coordinator_actor::behavior_type coordinator_impl(
  saga_coordinator_actor::stateful_pointer<coordinator_state> self,
  std::shared_ptr<coordinator_init> init) {
  auto& st = self->state;
  st.self = self;
  st.cfg = init->cfg;
  st.steps = std::move(init->steps);
  st.log = std::move(init->log);
  st.seed = init->seed;
  st.stats.forgotten = init->forgotten;
  st.stats.compactions = init->compacted ? 1 : 0;
  for (auto& [id, outcome] : init->finished)
    st.add_finished(id, std::move(outcome));
  std::vector<saga_entry*> resumed;
  for (std::size_t i = 0; i < init->running.size(); ++i) {
    auto& e = st.add_running(init->running[i].first,
                             std::move(init->running[i].second));
    e.records = std::move(init->running_records[i]);
    resumed.push_back(&e);
  }
  init.reset();
  // Every unfinished saga goes on at once: no client needed.
  for (auto* e : resumed) {
    ++st.stats.resumed;
    st.actions.clear();
    e->core->resume(st.now(), st.actions);
    st.dispatch(*e);
    st.settle();
  }
  return {
    [self](saga_atom, std::string& id, std::string& input)
      -> caf::result<saga_reply> { return self->state.on_start(id, input); },
    [self](saga_query_atom, const std::string& id) -> caf::result<saga_reply> {
      return self->state.on_query(id);
    },
    [self](stats_atom) -> caf::result<saga_stats> {
      return self->state.current_stats();
    },
    [self](saga_tick_atom) { self->state.on_tick(); },
  };
}

[[noreturn]] void bad_record(const saga_log& log, const saga_log_saga& s,
                             std::size_t index, const std::string& error) {
  throw saga_log_error("saga log " + log.path() + ":"
                       + std::to_string(s.lines.at(index)) + ": saga \"" + s.id
                       + "\": " + error);
}

} // namespace

saga_coordinator_actor spawn_saga_coordinator(caf::actor_system& sys,
                                              saga_coordinator_options opts) {
  auto errors = validate_saga_config(opts.config);
  if (!errors.empty())
    throw std::invalid_argument("saga coordinator: invalid config:\n"
                                + errors.to_string());
  if (opts.steps.size() != opts.config.steps.size())
    throw std::invalid_argument(
      fmt::format("saga coordinator: {} step functions for {} steps",
                  opts.steps.size(), opts.config.steps.size()));
  for (std::size_t i = 0; i < opts.steps.size(); ++i) {
    auto& name = opts.config.steps[i].name;
    if (!opts.steps[i].action)
      throw std::invalid_argument("saga coordinator: step \"" + name
                                  + "\" has no action");
    if (!opts.config.steps[i].compensable && opts.steps[i].compensation)
      throw std::invalid_argument("saga coordinator: step \"" + name
                                  + "\" is not compensable but has a "
                                    "compensation");
  }
  if (opts.log_path.empty())
    throw std::invalid_argument("saga coordinator: log_path is empty");
  auto init = std::make_shared<coordinator_init>();
  init->cfg = std::make_shared<const saga_config>(std::move(opts.config));
  init->steps = std::move(opts.steps);
  init->seed = opts.seed;
  auto& cfg = *init->cfg;
  saga_log_replay replay;
  init->log = saga_log::open(opts.log_path, cfg, replay);
  if (replay.torn_bytes > 0)
    std::fprintf(stderr,
                 "bulwark saga coordinator: saga log %s: dropped a torn last "
                 "record (%zu bytes, never acted on)\n",
                 opts.log_path.c_str(), replay.torn_bytes);
  // Rebuild every saga by the same rules that wrote it: a record that
  // cannot follow the ones before refuses the start (naming its line).
  std::vector<std::pair<std::string, saga_outcome>> finished;
  std::uint64_t n = 0;
  for (auto& s : replay.sagas) {
    auto core = std::make_unique<saga_core>(cfg, opts.seed * 31 + ++n);
    for (std::size_t i = 0; i < s.records.size(); ++i) {
      std::string error;
      if (!core->restore(s.records[i], error))
        bad_record(*init->log, s, i, error);
    }
    if (core->finished()) {
      finished.emplace_back(s.id, core->outcome());
    } else {
      init->running.emplace_back(s.id, std::move(core));
      init->running_records.push_back(std::move(s.records));
    }
  }
  // Retention, then compaction: finished sagas as one record each.
  if (finished.size() > cfg.retain_finished) {
    auto drop = finished.size() - cfg.retain_finished;
    init->forgotten = drop;
    finished.erase(finished.begin(),
                   finished.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  std::vector<saga_log_entry> keep;
  for (auto& [id, outcome] : finished) {
    saga_record r;
    r.kind = saga_record_kind::finished;
    r.outcome = outcome;
    keep.push_back(saga_log_entry{id, std::move(r)});
  }
  for (std::size_t i = 0; i < init->running.size(); ++i)
    for (auto& r : init->running_records[i])
      keep.push_back(saga_log_entry{init->running[i].first, r});
  if (keep.size() < replay.records) {
    init->log->rewrite(keep);
    init->compacted = true;
  }
  init->finished = std::move(finished);
  return sys.spawn(coordinator_impl, std::move(init));
}

} // namespace bulwark
