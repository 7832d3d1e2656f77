#include "bulwark/actors/transport/chaos_transport.hpp"

#include <unordered_map>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace bulwark {

std::uint64_t chaos_stats::failures() const noexcept {
  std::uint64_t n = 0;
  for (auto& x : failures_)
    n += x.load();
  return n;
}

namespace {

// Local to this actor: its own crash timer.
using chaos_crash_atom = caf::atom_constant<caf::atom("chaoscrash")>;

struct pending_attempt {
  caf::actor_addr sender;
  std::uint64_t attempt_id = 0;
  time_point received_at;
  /// When the drawn latency has passed.
  time_point due;
  /// The result, once known (an injected failure, or the inner answer).
  bool has_result = false;
  attempt_result result;
  /// The timer for `due` has fired.
  bool due_passed = false;
};

struct chaos_state {
  fault_schedule schedule;
  rng gen;
  caf::actor inner;
  std::shared_ptr<chaos_stats> stats;
  time_point start;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, pending_attempt> pending;
};

void crash(caf::event_based_actor* self, chaos_state& st) {
  st.stats->mark_crashed();
  self->quit(chaos_crash_reason);
}

// Answers `id` once both its result is known and its latency has passed.
void try_deliver(caf::event_based_actor* self, chaos_state& st,
                 std::uint64_t id) {
  auto i = st.pending.find(id);
  if (i == st.pending.end())
    return;
  auto& p = i->second;
  if (!p.has_result || !p.due_passed)
    return;
  auto result = std::move(p.result);
  result.attempt_id = p.attempt_id;
  result.latency_ns = to_wire_duration(self->clock().now() - p.received_at);
  if (result.ok)
    st.stats->count_success();
  st.stats->count_answered();
  if (auto to = caf::actor_cast<caf::actor>(p.sender))
    self->send(to, result_atom::value, std::move(result));
  st.pending.erase(i);
}

} // namespace

caf::behavior chaos_transport_actor(caf::event_based_actor* self,
                                    fault_schedule schedule, std::uint64_t seed,
                                    caf::actor inner,
                                    std::shared_ptr<chaos_stats> stats) {
  auto st = std::make_shared<chaos_state>();
  st->schedule = std::move(schedule);
  st->gen.reseed(seed);
  st->inner = std::move(inner);
  st->stats = std::move(stats);
  st->start = self->clock().now();
  if (st->schedule.crash_at != duration::max())
    self->delayed_send(self, st->schedule.crash_at, chaos_crash_atom::value);
  return {
    [self, st](attempt_atom, attempt_request& req) {
      auto now = self->clock().now();
      st->stats->count_attempt();
      auto d = decide(st->schedule, st->start, now, st->gen);
      if (d.crashed) {
        // The crash timer is queued behind this message; die now anyway.
        crash(self, *st);
        return;
      }
      auto id = st->next_id++;
      pending_attempt p;
      p.sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      p.attempt_id = req.attempt_id;
      p.received_at = now;
      p.due = now + d.latency;
      if (d.fail) {
        st->stats->count_failure(d.failure);
        p.has_result = true;
        p.result = class_result(d.failure, d.retry_after > duration::zero()
                                             ? d.retry_after
                                             : duration{-1});
      } else if (st->inner) {
        st->stats->count_executed();
        req.attempt_id = id;
        self->send(st->inner, attempt_atom::value, std::move(req));
      } else {
        st->stats->count_executed();
        p.has_result = true;
        p.result = success_result(std::move(req.payload));
      }
      st->pending.emplace(id, std::move(p));
      if (d.latency <= duration::zero()) {
        st->pending[id].due_passed = true;
        try_deliver(self, *st, id);
      } else {
        self->delayed_send(self, d.latency, deliver_atom::value, id);
      }
    },
    [self, st](deliver_atom, std::uint64_t id) {
      auto i = st->pending.find(id);
      if (i == st->pending.end())
        return;
      i->second.due_passed = true;
      try_deliver(self, *st, id);
    },
    [self, st](result_atom, attempt_result& result) {
      // An answer of the inner transport, under our own attempt id.
      auto i = st->pending.find(result.attempt_id);
      if (i == st->pending.end() || i->second.has_result)
        return;
      i->second.has_result = true;
      i->second.result = std::move(result);
      try_deliver(self, *st, i->first);
    },
    [](cancel_atom, std::uint64_t) {
      // A hint only; the drawn fate of the attempt stands.
    },
    [self, st](chaos_crash_atom) { crash(self, *st); },
  };
}

chaos_transport chaos_transport::spawn(caf::actor_system& sys,
                                       fault_schedule schedule,
                                       std::uint64_t seed, caf::actor inner) {
  auto stats = std::make_shared<chaos_stats>();
  auto hdl = sys.spawn(chaos_transport_actor, std::move(schedule), seed,
                       std::move(inner), stats);
  return chaos_transport{std::move(hdl), std::move(stats)};
}

} // namespace bulwark
