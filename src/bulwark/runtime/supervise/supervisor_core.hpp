// The decisions of a supervisor, without actors: which member gets a call,
// when to reroute a failure to another member (escalation level 3), when to
// hedge to another member, which late answers to drop, which members are
// ejected as outliers, and whether a crashed member is restarted or the
// failure escalates. The supervisor actor (bulwark/actors/supervise/)
// translates messages into these calls and the returned actions into messages;
// the `tail` and `idempotency` benchmarks drive the very same object from a
// discrete-event loop. Time and randomness are arguments; nothing here reads
// a clock or allocates per call once warm.
//
// Per call the rule is gRPC's and failsafe-go's: the first final result wins
// (a success, or a failure no other member would change), every other
// attempt still out is cancelled and its late answer dropped. A failure that
// is not final goes to another member (one not tried yet for this call if
// there is one, else any without an attempt of it out) while the call's
// failover allowance,
// the shared retry budget and its deadline allow — for an `unsafe` operation
// only when the failure proves the call never executed. A call whose every
// attempt failed is answered with the last failure.
//
// A progressive call (its caller asked for a preliminary answer) is passed
// on: each attempt carries what is left of the call's soft deadline, and the
// first preliminary answer a member gives for an attempt still out goes to
// the caller, at most one per call and never after the call's reply. A
// preliminary answer is not a result: it changes no routing, outlier, budget
// or restart state.
//
// A member may live on another node behind a local stand-in. When its node is
// lost the stand-in reports it (`member_unreachable`) before failing its
// attempts as `transient`: the member is skipped like an ejected one, but its
// failures are not held against it (no outlier count, no hedge latency, no
// restart), since the node, not the service, failed.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/slot_table.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/timer_heap.hpp"
#include "bulwark/runtime/hedge/attempt_set.hpp"
#include "bulwark/runtime/hedge/hedge_policy.hpp"
#include "bulwark/runtime/progressive/progressive_config.hpp"
#include "bulwark/runtime/supervise/outlier_detector.hpp"
#include "bulwark/runtime/supervise/restart_tracker.hpp"
#include "bulwark/runtime/supervise/routing.hpp"
#include "bulwark/runtime/supervise/supervisor_config.hpp"
#include "bulwark/runtime/supervise/supervisor_stats.hpp"

namespace bulwark {

enum class supervisor_action_kind : std::uint8_t {
  /// Send the call to `member` as attempt `attempt`.
  send,
  /// Attempt `attempt` at `member` is no longer wanted: tell the member.
  cancel,
  /// Answer the caller of `call`; the call's slot is free afterwards.
  reply,
};

/// @relates supervisor_action_kind
std::string to_string(supervisor_action_kind x);

/// Why an attempt was sent.
enum class send_reason : std::uint8_t {
  /// The call's first attempt, to the member routing picked.
  first,
  /// The first attempt, to an ejected member whose ejection ended (the probe
  /// that decides readmission).
  probe,
  /// Another member after a failure (level 3: reroute).
  failover,
  /// A speculative duplicate to another member while attempts are out.
  hedge,
};

/// @relates send_reason
std::string to_string(send_reason x);

/// Why a call was answered.
enum class reply_reason : std::uint8_t {
  /// An attempt's result won (a success or a final failure).
  answered,
  /// Every attempt failed and no other member may be tried.
  all_failed,
  /// No member could take the call (all down, ejected or excluded).
  no_member,
  /// The call's deadline passed first.
  deadline,
  /// The caller cancelled the call.
  cancelled,
  /// The supervisor stops (escalation or shutdown).
  shutdown,
};

/// @relates reply_reason
std::string to_string(reply_reason x);

struct supervisor_action {
  supervisor_action_kind kind = supervisor_action_kind::send;
  /// The call's slot (see `supervisor_core::start`).
  std::uint32_t call = 0;
  /// send, cancel: the member.
  std::uint32_t member = 0;
  /// send, cancel: the attempt id (unique among the calls in flight; its
  /// correlation_id::index is the attempt's index in the call, 0 for the
  /// first). reply: the attempt whose result answers the call, 0 when none
  /// does.
  std::uint64_t attempt = 0;
  /// send: 1 for the call's first attempt, counting failovers and hedges.
  std::uint32_t attempt_number = 0;
  send_reason why_sent = send_reason::first;
  /// send: ask the member for progressive delivery, with `soft_deadline`
  /// (what is left of the call's; negative: the member's own).
  bool progressive = false;
  duration soft_deadline{-1};
  // -- reply only -------------------------------------------------------------
  bool ok = false;
  failure_class cls = failure_class::transient;
  reply_reason why_replied = reply_reason::answered;
  /// Attempts sent for the call.
  std::uint32_t attempts = 0;
  /// A hedge, not the first attempt, produced the answer.
  bool hedge_won = false;
  /// The caller cancelled after a preliminary answer: it gets no message,
  /// the owner only forgets it.
  bool silent = false;
};

/// A call's request for progressive delivery (call_request::progressive and
/// soft_deadline_ns).
struct supervisor_progressive {
  bool enabled = false;
  /// After the call's arrival, at most progressive_max_soft_deadline;
  /// negative: each member's own soft deadline.
  duration soft_deadline{-1};
};

/// What `supervisor_core::on_preliminary` decided. Returned rather than
/// appended to the action list: it starts, cancels and frees nothing, so
/// owners that never pass progressive calls on (the `tail` benchmark) need
/// not know it.
struct preliminary_decision {
  /// Pass the member's preliminary answer on to the caller of `call` (the
  /// call stays open; its reply follows). False: drop it.
  bool forward = false;
  std::uint32_t call = 0;
};

/// What a member answered for one attempt.
struct member_result {
  bool ok = false;
  failure_class cls = failure_class::transient;
};

/// What `supervisor_core::reconfigure` did.
struct supervisor_reconfigure_result {
  /// Why nothing was applied ("PATH: message"); empty when applied.
  std::vector<std::string> errors;
  /// Member indexes to start now (new members).
  std::vector<std::uint32_t> added;
  /// Member indexes removed (no new attempts; attempts out finish).
  std::vector<std::uint32_t> removed;

  bool ok() const noexcept {
    return errors.empty();
  }
};

class supervisor_core {
 public:
  using action_list = std::vector<supervisor_action>;

  static constexpr std::uint32_t max_attempts = attempt_set_capacity;

  /// `cfg.members` fixes the number of members for the core's lifetime.
  supervisor_core(const supervisor_config& cfg, std::uint64_t seed);

  /// Applies `cfg` whole, or changes nothing and returns why
  /// (`supervisor_reconfigure_result::errors`). Routing, failover, hedging,
  /// budget, outlier and restart parameters take effect for the next
  /// decision; policy state (budget balance, latency window, ejections,
  /// restart history) is kept. Members are matched by name: a kept member
  /// keeps its index and state; a member no longer listed is removed — it
  /// gets no new attempt, but attempts already out at it finish normally
  /// (their calls get exactly one reply as always), and once it has none
  /// out it is `drained`; a newly listed member gets a fresh index (the
  /// index of a drained removed member, else a new one) and counts as
  /// running at once: the caller starts it before acting on `out`. Calls
  /// waiting for a restarting member are resumed when members were added,
  /// or failed when the last restarting member was removed.
  supervisor_reconfigure_result reconfigure(const supervisor_config& cfg,
                                            time_point now, action_list& out);

  // -- calls ------------------------------------------------------------------

  /// A call arrives; returns its slot, under which the caller keeps its own
  /// data (reply address, payload) until the `reply` action for it. The
  /// first attempt (or the reply, when no member can take it) is appended to
  /// `out`.
  std::uint32_t start(idempotency op, time_point deadline, time_point now,
                      action_list& out,
                      supervisor_progressive progressive = {});

  /// A member answered attempt `attempt`. Unknown or late ids are counted
  /// and dropped.
  void on_result(std::uint64_t attempt, const member_result& r, time_point now,
                 action_list& out);

  /// A member gave a preliminary answer for attempt `attempt`: forward it
  /// when the call is progressive, still open, the attempt still out and no
  /// preliminary answer went to the caller yet; else drop it. Nothing else
  /// changes.
  preliminary_decision on_preliminary(std::uint64_t attempt, time_point now);

  /// The caller gives up on `call`: outstanding attempts are cancelled and
  /// the call answered with reason `cancelled` (`silent` after a preliminary
  /// answer: the caller gets nothing more).
  void cancel(std::uint32_t call, time_point now, action_list& out);

  /// Runs every timer due at `now`: hedges, deadlines, outlier analysis and
  /// ejection ends.
  void advance(time_point now, action_list& out);

  /// When `advance` next has something to do (`no_deadline` when nothing).
  time_point next_deadline() const noexcept;

  // -- members ----------------------------------------------------------------

  /// Member `m` stopped unexpectedly (for a removed member use
  /// `member_gone`). Its outstanding attempts fail (as
  /// `transient`; whether they executed is unknown, so `unsafe` calls do not
  /// fail over) and the restart policy decides: restart after a delay, or
  /// escalate (the supervisor should fail its calls and stop). A call that
  /// finds no member available while one is restarting waits for it (until
  /// its deadline) instead of failing.
  restart_decision member_down(std::uint32_t m, time_point now,
                               action_list& out);

  /// Member `m` runs again (restarted). Calls that waited for a member
  /// (none was available while some were restarting) go now.
  void member_up(std::uint32_t m, time_point now, action_list& out);

  /// Member `m` is down for good (stopped on purpose, not restarted). If no
  /// member is left to come back, the calls waiting for one fail now.
  void member_stopped(std::uint32_t m, time_point now, action_list& out);

  /// Removed member `m` stopped (it was drained and stopped on purpose, or
  /// it crashed while draining): attempts still out at it fail as after a
  /// crash, and nothing is restarted.
  void member_gone(std::uint32_t m, time_point now, action_list& out);

  /// Member `m` runs but cannot be reached (its node was lost): it gets no
  /// new attempt, hedge or probe until `member_reachable`. Results from it
  /// that arrive meanwhile are applied to their calls (answers and
  /// failovers as usual) but are not counted by the outlier detector, the
  /// hedge latency window, the retry budget's failure tokens or the
  /// rejection cooldown: a node loss must not eject the member once it is
  /// back. No restart is counted, no restart intensity consumed, and the
  /// member does not count as restarting: a call that finds no member
  /// available is answered `no_member` rather than wait for a node that
  /// may take long to return. Ignored for a member that is not running or
  /// was removed, or is already unreachable.
  void member_unreachable(std::uint32_t m, time_point now, action_list& out);

  /// Member `m` is reachable again: routable at once; calls waiting for a
  /// member resume. Ignored unless `m` is unreachable.
  void member_reachable(std::uint32_t m, time_point now, action_list& out);

  /// Answers every call in flight with reason `shutdown` (cancelling their
  /// attempts): before the supervisor stops.
  void fail_all(time_point now, action_list& out);

  // -- observers --------------------------------------------------------------

  /// Member indexes in use, removed members still known included.
  std::uint32_t members() const noexcept {
    return static_cast<std::uint32_t>(members_.size());
  }
  /// The configured name of member `m`.
  const std::string& name(std::uint32_t m) const noexcept {
    return members_[m].name;
  }
  /// The index of the configured (not removed) member `name`, or `npos`.
  std::uint32_t index_of(const std::string& name) const noexcept;
  static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);
  /// Member `m` was removed by a reconfiguration.
  bool removed(std::uint32_t m) const noexcept {
    return members_[m].removed;
  }
  /// Member `m` was removed and has no attempt out any more: it may stop.
  bool drained(std::uint32_t m) const noexcept {
    return members_[m].removed && loads_[m].outstanding == 0;
  }
  bool running(std::uint32_t m) const noexcept {
    return members_[m].running;
  }
  /// Member `m` runs but its node is lost (`member_unreachable`).
  bool unreachable(std::uint32_t m) const noexcept {
    return (unreachable_ >> m) & 1U;
  }
  /// Running, unreachable, restarting or stopped.
  member_status status(std::uint32_t m) const noexcept;
  std::uint32_t outstanding(std::uint32_t m) const noexcept {
    return loads_[m].outstanding;
  }
  member_health health(std::uint32_t m) const noexcept {
    return outlier_.health(m);
  }
  std::uint32_t calls_in_flight() const noexcept {
    return slots_.size();
  }
  const supervisor_counters& counters() const noexcept {
    return counters_;
  }
  const supervisor_config& config() const noexcept {
    return cfg_;
  }
  const hedge_policy& hedges() const noexcept {
    return hedge_;
  }
  const retry_budget& budget() const noexcept {
    return budget_;
  }
  const outlier_detector& outliers() const noexcept {
    return outlier_;
  }

  /// The slot and member of an attempt id, for callers that keep per-attempt
  /// data; false if the id belongs to no call in flight.
  bool locate(std::uint64_t attempt, std::uint32_t& call,
              std::uint32_t& member) const noexcept;

 private:
  struct call_slot {
    idempotency op = idempotency::unsafe;
    time_point started{};
    time_point deadline = no_deadline;
    time_point hedge_at = no_deadline;
    attempt_set set;
    std::array<std::uint8_t, max_attempts> member_of{};
    std::array<send_reason, max_attempts> reason_of{};
    std::array<time_point, max_attempts> sent_at{};
    std::uint64_t tried = 0; // members tried, as a bit mask
    std::uint32_t hedges = 0;
    std::uint32_t failovers = 0;
    failure_class last_cls = failure_class::transient;
    /// Waiting for a restarting member, to send its first attempt or a
    /// failover.
    bool parked = false;
    send_reason parked_as = send_reason::first;
    /// Progressive: attempts ask for a preliminary answer until one went to
    /// the caller.
    bool progressive = false;
    bool preliminary_sent = false;
    /// The call's soft deadline; `no_deadline`: each member's own.
    time_point soft_at = no_deadline;
  };

  struct member_state {
    std::string name;
    bool running = true;
    /// No longer configured: gets no new attempt.
    bool removed = false;
    /// Down, with a restart scheduled.
    bool restarting = false;
    restart_tracker restarts;
  };

  call_slot* find(std::uint64_t attempt, std::uint32_t& index) noexcept;
  std::uint64_t outstanding_members(const call_slot& s) const noexcept;
  void refresh_availability() noexcept;
  /// The router's pick among available members not in `excluded`; members
  /// cooling down after a rejection count only when nothing else is left.
  std::size_t pick(std::uint64_t excluded, time_point now) noexcept;
  void cool_down(std::uint32_t m, time_point now) noexcept;
  bool member_available(std::uint32_t m) const noexcept;
  void send(std::uint32_t slot, std::uint32_t member, send_reason why,
            time_point now, action_list& out);
  void finish(std::uint32_t slot, bool ok, failure_class cls, reply_reason why,
              std::uint64_t winner, time_point now,
              const settle_result* cancels, action_list& out);
  void cancel_listed(call_slot& s, const settle_result& r, time_point now,
                     action_list& out);
  /// After a non-final failure: reroute if allowed, else answer the call
  /// once nothing is outstanding.
  void after_failure(std::uint32_t slot, std::uint64_t attempt, time_point now,
                     bool never_executed, action_list& out);
  void fire(std::uint32_t slot, time_point now, action_list& out);
  /// Every attempt out at member `m` fails (it will never answer).
  void fail_attempts_at(std::uint32_t m, time_point now, action_list& out);
  /// A probe that ended without a verdict (cancelled, or its member
  /// crashed): the member still waits for its readmission probe.
  void rearm_probe(std::uint32_t m) noexcept;
  /// Resumes every parked call.
  void resume_parked(time_point now, action_list& out);
  bool any_restarting() const noexcept;
  void park(std::uint32_t slot, send_reason as);
  /// Sends a parked call's attempt, or answers it when that is impossible.
  void resume(std::uint32_t slot, time_point now, action_list& out);
  void reschedule(std::uint32_t slot);
  void on_outlier_event(const outlier_event& e);
  bool counts_against_member(failure_class cls) const noexcept;

  supervisor_config cfg_;
  rng gen_;
  router router_;
  hedge_policy hedge_;
  retry_budget budget_;
  outlier_detector outlier_;
  std::vector<member_state> members_;
  /// Configured members (not removed): hedging needs two of them.
  std::uint32_t active_ = 0;
  std::vector<member_load> loads_; // contiguous: what the router reads
  std::vector<time_point> cool_until_; // per member, after a rejection
  time_point cool_end_ = no_deadline; // earliest end of a cooldown
  slot_table<call_slot> slots_;
  timer_heap timers_;
  std::vector<outlier_event> events_;
  std::vector<std::uint32_t> parked_;
  std::uint64_t probe_ready_ = 0; // members whose probe may go, as a bit mask
  /// Running members whose node is lost, as a bit mask: skipped, and their
  /// results not held against them.
  std::uint64_t unreachable_ = 0;
  supervisor_counters counters_;
};

} // namespace bulwark
