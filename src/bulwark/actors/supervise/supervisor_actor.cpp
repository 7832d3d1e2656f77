#include "bulwark/actors/supervise/supervisor_actor.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/journey/journey.hpp"
#include "bulwark/runtime/supervise/supervisor_core.hpp"

namespace bulwark {

namespace {

constexpr time_point never = no_deadline;

struct call_entry {
  caf::strong_actor_ptr reply_to;
  caf::message_id mid;
  call_request req;
  time_point received{};
  time_point deadline = never;
  std::unique_ptr<journey> trip;
  bool sampled = false;
  /// A preliminary answer went to the caller (its journey is kept).
  bool preliminary = false;
};

struct member_entry {
  member_spec spec;
  caf::actor handle;
  /// Bumped on every (re)start: a restart timer for an older incarnation is
  /// stale.
  std::uint64_t incarnation = 0;
};

struct supervisor_state {
  static inline const char* name = "bulwark.supervisor";

  supervisor_actor::pointer self = nullptr;
  supervisor_config cfg;
  std::unique_ptr<supervisor_core> core;
  /// Indexed like the core's members (removed ones included).
  std::vector<member_entry> members;
  member_factory factory;
  /// The document in force here: members start from it.
  std::shared_ptr<const bulwark_config> doc;
  /// Removed members whose actor has not been stopped yet.
  std::uint32_t draining = 0;
  std::vector<call_entry> calls; // indexed by the core's call slot
  supervisor_core::action_list actions;
  journey_log journeys;
  std::vector<std::unique_ptr<journey>> journey_pool;
  std::uint32_t journey_sample = 64;
  std::uint64_t journey_counter = 0;
  std::uint64_t completed = 0;
  time_point pending_tick = never;
  /// `(reach_atom, bool)` from senders that are no current member.
  std::uint64_t reach_ignored = 0;
  /// The member answer being handled: its payload goes into the reply.
  call_reply* current = nullptr;
  bool stopping = false;

  ~supervisor_state() {
    // Members go with their supervisor (OTP): a restarted supervisor starts
    // fresh ones.
    for (auto& m : members)
      if (m.handle)
        caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
  }

  time_point now() const {
    return self->clock().now();
  }

  template <class Handle, class... Ts>
  void send_to(const Handle& dest, Ts&&... xs) {
    dest->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
  }

  void reply(const caf::strong_actor_ptr& to, caf::message_id mid,
             call_reply r) {
    if (to)
      to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            mid.response_id(), {},
                                            reply_atom::value, std::move(r)),
                  self->context());
  }

  void note(call_entry& e, time_point t, const journey_event& ev) {
    if (e.trip)
      e.trip->record(t, ev);
  }

  // -- members -----------------------------------------------------------------

  void start_member(std::uint32_t i) {
    auto& m = members[i];
    m.handle = m.spec.start(self->system());
    ++m.incarnation;
    if (m.handle)
      self->monitor(m.handle);
  }

  /// Stops removed members with no attempt out any more.
  void stop_drained() {
    for (std::uint32_t i = 0; draining > 0 && i < members.size(); ++i) {
      auto& m = members[i];
      if (!m.handle || !core->removed(i) || !core->drained(i))
        continue;
      stop_handle(m);
      --draining;
    }
  }

  void stop_handle(member_entry& m) {
    self->demonitor(m.handle);
    caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    m.handle = nullptr;
  }

  /// Member `i` is down (crashed, or could not be started): restart it
  /// after the policy's delay, or escalate.
  void crashed(std::uint32_t i, time_point n) {
    auto d = core->member_down(i, n, actions);
    process(n);
    if (d.action == restart_action::restart)
      self->delayed_send(self, d.delay, restart_atom::value, i,
                         members[i].incarnation);
    else
      escalate(n);
  }

  void on_down(const caf::down_msg& dm) {
    if (stopping)
      return;
    for (std::uint32_t i = 0; i < members.size(); ++i) {
      auto& m = members[i];
      if (!m.handle || dm.source != m.handle.address())
        continue;
      m.handle = nullptr;
      auto n = now();
      if (core->removed(i)) {
        // Crashed while draining: its attempts fail over, no restart.
        --draining;
        core->member_gone(i, n, actions);
        process(n);
        return;
      }
      auto d = core->member_down(i, n, actions);
      process(n);
      // An operator's stop (or a normal exit) is not a crash: the member
      // stays down.
      if (dm.reason == caf::exit_reason::normal
          || dm.reason == caf::exit_reason::user_shutdown) {
        core->member_stopped(i, n, actions);
        process(n);
        return;
      }
      if (d.action == restart_action::restart) {
        self->delayed_send(self, d.delay, restart_atom::value, i,
                           m.incarnation);
      } else {
        escalate(n);
      }
      return;
    }
  }

  /// A member's stand-in reports its node lost (`reachable == false`) or
  /// back. Only the current incarnation of a member is believed: a report
  /// from anyone else (an old incarnation's late message, a stranger) is
  /// counted and changes nothing.
  void on_reach(bool reachable) {
    if (stopping)
      return;
    auto src = caf::actor_cast<caf::actor_addr>(self->current_sender());
    for (std::uint32_t i = 0; src && i < members.size(); ++i) {
      auto& m = members[i];
      if (!m.handle || core->removed(i) || src != m.handle.address())
        continue;
      auto n = now();
      if (reachable)
        core->member_reachable(i, n, actions);
      else
        core->member_unreachable(i, n, actions);
      process(n);
      return;
    }
    ++reach_ignored;
  }

  void on_restart(std::uint32_t i, std::uint64_t incarnation) {
    if (stopping || i >= members.size() || members[i].incarnation != incarnation
        || members[i].handle || core->removed(i))
      return;
    start_member(i);
    if (members[i].handle) {
      auto n = now();
      core->member_up(i, n, actions);
      process(n);
    }
  }

  /// Restart intensity exceeded: answer everything, stop, and let whoever
  /// watches this supervisor decide (level 4).
  void escalate(time_point n) {
    stopping = true;
    core->fail_all(n, actions);
    process(n);
    self->quit(caf::exit_reason::unhandled_exception);
  }

  // -- configuration -----------------------------------------------------------

  /// Applies this supervisor's section of `update`, all of it or nothing.
  std::vector<std::string> apply_config(const config_update& update) {
    std::vector<std::string> errors;
    if (update.config == nullptr) {
      errors.push_back("(document): the update carries no configuration");
      return errors;
    }
    auto* mine = update.config->find_supervisor(cfg.name);
    if (mine == nullptr) {
      errors.push_back("/supervisors/" + cfg.name
                       + ": is required (this actor serves supervisor \""
                       + cfg.name + "\")");
      return errors;
    }
    if (!factory)
      for (auto& name : mine->members)
        if (core->index_of(name) == supervisor_core::npos)
          errors.push_back("/supervisors/" + cfg.name
                           + "/members: cannot add \"" + name
                           + "\": this supervisor was started without a "
                             "member factory");
    if (!errors.empty())
      return errors;
    auto n = now();
    auto r = core->reconfigure(*mine, n, actions);
    if (!r.ok())
      return std::move(r.errors);
    cfg = *mine;
    doc = update.config;
    if (members.size() < core->members())
      members.resize(core->members());
    for (auto i : r.removed) {
      // A restart timer for it is stale now.
      ++members[i].incarnation;
      if (members[i].handle)
        ++draining;
    }
    stop_drained();
    for (auto i : r.added) {
      auto& m = members[i];
      if (m.handle) {
        // A drained member's index, reused before its actor was stopped.
        stop_handle(m);
        --draining;
      }
      m.spec = member_spec{core->name(i), bind_factory(core->name(i))};
      start_member(i);
    }
    for (auto i : r.added)
      if (!members[i].handle)
        crashed(i, n);
    process(n);
    return errors;
  }

  std::function<caf::actor(caf::actor_system&)>
  bind_factory(const std::string& name) {
    // Reads `doc` when called: a restart starts from the document in force.
    return [this, name](caf::actor_system& sys) {
      return factory(sys, name, doc, caf::actor_cast<caf::actor>(self));
    };
  }

  // -- calls -------------------------------------------------------------------

  void on_call(call_request& req) {
    auto n = now();
    auto& to = self->current_sender();
    auto mid = self->current_message_id();
    if (req.operation.empty() || stopping) {
      call_reply r;
      r.id = req.id;
      r.journey_id = req.journey_id;
      r.cls =
        stopping ? failure_class::rejected_locally : failure_class::persistent;
      r.message =
        stopping ? "supervisor stopping" : "invalid request: empty operation";
      reply(to, mid, std::move(r));
      return;
    }
    auto deadline = req.deadline_ns == no_deadline_ns
                      ? n + cfg.default_timeout
                      : from_wire_time(req.deadline_ns);
    if (req.journey_id == 0)
      req.journey_id = (self->id() << 32) | ++journey_counter;
    auto op = cfg.idempotency_of(req.operation);
    supervisor_progressive progressive;
    progressive.enabled = req.progressive;
    if (req.soft_deadline_ns >= 0)
      progressive.soft_deadline = from_wire_duration(req.soft_deadline_ns);
    auto slot = core->start(op, deadline, n, actions, progressive);
    if (slot >= calls.size())
      calls.resize(slot + 1);
    auto& e = calls[slot];
    e.reply_to = to;
    e.mid = mid;
    e.received = n;
    e.deadline = deadline;
    e.sampled = journey_sample <= 1 || ++completed % journey_sample == 0;
    e.preliminary = false;
    if (journey_pool.empty()) {
      e.trip = std::make_unique<journey>(req.journey_id, n);
    } else {
      e.trip = std::move(journey_pool.back());
      journey_pool.pop_back();
      *e.trip = journey{req.journey_id, n};
    }
    e.req = std::move(req);
    note(e, n,
         journey_event{journey_event_kind::admitted}.with_who(
           initiator::supervisor));
    process(n);
  }

  void on_member_reply(call_reply& r) {
    auto n = now();
    std::uint32_t slot = 0;
    std::uint32_t member = 0;
    if (core->locate(r.id, slot, member)) {
      auto o = r.ok ? outcome::ok() : outcome::failure(r.cls);
      note(calls[slot], n,
           journey_event{journey_event_kind::attempt_ended}
             .with_who(initiator::supervisor)
             .with_attempt(correlation_id::index(r.id) + 1)
             .with_outcome(o, n - calls[slot].received));
    }
    current = &r;
    core->on_result(r.id, member_result{r.ok, r.cls}, n, actions);
    process(n);
    current = nullptr;
  }

  /// A member's preliminary answer to a progressive attempt: the core
  /// decides whether the caller gets it (the first one, while the call is
  /// open). Only a reply marked preliminary, from the member the attempt
  /// went to, counts: it is passed on to a caller as it is.
  void on_member_preliminary(call_reply& r) {
    std::uint32_t slot = 0;
    std::uint32_t member = 0;
    if (!r.preliminary || !core->locate(r.id, slot, member)
        || member >= members.size() || !members[member].handle
        || members[member].handle
             != caf::actor_cast<caf::abstract_actor*>(self->current_sender()))
      return;
    auto n = now();
    auto d = core->on_preliminary(r.id, n);
    if (d.forward)
      forward_preliminary(calls[d.call], r, n);
  }

  void on_cancel(std::uint64_t caller_id) {
    auto& from = self->current_sender();
    for (std::uint32_t slot = 0; slot < calls.size(); ++slot) {
      auto& e = calls[slot];
      if (e.trip && e.req.id == caller_id && e.reply_to == from) {
        auto n = now();
        core->cancel(slot, n, actions);
        process(n);
        return;
      }
    }
  }

  // -- actions -----------------------------------------------------------------

  void process(time_point n) {
    // Actions may append more actions (none do today), so index, not iterate.
    for (std::size_t i = 0; i < actions.size(); ++i) {
      auto a = actions[i];
      switch (a.kind) {
        case supervisor_action_kind::send:
          do_send(a, n);
          break;
        case supervisor_action_kind::cancel:
          if (members[a.member].handle)
            send_to(members[a.member].handle, cancel_atom::value, a.attempt);
          break;
        case supervisor_action_kind::reply:
          do_reply(a, n);
          break;
      }
    }
    actions.clear();
    if (draining > 0)
      stop_drained();
    arm_tick(n);
  }

  void do_send(const supervisor_action& a, time_point n) {
    auto& e = calls[a.call];
    switch (a.why_sent) {
      case send_reason::failover:
        note(e, n,
             journey_event{journey_event_kind::escalated}
               .with_who(initiator::supervisor)
               .with_level(3));
        note(e, n,
             journey_event{journey_event_kind::attempt_started}
               .with_who(initiator::supervisor)
               .with_attempt(a.attempt_number));
        break;
      case send_reason::hedge:
        note(e, n,
             journey_event{journey_event_kind::hedge_started}
               .with_who(initiator::hedger)
               .with_attempt(a.attempt_number));
        break;
      default:
        note(e, n,
             journey_event{journey_event_kind::attempt_started}
               .with_who(initiator::supervisor)
               .with_attempt(a.attempt_number));
        break;
    }
    auto& dest = members[a.member].handle;
    if (!dest) {
      // Cannot happen (the core routes only to running members); answer the
      // attempt as a local rejection rather than lose it.
      core->on_result(a.attempt,
                      member_result{false, failure_class::rejected_locally}, n,
                      actions);
      return;
    }
    call_request out = e.req;
    out.id = a.attempt;
    out.deadline_ns = to_wire_time(e.deadline);
    out.upstream_attempts = e.req.upstream_attempts + a.attempt_number - 1;
    out.progressive = a.progressive;
    out.soft_deadline_ns = a.progressive && a.soft_deadline >= duration{0}
                             ? to_wire_duration(a.soft_deadline)
                             : -1;
    send_to(dest, call_atom::value, std::move(out));
  }

  /// The member's preliminary answer, under the caller's id, as an ordinary
  /// message: a request's one response stays for the final reply (the
  /// protocol of a dependency actor).
  void forward_preliminary(call_entry& e, call_reply& member_reply,
                           time_point n) {
    if (!e.reply_to)
      return;
    call_reply r = std::move(member_reply);
    r.id = e.req.id;
    r.journey_id = e.req.journey_id;
    r.may_retry = false;
    e.preliminary = true;
    note(e, n,
         journey_event{journey_event_kind::preliminary_replied}
           .with_who(initiator::supervisor)
           .with_source(r.source));
    send_to(e.reply_to, preliminary_atom::value, std::move(r));
  }

  void do_reply(const supervisor_action& a, time_point n) {
    auto& e = calls[a.call];
    if (a.silent) {
      // Cancelled after its preliminary answer: the caller wants nothing
      // more. A request-form caller's own timeout ends its handler.
      note(e, n,
           journey_event{journey_event_kind::replied}
             .with_who(initiator::supervisor)
             .with_outcome(outcome::failure(failure_class::cancelled),
                           n - e.received));
      keep_journey(e);
      e.reply_to = nullptr;
      e.req.payload.clear();
      return;
    }
    call_reply r;
    r.id = e.req.id;
    r.ok = a.ok;
    r.journey_id = e.req.journey_id;
    r.attempts = a.attempts;
    r.hedge_won = a.hedge_won;
    r.cls = a.cls;
    // Level 4: whatever failed here was handled as far as it could be.
    r.may_retry = false;
    bool from_current =
      current != nullptr && a.attempt != 0 && current->id == a.attempt;
    if (a.ok) {
      if (from_current) {
        r.payload = std::move(current->payload);
        r.source = current->source;
      }
      note(e, n,
           journey_event{journey_event_kind::replied}
             .with_who(initiator::supervisor)
             .with_outcome(outcome::ok(), n - e.received)
             .with_source(r.source));
    } else {
      // The last member's Retry-After, if it gave one: the caller's retry
      // layer (or HTTP service) passes it on rather than guessing.
      if (from_current)
        r.retry_after_ns = current->retry_after_ns;
      switch (a.why_replied) {
        case reply_reason::answered:
          r.message = from_current ? current->message : "failed";
          break;
        case reply_reason::all_failed:
          r.message = "every member tried failed";
          if (from_current && !current->message.empty())
            r.message += "; last: " + current->message;
          break;
        case reply_reason::no_member:
          r.message = "no member available (crashed, restarting, ejected or "
                      "unreachable)";
          break;
        case reply_reason::deadline:
          r.message = "deadline exceeded";
          break;
        case reply_reason::cancelled:
          r.message = "cancelled by the caller";
          break;
        case reply_reason::shutdown:
          r.message = "supervisor stopped: restart intensity exceeded";
          break;
      }
      note(e, n,
           journey_event{journey_event_kind::escalated}
             .with_who(initiator::supervisor)
             .with_level(4));
      note(e, n,
           journey_event{journey_event_kind::replied}
             .with_who(initiator::supervisor)
             .with_outcome(outcome::failure(a.cls), n - e.received));
    }
    keep_journey(e);
    auto to = std::move(e.reply_to);
    auto mid = e.mid;
    e.req.payload.clear();
    reply(to, mid, std::move(r));
  }

  void keep_journey(call_entry& e) {
    if (!e.trip)
      return;
    // Kept when something happened at this level (a failure, a failover, a
    // hedge, a preliminary answer), else one in `journey_sample`.
    if (e.sampled || e.preliminary || e.trip->failed()
        || e.trip->attempts() > 1)
      journeys.add(*e.trip);
    journey_pool.push_back(std::move(e.trip));
  }

  // -- timers ------------------------------------------------------------------

  void arm_tick(time_point n) {
    auto t = core->next_deadline();
    if (t == never || pending_tick <= t)
      return;
    pending_tick = t;
    auto delay = t > n ? t - n : duration{0};
    self->delayed_send(self, delay, tick_atom::value);
  }

  void on_tick() {
    auto n = now();
    if (pending_tick <= n)
      pending_tick = never;
    core->advance(n, actions);
    process(n);
  }

  // -- observers ---------------------------------------------------------------

  supervisor_stats stats() {
    supervisor_stats x;
    x.name = cfg.name;
    x.counters = core->counters();
    x.counters.reach_ignored = reach_ignored;
    x.in_flight = core->calls_in_flight();
    x.members.reserve(members.size());
    for (std::uint32_t i = 0; i < members.size(); ++i) {
      if (core->removed(i))
        continue;
      supervisor_member_stats m;
      m.name = members[i].spec.name;
      m.running = core->running(i);
      m.status = core->status(i);
      m.health = core->health(i);
      m.outstanding = core->outstanding(i);
      m.ejections = core->outliers().ejections(i);
      m.incarnation = members[i].incarnation;
      x.members.push_back(std::move(m));
    }
    return x;
  }

  std::string journey_json(std::uint64_t id) {
    if (auto* j = journeys.find(id))
      return boost::json::serialize(to_json(*j, j->started()));
    for (auto& e : calls)
      if (e.trip && e.req.journey_id == id)
        return boost::json::serialize(to_json(*e.trip, e.trip->started()));
    return {};
  }

  std::string failed_journeys_json() {
    boost::json::array arr;
    for (auto* j : journeys.failed())
      arr.push_back(to_json(*j, j->started()));
    return boost::json::serialize(arr);
  }
};

supervisor_actor::behavior_type
supervisor_impl(supervisor_actor::stateful_pointer<supervisor_state> self,
                supervisor_options opts) {
  auto& st = self->state;
  st.self = self;
  st.cfg = std::move(opts.config);
  st.core = std::make_unique<supervisor_core>(st.cfg, opts.seed);
  st.journeys = journey_log{opts.journeys};
  st.journey_sample = opts.journey_sample;
  st.factory = std::move(opts.factory);
  st.doc = std::move(opts.document);
  if (opts.members.empty() && st.factory)
    for (auto& name : st.cfg.members)
      opts.members.push_back(member_spec{name, st.bind_factory(name)});
  for (auto& spec : opts.members)
    st.members.push_back(member_entry{std::move(spec), caf::actor{}, 0});
  for (std::uint32_t i = 0; i < st.members.size(); ++i)
    st.start_member(i);
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_down(dm); });
  st.arm_tick(st.now());
  return {
    [self](reply_atom, call_reply& r) -> caf::delegated<void> {
      self->state.on_member_reply(r);
      return {};
    },
    [self](preliminary_atom, call_reply& r) {
      self->state.on_member_preliminary(r);
    },
    [self](call_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      self->state.on_call(req);
      return {};
    },
    [self](rcall_atom,
           call_request& req) -> caf::delegated<reply_atom, call_reply> {
      // From another node: its deadline is a budget (wire.hpp).
      req.deadline_ns =
        deadline_from_budget(req.deadline_ns, self->state.now());
      self->state.on_call(req);
      return {};
    },
    [self](cancel_atom, std::uint64_t id) { self->state.on_cancel(id); },
    [self](config_atom, config_update& update)
      -> caf::result<config_atom, std::vector<std::string>> {
      return {config_atom::value, self->state.apply_config(update)};
    },
    [self](stats_atom) -> caf::result<stats_atom, supervisor_stats> {
      return {stats_atom::value, self->state.stats()};
    },
    [self](journey_atom,
           std::uint64_t id) -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.journey_json(id)};
    },
    [self](journey_atom,
           failed_atom) -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.failed_journeys_json()};
    },
    [self](members_atom) -> caf::result<members_atom, std::vector<caf::actor>> {
      // In configuration order; removed members are not listed.
      auto& st = self->state;
      std::vector<caf::actor> xs;
      for (auto& name : st.cfg.members)
        xs.push_back(st.members[st.core->index_of(name)].handle);
      return {members_atom::value, std::move(xs)};
    },
    [self](reach_atom, bool reachable) { self->state.on_reach(reachable); },
    [self](restart_atom, std::uint32_t i, std::uint64_t incarnation) {
      self->state.on_restart(i, incarnation);
    },
    [self](tick_atom) { self->state.on_tick(); },
  };
}

/// What the members of one tree share: one transport and one policy state
/// per dependency, for every incarnation (a restart keeps the breaker,
/// budget and cache).
struct tree_context {
  std::function<caf::actor(const std::string&)> transport_for;
  std::mutex mtx;
  std::map<std::string, caf::actor> transports;
  std::map<std::string, dependency_policies_ptr> policies;
};

/// Starts the members of supervisor `parent` (seeded `seed`) from the
/// document the supervisor applied last, so a member restarted after a
/// reload runs the reloaded configuration. Seeds as before: the n-th member
/// (from 1) of a supervisor seeded s gets s * 1000 + n.
member_factory tree_factory(std::shared_ptr<tree_context> ctx,
                            std::string parent, std::uint64_t seed) {
  return [ctx, parent, seed](caf::actor_system& sys, const std::string& name,
                             const std::shared_ptr<const bulwark_config>& doc,
                             const caf::actor&) -> caf::actor {
    if (!doc)
      return {};
    std::uint64_t n = 0;
    if (auto* p = doc->find_supervisor(parent)) {
      auto i = std::find(p->members.begin(), p->members.end(), name);
      n = static_cast<std::uint64_t>(i - p->members.begin()) + 1;
    }
    auto member_seed = seed * 1000 + n;
    if (auto* dep = doc->find(name)) {
      dependency_options o;
      o.config = *dep;
      o.seed = member_seed;
      {
        std::lock_guard<std::mutex> guard{ctx->mtx};
        auto& t = ctx->transports[name];
        if (!t)
          t = ctx->transport_for(name);
        o.transport = t;
        auto& p = ctx->policies[name];
        if (!p)
          p = std::make_shared<dependency_policies>(*dep);
        o.policies = p;
      }
      return caf::actor_cast<caf::actor>(spawn_dependency(sys, std::move(o)));
    }
    if (auto* sup = doc->find_supervisor(name)) {
      supervisor_options o;
      o.config = *sup;
      o.document = doc;
      o.seed = member_seed;
      o.factory = tree_factory(ctx, name, member_seed);
      return caf::actor_cast<caf::actor>(spawn_supervisor(sys, std::move(o)));
    }
    return {};
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts) {
  return sys.spawn(supervisor_impl, std::move(opts));
}

supervisor_actor spawn_supervisor_tree(
  caf::actor_system& sys, const bulwark_config& cfg, const std::string& root,
  std::function<caf::actor(const std::string&)> transport_for,
  std::uint64_t seed) {
  auto* sup = cfg.find_supervisor(root);
  if (sup == nullptr)
    return {};
  auto ctx = std::make_shared<tree_context>();
  ctx->transport_for = std::move(transport_for);
  // Every transport of the tree starts here, on the caller's thread, before
  // this returns, so `transport_for` need not be thread-safe (the checkout
  // gateway's is not). Only a dependency a later reload adds gets its
  // transport on its supervisor's thread, under ctx->mtx.
  std::vector<std::string> pending{root};
  while (!pending.empty()) {
    auto name = std::move(pending.back());
    pending.pop_back();
    if (auto* s = cfg.find_supervisor(name))
      pending.insert(pending.end(), s->members.begin(), s->members.end());
    else if (cfg.find(name) != nullptr && ctx->transports.count(name) == 0)
      ctx->transports[name] = ctx->transport_for(name);
  }
  supervisor_options opts;
  opts.config = *sup;
  opts.document = std::make_shared<const bulwark_config>(cfg);
  opts.seed = seed;
  opts.factory = tree_factory(std::move(ctx), root, seed);
  return spawn_supervisor(sys, std::move(opts));
}

supervisor_tree spawn_supervisor_tree(
  caf::actor_system& sys, std::string_view json_text, const std::string& root,
  std::function<caf::actor(const std::string&)> transport_for,
  std::uint64_t seed) {
  supervisor_tree result;
  auto parsed = parse_bulwark_config(json_text);
  if (!parsed.ok()) {
    result.errors = parsed.errors.lines();
    return result;
  }
  if (parsed.config->find_supervisor(root) == nullptr) {
    result.errors.push_back("/supervisors: no supervisor named \"" + root
                            + "\"");
    return result;
  }
  result.root = spawn_supervisor_tree(sys, *parsed.config, root,
                                      std::move(transport_for), seed);
  return result;
}

} // namespace bulwark
