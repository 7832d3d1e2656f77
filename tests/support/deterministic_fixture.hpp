// A Catch2 fixture for actor tests under CAF 0.17's deterministic test
// scheduler: one thread, no real clock, virtual time that moves only when the
// test says so. CAF's own expect/allow DSL needs CAF's test runner, so this
// fixture drives `caf::scheduler::test_coordinator` directly, and a `probe`
// actor stands in for the caller: it sends on the test's behalf and records
// every message it receives (blocking scoped_actor receives would deadlock on
// the single-threaded test scheduler).
//
//   TEST_CASE_METHOD(deterministic_fixture, "...", "[actors]") {
//     auto p = make_probe();
//     p.send(dep, call_atom::value, req);
//     run();                              // deliver everything that is due
//     advance_time(milliseconds(250));    // fire timers, in order, on time
//     REQUIRE(p.replies().size() == 1);
//   }
#pragma once

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/runtime/core/time.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

namespace bulwark::testing {

/// Runs inside the probe actor, so a test can make it request, monitor, link.
struct probe_command {
  std::function<void(caf::event_based_actor*)> fn;
};

} // namespace bulwark::testing

// Never leaves the process: the test talks to its own probe.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bulwark::testing::probe_command)

namespace bulwark::testing {

using probe_run_atom = caf::atom_constant<caf::atom("probe_run")>;

/// One message as the probe received it.
struct received_message {
  /// Weak, so a probe that records its own messages keeps no cycle alive.
  caf::actor_addr sender;
  caf::message content;
  /// Virtual time of arrival.
  time_point at;

  template <class... Ts>
  bool is() const {
    return content.match_elements<Ts...>();
  }

  template <class T>
  const T& get(std::size_t index) const {
    return content.get_as<T>(index);
  }
};

/// A test's stand-in actor: sends under its own identity and records every
/// message it receives (ordinary messages, responses, errors, down and exit
/// messages) in arrival order. Copies share the same log.
class probe {
 public:
  using log_type = std::vector<received_message>;

  probe(caf::actor handle, std::shared_ptr<log_type> log)
    : handle_(std::move(handle)),
      log_(std::move(log)) {
    // nop
  }

  const caf::actor& handle() const noexcept {
    return handle_;
  }

  /// Sends `xs...` to `dest` with the probe as sender, so replies come back
  /// here. Call `run()` to deliver.
  template <class Dest, class... Ts>
  void send(const Dest& dest, Ts&&... xs) const {
    caf::send_as(handle_, dest, std::forward<Ts>(xs)...);
  }

  /// Makes the probe issue `request(dest, timeout, xs...)` and record the
  /// response (as a message of types `Reply...`) or the error.
  /// `timeout` is a duration or `caf::infinite`.
  template <class... Reply, class Dest, class Timeout, class... Ts>
  void request(const Dest& dest, Timeout timeout, Ts&&... xs) const {
    auto log = log_;
    auto args = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(xs))...);
    execute([log, dest, timeout, args](caf::event_based_actor* self) {
      std::apply(
        [&](const auto&... x) {
          self->request(dest, timeout, x...)
            .then(
              [self, log](Reply&... ys) {
                log->push_back(
                  {caf::actor_cast<caf::actor_addr>(self->current_sender()),
                   caf::make_message(std::move(ys)...), self->clock().now()});
              },
              [self, log](caf::error& err) {
                log->push_back(
                  {caf::actor_cast<caf::actor_addr>(self->current_sender()),
                   caf::make_message(std::move(err)), self->clock().now()});
              });
        },
        args);
    });
  }

  /// Runs `fn` inside the probe actor (e.g. to monitor or link).
  void execute(std::function<void(caf::event_based_actor*)> fn) const {
    caf::anon_send(handle_, probe_run_atom::value,
                   probe_command{std::move(fn)});
  }

  const log_type& messages() const noexcept {
    return *log_;
  }

  std::size_t size() const noexcept {
    return log_->size();
  }

  const received_message& operator[](std::size_t index) const {
    return log_->at(index);
  }

  /// The contents of every received message whose types are exactly `Ts...`.
  template <class... Ts>
  std::vector<std::tuple<Ts...>> collect() const {
    std::vector<std::tuple<Ts...>> result;
    for (auto& x : *log_)
      if (x.content.match_elements<Ts...>())
        result.emplace_back(
          collect_one<Ts...>(x.content, std::index_sequence_for<Ts...>{}));
    return result;
  }

  /// Every call reply received, in either protocol form:
  /// `(reply_atom, call_reply)` (send form) or `call_reply` (request form).
  std::vector<call_reply> replies() const {
    std::vector<call_reply> result;
    for (auto& x : *log_) {
      if (x.content.match_elements<reply_atom, call_reply>())
        result.push_back(x.content.get_as<call_reply>(1));
      else if (x.content.match_elements<call_reply>())
        result.push_back(x.content.get_as<call_reply>(0));
    }
    return result;
  }

  /// Every `(result_atom, attempt_result)` received (probe as a dependency).
  std::vector<attempt_result> results() const {
    std::vector<attempt_result> result;
    for (auto& x : *log_)
      if (x.content.match_elements<result_atom, attempt_result>())
        result.push_back(x.content.get_as<attempt_result>(1));
    return result;
  }

  /// Every error received (failed requests, error messages).
  std::vector<caf::error> errors() const {
    std::vector<caf::error> result;
    for (auto& x : *log_)
      if (x.content.match_elements<caf::error>())
        result.push_back(x.content.get_as<caf::error>(0));
    return result;
  }

  void clear() const {
    log_->clear();
  }

 private:
  template <class... Ts, std::size_t... Is>
  static std::tuple<Ts...> collect_one(const caf::message& msg,
                                       std::index_sequence<Is...>) {
    return std::tuple<Ts...>{msg.get_as<Ts>(Is)...};
  }

  caf::actor handle_;
  std::shared_ptr<log_type> log_;
};

/// Owns an actor system on CAF's deterministic test scheduler.
class deterministic_fixture {
 public:
  deterministic_fixture()
    : sys(init_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    // Start away from the epoch, as CAF's own fixture does, so that "time 0"
    // is never mistaken for "unset".
    sched.clock().current_time += std::chrono::hours(1);
  }

  deterministic_fixture(const deterministic_fixture&) = delete;
  deterministic_fixture& operator=(const deterministic_fixture&) = delete;

  virtual ~deterministic_fixture() {
    // Drop timers (they hold strong references to actors), stop the probes,
    // then let every actor process what is left so the system can shut down.
    run();
    sched.clock().cancel_all();
    for (auto& hdl : probes_)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    probes_.clear();
    run();
    // An actor still running here would make ~actor_system wait forever on
    // this single thread: say so and let the test end instead of hanging.
    if (auto n = sys.registry().running(); n > 0) {
      std::cerr << "deterministic_fixture: " << n
                << " actor(s) still running at teardown (a reference cycle?)"
                << std::endl;
      sys.await_actors_before_shutdown(false);
    }
  }

  /// Delivers messages until no actor has anything left to do. Never moves
  /// virtual time: delayed messages and timeouts stay pending.
  std::size_t run() {
    return sched.run();
  }

  /// Moves virtual time forward by `d`, firing every timer that falls due in
  /// order and at its own time (a timer firing at t that schedules another
  /// one before now + d sees `now() == t` and its follow-up fires too), and
  /// running all actors in between. Returns the number of timers fired.
  std::size_t advance_time(caf::timespan d) {
    auto& clock = sched.clock();
    auto target = clock.current_time + d;
    std::size_t fired = 0;
    run();
    for (;;) {
      auto& schedule = clock.schedule();
      if (schedule.empty() || schedule.begin()->first > target)
        break;
      auto due = schedule.begin()->first;
      if (due > clock.current_time)
        clock.current_time = due;
      fired += clock.trigger_expired_timeouts();
      run();
    }
    clock.current_time = target;
    run();
    return fired;
  }

  /// The virtual time actors see through `self->clock().now()`.
  time_point now() const {
    return sched.clock().now();
  }

  /// Spawns a probe actor that records everything it receives.
  probe make_probe() {
    auto log = std::make_shared<probe::log_type>();
    auto hdl = sys.spawn([log](caf::event_based_actor* self) -> caf::behavior {
      auto record = [self, log](caf::message msg) {
        log->push_back(
          {caf::actor_cast<caf::actor_addr>(self->current_sender()),
           std::move(msg), self->clock().now()});
      };
      self->set_default_handler(
        [record](caf::scheduled_actor*,
                 caf::message_view& x) -> caf::result<caf::message> {
          record(x.move_content_to_message());
          return caf::message{};
        });
      self->set_error_handler([record](caf::scheduled_actor*, caf::error& x) {
        record(caf::make_message(x));
      });
      self->set_down_handler([record](caf::scheduled_actor*, caf::down_msg& x) {
        record(caf::make_message(x));
      });
      self->set_exit_handler([record](caf::scheduled_actor*, caf::exit_msg& x) {
        record(caf::make_message(x));
      });
      return {
        [self](probe_run_atom, probe_command& cmd) { cmd.fn(self); },
      };
    });
    probes_.push_back(hdl);
    return probe{caf::actor_cast<caf::actor>(hdl), std::move(log)};
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

 private:
  std::vector<caf::actor> probes_;

  static caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    add_bulwark_types(cfg);
    return cfg;
  }
};

} // namespace bulwark::testing
