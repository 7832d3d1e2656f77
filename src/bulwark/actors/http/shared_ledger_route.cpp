#include "bulwark/actors/http/shared_ledger_route.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

#include <caf/all.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/actors/protocol/wire.hpp"

namespace bulwark::service_detail {

namespace {

/// Internal: an execution for a shared-ledger route ended.
using svc_sdone_atom = caf::atom_constant<caf::atom("svc_sdone")>;

constexpr std::string_view owner_unreachable_text =
  "idempotency ledger unreachable";

void shared_schedule(shared_self self, time_point when, std::uint64_t id,
                     time_point now) {
  self->state.late.emplace(when, id);
  arm_late(self, now);
}

/// Sends a begin for `e` under a fresh id (a retried key is a new begin).
void shared_begin(shared_self self, shared_entry e, time_point now) {
  auto& st = self->state;
  auto id = st.next_id++;
  ledger_begin msg;
  msg.id = id;
  msg.route = st.route;
  msg.key = e.req.idempotency_key;
  // At least 1 ns: a begin always carries some budget.
  msg.budget_ns = std::max<std::int64_t>(
    1, budget_from_deadline(to_wire_time(e.deadline), now));
  auto deadline = e.deadline;
  e.at = shared_entry::phase::asking;
  e.owner_gen = st.owner_gen;
  st.entries.emplace(id, std::move(e));
  self->send(st.owner, ledger_atom::value, std::move(msg));
  shared_schedule(self, deadline, id, now);
}

void shared_commit(shared_self self, std::uint64_t id, const shared_entry& e,
                   bool executed, service_response res) {
  auto& st = self->state;
  ledger_commit msg;
  msg.id = id;
  msg.route = st.route;
  msg.key = e.req.idempotency_key;
  msg.epoch = e.epoch;
  msg.ticket = e.ticket;
  msg.executed = executed;
  if (executed) {
    msg.request = e.req;
    msg.response = std::move(res);
  }
  self->send(st.owner, commit_atom::value, std::move(msg));
}

/// The request without its headers: what the owner journals.
service_request journaled_request(const service_request& req) {
  service_request r;
  r.method = req.method;
  r.path = req.path;
  r.query = req.query;
  r.body = req.body;
  r.idempotency_key = req.idempotency_key;
  return r;
}

void shared_execute(shared_self self, std::uint64_t id, shared_entry& e) {
  auto& st = self->state;
  e.at = shared_entry::phase::executing;
  auto req = std::move(e.req);
  e.req = journaled_request(req);
  auto target = st.target->get();
  auto me = caf::actor_cast<caf::actor>(self);
  auto done = call_callback{[me, id](call_end how, service_response res) {
    caf::anon_send(me, svc_sdone_atom::value, id,
                   static_cast<std::uint8_t>(how), std::move(res));
  }};
  if (!target) {
    // A factory route whose factory failed: nothing ran.
    done(call_end::down, {});
    return;
  }
  self->spawn(bridge_actor, st.anchor, std::move(target), std::move(req),
              st.exec_timeout, std::move(done), preliminary_callback{});
}

/// Whether the route has an owner now, locating one if it has none and
/// can: a new owner is monitored and starts a new generation.
bool shared_has_owner(shared_self self) {
  auto& st = self->state;
  if (st.owner)
    return true;
  if (!st.locate)
    return false;
  auto found = st.locate();
  // Not believed: the very proxy that went down (its node's link is not
  // down yet in the directory). Compared by identity, not by address: when
  // the link to a living owner comes back (a heartbeat timeout, the owner's
  // process paused), the owner has a new proxy whose address equals the
  // lost one (same node, same actor id), and refusing it would answer 503
  // for as long as the owner lives.
  if (!found
      || caf::actor_cast<caf::actor_control_block*>(found)
           == caf::actor_cast<caf::actor_control_block*>(st.lost_owner))
    return false;
  st.owner = std::move(found);
  ++st.owner_gen;
  self->monitor(st.owner);
  return true;
}

/// The owner is gone: nothing may execute without its ticket, and no
/// execution can be recorded, so every request it holds is answered 503
/// now; executions still running are answered 503 when they end.
void shared_owner_down(shared_self self) {
  auto& st = self->state;
  st.lost_owner = st.owner.address();
  st.owner = nullptr;
  auto res = to_http(st.core->unavailable_answer(owner_unreachable_text));
  for (auto i = st.entries.begin(); i != st.entries.end();) {
    auto& e = i->second;
    if (e.at == shared_entry::phase::executing) {
      ++i;
      continue;
    }
    if (!e.cancelled)
      st.core->finish(e.request, res, &st.core->count.unavailable);
    i = st.entries.erase(i);
  }
}

void shared_on_begin_reply(shared_self self, std::uint64_t id, shared_entry& e,
                           ledger_reply& reply, time_point now) {
  auto& st = self->state;
  auto& core = *st.core;
  if (e.cancelled) {
    // The caller is gone: a ticket in flight is given back at once so the
    // key's other requests need not wait for the owner's timeout.
    if (reply.verdict == owner_verdict::execute) {
      e.epoch = reply.epoch;
      e.ticket = reply.ticket;
      shared_commit(self, id, e, false, {});
    }
    st.entries.erase(id);
    return;
  }
  switch (reply.verdict) {
    case owner_verdict::execute:
      e.epoch = reply.epoch;
      e.ticket = reply.ticket;
      shared_execute(self, id, e);
      return;
    case owner_verdict::duplicate_done:
      core.finish(e.request, to_http(reply.recorded),
                  &core.count.ledger_duplicates);
      break;
    case owner_verdict::rejected_full:
      core.finish(e.request,
                  core.unavailable_answer("idempotency ledger is full"),
                  &core.count.ledger_rejected);
      break;
    case owner_verdict::retry: {
      // The key's executor was abandoned: ask again with the same key while
      // the caller still waits (its deadline timer answers 504 otherwise).
      auto next = std::move(e);
      st.entries.erase(id);
      if (next.deadline > now)
        shared_begin(self, std::move(next), now);
      else
        core.finish_late(next.request);
      return;
    }
    case owner_verdict::invalid:
    case owner_verdict::committed:
    case owner_verdict::stale:
      // The key was checked at the edge, so a refused begin is a
      // configuration fault (e.g. the owner serves another route).
      core.finish(e.request,
                  service_error(500, "idempotency ledger refused the request"),
                  &core.count.route_failures);
      break;
  }
  st.entries.erase(id);
}

void shared_on_commit_reply(shared_self self, std::uint64_t id, shared_entry& e,
                            ledger_reply& reply) {
  auto& st = self->state;
  auto& core = *st.core;
  switch (reply.verdict) {
    case owner_verdict::committed:
      ++core.count.ledger_executed;
      core.finish(e.request, to_http(reply.recorded));
      break;
    case owner_verdict::stale:
      // The owner refused the record, so the execution does not count.
      core.finish(e.request,
                  core.unavailable_answer("the idempotency ledger refused "
                                          "this execution's record; retry"),
                  &core.count.unavailable);
      break;
    default:
      core.finish(e.request,
                  service_error(500, "the route's answer could not be "
                                     "recorded by the idempotency ledger"),
                  &core.count.route_failures);
      break;
  }
  st.entries.erase(id);
}

} // namespace

std::string to_string(shared_entry::phase x) {
  switch (x) {
    case shared_entry::phase::asking:
      return "asking";
    case shared_entry::phase::executing:
      return "executing";
    case shared_entry::phase::committing:
      return "committing";
  }
  return "invalid";
}

caf::behavior shared_ledger_client(shared_self self, core_ptr core,
                                   caf::actor anchor, cell_ptr target,
                                   shared_ledger_options opts) {
  auto& st = self->state;
  st.core = std::move(core);
  st.anchor = std::move(anchor);
  st.target = std::move(target);
  st.owner = std::move(opts.owner);
  st.locate = std::move(opts.locate);
  st.route = std::move(opts.route);
  st.exec_timeout =
    std::chrono::duration_cast<duration>(opts.execution_timeout);
  if (st.owner) {
    st.owner_gen = 1;
    self->monitor(st.owner);
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.owner && msg.source == self->state.owner.address())
      shared_owner_down(self);
  });
  return {
    [self](svc_req_atom, std::uint64_t id, service_request& req) {
      auto& st = self->state;
      if (!shared_has_owner(self)) {
        st.core->finish(id, st.core->unavailable_answer(owner_unreachable_text),
                        &st.core->count.unavailable);
        return;
      }
      shared_entry e;
      e.request = id;
      e.deadline = req.deadline;
      e.req = std::move(req);
      shared_begin(self, std::move(e), self->clock().now());
    },
    [self](ledger_atom, ledger_reply& reply) {
      auto& st = self->state;
      if (!st.owner
          || caf::actor_cast<caf::actor_addr>(self->current_sender())
               != st.owner.address())
        return;
      auto i = st.entries.find(reply.id);
      if (i == st.entries.end())
        return;
      auto& e = i->second;
      if (e.at == shared_entry::phase::asking)
        shared_on_begin_reply(self, reply.id, e, reply, self->clock().now());
      else if (e.at == shared_entry::phase::committing)
        shared_on_commit_reply(self, reply.id, e, reply);
      // An executing entry expects no reply: one for it is ignored.
    },
    [self](svc_sdone_atom, std::uint64_t id, std::uint8_t how_raw,
           service_response& res) {
      auto& st = self->state;
      auto i = st.entries.find(id);
      if (i == st.entries.end())
        return;
      auto& e = i->second;
      auto how = static_cast<call_end>(how_raw);
      if (!st.owner || e.owner_gen != st.owner_gen) {
        // Whatever ran cannot be recorded: success would be a lie that
        // a retry elsewhere could double.
        if (how == call_end::answered && res.not_executed)
          st.core->finish(e.request, res);
        else
          st.core->finish(e.request,
                          st.core->unavailable_answer(owner_unreachable_text),
                          &st.core->count.unavailable);
        st.entries.erase(i);
        return;
      }
      if (how == call_end::timed_out || how == call_end::shut_down) {
        // The handler may still run: the key stays the owner's in-progress
        // one until its in_progress_timeout releases it.
        finish_call(*st.core, e.request, how, std::move(res));
        st.entries.erase(i);
      } else if (how != call_end::answered || res.not_executed) {
        // Nothing committed: the key is released so a retry runs it.
        shared_commit(self, id, e, false, {});
        if (how == call_end::answered)
          st.core->finish(e.request, res);
        else
          finish_call(*st.core, e.request, how, std::move(res));
        st.entries.erase(i);
      } else {
        e.at = shared_entry::phase::committing;
        shared_commit(self, id, e, true, std::move(res));
      }
    },
    [self](svc_late_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      st.late_scheduled = no_deadline;
      while (!st.late.empty() && st.late.top().first <= now) {
        auto id = st.late.top().second;
        st.late.pop();
        auto i = st.entries.find(id);
        if (i == st.entries.end())
          continue;
        auto& e = i->second;
        if (e.cancelled) {
          if (e.forget_at <= now)
            st.entries.erase(i);
          continue;
        }
        if (e.deadline > now)
          continue;
        // 504 now; an execution runs on so that its answer is recorded.
        st.core->finish_late(e.request);
        if (e.at == shared_entry::phase::asking) {
          if (st.owner)
            self->send(st.owner, cancel_atom::value, id);
          e.cancelled = true;
          e.forget_at = now + st.exec_timeout;
          st.late.emplace(e.forget_at, id);
        }
      }
      arm_late(self, now);
    },
  };
}

} // namespace bulwark::service_detail
