// An actor system on CAF 0.17's deterministic test scheduler, for scenarios
// that run in virtual time (`outage`, `storm`): one thread, timers that fire
// only when the scenario moves time forward, so a run is a pure function of
// its seed — every attempt count and even every latency replays exactly —
// and ten virtual seconds of load take well under a real second. It drives
// `caf::scheduler::test_coordinator` as tests/support/deterministic_fixture.hpp
// does. Also here: the open-loop client actor these scenarios send from,
// which timestamps every reply in virtual time.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark::bench {

class virtual_system {
 public:
  virtual_system() : sys_(init(cfg_)), sched_(coordinator(sys_)) {
    // Start away from the epoch so "time 0" is never mistaken for "unset".
    sched_.clock().current_time += std::chrono::hours(1);
  }

  virtual_system(const virtual_system&) = delete;
  virtual_system& operator=(const virtual_system&) = delete;

  ~virtual_system() {
    // Timers hold strong references: drop them, stop what the scenario
    // registered, and let every actor finish so ~actor_system cannot wait.
    sched_.run();
    sched_.clock().cancel_all();
    for (auto& x : owned_)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    owned_.clear();
    sched_.run();
    if (sys_.registry().running() > 0)
      sys_.await_actors_before_shutdown(false);
  }

  caf::actor_system& sys() noexcept {
    return sys_;
  }

  /// Stops `x` when the system goes away.
  void own(caf::actor x) {
    owned_.push_back(std::move(x));
  }

  time_point now() const {
    return sched_.clock().now();
  }

  /// Delivers everything due without moving time.
  void run() {
    sched_.run();
  }

  /// Moves virtual time to `t`, firing every timer due on the way at its own
  /// time and running all actors in between.
  void advance_to(time_point t) {
    auto& clock = sched_.clock();
    auto target =
      clock.current_time + std::chrono::duration_cast<caf::timespan>(t - now());
    sched_.run();
    for (;;) {
      auto& schedule = clock.schedule();
      if (schedule.empty() || schedule.begin()->first > target)
        break;
      auto due = schedule.begin()->first;
      if (due > clock.current_time)
        clock.current_time = due;
      clock.trigger_expired_timeouts();
      sched_.run();
    }
    if (target > clock.current_time)
      clock.current_time = target;
    sched_.run();
  }

  /// Open-loop arrivals at a fixed rate: calls `arrive(i)` for each i in
  /// [0, count) at `start + i / rate` of virtual time, running everything
  /// due before and after it, and `progress(fraction)` once per `rate`
  /// arrivals. An arrival never waits for earlier answers (no coordinated
  /// omission).
  template <class Arrive, class Progress>
  void run_open_loop(time_point start, std::uint64_t count, double rate,
                     Arrive&& arrive, Progress&& progress) {
    auto interval = std::chrono::duration_cast<duration>(
      std::chrono::duration<double>(1.0 / rate));
    auto per_second = static_cast<std::uint64_t>(rate);
    for (std::uint64_t i = 0; i < count; ++i) {
      advance_to(start + interval * static_cast<std::int64_t>(i));
      arrive(i);
      run();
      if (per_second > 0 && i % per_second == 0)
        progress(static_cast<double>(i) / static_cast<double>(count));
    }
  }

 private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    add_bulwark_types(cfg);
    return cfg;
  }

  static caf::scheduler::test_coordinator& coordinator(caf::actor_system& s) {
    return dynamic_cast<caf::scheduler::test_coordinator&>(s.scheduler());
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  std::vector<caf::actor> owned_;
};

/// One reply as the open-loop client saw it.
struct client_reply {
  std::uint64_t id = 0;
  bool ok = false;
  time_point at;
};

/// The open-loop client: the scenario sends calls with this actor as the
/// sender (`caf::send_as`) at their intended times; replies are logged with
/// their virtual arrival time.
inline caf::actor spawn_client(caf::actor_system& sys,
                               std::shared_ptr<std::vector<client_reply>> log) {
  return sys.spawn([log](caf::event_based_actor* self) -> caf::behavior {
    return {
      [self, log](reply_atom, const call_reply& r) {
        log->push_back({r.id, r.ok, self->clock().now()});
      },
    };
  });
}

/// Draws the gap to the next arrival of a Poisson process with `rate` per
/// second (at least 1 ns).
template <class Rng>
duration poisson_gap(Rng& gen, double rate) {
  auto u = gen.uniform();
  auto s = -std::log(1.0 - u) / rate;
  auto ns = static_cast<std::int64_t>(s * 1e9);
  return nanoseconds{ns < 1 ? 1 : ns};
}

} // namespace bulwark::bench
