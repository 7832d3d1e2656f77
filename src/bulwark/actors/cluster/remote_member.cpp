#include "bulwark/actors/cluster/remote_member.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/wire.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace bulwark {

namespace {

/// Who asked for the call in a slot, to answer it later.
struct caller_entry {
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  std::uint64_t journey_id = 0;
};

struct remote_member_state {
  remote_member_options opts;
  std::optional<remote_call_core> core;
  remote_call_core::action_list actions;
  std::vector<caller_entry> callers; // by slot
  /// The target of the current generation (invalid while down).
  caf::actor target;
  std::uint64_t gen = 0;
  /// The wake-up asked for last.
  std::optional<time_point> armed;
};

using remote_self = caf::stateful_actor<remote_member_state>*;

time_point now_of(remote_self self) {
  return self->clock().now();
}

void answer(remote_self self, const caf::strong_actor_ptr& to,
            caf::message_id mid, caf::atom_value kind, call_reply&& r) {
  if (!to)
    return;
  auto msg = kind == preliminary_atom::value
               ? caf::make_message(preliminary_atom::value, std::move(r))
               : caf::make_message(reply_atom::value, std::move(r));
  // A preliminary is an ordinary message; a final answers the request form.
  auto id = kind == preliminary_atom::value ? caf::make_message_id()
                                            : mid.response_id();
  to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()}, id,
                                        {}, std::move(msg)),
              self->context());
}

caller_entry& caller_at(remote_self self, std::uint32_t slot) {
  auto& callers = self->state.callers;
  if (slot >= callers.size())
    callers.resize(slot + 1);
  return callers[slot];
}

/// Carries out the core's actions. `req` is the call being admitted (for
/// `send`), `remote` the remote's reply being handled (for `forward` and
/// `preliminary`).
void process(remote_self self, call_request* req, call_reply* remote) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.actions.size(); ++i) {
    auto& a = st.actions[i];
    switch (a.kind) {
      case remote_action_kind::send:
        if (req != nullptr && st.target) {
          req->id = a.wire_id;
          req->deadline_ns = a.budget_ns == remote_call_core::no_budget
                               ? no_deadline_ns
                               : a.budget_ns;
          self->send(st.target, rcall_atom::value, std::move(*req));
        }
        break;
      case remote_action_kind::cancel_remote:
        if (st.target)
          self->send(st.target, cancel_atom::value, a.wire_id);
        break;
      case remote_action_kind::reply: {
        call_reply r;
        r.id = a.caller_id;
        r.ok = false;
        r.cls = a.cls;
        r.may_retry = a.may_retry;
        r.message = a.message;
        if (a.slot == remote_call_core::no_slot) {
          // Refused on arrival: the sender of the message being handled.
          r.journey_id = req != nullptr ? req->journey_id : 0;
          answer(self, self->current_sender(), self->current_message_id(),
                 reply_atom::value, std::move(r));
          self->drop_current_message_id();
        } else {
          auto& c = caller_at(self, a.slot);
          r.journey_id = c.journey_id;
          answer(self, c.sender, c.mid, reply_atom::value, std::move(r));
          c = caller_entry{};
        }
        break;
      }
      case remote_action_kind::forward:
        if (remote != nullptr) {
          auto& c = caller_at(self, a.slot);
          remote->id = a.caller_id;
          answer(self, c.sender, c.mid, reply_atom::value, std::move(*remote));
          c = caller_entry{};
        }
        break;
      case remote_action_kind::preliminary:
        if (remote != nullptr) {
          auto& c = caller_at(self, a.slot);
          call_reply copy = *remote;
          copy.id = a.caller_id;
          answer(self, c.sender, c.mid, preliminary_atom::value,
                 std::move(copy));
        }
        break;
      case remote_action_kind::end_silently:
        caller_at(self, a.slot) = caller_entry{};
        break;
      case remote_action_kind::reachable:
        if (st.opts.owner)
          self->send(st.opts.owner, reach_atom::value, a.up);
        break;
      case remote_action_kind::arm_timer:
        if (!st.armed || a.at < *st.armed) {
          st.armed = a.at;
          auto delay = a.at - now_of(self);
          if (delay < duration::zero())
            delay = duration::zero();
          self->delayed_send(self, delay, tick_atom::value);
        }
        break;
    }
  }
  st.actions.clear();
}

void on_call(remote_self self, call_request& req) {
  auto& st = self->state;
  remote_call c;
  c.caller_id = req.id;
  c.operation = req.operation;
  c.bytes =
    req.operation.size() + req.payload.size() + req.idempotency_key.size();
  c.deadline = from_wire_time(req.deadline_ns);
  c.progressive = req.progressive;
  auto slot = st.core->call(c, now_of(self), st.actions);
  if (slot) {
    auto& entry = caller_at(self, *slot);
    entry.sender = self->current_sender();
    entry.mid = self->current_message_id();
    entry.journey_id = req.journey_id;
    // Answered later, exactly once, by `answer`.
    self->drop_current_message_id();
  }
  process(self, &req, nullptr);
}

void on_remote_reply(remote_self self, call_reply& r, bool preliminary) {
  auto& st = self->state;
  // The answer comes from whatever serves the target now (a published name
  // is a live alias that delegates), so the sender is not checked: the wire
  // id, with its slot's generation, says whether the call is still ours.
  if (!st.target)
    return;
  st.core->on_reply(r.id, preliminary, now_of(self), st.actions);
  process(self, nullptr, &r);
}

void set_target(remote_self self, std::uint64_t gen, caf::actor target,
                bool node_lost) {
  auto& st = self->state;
  auto n = now_of(self);
  if (st.target && (!target || gen != st.gen)) {
    // The target of this generation is gone (or replaced without a down).
    self->demonitor(st.target);
    st.target = nullptr;
    st.core->link_down(st.gen, node_lost, n, st.actions);
  } else if (!target) {
    // Down already, or never up: the core counts a repeat as stale.
    st.gen = std::max(gen, st.gen);
    st.core->link_down(st.gen, node_lost, n, st.actions);
  }
  if (target && !st.target) {
    st.target = std::move(target);
    st.gen = gen;
    self->monitor(st.target);
    st.core->link_up(gen, n, st.actions);
  }
  process(self, nullptr, nullptr);
}

caf::behavior remote_member(remote_self self, remote_member_options opts) {
  auto& st = self->state;
  st.core.emplace(opts.call);
  st.opts = std::move(opts);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.target || dm.source != st.target.address())
      return;
    // remote_link_unreachable: the node is gone (closed socket or heartbeat
    // timeout); anything else: the remote actor ended on a live node.
    set_target(self, st.gen, caf::actor{},
               dm.reason == caf::exit_reason::remote_link_unreachable);
  });
  if (st.opts.link)
    self->send(st.opts.link, link_atom::value,
               caf::actor_cast<caf::actor>(self), st.opts.target);
  else
    // No link (an unknown peer): reachable never; calls are refused.
    set_target(self, 0, caf::actor{}, true);
  return {
    [self](reply_atom, call_reply& r) { on_remote_reply(self, r, false); },
    [self](preliminary_atom, call_reply& r) { on_remote_reply(self, r, true); },
    [self](call_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      on_call(self, req);
      return {};
    },
    [self](rcall_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      req.deadline_ns = deadline_from_budget(req.deadline_ns, now_of(self));
      on_call(self, req);
      return {};
    },
    [self](cancel_atom, std::uint64_t id) {
      auto& st = self->state;
      auto sender = self->current_sender();
      st.core->cancel(
        id,
        [&](std::uint32_t slot) {
          return slot < st.callers.size() && st.callers[slot].sender == sender;
        },
        now_of(self), st.actions);
      process(self, nullptr, nullptr);
    },
    [self](link_atom, std::uint64_t gen, caf::actor& target) {
      set_target(self, gen, std::move(target), true);
    },
    [self](tick_atom) {
      auto& st = self->state;
      st.armed.reset();
      st.core->advance(now_of(self), st.actions);
      process(self, nullptr, nullptr);
    },
    [self](stats_atom) -> caf::result<stats_atom, std::string> {
      auto& c = self->state.core->counters();
      return {stats_atom::value,
              "{\"sent\":" + std::to_string(c.sent)
                + ",\"unknown_outcome\":" + std::to_string(c.unknown_outcome)
                + ",\"refused_unreachable\":"
                + std::to_string(c.refused_unreachable)
                + ",\"refused_bound\":" + std::to_string(c.refused_bound)
                + ",\"late_replies\":" + std::to_string(c.late_replies)
                + ",\"in_flight\":" + std::to_string(c.in_flight) + "}"};
    },
  };
}

} // namespace

caf::actor spawn_remote_member(caf::actor_system& sys,
                               remote_member_options opts) {
  return sys.spawn(remote_member, std::move(opts));
}

} // namespace bulwark
