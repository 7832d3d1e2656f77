#include "bulwark/runtime/supervise/supervisor_core.hpp"

#include <algorithm>

namespace bulwark {

std::string to_string(supervisor_action_kind x) {
  switch (x) {
    case supervisor_action_kind::send:
      return "send";
    case supervisor_action_kind::cancel:
      return "cancel";
    case supervisor_action_kind::reply:
      return "reply";
  }
  return "invalid";
}

std::string to_string(send_reason x) {
  switch (x) {
    case send_reason::first:
      return "first";
    case send_reason::probe:
      return "probe";
    case send_reason::failover:
      return "failover";
    case send_reason::hedge:
      return "hedge";
  }
  return "invalid";
}

std::string to_string(reply_reason x) {
  switch (x) {
    case reply_reason::answered:
      return "answered";
    case reply_reason::all_failed:
      return "all_failed";
    case reply_reason::no_member:
      return "no_member";
    case reply_reason::deadline:
      return "deadline";
    case reply_reason::cancelled:
      return "cancelled";
    case reply_reason::shutdown:
      return "shutdown";
  }
  return "invalid";
}

supervisor_core::supervisor_core(const supervisor_config& cfg,
                                 std::uint64_t seed)
  : cfg_(cfg),
    gen_(seed),
    router_(cfg.routing),
    hedge_(cfg.hedge),
    budget_(cfg.budget),
    outlier_(cfg.outlier_detection, cfg.members.size()) {
  members_.resize(cfg.members.size());
  loads_.resize(cfg.members.size());
  cool_until_.assign(cfg.members.size(), time_point::min());
  for (std::size_t i = 0; i < members_.size(); ++i) {
    members_[i].name = cfg.members[i];
    members_[i].restarts.reconfigure(cfg.restart);
  }
  active_ = static_cast<std::uint32_t>(members_.size());
  events_.reserve(max_members);
}

std::uint32_t
supervisor_core::index_of(const std::string& name) const noexcept {
  for (std::uint32_t m = 0; m < members_.size(); ++m)
    if (!members_[m].removed && members_[m].name == name)
      return m;
  return npos;
}

supervisor_reconfigure_result
supervisor_core::reconfigure(const supervisor_config& cfg, time_point now,
                             action_list& out) {
  supervisor_reconfigure_result r;
  // Check first: either all of it applies or nothing does.
  std::vector<std::string> fresh;
  for (auto& name : cfg.members)
    if (index_of(name) == npos)
      fresh.push_back(name);
  std::size_t reusable = 0;
  for (std::uint32_t m = 0; m < members_.size(); ++m)
    if (drained(m))
      ++reusable;
  auto room = reusable + (max_members - members_.size());
  if (fresh.size() > room) {
    r.errors.push_back("/supervisors/" + cfg_.name
                       + "/members: " + std::to_string(fresh.size())
                       + " new members do not fit: removed members still "
                         "finishing their attempts leave room for "
                       + std::to_string(room) + " (at most "
                       + std::to_string(max_members) + " in all)");
    return r;
  }
  cfg_ = cfg;
  router_.reconfigure(cfg.routing);
  hedge_.reconfigure(cfg.hedge);
  budget_.reconfigure(cfg.budget);
  outlier_.reconfigure(cfg.outlier_detection);
  for (auto& m : members_)
    m.restarts.reconfigure(cfg.restart);
  // Removed: no new attempt; what is out finishes.
  for (std::uint32_t m = 0; m < members_.size(); ++m) {
    auto& ms = members_[m];
    if (ms.removed
        || std::find(cfg.members.begin(), cfg.members.end(), ms.name)
             != cfg.members.end())
      continue;
    ms.removed = true;
    ms.restarting = false;
    probe_ready_ &= ~(std::uint64_t{1} << m);
    unreachable_ &= ~(std::uint64_t{1} << m);
    r.removed.push_back(m);
  }
  // Added: a drained index first, else a new one.
  for (auto& name : fresh) {
    std::uint32_t m = 0;
    while (m < members_.size() && !(drained(m) && members_[m].removed))
      ++m;
    if (m == members_.size()) {
      members_.emplace_back();
      loads_.emplace_back();
      cool_until_.push_back(time_point::min());
      outlier_.resize(members_.size());
    }
    members_[m] = member_state();
    members_[m].name = name;
    members_[m].restarts.reconfigure(cfg.restart);
    loads_[m] = member_load{};
    cool_until_[m] = time_point::min();
    outlier_.reset(m);
    probe_ready_ &= ~(std::uint64_t{1} << m);
    unreachable_ &= ~(std::uint64_t{1} << m);
    r.added.push_back(m);
  }
  active_ = static_cast<std::uint32_t>(cfg.members.size());
  refresh_availability();
  // Calls waiting for a restarting member: a new member takes them, and
  // when no restarting member is left they fail now.
  if (!parked_.empty() && (!r.added.empty() || !any_restarting()))
    resume_parked(now, out);
  return r;
}

// -- helpers ------------------------------------------------------------------

supervisor_core::call_slot*
supervisor_core::find(std::uint64_t attempt, std::uint32_t& index) noexcept {
  auto slot = slots_.find(attempt);
  if (slot == slots_.npos)
    return nullptr;
  auto& s = slots_[slot];
  index = correlation_id::index(attempt);
  if (index >= s.set.size())
    return nullptr;
  return &s;
}

bool supervisor_core::locate(std::uint64_t attempt, std::uint32_t& call,
                             std::uint32_t& member) const noexcept {
  auto slot = slots_.find(attempt);
  if (slot == slots_.npos)
    return false;
  auto& s = slots_[slot];
  auto index = correlation_id::index(attempt);
  if (index >= s.set.size())
    return false;
  call = slot;
  member = s.member_of[index];
  return true;
}

std::uint64_t
supervisor_core::outstanding_members(const call_slot& s) const noexcept {
  std::uint64_t mask = 0;
  for (std::uint32_t i = 0; i < s.set.size(); ++i)
    if (s.set.status_at(i) == attempt_status::outstanding)
      mask |= std::uint64_t{1} << s.member_of[i];
  return mask;
}

void supervisor_core::refresh_availability() noexcept {
  for (std::uint32_t m = 0; m < members_.size(); ++m)
    loads_[m].available = member_available(m);
}

bool supervisor_core::member_available(std::uint32_t m) const noexcept {
  return members_[m].running && !members_[m].removed && !unreachable(m)
         && outlier_.available(m) && cool_until_[m] == time_point::min();
}

member_status supervisor_core::status(std::uint32_t m) const noexcept {
  auto& ms = members_[m];
  if (ms.running)
    return unreachable(m) ? member_status::unreachable : member_status::running;
  return ms.restarting ? member_status::restarting : member_status::stopped;
}

void supervisor_core::cool_down(std::uint32_t m, time_point now) noexcept {
  if (cfg_.rejection_cooldown <= duration{0} || !members_[m].running)
    return;
  if (cool_until_[m] == time_point::min())
    ++counters_.cooldowns;
  cool_until_[m] = now + cfg_.rejection_cooldown;
  cool_end_ = std::min(cool_end_, cool_until_[m]);
  loads_[m].available = false;
}

std::size_t supervisor_core::pick(std::uint64_t excluded,
                                  time_point now) noexcept {
  auto n = members_.size();
  if (cool_end_ <= now) {
    // Some cooldown ended: readmit those members, find the next end.
    cool_end_ = no_deadline;
    for (std::uint32_t m = 0; m < n; ++m) {
      if (cool_until_[m] == time_point::min())
        continue;
      if (cool_until_[m] <= now) {
        cool_until_[m] = time_point::min();
        loads_[m].available = member_available(m);
      } else {
        cool_end_ = std::min(cool_end_, cool_until_[m]);
      }
    }
  }
  auto m = router_.pick(loads_.data(), n, excluded, gen_);
  if (m != router::npos || cool_end_ == no_deadline)
    return m;
  // Only cooling members are left: better a member that rejected recently
  // than no member at all.
  for (std::uint32_t i = 0; i < n; ++i)
    if (cool_until_[i] != time_point::min())
      loads_[i].available = members_[i].running && !members_[i].removed
                            && !unreachable(i) && outlier_.available(i);
  m = router_.pick(loads_.data(), n, excluded, gen_);
  for (std::uint32_t i = 0; i < n; ++i)
    if (cool_until_[i] != time_point::min())
      loads_[i].available = false;
  return m;
}

bool supervisor_core::counts_against_member(failure_class cls) const noexcept {
  // Failures that say something about the member's health; a persistent
  // failure is a correct answer, a deadline or cancel is the caller's.
  return cls == failure_class::transient || cls == failure_class::timeout
         || cls == failure_class::overloaded
         || cls == failure_class::rejected_locally;
}

void supervisor_core::on_outlier_event(const outlier_event& e) {
  switch (e.kind) {
    case outlier_event::ejected:
      ++counters_.ejections;
      probe_ready_ &= ~(std::uint64_t{1} << e.member);
      break;
    case outlier_event::probe_ready:
      probe_ready_ |= std::uint64_t{1} << e.member;
      break;
    case outlier_event::readmitted:
      ++counters_.readmissions;
      break;
  }
  loads_[e.member].available = member_available(e.member);
}

void supervisor_core::send(std::uint32_t slot, std::uint32_t member,
                           send_reason why, time_point now, action_list& out) {
  auto& s = slots_[slot];
  auto index = s.set.size();
  auto id = slots_.id(slot, index);
  s.set.add(id);
  s.member_of[index] = static_cast<std::uint8_t>(member);
  s.reason_of[index] = why;
  s.sent_at[index] = now;
  s.tried |= std::uint64_t{1} << member;
  ++loads_[member].outstanding;
  ++counters_.attempts;
  supervisor_action a;
  a.kind = supervisor_action_kind::send;
  a.call = slot;
  a.member = member;
  a.attempt = id;
  a.attempt_number = index + 1;
  a.why_sent = why;
  // Once the caller has its preliminary answer, another would be dropped:
  // later attempts do not ask. What is left of the soft deadline, so a
  // failover or hedge does not restart its clock (0 left: answer at once,
  // as a soft deadline of 0 asks); past it: not asked.
  if (s.progressive && !s.preliminary_sent) {
    if (s.soft_at == no_deadline) {
      a.progressive = true;
    } else if (s.soft_at >= now) {
      a.progressive = true;
      a.soft_deadline = s.soft_at - now;
    }
  }
  out.push_back(a);
}

void supervisor_core::cancel_listed(call_slot& s, const settle_result& r,
                                    time_point now, action_list& out) {
  for (std::uint32_t i = 0; i < r.cancel_count; ++i) {
    auto id = r.cancel[i];
    auto index = correlation_id::index(id);
    auto member = s.member_of[index];
    if (loads_[member].outstanding > 0)
      --loads_[member].outstanding;
    // A cancelled attempt ran at least this long: a lower bound keeps slow
    // members in the latency window exactly when hedging hides them (not a
    // member whose node is lost: its time says nothing about the service).
    if (!unreachable(member))
      hedge_.record_latency(now - s.sent_at[index], now);
    if (s.reason_of[index] == send_reason::probe)
      rearm_probe(member);
    ++counters_.cancels;
    supervisor_action a;
    a.kind = supervisor_action_kind::cancel;
    a.call = correlation_id::slot(id);
    a.member = member;
    a.attempt = id;
    out.push_back(a);
  }
}

void supervisor_core::finish(std::uint32_t slot, bool ok, failure_class cls,
                             reply_reason why, std::uint64_t winner,
                             time_point now, const settle_result* cancels,
                             action_list& out) {
  auto& s = slots_[slot];
  if (cancels != nullptr)
    cancel_listed(s, *cancels, now, out);
  supervisor_action a;
  a.kind = supervisor_action_kind::reply;
  a.call = slot;
  a.attempt = winner;
  a.ok = ok;
  a.cls = cls;
  a.why_replied = why;
  a.attempts = s.set.size();
  if (winner != 0 || s.set.size() > 0) {
    auto w = s.set.winner();
    a.hedge_won =
      ok && w != attempt_set::npos && s.reason_of[w] == send_reason::hedge;
  }
  // A caller that cancelled after its preliminary answer wants nothing more
  // (as from a dependency actor).
  a.silent = why == reply_reason::cancelled && s.preliminary_sent;
  if (ok) {
    ++counters_.replies_ok;
    if (a.hedge_won)
      ++counters_.hedges_won;
  } else if (a.silent) {
    ++counters_.cancelled_after_preliminary;
  } else {
    ++counters_.replies_failed;
  }
  out.push_back(a);
  timers_.cancel(slot);
  s.parked = false;
  s.progressive = false;
  s.preliminary_sent = false;
  s.set.reset();
  slots_.release(slot);
}

void supervisor_core::reschedule(std::uint32_t slot) {
  auto& s = slots_[slot];
  auto t = std::min(s.deadline, s.hedge_at);
  if (t == no_deadline)
    timers_.cancel(slot);
  else
    timers_.schedule(slot, t);
}

// -- calls --------------------------------------------------------------------

std::uint32_t supervisor_core::start(idempotency op, time_point deadline,
                                     time_point now, action_list& out,
                                     supervisor_progressive progressive) {
  auto slot = slots_.acquire();
  auto& s = slots_[slot];
  s.op = op;
  s.started = now;
  s.deadline = deadline;
  s.hedge_at = no_deadline;
  s.tried = 0;
  s.hedges = 0;
  s.failovers = 0;
  s.last_cls = failure_class::transient;
  s.progressive = progressive.enabled;
  s.preliminary_sent = false;
  s.soft_at = no_deadline;
  if (progressive.enabled && progressive.soft_deadline >= duration{0})
    s.soft_at =
      now + std::min(progressive.soft_deadline, progressive_max_soft_deadline);
  ++counters_.requests;
  budget_.on_request(now);
  if (deadline != no_deadline && deadline <= now) {
    ++counters_.deadline_exceeded;
    finish(slot, false, failure_class::deadline_exceeded,
           reply_reason::deadline, 0, now, nullptr, out);
    return slot;
  }
  // An ejected member whose time is up gets one call as its probe; an
  // unreachable one keeps its turn for when its node is back.
  for (auto ready = probe_ready_ & ~unreachable_; ready != 0;
       ready &= ready - 1) {
    auto m = static_cast<std::uint32_t>(__builtin_ctzll(ready));
    probe_ready_ &= ~(std::uint64_t{1} << m);
    if (members_[m].running && !members_[m].removed && outlier_.take_probe(m)) {
      ++counters_.probes;
      send(slot, m, send_reason::probe, now, out);
      break;
    }
  }
  if (s.set.size() == 0) {
    auto m = pick(0, now);
    if (m == router::npos && any_restarting()) {
      park(slot, send_reason::first);
      reschedule(slot);
      return slot;
    }
    if (m == router::npos) {
      ++counters_.no_member;
      finish(slot, false, failure_class::rejected_locally,
             reply_reason::no_member, 0, now, nullptr, out);
      return slot;
    }
    send(slot, static_cast<std::uint32_t>(m), send_reason::first, now, out);
  }
  if (active_ > 1 && hedge_.should_hedge(0, op))
    s.hedge_at = now + hedge_.hedge_delay(1, now);
  reschedule(slot);
  return slot;
}

void supervisor_core::after_failure(std::uint32_t slot, std::uint64_t attempt,
                                    time_point now, bool never_executed,
                                    action_list& out) {
  auto& s = slots_[slot];
  bool may = cfg_.failover && s.failovers < cfg_.max_failovers
             && s.set.size() < max_attempts
             && cfg_.failover_on.contains(s.last_cls)
             && may_repeat(s.op, never_executed) && now < s.deadline;
  if (may) {
    // A member that never got the call costs nothing downstream; anything
    // else is a retry and pays like one.
    // Members not tried yet first; once every member was tried, any member
    // without an attempt of this call out (it may have been restarted).
    auto m = pick(s.tried, now);
    if (m == router::npos)
      m = pick(outstanding_members(s), now);
    if (m != router::npos) {
      if (never_executed || budget_.try_withdraw(budget_use::retry, now)) {
        ++s.failovers;
        ++counters_.failovers;
        send(slot, static_cast<std::uint32_t>(m), send_reason::failover, now,
             out);
        reschedule(slot);
        return;
      }
      ++counters_.failovers_denied_budget;
    } else if (s.set.outstanding() == 0 && any_restarting()) {
      park(slot, send_reason::failover);
      return;
    }
  }
  if (s.set.outstanding() > 0)
    return; // a hedge may still win
  if (s.set.close())
    finish(slot, false, s.last_cls, reply_reason::all_failed, attempt, now,
           nullptr, out);
}

void supervisor_core::on_result(std::uint64_t attempt, const member_result& r,
                                time_point now, action_list& out) {
  std::uint32_t index = 0;
  auto* sp = find(attempt, index);
  if (sp == nullptr
      || sp->set.status_at(index) != attempt_status::outstanding) {
    ++counters_.late_results;
    return;
  }
  auto& s = *sp;
  auto slot = static_cast<std::uint32_t>(attempt >> 32);
  auto member = s.member_of[index];
  if (loads_[member].outstanding > 0)
    --loads_[member].outstanding;
  // From a member whose node is lost, a result answers its call but says
  // nothing about the service: no latency, outlier, budget or cooldown
  // record, so the member is not ejected once its node is back.
  bool counted = !unreachable(member);
  if (counted) {
    hedge_.record_latency(now - s.sent_at[index], now);
    bool healthy = r.ok || !counts_against_member(r.cls);
    if (auto e = outlier_.record(member, healthy, now, gen_))
      on_outlier_event(*e);
  } else if (s.reason_of[index] == send_reason::probe) {
    // The probe decided nothing: probe again once the node is back.
    rearm_probe(member);
  }
  if (r.ok) {
    budget_.on_success(now);
    auto res = s.set.on_result(attempt, true);
    if (res.is_winner())
      finish(slot, true, failure_class::transient, reply_reason::answered,
             attempt, now, &res, out);
    return;
  }
  if (counted
      && (r.cls == failure_class::transient || r.cls == failure_class::timeout
          || r.cls == failure_class::overloaded))
    budget_.on_failure(now);
  if (counted
      && (r.cls == failure_class::rejected_locally
          || r.cls == failure_class::overloaded))
    cool_down(member, now);
  // Final: another member would answer the same (a persistent failure), or
  // the caller's time is up.
  bool final = r.cls == failure_class::persistent
               || r.cls == failure_class::deadline_exceeded;
  s.last_cls = r.cls;
  auto res = s.set.on_result(attempt, false, final);
  if (res.is_winner()) {
    finish(slot, false, r.cls, reply_reason::answered, attempt, now, &res, out);
    return;
  }
  after_failure(slot, attempt, now, r.cls == failure_class::rejected_locally,
                out);
}

preliminary_decision supervisor_core::on_preliminary(std::uint64_t attempt,
                                                     time_point /* now */) {
  // First one wins: hedges and failovers may bring several, and one for an
  // attempt that already ended (or a call already answered) is late.
  preliminary_decision d;
  std::uint32_t index = 0;
  auto* sp = find(attempt, index);
  if (sp == nullptr || !sp->progressive || sp->preliminary_sent
      || sp->set.status_at(index) != attempt_status::outstanding)
    return d;
  sp->preliminary_sent = true;
  ++counters_.preliminary_replies;
  d.forward = true;
  d.call = correlation_id::slot(attempt);
  return d;
}

void supervisor_core::cancel(std::uint32_t call, time_point now,
                             action_list& out) {
  if (!slots_.in_use(call))
    return;
  auto res = slots_[call].set.cancel_all();
  finish(call, false, failure_class::cancelled, reply_reason::cancelled, 0, now,
         &res, out);
}

void supervisor_core::fire(std::uint32_t slot, time_point now,
                           action_list& out) {
  auto& s = slots_[slot];
  if (s.deadline <= now) {
    ++counters_.deadline_exceeded;
    auto res = s.set.cancel_all();
    finish(slot, false, failure_class::deadline_exceeded,
           reply_reason::deadline, 0, now, &res, out);
    return;
  }
  if (s.hedge_at <= now) {
    s.hedge_at = no_deadline;
    if (s.set.outstanding() > 0 && s.set.size() < max_attempts
        && hedge_.should_hedge(s.hedges, s.op)) {
      auto m = pick(outstanding_members(s), now);
      if (m != router::npos) {
        if (budget_.try_withdraw(budget_use::hedge, now)) {
          ++s.hedges;
          ++counters_.hedges;
          send(slot, static_cast<std::uint32_t>(m), send_reason::hedge, now,
               out);
          if (hedge_.should_hedge(s.hedges, s.op))
            s.hedge_at = s.started + hedge_.hedge_delay(s.hedges + 1, now);
        } else {
          ++counters_.hedges_denied_budget;
        }
      }
    }
  }
  reschedule(slot);
}

void supervisor_core::advance(time_point now, action_list& out) {
  for (;;) {
    auto slot = timers_.pop_due(now);
    if (slot == timer_heap::npos)
      break;
    fire(slot, now, out);
  }
  if (outlier_.next_deadline() <= now) {
    events_.clear();
    outlier_.advance(now, gen_, events_);
    for (auto& e : events_)
      on_outlier_event(e);
  }
}

time_point supervisor_core::next_deadline() const noexcept {
  auto t = outlier_.next_deadline();
  if (!timers_.empty())
    t = std::min(t, timers_.next());
  return t;
}

// -- members ------------------------------------------------------------------

restart_decision supervisor_core::member_down(std::uint32_t m, time_point now,
                                              action_list& out) {
  ++counters_.member_crashes;
  auto& ms = members_[m];
  ms.running = false;
  loads_[m].available = false;
  // Decide first: calls failed below may wait for this member's restart.
  auto d = ms.restarts.on_crash(now, gen_);
  ms.restarting = d.action == restart_action::restart;
  probe_ready_ &= ~(std::uint64_t{1} << m);
  unreachable_ &= ~(std::uint64_t{1} << m);
  fail_attempts_at(m, now, out);
  if (d.action == restart_action::escalate)
    ++counters_.escalations;
  return d;
}

void supervisor_core::fail_attempts_at(std::uint32_t m, time_point now,
                                       action_list& out) {
  // Every attempt out at the member fails: it will never answer.
  for (std::uint32_t slot = 0; slot < slots_.capacity(); ++slot) {
    if (!slots_.in_use(slot))
      continue;
    auto& s = slots_[slot];
    for (std::uint32_t i = 0; i < s.set.size() && slots_.in_use(slot); ++i) {
      if (s.member_of[i] != m
          || s.set.status_at(i) != attempt_status::outstanding)
        continue;
      if (s.reason_of[i] == send_reason::probe)
        rearm_probe(m);
      auto id = slots_.id(slot, i);
      if (loads_[m].outstanding > 0)
        --loads_[m].outstanding;
      s.last_cls = failure_class::transient;
      auto res = s.set.on_result(id, false, false);
      if (res.is_winner())
        finish(slot, false, failure_class::transient, reply_reason::answered,
               id, now, &res, out);
      else
        after_failure(slot, id, now, false, out);
    }
  }
  loads_[m].outstanding = 0;
}

void supervisor_core::rearm_probe(std::uint32_t m) noexcept {
  outlier_.release_probe(m);
  if (outlier_.health(m) == member_health::probing)
    probe_ready_ |= std::uint64_t{1} << m;
}

void supervisor_core::member_gone(std::uint32_t m, time_point now,
                                  action_list& out) {
  auto& ms = members_[m];
  ms.running = false;
  ms.restarting = false;
  loads_[m].available = false;
  probe_ready_ &= ~(std::uint64_t{1} << m);
  unreachable_ &= ~(std::uint64_t{1} << m);
  fail_attempts_at(m, now, out);
  if (!parked_.empty() && !any_restarting())
    resume_parked(now, out);
}

void supervisor_core::resume_parked(time_point now, action_list& out) {
  auto waiting = std::move(parked_);
  parked_.clear();
  for (auto slot : waiting)
    resume(slot, now, out);
}

void supervisor_core::member_up(std::uint32_t m, time_point now,
                                action_list& out) {
  auto& ms = members_[m];
  if (!ms.running)
    ++counters_.restarts;
  ms.running = true;
  ms.restarting = false;
  // A new incarnation: its stand-in reports its node's reach afresh.
  unreachable_ &= ~(std::uint64_t{1} << m);
  ms.restarts.on_started(now);
  loads_[m].available = member_available(m);
  // An ejected member that crashed still needs its readmission probe.
  if (outlier_.health(m) == member_health::probing
      && !outlier_.probe_outstanding(m))
    probe_ready_ |= std::uint64_t{1} << m;
  auto waiting = std::move(parked_);
  parked_.clear();
  for (auto slot : waiting)
    resume(slot, now, out);
}

void supervisor_core::member_unreachable(std::uint32_t m, time_point /* now */,
                                         action_list& /* out */) {
  // Its attempts out fail by themselves (the stand-in answers them after
  // this report). It does not count as restarting, so a call that finds no
  // member is answered `no_member` instead of waiting for a node that may
  // take long to return; calls already waiting wait for a restart.
  auto& ms = members_[m];
  if (!ms.running || ms.removed || unreachable(m))
    return;
  unreachable_ |= std::uint64_t{1} << m;
  ++counters_.unreachable_events;
  loads_[m].available = false;
}

void supervisor_core::member_reachable(std::uint32_t m, time_point now,
                                       action_list& out) {
  if (!unreachable(m))
    return;
  unreachable_ &= ~(std::uint64_t{1} << m);
  // Routable at once: a cooldown from before the loss is over too.
  if (cool_until_[m] != time_point::min())
    cool_until_[m] = time_point::min();
  loads_[m].available = member_available(m);
  resume_parked(now, out);
}

void supervisor_core::member_stopped(std::uint32_t m, time_point now,
                                     action_list& out) {
  members_[m].restarting = false;
  if (any_restarting())
    return;
  auto waiting = std::move(parked_);
  parked_.clear();
  for (auto slot : waiting)
    resume(slot, now, out);
}

bool supervisor_core::any_restarting() const noexcept {
  for (auto& m : members_)
    if (m.restarting)
      return true;
  return false;
}

void supervisor_core::park(std::uint32_t slot, send_reason as) {
  auto& s = slots_[slot];
  s.parked = true;
  s.parked_as = as;
  parked_.push_back(slot);
  ++counters_.parked;
}

void supervisor_core::resume(std::uint32_t slot, time_point now,
                             action_list& out) {
  auto& s = slots_[slot];
  if (!slots_.in_use(slot) || !s.parked)
    return; // answered meanwhile (deadline), or listed twice
  s.parked = false;
  if (s.deadline <= now) {
    fire(slot, now, out);
    return;
  }
  auto m = pick(s.tried, now);
  if (m == router::npos)
    m = pick(outstanding_members(s), now);
  if (m == router::npos) {
    if (any_restarting()) {
      park(slot, s.parked_as);
      return;
    }
    if (s.set.size() == 0) {
      ++counters_.no_member;
      finish(slot, false, failure_class::rejected_locally,
             reply_reason::no_member, 0, now, nullptr, out);
    } else if (s.set.close()) {
      finish(slot, false, s.last_cls, reply_reason::all_failed, 0, now, nullptr,
             out);
    }
    return;
  }
  if (s.parked_as == send_reason::first) {
    send(slot, static_cast<std::uint32_t>(m), send_reason::first, now, out);
    if (active_ > 1 && hedge_.should_hedge(0, s.op))
      s.hedge_at = now + hedge_.hedge_delay(1, now);
  } else if (budget_.try_withdraw(budget_use::retry, now)) {
    ++s.failovers;
    ++counters_.failovers;
    send(slot, static_cast<std::uint32_t>(m), send_reason::failover, now, out);
  } else {
    ++counters_.failovers_denied_budget;
    if (s.set.close())
      finish(slot, false, s.last_cls, reply_reason::all_failed, 0, now, nullptr,
             out);
    return;
  }
  reschedule(slot);
}

void supervisor_core::fail_all(time_point now, action_list& out) {
  for (std::uint32_t slot = 0; slot < slots_.capacity(); ++slot) {
    if (!slots_.in_use(slot))
      continue;
    auto res = slots_[slot].set.cancel_all();
    finish(slot, false, failure_class::rejected_locally, reply_reason::shutdown,
           0, now, &res, out);
  }
}

} // namespace bulwark
