// The decisions of a dependency, without actors: what happens to each call
// from its arrival to its one reply. A call is validated, served from the
// cache or admitted (breaker, concurrency limit, criticality), sent as
// attempts (a round: the first attempt and its hedges, whose first final
// result wins, bulwark/runtime/hedge/attempt_set.hpp), retried after a failed
// round when the retry step allows it (bulwark/runtime/retry/retry_step.hpp),
// and when it failed for good walked through the fallback chain (stale cache,
// static value, alternate dependency, fail fast); its journey is recorded on
// the way. The dependency actor (bulwark/actors/dependency/) translates
// messages into these events and the returned actions into messages, exactly
// like supervisor_core and its actor: events in, actions out.
//
// Every event appends its actions to a list the caller owns and reuses, so
// once warm a call allocates nothing here beyond what its strings need. Time
// (`now`) and randomness (a seeded generator) are inputs; nothing here reads
// a clock. Timers are the core's own (one entry per call); the owner calls
// `advance(now)` at `next_deadline()`.
//
// Calls keep the configuration they started with when it is replaced, and
// the feature flags decided on their arrival. The policy state (breaker,
// budget, cache, concurrency limit, hedge latencies, journeys, counters,
// flags) is a `dependency_policies` that outlives the core, so a restarted
// dependency keeps it.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/core/recycled_list.hpp"
#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/slot_table.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/timer_queue.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/dependency/dependency_policies.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"
#include "bulwark/runtime/flags/feature_flags.hpp"
#include "bulwark/runtime/hedge/attempt_set.hpp"
#include "bulwark/runtime/hedge/hedge_config.hpp"
#include "bulwark/runtime/journey/journey.hpp"
#include "bulwark/runtime/progressive/preliminary_reason.hpp"
#include "bulwark/runtime/retry/retry_status.hpp"

namespace bulwark {

struct bulwark_config; // bulwark/runtime/config/bulwark_config.hpp

/// One call as the core sees it: the fields of the call protocol's
/// call_request (bulwark/actors/protocol/call_messages.hpp), the deadline as a
/// time point.
struct dependency_request {
  /// The caller's correlation id; the reply carries it back.
  std::uint64_t id = 0;
  std::string operation;
  std::string payload;
  std::string idempotency_key;
  criticality crit = criticality::standard;
  /// Absolute; `no_deadline` when the caller gave none (the dependency's
  /// `default_timeout` applies).
  time_point deadline = no_deadline;
  /// 0 lets the core pick one.
  std::uint64_t journey_id = 0;
  /// Attempts already made by layers above (they share the attempt cap).
  std::uint32_t upstream_attempts = 0;
  /// W3C trace context, empty when the call is not traced: the caller's span
  /// is `trace.parent_id`.
  trace_context trace;
  /// The span that sent the request the caller serves (0: unknown).
  std::uint64_t upstream_span = 0;
  /// Asks for progressive delivery: a preliminary reply when the fresh
  /// answer is not there at the soft deadline, then the final one. Honoured
  /// only while the dependency's `progressive.enabled` is true.
  bool progressive = false;
  /// The call's own soft deadline, after its arrival (at most
  /// progressive_max_soft_deadline); negative: the dependency's. One at or
  /// after the call's deadline means no preliminary reply.
  duration soft_deadline{-1};
};

/// The one answer to a call: the fields of call_reply.
struct dependency_reply {
  std::uint64_t id = 0;
  bool ok = false;
  std::string payload;
  reply_source source = reply_source::live;
  /// Attempts made for the call, hedges included.
  std::uint32_t attempts = 0;
  /// A hedge, not the first attempt of its round, produced the answer.
  bool hedge_won = false;
  std::uint64_t journey_id = 0;
  /// Meaningful only when `ok` is false.
  failure_class cls = failure_class::transient;
  /// False: "already retried here, do not retry".
  bool may_retry = false;
  /// On failure: the downstream's retry-after hint of the attempt whose
  /// failure class this is (a delay; negative: none).
  duration retry_after{-1};
  /// Why the call failed (empty on success); for a preliminary reply, why
  /// it is preliminary.
  std::string message;
  /// A preliminary reply of a progressive call: its final reply follows
  /// (unless the caller cancels the call).
  bool preliminary = false;
  /// A preliminary reply from the cache: the entry's age; negative
  /// otherwise.
  duration age{-1};
  /// Why the reply is preliminary (`none` for every other reply).
  preliminary_reason reason = preliminary_reason::none;
};

enum class dependency_action_kind : std::uint8_t {
  /// Send attempt `id` of call `call` to the transport: the call's
  /// operation, payload and key (`dependency_core::request(call)`), deadline
  /// `deadline`, attempt number `number`.
  send_attempt,
  /// Attempt `id` is no longer wanted: tell the transport.
  cancel_attempt,
  /// Send call `call` to the alternate dependency `alternate`, under id `id`
  /// (its reply comes back as `on_alternate_reply(id, ...)`), with deadline
  /// `deadline` and `number` attempts made so far.
  call_alternate,
  /// Answer the caller of `call` with `reply`. A call gets exactly one
  /// reply whose `preliminary` is false (its final one); a progressive call
  /// may get one preliminary reply before it, after which the owner keeps
  /// the caller's address. A progressive call cancelled after its
  /// preliminary reply ends without a final one (its caller asked it to
  /// stop): `cancel` returns true and the owner drops the caller then.
  reply,
};

/// @relates dependency_action_kind
std::string to_string(dependency_action_kind x);

struct dependency_action {
  dependency_action_kind kind = dependency_action_kind::send_attempt;
  /// The call's slot. A reply to a request refused before it got a slot
  /// (invalid, deadline passed) has `dependency_core::no_call`: it goes to
  /// the sender of the message being handled.
  std::uint32_t call = 0;
  /// send_attempt, cancel_attempt: the attempt's correlation id;
  /// call_alternate: the id of the call to the alternate.
  std::uint64_t id = 0;
  /// send_attempt: the attempt's deadline (the earlier of the call's
  /// deadline and the per-attempt timeout); call_alternate: the call's.
  time_point deadline = no_deadline;
  /// send_attempt: the attempt number on the wire (attempts made upstream
  /// included); call_alternate: attempts made so far (upstream included).
  std::uint32_t number = 0;
  /// call_alternate: index in `dependency_core::alternates()`.
  std::uint32_t alternate = 0;
  /// send_attempt: the attempt's span; call_alternate: the call's span (the
  /// parent of the alternate's call). 0 when the call is not traced.
  std::uint64_t span = 0;
  /// reply only.
  dependency_reply reply;
};

/// The actions of one or more events, in order; reused (recycled_list.hpp).
using dependency_action_list = recycled_list<dependency_action>;

struct dependency_core_options {
  /// Seeds the generator (jitter): runs replay from it.
  std::uint64_t seed = 1;
  /// Successful journeys are kept one in `journey_sample` (failed and
  /// degraded ones always).
  std::uint32_t journey_sample = 64;
  /// Journey ids the core picks are `journey_prefix | n` (n = 1, 2, ...):
  /// the actor's id in the high half keeps them unique across actors.
  std::uint64_t journey_prefix = 0;
  /// The alternate dependencies that fallback steps may call (steps naming
  /// another are skipped).
  std::vector<std::string> alternates;
  /// Whether there is a transport to send attempts to.
  bool transport = true;
};

class dependency_core {
 public:
  using action_list = dependency_action_list;

  static constexpr std::uint32_t no_call =
    std::numeric_limits<std::uint32_t>::max();

  /// 1 first attempt + at most 4 hedges per round (hedge_config caps
  /// max_hedges).
  static constexpr std::uint32_t max_parallel_attempts = 5;

  /// `cfg` is the validated config of this dependency. `policies` is the
  /// policy state of a previous incarnation (its breaker permits and
  /// concurrency slots of calls in flight are given back, the rest is
  /// kept), or null for a fresh one made from `cfg`.
  dependency_core(dependency_config cfg, dependency_policies_ptr policies,
                  dependency_core_options opts, time_point now);

  ~dependency_core();

  dependency_core(const dependency_core&) = delete;
  dependency_core& operator=(const dependency_core&) = delete;

  // -- events -----------------------------------------------------------------

  /// A call arrives. Returns its slot, under which the owner keeps the reply
  /// address until the `reply` action for it (which may already be in `out`:
  /// a cache hit, a rejection), or `no_call` when the request was refused
  /// before it got one. Runs the timers due at `now` afterwards.
  std::uint32_t on_call(dependency_request&& req, time_point now,
                        action_list& out) {
    next_request() = std::move(req);
    return on_call(now, out);
  }

  /// The request of the next call, for the owner to fill in place (moving a
  /// message's strings straight into the call's slot, not through a
  /// temporary) before `on_call(now, out)`. Every field must be set.
  dependency_request& next_request() {
    if (next_slot_ == no_call) {
      next_slot_ = calls_.acquire();
      // Not a call yet: nothing that visits the calls in flight may see one.
      auto& s = calls_[next_slot_];
      s.phase = call_phase::idle;
      s.has_caller = false;
      s.journey_on = false;
    }
    return calls_[next_slot_].req;
  }

  /// The call filled in by `next_request()` arrives; see the overload above.
  std::uint32_t on_call(time_point now, action_list& out);

  /// The transport answered attempt `attempt` with what `obs` describes
  /// (classified with the call's own classification) and `payload` (taken
  /// on success). Unknown and late ids are counted and dropped. Runs the
  /// timers due at `now` afterwards.
  void on_result(std::uint64_t attempt, const transport_observation& obs,
                 std::string&& payload, time_point now, action_list& out);

  /// The alternate dependency answered the call sent as `id`.
  void on_alternate_reply(std::uint64_t id, bool ok, failure_class cls,
                          std::string&& payload, std::string_view message,
                          time_point now, action_list& out);

  /// The caller gave up on its call `caller_id` (a hedge elsewhere won, its
  /// own caller left): attempts are cancelled and the call is answered at
  /// once as `cancelled` (or, after a preliminary reply, ends silently). Only a
  /// call for which `same_caller(slot)` is true qualifies (callers choose their
  /// ids; the owner knows who asks). A linear scan: cancels are rare, and an
  /// index by caller id would cost every call. Returns whether a call was
  /// cancelled.
  template <class SameCaller>
  bool cancel(std::uint64_t caller_id, SameCaller&& same_caller, time_point now,
              action_list& out) {
    for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot) {
      if (!calls_.in_use(slot))
        continue;
      auto& s = calls_[slot];
      if (!s.has_caller || s.req.id != caller_id || !same_caller(slot))
        continue;
      cancel_call(slot, now, out);
      return true;
    }
    return false;
  }

  /// Runs every timer due at `now`: attempt timeouts, hedges, backoff ends,
  /// queue waits, deadlines.
  void advance(time_point now, action_list& out);

  /// No timer is due before this time (`no_deadline`: none is set). Exact
  /// after `advance`; otherwise it may be earlier than the next timer (one
  /// cancelled since), and waking then finds nothing due and moves it on.
  /// O(1): the owner asks after every event.
  time_point next_deadline() const noexcept {
    return earliest_;
  }

  /// The transport died: every attempt in flight fails at once (as
  /// `transient`), and attempts fail without being sent until
  /// `transport_replaced`.
  void transport_down(time_point now, action_list& out);

  /// A new transport replaced the old one (`available` false: none).
  void transport_replaced(bool available) noexcept;

  /// Applies a whole configuration document (JSON text) that must configure
  /// this dependency. Returns every error ("PATH: message"), or nothing when
  /// it was applied: new calls use it, calls in flight keep theirs, and the
  /// policy state keeps what still fits. A larger concurrency limit may start
  /// queued calls (their actions go to `out`).
  std::vector<std::string> reconfigure(std::string_view json_text,
                                       time_point now, action_list& out);

  /// The same for a document parsed and validated by the caller (once, for
  /// every actor it is sent to).
  std::vector<std::string> reconfigure(const bulwark_config& doc,
                                       time_point now, action_list& out);

  /// Replaces the feature flags with one flags object (JSON text,
  /// bulwark/runtime/flags/feature_flags.hpp); returns every error, or nothing
  /// when applied. Calls in flight keep what was decided on their arrival.
  std::vector<std::string> set_flags(std::string_view json_text);

  // -- observers --------------------------------------------------------------

  /// The call in `slot` (valid while a send_attempt or call_alternate action
  /// for it is handled: actions are handled in order after the event).
  const dependency_request& request(std::uint32_t slot) const noexcept {
    return calls_[slot].req;
  }

  /// Whether attempt or call id `id` still belongs to a call in flight.
  bool live(std::uint64_t id) const noexcept {
    return calls_.find(id) != calls_.npos;
  }

  const std::vector<std::string>& alternates() const noexcept {
    return alternates_;
  }

  /// The configuration new calls use.
  const dependency_config& config() const noexcept {
    return *cfg_;
  }

  dependency_policies& policies() noexcept {
    return *pol_;
  }
  const dependency_policies& policies() const noexcept {
    return *pol_;
  }

  const dependency_stats& stats() const noexcept {
    return pol_->stats;
  }

  /// The stats with the objectives' burn rates brought up to `now` (they
  /// are computed on request, not per call).
  const dependency_stats& stats_at(time_point now) noexcept;

  std::uint32_t calls_in_flight() const noexcept {
    return calls_.size() - (next_slot_ == no_call ? 0u : 1u);
  }

  /// Configurations kept for calls in flight, the current one included.
  std::size_t config_versions() const noexcept {
    return versions_.size();
  }

  bool transport_available() const noexcept {
    return transport_;
  }

  /// Every counter as JSON (`to_json(dependency_stats)`).
  std::string stats_json() const;

  /// The flags in force as JSON.
  std::string flags_json() const;

  /// One journey as JSON by id (kept or still in flight), "" when unknown.
  std::string journey_json(std::uint64_t id);

  /// The kept failed journeys as a JSON array, newest first.
  std::string failed_journeys_json() const;

  /// The most journeys `trace_json` returns.
  static constexpr std::size_t max_trace_journeys = 64;

  /// The journeys of trace `trace` as a JSON array (kept ones and calls in
  /// flight, at most `max_trace_journeys`), each with its span ids (see
  /// bulwark/runtime/journey/journey.hpp, `journey_trace`).
  std::string trace_json(trace_id trace);

 private:
  struct config_version;

  enum class call_phase : std::uint8_t {
    idle, // a slot handed out by next_request(), not a call yet
    queued, // waiting for a concurrency slot
    attempting, // a round of attempts in flight
    backoff, // waiting to retry
    alternate, // waiting for an alternate dependency's answer
  };

  // Hot fields first: a call touches its slot on arrival and on its result,
  // usually cold in cache when many calls are in flight.
  struct call {
    call_phase phase = call_phase::idle;
    bool has_caller = false; // false: a background cache revalidation
    bool holds_limit = false; // holds a concurrency slot
    bool cacheable = false; // idempotent operation with the cache on
    idempotency repeat = idempotency::unsafe;
    bool journey_on = false;
    bool sampled = false; // a normal call whose journey is kept anyway
    // Journeys are recorded lazily: the fast path (admitted, first attempt,
    // success, reply, or a fresh cache hit) only sets these bits; a journey
    // is built from them when something worth explaining happens or the
    // call is sampled. Recording every journey would cost more than the
    // rest of the call.
    std::uint8_t fast_events = 0;
    bool retried = false;
    // The client-side throttle let the call through (`throttled`), and the
    // dependency accepted one of its attempts (`accepted`): the throttle
    // hears of an accept once, or of a refusal when the call ends.
    bool throttled = false;
    bool accepted = false;
    // A traced call keeps its journey whenever it is built (the trace
    // asks for it), and always builds it when the trace is sampled.
    bool traced = false;
    std::uint8_t attempts_made = 0;
    std::uint8_t attempt_cap = 1;
    std::uint8_t hedges_round = 0;
    // Attempts made before this round: its attempt i has number
    // round_base + 1 + i.
    std::uint8_t round_base = 0;
    call_flags flags;
    config_version* ver = nullptr;
    time_point received{};
    time_point deadline = no_deadline;
    time_point round_start{};
    time_point hedge_at = no_deadline;
    attempt_set round;
    std::array<time_point, max_parallel_attempts> sent_at{};
    std::array<time_point, max_parallel_attempts> timeout_at{};
    dependency_request req;
    // The cache key (operation and payload), built once when cacheable, and
    // where the lookup found its entry (the store of the answer skips the
    // hash lookup then).
    std::string key;
    cache_hint hint;
    // -- colder: retries, queueing, fallback, journeys ------------------------
    time_point backoff_until = no_deadline;
    time_point queued_until = no_deadline;
    // The latest time an attempt's retry-after asked for: every later attempt
    // and hedge of the call waits for it.
    time_point not_before = time_point::min();
    duration prev_delay{0};
    duration last_latency{0};
    outcome last = outcome::ok();
    std::uint32_t fb_cursor = 0;
    journey* trip = nullptr; // from the pool, once materialized
    std::uint64_t span = 0; // the call's span when traced
    // -- progressive delivery (`soft_at` is `never` for other calls) ----------
    time_point soft_at = no_deadline; // when the preliminary reply is due
    bool prelim_sent = false;
    time_point prelim_at{};
    std::string prelim; // its payload, to tell whether the final changed it
  };

  static constexpr std::uint8_t fast_admitted = 1;
  static constexpr std::uint8_t fast_attempt = 2;
  static constexpr std::uint8_t fast_cache_hit = 4;

  const dependency_config& cfg_of(const call& s) const noexcept;
  dependency_stats& counters() noexcept {
    return pol_->stats;
  }

  // breaker, as the call's flags see it
  bool acquire_permit(const call& s, time_point now);
  void release_permit(const call& s, time_point now);
  void count_rejected(const call& s);

  // journeys
  void materialize(call& s);
  void note(call& s, time_point t, const journey_event& e);
  static bool note_fast(call& s, const journey_event& e) noexcept;
  void note_slow(call& s, time_point t, const journey_event& e);

  // calls
  void refuse(const dependency_request& req, failure_class cls,
              std::string message, action_list& out);
  void start_call(std::uint32_t slot, time_point deadline, time_point now,
                  action_list& out);
  bool serve_from_cache(std::uint32_t slot, time_point now, action_list& out);
  void revalidate(dependency_request req, time_point now, action_list& out);
  void cancel_call(std::uint32_t slot, time_point now, action_list& out);

  // progressive delivery
  void start_progressive(call& s, time_point now);
  void send_preliminary(std::uint32_t slot, time_point now, action_list& out);
  void count_final(call& s, const dependency_reply* r, time_point now);
  static void forget_preliminary(call& s);

  // attempts
  void begin_round(std::uint32_t slot, time_point now, action_list& out,
                   bool have_permit = false);
  duration hedge_delay(time_point now);
  void send_attempt(std::uint32_t slot, time_point now, bool hedge,
                    action_list& out);
  void try_hedge(std::uint32_t slot, time_point now, action_list& out);
  void cancel_listed(std::uint32_t slot, const settle_result& r, time_point now,
                     action_list& out);
  void cancel_attempts(std::uint32_t slot, time_point now, action_list& out);
  void on_attempt_outcome(std::uint32_t slot, std::uint64_t attempt,
                          const outcome& o, duration latency, time_point now,
                          std::string&& payload, action_list& out,
                          std::int32_t status = 0);
  void decide(std::uint32_t slot, time_point now, action_list& out);

  // fallback and the one reply
  void escalate(std::uint32_t slot, failure_class cls, std::string_view why,
                time_point now, action_list& out, bool rejected = false,
                const retry_status* reason = nullptr);
  void fallback(std::uint32_t slot, failure_class cls, std::string_view why,
                time_point now, action_list& out);
  dependency_reply* reply_to_caller(const call& s, std::uint32_t slot,
                                    action_list& out);
  void fail(std::uint32_t slot, failure_class cls, std::string_view why,
            time_point now, action_list& out);
  void finish_ok(std::uint32_t slot, std::string&& payload, reply_source source,
                 time_point now, action_list& out, bool hedge_won = false);
  void complete(std::uint32_t slot, time_point now, action_list& out);
  void release(std::uint32_t slot);
  void drop_version(config_version* v);

  // deadline-aware shedding
  duration expected_latency(time_point now);
  bool cannot_finish(const call& s, time_point now) {
    if (!pol_->shedding_on)
      return false;
    auto e = expected_latency(now);
    return e > duration{0} && s.deadline - now < e;
  }
  void shed_for_deadline(std::uint32_t slot, time_point now, action_list& out);

  // concurrency limit
  void admit_next(std::uint64_t next, time_point now, action_list& out);
  void expire_queue(time_point now, action_list& out);

  // timers
  void reschedule(std::uint32_t slot, time_point now);
  void fire(std::uint32_t slot, time_point now, action_list& out);

  std::vector<std::unique_ptr<config_version>> versions_;
  const dependency_config* cfg_ = nullptr; // versions_.back()'s
  dependency_policies_ptr pol_;
  slot_table<call> calls_;
  timer_queue timers_;
  std::vector<std::unique_ptr<journey>> journey_pool_;
  std::vector<std::string> alternates_;
  std::vector<std::uint64_t> expired_;
  rng gen_;
  std::uint32_t journey_sample_ = 64;
  std::uint64_t journey_prefix_ = 0;
  std::uint64_t journey_counter_ = 0;
  // Calls with a journey until the next sampled one (a countdown, not a
  // modulo: a division per call is measurable).
  std::uint32_t sample_countdown_ = 64;
  // The hedge delay from the latency quantile, recomputed at most once per
  // millisecond: a quantile query scans the histogram, a call must not.
  duration hedge_delay_cached_{0};
  time_point hedge_delay_until_ = time_point::min();
  // The same for the latency deadline-aware shedding expects.
  duration expected_latency_cached_{0};
  time_point expected_latency_until_ = time_point::min();
  // A lower bound of every timer set (see next_deadline).
  time_point earliest_ = no_deadline;
  // The slot `next_request()` handed out, not yet a call (a refused request
  // leaves it for the next one).
  std::uint32_t next_slot_ = no_call;
  bool transport_ = true;
  // The adaptive limit rose while an attempt's result was handled: queued
  // calls are admitted once it has been (on_result).
  bool limit_grew_ = false;
};

} // namespace bulwark
