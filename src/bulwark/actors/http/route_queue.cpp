#include "bulwark/actors/http/route_queue.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <caf/all.hpp>

#include "bulwark/runtime/core/criticality.hpp"

namespace bulwark::service_detail {

namespace {

service_response shed_answer(const service_core& core, criticality crit) {
  auto res = core.unavailable_answer("service is overloaded (shed "
                                     + to_string(crit) + " work)");
  // Shedding is the server protecting itself: a retry would add to the
  // very load that made it shed.
  res.do_not_retry = true;
  return res;
}

void answer_verdicts(route_queue_self self) {
  auto& st = self->state;
  auto& count = st.core->count;
  for (auto& v : st.verdicts) {
    st.waiting.erase(v.id);
    if (v.outcome == queue_outcome::dropped_expired) {
      st.core->finish(v.id,
                      service_error(504, "deadline exceeded while queued"),
                      &count.expired_in_queue);
      continue;
    }
    auto* counter = v.crit == criticality::critical   ? &count.shed_critical
                    : v.crit == criticality::standard ? &count.shed_standard
                                                      : &count.shed_sheddable;
    st.core->finish(v.id, shed_answer(*st.core, v.crit), counter);
  }
  st.verdicts.clear();
}

void publish_gauges(route_queue_self self) {
  auto& st = self->state;
  auto& count = st.core->count;
  auto& g = *st.gauges;
  auto size = static_cast<std::uint64_t>(st.queue->size());
  auto before = g.queued.exchange(size);
  if (size >= before)
    count.queued += size - before;
  else
    count.queued -= before - size;
  auto now_overloaded = st.queue->overloaded();
  if (g.overloaded.exchange(now_overloaded) != now_overloaded) {
    if (now_overloaded)
      ++count.overloaded_routes;
    else
      --count.overloaded_routes;
  }
  auto lifo = st.queue->stats().started_lifo;
  count.started_newest_first += lifo - st.published_lifo;
  st.published_lifo = lifo;
}

/// Answers what the queue decided, fills the free slots, and keeps one
/// wakeup pending for the queue's next deadline or interval end.
void settle(route_queue_self self, time_point now) {
  auto& st = self->state;
  answer_verdicts(self);
  while (st.running < st.max_running) {
    auto next = st.queue->pop(now, st.verdicts);
    answer_verdicts(self);
    if (!next)
      break;
    auto i = st.waiting.find(next->id);
    if (i == st.waiting.end())
      continue;
    auto req = std::move(i->second);
    st.waiting.erase(i);
    auto id = next->id;
    auto target = st.target->get();
    if (!target) {
      st.core->finish(id,
                      st.core->unavailable_answer("route actor is not "
                                                  "running"),
                      &st.core->count.unavailable);
      continue;
    }
    ++st.running;
    auto timeout = req.deadline - now;
    auto me = caf::actor_cast<caf::actor>(self);
    self->spawn(bridge_actor, st.anchor, std::move(target), std::move(req),
                timeout,
                call_callback{
                  [core = st.core, id, me](call_end how, service_response res) {
                    finish_call(*core, id, how, std::move(res));
                    caf::anon_send(me, svc_done_atom::value);
                  }},
                relay_preliminary(st.core, id, st.progressive));
  }
  publish_gauges(self);
  auto wake = st.queue->next_wakeup();
  if (wake < st.wake_scheduled) {
    st.wake_scheduled = wake;
    self->delayed_send(self, std::max(duration{0}, wake - now),
                       svc_late_atom::value);
  }
}

} // namespace

caf::behavior route_queue_actor(route_queue_self self, core_ptr core,
                                caf::actor anchor, cell_ptr target,
                                overload_control_options opts,
                                bool progressive) {
  auto& st = self->state;
  st.progressive = progressive;
  st.queue = std::make_unique<server_queue>(opts.queue);
  st.core = std::move(core);
  st.anchor = std::move(anchor);
  st.target = std::move(target);
  st.max_running = opts.max_concurrent_per_route;
  st.gauges = std::make_shared<route_gauges>();
  // When the actor ends (stop()), its queued requests are answered by the
  // drain; the gauges must not keep counting them.
  self->attach_functor([core = st.core, gauges = st.gauges](const caf::error&) {
    core->count.queued -= gauges->queued.exchange(0);
    if (gauges->overloaded.exchange(false))
      --core->count.overloaded_routes;
  });
  return {
    [self](svc_req_atom, std::uint64_t id, service_request& req) {
      auto& st = self->state;
      auto now = self->clock().now();
      queue_item item;
      item.id = id;
      item.arrival = now;
      item.deadline = req.deadline;
      item.crit = req.crit;
      st.waiting.emplace(id, std::move(req));
      st.queue->push(item, now, st.verdicts);
      settle(self, now);
    },
    [self](svc_done_atom) {
      auto& st = self->state;
      if (st.running > 0)
        --st.running;
      settle(self, self->clock().now());
    },
    [self](svc_late_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      if (now >= st.wake_scheduled)
        st.wake_scheduled = no_deadline;
      st.queue->tick(now, st.verdicts);
      settle(self, now);
    },
  };
}

} // namespace bulwark::service_detail
