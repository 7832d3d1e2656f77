#include "bench/runner/load_generator.hpp"

#include "bulwark/actors/protocol/atoms.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <ctime>
#include <future>
#include <memory>
#include <unordered_map>

namespace bulwark::bench {

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t cpu_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

struct generator_state {
  load_config cfg;
  caf::actor target;
  std::shared_ptr<std::promise<load_report>> done;
  /// id -> send time (0 when latencies are not recorded).
  std::unordered_map<std::uint64_t, std::int64_t> pending;
  std::uint64_t next_id = 1;
  std::uint64_t sent = 0;
  std::int64_t start_ns = 0;
  std::int64_t start_cpu_ns = 0;
  std::int64_t first_reply_ns = 0;
  load_report report;

  void send_one(caf::event_based_actor* self) {
    auto req = cfg.prototype;
    req.id = next_id++;
    pending.emplace(req.id, cfg.record_latency ? now_ns() : 0);
    ++sent;
    self->send(target, call_atom::value, std::move(req));
  }

  void finish(caf::event_based_actor* self, bool complete) {
    report.wall_ns = now_ns() - start_ns;
    report.cpu_ns = cpu_now_ns() - start_cpu_ns;
    report.complete = complete;
    done->set_value(std::move(report));
    // CAF 0.17 keeps a dead actor's monitors: without this, the target's
    // monitor list would keep this generator's storage alive (~1.2 KB a run).
    self->demonitor(target);
    self->quit();
  }
};

caf::behavior generator(caf::stateful_actor<generator_state>* self,
                        caf::actor target, load_config cfg,
                        std::shared_ptr<std::promise<load_report>> done) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.target = std::move(target);
  st.done = std::move(done);
  self->monitor(st.target);
  self->set_down_handler(
    [self](caf::down_msg&) { self->state.finish(self, false); });
  st.pending.reserve(st.cfg.inflight * 2u);
  if (st.cfg.record_latency)
    st.report.latencies_ns.reserve(st.cfg.calls);
  st.start_ns = now_ns();
  st.start_cpu_ns = cpu_now_ns();
  if (st.cfg.calls == 0) {
    st.finish(self, true);
    return {};
  }
  while (st.sent < st.cfg.calls && st.sent < st.cfg.inflight)
    st.send_one(self);
  return {
    [self](reply_atom, const call_reply& rep) {
      auto& st = self->state;
      auto i = st.pending.find(rep.id);
      if (i == st.pending.end()) {
        ++st.report.unmatched;
        return;
      }
      if (st.cfg.record_latency)
        st.report.latencies_ns.push_back(now_ns() - i->second);
      st.pending.erase(i);
      ++st.report.calls;
      ++(rep.ok ? st.report.ok : st.report.failed);
      if (st.sent < st.cfg.calls) {
        if (st.first_reply_ns == 0) {
          st.first_reply_ns = now_ns();
        } else {
          ++st.report.steady_replies;
          st.report.steady_ok += rep.ok ? 1 : 0;
        }
        st.send_one(self);
        if (st.sent == st.cfg.calls)
          st.report.steady_ns = now_ns() - st.first_reply_ns;
      } else if (st.pending.empty())
        st.finish(self, true);
    },
  };
}

} // namespace

load_report run_closed_loop(caf::actor_system& sys, const caf::actor& target,
                            const load_config& cfg) {
  auto done = std::make_shared<std::promise<load_report>>();
  auto result = done->get_future();
  sys.spawn(generator, target, cfg, std::move(done));
  return result.get();
}

} // namespace bulwark::bench
