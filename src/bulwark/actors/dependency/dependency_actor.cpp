#include "bulwark/actors/dependency/dependency_actor.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <caf/all.hpp>

#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/dependency/dependency_core.hpp"
#include "bulwark/runtime/probe/probe_core.hpp"

namespace bulwark {

// Every decision is bulwark/runtime/dependency/dependency_core's (and, for
// the active health probe, bulwark/runtime/probe/probe_core's, kept in the
// policies). The actor turns messages into their events and their actions
// into messages, keeps the reply address of each call, and keeps one delayed
// tick message for the earlier of their next deadlines.
struct dependency_state {
  static inline const char* name = "bulwark.dependency";

  /// Where a call's one reply goes: the sender and the id of its message (a
  /// request's response id, or an ordinary message for the send form).
  /// Cheaper than a response_promise, which copies its forwarding stack.
  struct reply_address {
    caf::strong_actor_ptr to;
    caf::message_id mid;
  };

  using self_pointer = dependency_actor::stateful_pointer<dependency_state>;

  self_pointer self = nullptr;
  // The system's clock, looked up once: every message reads it.
  caf::actor_clock* clock = nullptr;
  std::optional<dependency_core> core;
  dependency_core::action_list actions;
  probe_action_list probe_actions;
  // By the core's call slot.
  std::vector<reply_address> callers;
  caf::actor transport;
  // By index in core->alternates().
  std::vector<caf::actor> alternates;
  time_point pending_tick = no_deadline;
  duration timer_slack{0};

  time_point now() const {
    return clock->now();
  }

  /// Sends to an actor of any interface, or to a caller's address
  /// (transports and alternates speak protocols, not our typed interface),
  /// with this actor as the sender so the answer comes back here. CAF's
  /// typed send() refuses dynamically typed receivers at compile time.
  template <class Handle, class... Ts>
  void send_to(const Handle& dest, Ts&&... xs) {
    dest->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
  }

  void reply(const caf::strong_actor_ptr& to, caf::message_id mid,
             call_reply&& r) {
    if (to)
      to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            mid.response_id(), {},
                                            reply_atom::value, std::move(r)),
                  self->context());
  }

  // -- events ------------------------------------------------------------------

  void on_call(call_request& req) {
    auto n = now();
    // Straight into the call's slot: the message's strings move once.
    auto& r = core->next_request();
    r.id = req.id;
    r.operation = std::move(req.operation);
    r.payload = std::move(req.payload);
    r.idempotency_key = std::move(req.idempotency_key);
    r.crit = req.crit;
    r.deadline = from_wire_time(req.deadline_ns);
    r.journey_id = req.journey_id;
    r.upstream_attempts = req.upstream_attempts;
    r.trace = std::move(req.trace);
    r.upstream_span = req.upstream_span;
    r.progressive = req.progressive;
    r.soft_deadline = req.soft_deadline_ns < 0
                        ? duration{-1}
                        : from_wire_duration(req.soft_deadline_ns);
    auto slot = core->on_call(n, actions);
    if (slot != dependency_core::no_call) {
      if (slot >= callers.size())
        callers.resize(slot + 1);
      auto& c = callers[slot];
      // Taken from the message rather than copied: the handler returns
      // `delegated`, so CAF reads the sender no more, and a copy would cost
      // an atomic increment now and a decrement when the message goes.
      c.to = std::move(self->current_sender());
      c.mid = self->current_message_id();
    }
    process(n);
  }

  void on_result(attempt_result& r) {
    if (probe_core::is_probe_id(r.attempt_id)) {
      on_probe_result(r);
      return;
    }
    auto n = now();
    core->on_result(r.attempt_id, to_observation(r), std::move(r.payload), n,
                    actions);
    process(n);
  }

  void on_alternate_reply(call_reply& r) {
    auto n = now();
    core->on_alternate_reply(r.id, r.ok, r.cls, std::move(r.payload), r.message,
                             n, actions);
    process(n);
  }

  void on_cancel(std::uint64_t caller_id) {
    auto& from = self->current_sender();
    auto n = now();
    auto cancelled = dependency_core::no_call;
    auto found = core->cancel(
      caller_id,
      [&](std::uint32_t slot) {
        if (slot >= callers.size() || callers[slot].to != from)
          return false;
        cancelled = slot;
        return true;
      },
      n, actions);
    process(n);
    // A call cancelled after its preliminary reply ends without one: its
    // caller's address goes now (a call answered as `cancelled` gave it up
    // in the reply already). A request-form caller gets no response: it
    // asked to stop, and its own request timeout ends its handler.
    if (found)
      callers[cancelled] = reply_address{};
  }

  void on_tick() {
    auto n = now();
    if (pending_tick <= n)
      pending_tick = no_deadline;
    core->advance(n, actions);
    auto& probe = core->policies().probe;
    if (probe.next_deadline() <= n) {
      probe.advance(n, probe_actions);
      process_probe(n);
    }
    process(n);
  }

  // -- the active health probe -------------------------------------------------
  // Probes go straight to the transport under ids no call attempt has: no
  // breaker, budget, throttle or limit sees them, and the core never counts
  // them.

  void on_probe_result(const attempt_result& r) {
    auto n = now();
    auto o = classify(core->config().classification, to_observation(r));
    core->policies().probe.on_result(r.attempt_id, o, n, probe_actions);
    process_probe(n);
    arm_tick(n);
  }

  void process_probe(time_point n) {
    auto& pol = core->policies();
    pol.apply_probe(probe_actions, n);
    for (auto& a : probe_actions)
      if (a.kind == probe_action_kind::send_probe)
        send_probe(a, pol.probe.config());
    probe_actions.clear();
  }

  void send_probe(const probe_action& a, const probe_config& cfg) {
    // Without a transport the probe gets no answer and times out.
    if (!transport)
      return;
    attempt_request ar;
    ar.attempt_id = a.id;
    ar.deadline_ns = to_wire_time(a.deadline);
    ar.attempt_number = 1;
    if (!cfg.http_path.empty()) {
      ar.operation = cfg.http_path;
      send_to(transport, probe_atom::value, std::move(ar));
    } else {
      ar.operation = cfg.operation;
      send_to(transport, attempt_atom::value, std::move(ar));
    }
  }

  void on_transport_down() {
    auto n = now();
    core->transport_down(n, actions);
    process(n);
  }

  void replace_transport(caf::actor next) {
    if (transport)
      self->demonitor(transport);
    transport = std::move(next);
    if (transport)
      self->monitor(transport);
    core->transport_replaced(static_cast<bool>(transport));
  }

  std::vector<std::string> apply_config(const config_update& update) {
    if (update.config == nullptr)
      return {"(document): the update carries no configuration"};
    auto n = now();
    auto errors = core->reconfigure(*update.config, n, actions);
    process(n);
    return errors;
  }

  // -- actions -----------------------------------------------------------------

  void process(time_point n) {
    for (auto& a : actions) {
      switch (a.kind) {
        case dependency_action_kind::send_attempt:
          send_attempt(a);
          break;
        case dependency_action_kind::cancel_attempt:
          if (transport)
            send_to(transport, cancel_atom::value, a.id);
          break;
        case dependency_action_kind::call_alternate:
          call_alternate(a);
          break;
        case dependency_action_kind::reply:
          send_reply(a);
          break;
      }
    }
    actions.clear();
    arm_tick(n);
  }

  void send_attempt(const dependency_action& a) {
    // An attempt whose call already ended in the same event (its deadline
    // passed as it left the queue) would only be cancelled: not sent.
    if (!transport || !core->live(a.id))
      return;
    auto& req = core->request(a.call);
    attempt_request ar;
    ar.attempt_id = a.id;
    ar.operation = req.operation;
    ar.payload = req.payload;
    ar.idempotency_key = req.idempotency_key;
    ar.deadline_ns = to_wire_time(a.deadline);
    ar.attempt_number = a.number;
    ar.crit = req.crit;
    if (a.span != 0) {
      // The call's trace with this attempt's span as the parent.
      ar.trace = req.trace;
      ar.trace.parent_id = a.span;
    }
    send_to(transport, attempt_atom::value, std::move(ar));
  }

  void call_alternate(const dependency_action& a) {
    if (!core->live(a.id))
      return;
    auto& req = core->request(a.call);
    call_request alt;
    alt.id = a.id;
    alt.operation = req.operation;
    alt.payload = req.payload;
    alt.idempotency_key = req.idempotency_key;
    alt.crit = req.crit;
    alt.deadline_ns = to_wire_time(a.deadline);
    alt.journey_id = req.journey_id;
    alt.upstream_attempts = a.number;
    if (a.span != 0) {
      alt.trace = req.trace;
      alt.trace.parent_id = a.span;
      alt.upstream_span = req.upstream_span;
    }
    send_to(alternates[a.alternate], call_atom::value, std::move(alt));
  }

  // The core's reply as the message; its strings move.
  static call_reply to_call_reply(dependency_reply& x) {
    call_reply r;
    r.id = x.id;
    r.ok = x.ok;
    r.payload = std::move(x.payload);
    r.source = x.source;
    r.attempts = x.attempts;
    r.hedge_won = x.hedge_won;
    r.journey_id = x.journey_id;
    r.cls = x.cls;
    r.may_retry = x.may_retry;
    r.retry_after_ns = x.retry_after < duration{0}
                         ? no_retry_after_ns
                         : to_wire_duration(x.retry_after);
    r.message = std::move(x.message);
    r.preliminary = x.preliminary;
    r.age_ns = x.age < duration{0} ? -1 : to_wire_duration(x.age);
    r.reason = x.reason;
    return r;
  }

  void send_reply(dependency_action& a) {
    auto& x = a.reply;
    if (x.preliminary) {
      send_preliminary(a);
      return;
    }
    auto r = to_call_reply(x);
    if (a.call == dependency_core::no_call) {
      // Refused on arrival: the sender of the message being handled.
      reply(self->current_sender(), self->current_message_id(), std::move(r));
      return;
    }
    auto& c = callers[a.call];
    auto to = std::move(c.to);
    reply(to, c.mid, std::move(r));
  }

  // A preliminary reply is an ordinary message, `(preliminary_atom,
  // call_reply)`, to the caller: a request's one response stays for the
  // final reply, so the caller's address is kept. Only a call with a slot
  // gets one.
  void send_preliminary(dependency_action& a) {
    auto& x = a.reply;
    auto& c = callers[a.call];
    if (!c.to)
      return;
    send_to(c.to, preliminary_atom::value, to_call_reply(x));
  }

  // A tick is a delayed message through CAF's clock thread: costly (a lock, a
  // wake-up) next to a call. Under traffic, due timers are run by the calls
  // and results that come in, so ticks only matter when the actor is idle;
  // `timer_slack` lets a tick fire up to that much late so that one tick
  // serves many timers. With no slack (the default) every timer fires exactly
  // on time, which virtual-time tests rely on.
  void arm_tick(time_point n) {
    auto t =
      std::min(core->next_deadline(), core->policies().probe.next_deadline());
    if (t == no_deadline)
      return;
    auto at = deadline::after(t, timer_slack).at;
    if (pending_tick <= at)
      return;
    pending_tick = at;
    auto delay = at > n ? at - n : duration{0};
    self->delayed_send(self, delay, tick_atom::value);
  }
};

namespace {

dependency_actor::behavior_type
dependency_impl(dependency_actor::stateful_pointer<dependency_state> self,
                dependency_options opts) {
  auto& st = self->state;
  st.self = self;
  st.clock = &self->clock();
  st.timer_slack =
    opts.timer_slack < duration{0} ? duration{0} : opts.timer_slack;
  dependency_core_options o;
  o.seed = opts.seed;
  o.journey_sample = opts.journey_sample;
  o.journey_prefix = self->id() << 32;
  for (auto& [name, handle] : opts.alternates) {
    if (!handle)
      continue;
    o.alternates.push_back(name);
    st.alternates.push_back(std::move(handle));
  }
  o.transport = static_cast<bool>(opts.transport);
  st.core.emplace(std::move(opts.config), std::move(opts.policies),
                  std::move(o), st.now());
  st.transport = std::move(opts.transport);
  if (st.transport)
    self->monitor(st.transport);
  // An enabled probe sends its first probe at once.
  st.arm_tick(st.now());
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.transport && dm.source == st.transport.address())
      st.on_transport_down();
  });
  // CAF 0.17 tries handlers in order: the two hot messages come first.
  return {
    // Returning `delegated` spares CAF 0.17 a response_promise per message
    // (it builds one for every void handler, only to drop it).
    [self](result_atom, attempt_result& r) -> caf::delegated<void> {
      self->state.on_result(r);
      return {};
    },
    [self](call_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      // Answered later (or right away) by `reply`, exactly once.
      self->state.on_call(req);
      return {};
    },
    [self](rcall_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      // From another node: its deadline is a budget (wire.hpp). A budget
      // already spent is answered like any late local call.
      req.deadline_ns =
        deadline_from_budget(req.deadline_ns, self->state.now());
      self->state.on_call(req);
      return {};
    },
    [self](config_atom, config_update& update)
      -> caf::result<config_atom, std::vector<std::string>> {
      return {config_atom::value, self->state.apply_config(update)};
    },
    [self](journey_atom,
           std::uint64_t id) -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.core->journey_json(id)};
    },
    [self](journey_atom,
           failed_atom) -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.core->failed_journeys_json()};
    },
    [self](trace_atom, std::uint64_t hi,
           std::uint64_t lo) -> caf::result<trace_atom, std::string> {
      return {trace_atom::value,
              self->state.core->trace_json(trace_id{hi, lo})};
    },
    [self](flags_atom, std::string& text)
      -> caf::result<flags_atom, std::vector<std::string>> {
      return {flags_atom::value, self->state.core->set_flags(text)};
    },
    [self](flags_atom) -> caf::result<flags_atom, std::string> {
      return {flags_atom::value, self->state.core->flags_json()};
    },
    [self](stats_atom) -> caf::result<stats_atom, dependency_stats> {
      return {stats_atom::value, self->state.core->stats_at(self->state.now())};
    },
    [self](transport_atom, caf::actor& next) {
      self->state.replace_transport(std::move(next));
    },
    [self](reply_atom, call_reply& r) { self->state.on_alternate_reply(r); },
    [self](cancel_atom, std::uint64_t id) { self->state.on_cancel(id); },
    [self](tick_atom) { self->state.on_tick(); },
  };
}

} // namespace

dependency_actor spawn_dependency(caf::actor_system& sys,
                                  dependency_options opts) {
  return sys.spawn(dependency_impl, std::move(opts));
}

} // namespace bulwark
