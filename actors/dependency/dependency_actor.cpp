#include "actors/dependency/dependency_actor.hpp"

#include <optional>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include "runtime/classify/classifier.hpp"
#include "runtime/config/bulwark_config.hpp"
#include "runtime/config/json_pretty.hpp"
#include "runtime/core/idempotency_key.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/core/timer_queue.hpp"
#include "runtime/flags/feature_flags.hpp"
#include "runtime/fallback/fallback_chain.hpp"
#include "runtime/hedge/hedge_config.hpp"
#include "runtime/journey/journey.hpp"
#include "runtime/retry/retry_policy.hpp"

namespace bulwark {

namespace {

// 1 first attempt + at most 4 hedges in flight (hedge_config caps max_hedges).
constexpr std::uint32_t max_parallel_attempts = 5;
static_assert(max_parallel_attempts >= 1 + hedge_max_hedges_limit);

constexpr time_point never = time_point::max();

// -- correlation ids ---------------------------------------------------------
// An id names a slot of the call table, the slot's generation (so a late
// result for a finished call is recognized and dropped) and the attempt
// number (0 = a call to an alternate dependency). Lookup is an index, not a
// hash: the cost does not grow with the number of calls in flight.

constexpr std::uint64_t make_id(std::uint32_t slot, std::uint32_t gen,
                                std::uint32_t attempt) noexcept {
  return (std::uint64_t{slot} << 32) | (std::uint64_t{gen & 0xFFFFFFu} << 8)
         | (attempt & 0xFFu);
}

constexpr std::uint32_t id_slot(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id >> 32);
}

constexpr std::uint32_t id_gen(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>((id >> 8) & 0xFFFFFFu);
}

constexpr std::uint32_t id_attempt(std::uint64_t id) noexcept {
  return static_cast<std::uint32_t>(id & 0xFFu);
}

bool retryable_class(failure_class cls) noexcept {
  return cls == failure_class::transient || cls == failure_class::timeout
         || cls == failure_class::overloaded;
}

// -- per-call state ------------------------------------------------------------

struct config_version {
  explicit config_version(dependency_config x) : cfg(std::move(x)) {}
  dependency_config cfg;
  std::uint32_t users = 0;
};

struct attempt_slot {
  time_point started;
  time_point timeout_at;
  std::uint32_t number = 0; // 0 = free
  bool hedge = false;
};

enum class call_phase : std::uint8_t {
  free,
  queued,     // waiting for a concurrency slot
  attempting, // one or more attempts in flight
  backoff,    // waiting to retry
  alternate,  // waiting for an alternate dependency's answer
};

// Hot fields first: a call touches its slot twice (on arrival and on the
// result), usually cold in cache when many calls are in flight, so the fast
// path should need few cache lines.
struct call_slot {
  std::uint32_t generation = 0;
  call_phase phase = call_phase::free;
  bool has_caller = false;   // false: a background cache revalidation
  bool holds_limit = false;  // holds a concurrency slot
  bool cacheable = false;    // idempotent operation with the cache on
  idempotency repeat = idempotency::unsafe;
  bool journey_on = false;
  bool sampled = false; // a normal call whose journey is kept anyway
  // Journeys are recorded lazily. The fast path (admitted, first attempt,
  // success, reply, or a fresh cache hit) only sets bits here; a journey is
  // built from them when something worth explaining happens (a failure,
  // retry, hedge, queue, fallback) or the call is sampled. Recording every
  // call's journey would cost more than the rest of the call.
  static constexpr std::uint8_t fast_admitted = 1;
  static constexpr std::uint8_t fast_attempt = 2;
  static constexpr std::uint8_t fast_cache_hit = 4;
  std::uint8_t fast_events = 0;
  bool retried = false;
  std::uint8_t attempts_made = 0;
  std::uint8_t attempt_cap = 1;
  std::uint8_t outstanding = 0;
  std::uint8_t hedges_round = 0;
  bool hedge_won = false;
  // What the feature flags decided for this call (on arrival; it keeps the
  // decision however the flags change while it runs).
  call_flags flags;
  // The config it started under (calls in flight keep theirs on reload).
  config_version* ver = nullptr;
  const dependency_config* cfg = nullptr;
  // Where the one reply goes: the sender and the id of its message (a
  // request's response id, or an ordinary message for the send form).
  // Cheaper than a response_promise, which copies its forwarding stack.
  caf::strong_actor_ptr reply_to;
  caf::message_id reply_mid;
  time_point received;
  time_point deadline = never;
  time_point round_start;
  time_point hedge_at = never;
  attempt_slot attempts[max_parallel_attempts];
  call_request req;
  // -- colder: retries, queueing, fallback, journeys --------------------------
  time_point backoff_until = never;
  time_point queued_until = never;
  duration prev_delay{0};
  duration last_latency{0};
  outcome last = outcome::ok();
  std::size_t fb_cursor = 0;
  journey* trip = nullptr; // from the actor's pool, once materialized
};

} // namespace

// -- actor state -----------------------------------------------------------------

struct dependency_state {
  static inline const char* name = "bulwark.dependency";

  using self_pointer = dependency_actor::stateful_pointer<dependency_state>;

  self_pointer self = nullptr;
  // The system's clock, looked up once: every message reads it.
  caf::actor_clock* clock = nullptr;
  // Config versions still used by calls in flight; the last is current.
  // Counted without atomics: only this actor touches them.
  std::vector<std::unique_ptr<config_version>> versions;
  const dependency_config* cfg = nullptr;
  std::vector<std::unique_ptr<journey>> journey_pool;
  std::string key_buf;
  dependency_policies_ptr pol;
  caf::actor transport;
  bool transport_down = false;
  std::map<std::string, caf::actor> alternates;
  rng gen{1};
  std::uint32_t journey_sample = 64;
  std::uint64_t journey_counter = 0;
  std::uint64_t completed = 0;

  // The hedge delay from the latency quantile, recomputed at most once per
  // millisecond: a quantile query scans the histogram, a call must not.
  duration hedge_delay_cached{0};
  time_point hedge_delay_until = time_point::min();

  std::vector<call_slot> slots;
  std::vector<std::uint32_t> free_slots;
  timer_queue timers;
  time_point pending_tick = never;
  duration timer_slack{0};

  ~dependency_state() {
    for (auto& s : slots)
      delete s.trip;
  }

  // -- helpers -----------------------------------------------------------------

  time_point now() const {
    return clock->now();
  }

  dependency_stats& stats() {
    return pol->stats;
  }

  // -- the breaker, as the call's flags see it -----------------------------------
  // A call whose breaker flag is `disabled` takes no permit and records
  // nothing; `force_open` never gets one. Every permit taken is given back
  // through the same flag, so the breaker's accounting stays exact however
  // the flags change while calls run.

  bool acquire_permit(const call_slot& s, time_point n) {
    switch (s.flags.breaker) {
      case breaker_flag::disabled:
        return true;
      case breaker_flag::force_open:
        return false;
      case breaker_flag::normal:
        break;
    }
    return pol->breaker.try_acquire(n);
  }

  void release_permit(const call_slot& s, time_point n) {
    if (s.flags.breaker != breaker_flag::disabled)
      pol->breaker.release(n);
  }

  /// Counts a refused permit under the flag or the breaker.
  void count_rejected(const call_slot& s) {
    if (s.flags.breaker == breaker_flag::force_open)
      ++stats().rejected_flag;
    else
      ++stats().rejected_breaker;
  }

  static const char* rejection_text(const call_slot& s) {
    return s.flags.breaker == breaker_flag::force_open
             ? "circuit breaker forced open by a feature flag"
             : "circuit breaker open";
  }

  /// Sends to an actor of any interface (transports and alternates speak
  /// protocols, not our typed interface), with this actor as the sender so
  /// the answer comes back here. CAF's typed send() refuses dynamically
  /// typed receivers at compile time.
  template <class... Ts>
  void send_to(const caf::actor& dest, Ts&&... xs) {
    dest->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
  }

  /// Builds the journey of a call from its fast-path bits, so recording
  /// goes on from there.
  void materialize(call_slot& s) {
    if (s.trip != nullptr || !s.journey_on)
      return;
    if (journey_pool.empty()) {
      s.trip = new journey(s.req.journey_id, s.received);
    } else {
      s.trip = journey_pool.back().release();
      journey_pool.pop_back();
      *s.trip = journey{s.req.journey_id, s.received};
    }
    if (s.fast_events & call_slot::fast_cache_hit)
      s.trip->record(s.received,
                     journey_event{journey_event_kind::cache_hit_fresh}
                       .with_source(reply_source::fresh_cache));
    if (s.fast_events & call_slot::fast_admitted)
      s.trip->record(s.received, journey_event{journey_event_kind::admitted});
    if (s.fast_events & call_slot::fast_attempt)
      // The fast path's first attempt starts on arrival.
      s.trip->record(s.received,
                     journey_event{journey_event_kind::attempt_started}
                       .with_attempt(1));
    s.fast_events = 0;
  }

  void note(call_slot& s, time_point t, const journey_event& e) {
    if (!s.journey_on)
      return;
    if (s.trip == nullptr) {
      switch (e.kind) {
        case journey_event_kind::admitted:
          s.fast_events |= call_slot::fast_admitted;
          return;
        case journey_event_kind::cache_hit_fresh:
          s.fast_events |= call_slot::fast_cache_hit;
          return;
        case journey_event_kind::attempt_started:
          if (e.attempt == 1) {
            s.fast_events |= call_slot::fast_attempt;
            return;
          }
          break;
        case journey_event_kind::attempt_ended:
        case journey_event_kind::replied:
          // A success ends the fast path: nothing after it needs explaining.
          if (e.success && (!e.has_source || !is_degraded(e.source)))
            return;
          break;
        default:
          break;
      }
      materialize(s);
    }
    s.trip->record(t, e);
  }

  void drop_version(config_version* v) {
    for (auto i = versions.begin(); i != versions.end(); ++i)
      if (i->get() == v) {
        versions.erase(i);
        return;
      }
  }

  /// The cache key of a call (operation and payload), built in a buffer that
  /// is reused, so it costs no allocation once warm.
  const std::string& cache_key(const call_slot& s) {
    key_buf.clear();
    key_buf += s.req.operation;
    key_buf += '\n';
    key_buf += s.req.payload;
    return key_buf;
  }

  std::uint32_t alloc_slot() {
    if (!free_slots.empty()) {
      auto idx = free_slots.back();
      free_slots.pop_back();
      return idx;
    }
    slots.emplace_back();
    return static_cast<std::uint32_t>(slots.size() - 1);
  }

  void release_slot(std::uint32_t idx) {
    auto& s = slots[idx];
    s.phase = call_phase::free;
    ++s.generation;
    if (--s.ver->users == 0 && s.ver != versions.back().get())
      drop_version(s.ver);
    s.ver = nullptr;
    s.cfg = nullptr;
    s.reply_to.reset();
    if (s.trip != nullptr) {
      journey_pool.emplace_back(s.trip);
      s.trip = nullptr;
    }
    s.req.payload.clear();
    s.req.payload.shrink_to_fit();
    free_slots.push_back(idx);
  }

  // -- timers ------------------------------------------------------------------
  // One heap entry per call: the earliest of its attempt timeouts, hedge time,
  // backoff end, queue wait end and deadline. One delayed tick message is kept
  // for the earliest entry; ticks that find nothing due just re-arm.

  void reschedule(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    auto t = s.deadline;
    switch (s.phase) {
      case call_phase::attempting:
        for (auto& a : s.attempts)
          if (a.number != 0 && a.timeout_at < t)
            t = a.timeout_at;
        if (s.hedge_at < t)
          t = s.hedge_at;
        break;
      case call_phase::backoff:
        if (s.backoff_until < t)
          t = s.backoff_until;
        break;
      case call_phase::queued:
        if (s.queued_until < t)
          t = s.queued_until;
        break;
      default:
        break;
    }
    if (t == never) {
      timers.cancel(idx);
      return;
    }
    timers.schedule(idx, t, n);
    arm_tick(t, n);
  }

  // A tick is a delayed message through CAF's clock thread: costly (a lock,
  // a wake-up) next to a call. Under traffic, due timers are run by whatever
  // message comes in first (`run_due`), so ticks only matter when the actor
  // is idle; `timer_slack` lets a tick fire up to that much late so that one
  // tick serves many timers. With no slack (the default) every timer fires
  // exactly on time, which virtual-time tests rely on.
  void arm_tick(time_point t, time_point n) {
    auto at = t + timer_slack;
    if (pending_tick <= at)
      return;
    pending_tick = at;
    auto delay = at > n ? at - n : duration{0};
    self->delayed_send(self, delay, tick_atom::value);
  }

  void on_tick() {
    auto n = now();
    if (pending_tick <= n)
      pending_tick = never;
    run_due(n);
    if (!timers.empty())
      arm_tick(timers.next(), n);
  }

  /// Runs every timer due at `n`; cheap when none is (one comparison per
  /// timer lane).
  void run_due(time_point n) {
    if (timers.empty() || timers.next() > n)
      return;
    for (auto idx = timers.pop_due(n); idx != timer_queue::npos;
         idx = timers.pop_due(n))
      on_timer(idx, n);
  }

  void on_timer(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    if (s.phase == call_phase::free)
      return;
    if (n >= s.deadline) {
      // The caller's deadline passed: whatever is in flight is abandoned.
      s.last = outcome::failure(failure_class::deadline_exceeded);
      if (s.phase == call_phase::queued) {
        // It never ran: give back its queue place and its breaker permit.
        pol->limit.cancel(make_id(idx, s.generation, 0));
        release_permit(s, n);
      }
      cancel_attempts(idx, n);
      escalate(idx, failure_class::deadline_exceeded, "deadline exceeded", n,
               s.phase == call_phase::queued);
      return;
    }
    switch (s.phase) {
      case call_phase::queued:
        if (n >= s.queued_until)
          expire_queue(n);
        break;
      case call_phase::attempting: {
        // A timeout may end the call (reply, slot released) or start the
        // next round; stop looking at this slot's attempts then.
        auto gen = s.generation;
        for (auto& a : s.attempts) {
          if (a.number != 0 && a.timeout_at <= n) {
            ++stats().attempt_timeouts;
            auto number = a.number;
            send_cancel(idx, number);
            on_attempt_outcome(idx, number,
                               outcome::failure(failure_class::timeout),
                               a.timeout_at - a.started, n, std::string{});
            if (s.phase != call_phase::attempting || s.generation != gen)
              return;
          }
        }
        if (s.hedge_at <= n)
          try_hedge(idx, n);
        break;
      }
      case call_phase::backoff:
        if (s.backoff_until <= n)
          begin_round(idx, n);
        break;
      default:
        break;
    }
    if (s.phase != call_phase::free)
      reschedule(idx, n);
  }

  // -- calls ---------------------------------------------------------------------

  void reply(const caf::strong_actor_ptr& to, caf::message_id mid,
             call_reply r) {
    if (to)
      to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                            mid.response_id(), {},
                                            reply_atom::value, std::move(r)),
                  self->context());
  }

  void on_call(call_request& req) {
    auto n = now();
    auto& to = self->current_sender();
    auto mid = self->current_message_id();
    ++stats().requests;
    // Malformed requests get a classified failure, never silence.
    const char* invalid = nullptr;
    if (req.operation.empty())
      invalid = "invalid request: empty operation";
    else if (static_cast<std::uint8_t>(req.crit) > 2)
      invalid = "invalid request: unknown criticality";
    if (invalid != nullptr) {
      ++stats().invalid;
      reply(to, mid, failure_reply(req, failure_class::persistent, invalid, 0));
      return;
    }
    // The key travels as a header and is stored by ledgers: a CR LF would
    // inject a request downstream, a NUL would merge two keys.
    if (auto problem = key_problem(req.idempotency_key)) {
      ++stats().invalid;
      reply(to, mid,
            failure_reply(req, failure_class::persistent,
                          "invalid request: idempotency key " + *problem, 0));
      return;
    }
    auto deadline = req.deadline_ns == no_deadline_ns
                      ? bulwark::deadline::after(n, cfg->default_timeout).at
                      : from_wire_time(req.deadline_ns);
    if (deadline <= n) {
      ++stats().failures_by_class[static_cast<int>(
        failure_class::deadline_exceeded)];
      ++stats().replies_failed;
      reply(to, mid,
            failure_reply(req, failure_class::deadline_exceeded,
                          "invalid request: deadline already passed", 0));
      return;
    }
    auto idx = alloc_slot();
    auto& s = slots[idx];
    s.phase = call_phase::attempting;
    s.has_caller = true;
    s.reply_to = to;
    s.reply_mid = mid;
    s.req = std::move(req);
    start_call(idx, deadline, n);
    run_due(n);
  }

  void start_call(std::uint32_t idx, time_point deadline, time_point n) {
    auto& s = slots[idx];
    ++stats().in_flight;
    s.ver = versions.back().get();
    ++s.ver->users;
    s.cfg = cfg;
    s.received = n;
    s.deadline = deadline;
    s.repeat = cfg->idempotency_of(s.req.operation);
    s.holds_limit = false;
    s.retried = false;
    s.hedge_won = false;
    s.attempts_made = 0;
    s.outstanding = 0;
    s.hedges_round = 0;
    s.prev_delay = duration{0};
    s.last_latency = duration{0};
    s.last = outcome::ok();
    s.fb_cursor = 0;
    s.hedge_at = s.backoff_until = s.queued_until = never;
    // (A free slot's attempts are all cleared: every attempt ends through
    // on_attempt_outcome or cancel_attempts.)
    // Attempts already made upstream share the cap, so layers don't multiply.
    auto max = cfg->retry.enabled ? cfg->retry.max_attempts : 1u;
    s.attempt_cap = s.req.upstream_attempts < max
                      ? max - s.req.upstream_attempts
                      : 1u;
    s.journey_on = cfg->journeys.enabled;
    s.fast_events = 0;
    if (s.req.journey_id == 0)
      s.req.journey_id = (self->id() << 32) | ++journey_counter;
    // One call in `journey_sample` is recorded from the start even if
    // nothing goes wrong, so the recent journeys show normal calls too.
    s.sampled = s.journey_on && ++completed % journey_sample == 0;
    if (s.sampled)
      materialize(s);
    if (pol->flags_active) {
      s.flags = decide_flags(pol->flags,
                             flag_hash(s.req.idempotency_key, s.req.id));
      if (s.flags.breaker == breaker_flag::disabled)
        ++stats().breaker_bypassed_flag;
    } else {
      s.flags = call_flags{};
    }
    pol->budget.on_request(n);
    // Cache: only operations safe to repeat are cached.
    s.cacheable = cfg->cache.enabled && s.repeat == idempotency::idempotent;
    if (s.cacheable) {
      if (s.has_caller && serve_from_cache(idx, n))
        return;
    }
    // Admission: breaker first (a rejection never takes a concurrency slot),
    // then the concurrency limit.
    if (!acquire_permit(s, n)) {
      count_rejected(s);
      s.last = outcome::failure(failure_class::rejected_locally, true);
      escalate(idx, failure_class::rejected_locally, rejection_text(s), n,
               true);
      return;
    }
    switch (pol->limit.try_acquire(make_id(idx, s.generation, 0), s.req.crit,
                                   n)) {
      case admission::run:
        s.holds_limit = true;
        note(s, n, journey_event{journey_event_kind::admitted});
        begin_round(idx, n, true);
        return;
      case admission::queued:
        ++stats().queued;
        s.phase = call_phase::queued;
        s.queued_until =
          bulwark::deadline::after(n, cfg->bulkhead.max_queue_wait).at;
        note(s, n, journey_event{journey_event_kind::queued});
        reschedule(idx, n);
        return;
      case admission::rejected_full:
        ++stats().rejected_bulkhead;
        break;
      case admission::rejected_shed:
        ++stats().shed;
        break;
    }
    release_permit(s, n);
    s.last = outcome::failure(failure_class::rejected_locally, true);
    escalate(idx, failure_class::rejected_locally,
             "concurrency limit reached", n, true);
  }

  bool serve_from_cache(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    auto hit = pol->cache.lookup(cache_key(s), n);
    switch (hit.freshness) {
      case cache_freshness::miss:
      case cache_freshness::stale_if_error_only:
        ++stats().cache_misses;
        return false;
      case cache_freshness::fresh:
        ++stats().cache_hits;
        note(s, n,
             journey_event{journey_event_kind::cache_hit_fresh}.with_source(
               reply_source::fresh_cache));
        finish_ok(idx, *hit.value, reply_source::fresh_cache, n);
        return true;
      case cache_freshness::stale_revalidate: {
        ++stats().cache_stale_hits;
        note(s, n,
             journey_event{journey_event_kind::cache_hit_stale}.with_source(
               reply_source::stale_cache));
        bool start_refresh = hit.start_refresh;
        auto req = s.req; // the refresh repeats the request without a caller
        finish_ok(idx, *hit.value, reply_source::stale_cache, n);
        if (start_refresh)
          revalidate(std::move(req), n);
        return true;
      }
    }
    return false;
  }

  void revalidate(call_request req, time_point n) {
    ++stats().revalidations;
    auto idx = alloc_slot();
    auto& s = slots[idx];
    s.phase = call_phase::attempting;
    s.has_caller = false;
    s.req = std::move(req);
    s.req.journey_id = 0;
    auto deadline = bulwark::deadline::after(n, cfg->default_timeout).at;
    start_call(idx, deadline, n);
  }

  // -- attempts --------------------------------------------------------------------

  /// Starts a new round: one attempt, hedges may follow. The breaker permit
  /// for the first attempt of a call was taken at admission; later rounds
  /// (retries) take their own.
  void begin_round(std::uint32_t idx, time_point n, bool have_permit = false) {
    auto& s = slots[idx];
    s.backoff_until = never;
    if (!have_permit && !acquire_permit(s, n)) {
      count_rejected(s);
      s.last = outcome::failure(failure_class::rejected_locally, true);
      s.phase = call_phase::attempting;
      note(s, n, journey_event{journey_event_kind::rejected});
      fallback(idx, failure_class::rejected_locally, rejection_text(s), n);
      return;
    }
    s.phase = call_phase::attempting;
    s.round_start = n;
    s.hedges_round = 0;
    s.hedge_at = never;
    auto& c = *s.cfg;
    if (c.hedge.enabled && pol->hedge.should_hedge(0, s.repeat)) {
      if (s.flags.hedging)
        s.hedge_at = n + hedge_delay(n);
      else
        ++stats().hedges_suppressed_flag;
    }
    send_attempt(idx, n, false);
  }

  duration hedge_delay(time_point n) {
    if (n >= hedge_delay_until) {
      hedge_delay_cached = pol->hedge.hedge_delay(1, n);
      hedge_delay_until = n + milliseconds(1);
    }
    return hedge_delay_cached;
  }

  void send_attempt(std::uint32_t idx, time_point n, bool hedge) {
    auto& s = slots[idx];
    attempt_slot* a = nullptr;
    for (auto& x : s.attempts)
      if (x.number == 0) {
        a = &x;
        break;
      }
    auto number = ++s.attempts_made;
    auto timeout = attempt_timeout(s.cfg->retry, n, s.deadline);
    a->number = number;
    a->hedge = hedge;
    a->started = n;
    a->timeout_at = n + timeout;
    ++s.outstanding;
    ++stats().attempts;
    if (hedge) {
      ++stats().hedges;
      note(s, n,
           journey_event{journey_event_kind::hedge_started}
             .with_attempt(number)
             .with_who(initiator::hedger));
    } else {
      note(s, n,
           journey_event{journey_event_kind::attempt_started}.with_attempt(
             number));
    }
    if (transport_down || !transport) {
      // Nothing to send to: the attempt provably never executed.
      auto o = outcome::failure(failure_class::transient, true);
      on_attempt_outcome(idx, number, o, duration{0}, n, std::string{});
      return;
    }
    attempt_request ar;
    ar.attempt_id = make_id(idx, s.generation, number);
    ar.operation = s.req.operation;
    ar.payload = s.req.payload;
    ar.idempotency_key = s.req.idempotency_key;
    ar.deadline_ns = to_wire_time(a->timeout_at);
    ar.attempt_number = number + s.req.upstream_attempts;
    send_to(transport, attempt_atom::value, std::move(ar));
    reschedule(idx, n);
  }

  void try_hedge(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    s.hedge_at = never;
    auto& c = *s.cfg;
    if (!c.hedge.enabled || !s.flags.hedging || s.outstanding == 0
        || !pol->hedge.should_hedge(s.hedges_round, s.repeat)
        || s.attempts_made >= s.attempt_cap)
      return;
    if (!pol->budget.try_withdraw(budget_use::hedge, n)) {
      ++stats().hedges_denied_budget;
      return;
    }
    if (!acquire_permit(s, n)) {
      count_rejected(s);
      return;
    }
    ++s.hedges_round;
    if (pol->hedge.should_hedge(s.hedges_round, s.repeat))
      s.hedge_at = s.round_start + hedge_delay(n) * (s.hedges_round + 1);
    send_attempt(idx, n, true);
  }

  void send_cancel(std::uint32_t idx, std::uint32_t number) {
    if (transport && !transport_down)
      send_to(transport, cancel_atom::value,
              make_id(idx, slots[idx].generation, number));
  }

  /// Abandons every attempt still in flight (their late results are dropped).
  void cancel_attempts(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    for (auto& a : s.attempts) {
      if (a.number == 0)
        continue;
      release_permit(s, n);
      send_cancel(idx, a.number);
      a.number = 0;
    }
    s.outstanding = 0;
  }

  /// The caller no longer wants its call `caller_id` (a hedge elsewhere won,
  /// its own caller gave up): stop retrying, cancel what is in flight and
  /// answer it now, as `cancelled`, so it still gets exactly one reply. A
  /// linear scan: cancels are rare (losing hedges) and calls in flight carry
  /// no index by caller id that every call would pay for.
  void on_cancel(std::uint64_t caller_id) {
    auto& from = self->current_sender();
    for (std::uint32_t idx = 0; idx < slots.size(); ++idx) {
      auto& s = slots[idx];
      if (s.phase == call_phase::free || !s.has_caller || s.req.id != caller_id
          || s.reply_to != from)
        continue;
      auto n = now();
      s.last = outcome::failure(failure_class::cancelled);
      if (s.phase == call_phase::queued) {
        pol->limit.cancel(make_id(idx, s.generation, 0));
        release_permit(s, n);
      }
      cancel_attempts(idx, n);
      fail(idx, failure_class::cancelled, "cancelled by the caller", n);
      return;
    }
  }

  void on_result(attempt_result& r) {
    auto idx = id_slot(r.attempt_id);
    auto number = id_attempt(r.attempt_id);
    if (idx >= slots.size() || number == 0) {
      ++stats().late_results;
      return;
    }
    auto& s = slots[idx];
    if (s.phase != call_phase::attempting
        || (s.generation & 0xFFFFFFu) != id_gen(r.attempt_id)) {
      ++stats().late_results;
      return;
    }
    attempt_slot* a = nullptr;
    for (auto& x : s.attempts)
      if (x.number == number) {
        a = &x;
        break;
      }
    if (a == nullptr) {
      ++stats().late_results;
      return;
    }
    auto n = now();
    auto o = classify(s.cfg->classification, to_observation(r));
    on_attempt_outcome(idx, number, o, n - a->started, n, std::move(r.payload));
    run_due(n);
  }

  void on_attempt_outcome(std::uint32_t idx, std::uint32_t number,
                          const outcome& o, duration latency, time_point n,
                          std::string payload) {
    auto& s = slots[idx];
    bool hedge = false;
    for (auto& x : s.attempts)
      if (x.number == number) {
        hedge = x.hedge;
        x.number = 0;
        break;
      }
    --s.outstanding;
    stats().attempt_latency.record(latency);
    if (s.flags.breaker != breaker_flag::disabled)
      pol->breaker.record(o, latency, n);
    note(s, n,
         journey_event{journey_event_kind::attempt_ended}
           .with_attempt(number)
           .with_outcome(o, latency));
    if (o.success) {
      pol->budget.on_success(n);
      pol->hedge.record_latency(latency, n);
      cancel_attempts(idx, n);
      s.hedge_won = hedge;
      if (hedge)
        ++stats().hedges_won;
      if (s.cacheable)
        pol->cache.store(cache_key(s), payload, n);
      finish_ok(idx, std::move(payload), reply_source::live, n);
      return;
    }
    ++stats().attempt_failures_by_class[static_cast<int>(o.cls)];
    if (retryable_class(o.cls) || o.do_not_retry)
      pol->budget.on_failure(n);
    s.last = o;
    s.last_latency = latency;
    // A failure that no other attempt can turn around ends the round now.
    bool final_class = o.cls == failure_class::persistent || o.do_not_retry;
    if (s.outstanding > 0 && !final_class) {
      reschedule(idx, n);
      return;
    }
    cancel_attempts(idx, n);
    decide(idx, n);
  }

  void decide(std::uint32_t idx, time_point n) {
    auto& s = slots[idx];
    auto& c = *s.cfg;
    auto& o = s.last;
    if (!s.has_caller && s.cacheable)
      pol->cache.refresh_failed(cache_key(s));
    // Sheddable requests take a fallback before spending a retry.
    if (prefers_fallback(s.req.crit)
        && next_fallback_step(c.fallback, o.cls, s.req.crit, s.fb_cursor)) {
      escalate(idx, o.cls, "failed; sheddable request served by fallback", n);
      return;
    }
    auto d = decide_retry(c.retry, s.repeat, o, s.attempts_made, s.attempt_cap,
                          s.last_latency, s.prev_delay, n, s.deadline, gen);
    if (d.verdict == retry_verdict::retry && !s.flags.retry) {
      // Retries switched off by an operator: this failure is final here,
      // and the caller is told not to retry either (may_retry stays false
      // while retries are configured).
      ++stats().retries_suppressed_flag;
      escalate(idx, o.cls, "retries disabled by a feature flag", n);
      return;
    }
    if (d.verdict == retry_verdict::retry) {
      if (!pol->budget.try_withdraw(budget_use::retry, n)) {
        ++stats().retries_denied_budget;
        escalate(idx, o.cls, "retry budget exhausted", n);
        return;
      }
      ++stats().retries;
      ++stats().retries_by_class[static_cast<int>(o.cls)];
      s.retried = true;
      s.prev_delay = d.delay;
      s.phase = call_phase::backoff;
      s.hedge_at = never;
      s.backoff_until = n + d.delay;
      note(s, n, journey_event{journey_event_kind::backoff_scheduled});
      if (d.delay <= duration{0})
        begin_round(idx, n);
      else
        reschedule(idx, n);
      return;
    }
    escalate(idx, o.cls, to_string(d.verdict), n);
  }

  // -- fallback ------------------------------------------------------------------

  /// Level 2 of the escalation ladder: the dependency's own fallback chain.
  void escalate(std::uint32_t idx, failure_class cls, std::string_view why,
                time_point n, bool rejected = false) {
    auto& s = slots[idx];
    if (rejected)
      note(s, n, journey_event{journey_event_kind::rejected});
    else
      note(s, n, journey_event{journey_event_kind::escalated}.with_level(2));
    fallback(idx, cls, why, n);
  }

  void fallback(std::uint32_t idx, failure_class cls, std::string_view why,
                time_point n) {
    auto& s = slots[idx];
    if (!s.has_caller) {
      fail(idx, cls, why, n);
      return;
    }
    auto& c = *s.cfg;
    for (;;) {
      auto pick = next_fallback_step(c.fallback, cls, s.req.crit, s.fb_cursor);
      if (!pick) {
        fail(idx, cls, why, n);
        return;
      }
      s.fb_cursor = pick.next_cursor();
      auto& step = *pick.step;
      switch (step.kind) {
        case fallback_kind::stale_cache: {
          if (!s.cacheable)
            continue;
          auto* v = pol->cache.stale_for_error(cache_key(s), n);
          if (v == nullptr)
            continue;
          ++stats().fallbacks_stale;
          note(s, n,
               journey_event{journey_event_kind::fallback_used}.with_source(
                 reply_source::stale_cache));
          finish_ok(idx, *v, reply_source::stale_cache, n);
          return;
        }
        case fallback_kind::static_value:
          ++stats().fallbacks_static;
          note(s, n,
               journey_event{journey_event_kind::fallback_used}.with_source(
                 reply_source::static_fallback));
          finish_ok(idx, step.value, reply_source::static_fallback, n);
          return;
        case fallback_kind::alternate: {
          auto i = alternates.find(step.dependency);
          if (i == alternates.end() || !i->second || n >= s.deadline)
            continue;
          ++stats().fallbacks_alternate;
          call_request alt = s.req;
          alt.id = make_id(idx, s.generation, 0);
          alt.deadline_ns = to_wire_time(s.deadline);
          alt.upstream_attempts = s.req.upstream_attempts + s.attempts_made;
          s.phase = call_phase::alternate;
          note(s, n,
               journey_event{journey_event_kind::fallback_used}.with_source(
                 reply_source::alternate));
          send_to(i->second, call_atom::value, std::move(alt));
          reschedule(idx, n);
          return;
        }
        case fallback_kind::fail_fast:
          ++stats().fallbacks_fail_fast;
          fail(idx, cls, why, n);
          return;
      }
    }
  }

  void on_alternate_reply(call_reply& r) {
    auto idx = id_slot(r.id);
    if (idx >= slots.size() || id_attempt(r.id) != 0) {
      ++stats().late_results;
      return;
    }
    auto& s = slots[idx];
    if (s.phase != call_phase::alternate
        || (s.generation & 0xFFFFFFu) != id_gen(r.id)) {
      ++stats().late_results;
      return;
    }
    auto n = now();
    if (r.ok) {
      finish_ok(idx, std::move(r.payload), reply_source::alternate, n);
      return;
    }
    s.phase = call_phase::attempting;
    fallback(idx, r.cls, "alternate failed: " + r.message, n);
  }

  // -- the one reply -------------------------------------------------------------

  call_reply failure_reply(const call_request& req, failure_class cls,
                           std::string message, std::uint32_t attempts) {
    call_reply r;
    r.id = req.id;
    r.ok = false;
    r.cls = cls;
    r.attempts = attempts;
    r.journey_id = req.journey_id;
    r.may_retry = false;
    r.message = std::move(message);
    return r;
  }

  void fail(std::uint32_t idx, failure_class cls, std::string_view why,
            time_point n) {
    auto& s = slots[idx];
    auto r = failure_reply(s.req, cls, std::string{why}, s.attempts_made);
    // May the caller retry? Only if nothing was retried here and the failure
    // is of a kind worth retrying: otherwise retries would multiply.
    r.may_retry = !s.retried && !s.last.do_not_retry && retryable_class(cls)
                  && !s.cfg->retry.enabled;
    ++stats().failures_by_class[static_cast<int>(cls)];
    ++stats().replies_failed;
    auto o = outcome::failure(cls);
    note(s, n,
         journey_event{journey_event_kind::replied}.with_outcome(o,
                                                                  n - s.received));
    complete(idx, std::move(r), n);
  }

  void finish_ok(std::uint32_t idx, std::string payload, reply_source source,
                 time_point n) {
    auto& s = slots[idx];
    call_reply r;
    r.id = s.req.id;
    r.ok = true;
    r.payload = std::move(payload);
    r.source = source;
    r.attempts = s.attempts_made;
    r.hedge_won = s.hedge_won;
    r.journey_id = s.req.journey_id;
    ++stats().replies_ok;
    ++stats().replies_by_source[static_cast<int>(source)];
    note(s, n,
         journey_event{journey_event_kind::replied}
           .with_outcome(outcome::ok(), n - s.received)
           .with_source(source));
    complete(idx, std::move(r), n);
  }

  void complete(std::uint32_t idx, call_reply r, time_point n) {
    auto& s = slots[idx];
    timers.cancel(idx);
    --stats().in_flight;
    // Failed and degraded journeys are always kept; others (a retry that
    // succeeded, a hedge that won) only when sampled: copying each into the
    // log would cost more than the retry did.
    if (s.trip != nullptr
        && (s.sampled || s.trip->failed() || s.trip->degraded()))
      pol->journeys.add(*s.trip);
    bool had_limit = s.holds_limit;
    if (s.has_caller) {
      stats().request_latency.record(n - s.received);
      reply(s.reply_to, s.reply_mid, std::move(r));
    }
    release_slot(idx);
    if (had_limit)
      admit_next(pol->limit.release(n), n);
  }

  // -- the concurrency limit's queue ---------------------------------------------

  void admit_next(std::optional<std::uint64_t> next, time_point n) {
    while (next) {
      auto idx = id_slot(*next);
      auto& s = slots[idx];
      if (s.phase == call_phase::queued
          && (s.generation & 0xFFFFFFu) == id_gen(*next)) {
        s.holds_limit = true;
        s.queued_until = never;
        note(s, n, journey_event{journey_event_kind::dequeued});
        begin_round(idx, n, true);
        return;
      }
      // Not ours any more (cannot happen: finished calls leave the queue).
      next = pol->limit.release(n);
    }
  }

  void expire_queue(time_point n) {
    std::vector<std::uint64_t> expired;
    pol->limit.expire(n, [&](std::uint64_t id) { expired.push_back(id); });
    for (auto id : expired) {
      auto idx = id_slot(id);
      auto& s = slots[idx];
      if (s.phase != call_phase::queued
          || (s.generation & 0xFFFFFFu) != id_gen(id))
        continue;
      ++stats().queue_timeouts;
      release_permit(s, n);
      s.last = outcome::failure(failure_class::rejected_locally, true);
      escalate(idx, failure_class::rejected_locally,
               "waited too long for a concurrency slot", n, true);
    }
  }

  // -- transport failure -----------------------------------------------------------

  void on_transport_down(time_point n) {
    ++stats().transport_downs;
    transport_down = true;
    // Every attempt in flight fails as transient: retried or sent to the
    // fallback chain, none hangs until its timeout.
    for (std::uint32_t idx = 0; idx < slots.size(); ++idx) {
      auto& s = slots[idx];
      if (s.phase != call_phase::attempting)
        continue;
      auto gen0 = s.generation;
      for (auto& a : s.attempts) {
        if (a.number == 0)
          continue;
        if (s.phase != call_phase::attempting || s.generation != gen0)
          break;
        auto number = a.number;
        on_attempt_outcome(idx, number,
                           outcome::failure(failure_class::transient),
                           n - a.started, n, std::string{});
      }
    }
  }

  // -- reconfiguration -------------------------------------------------------------

  std::vector<std::string> apply_config(const std::string& text) {
    std::vector<std::string> errs;
    auto result = parse_bulwark_config(text);
    if (!result.ok()) {
      for (auto& e : result.errors.errors())
        errs.push_back(e.to_string());
      if (result.errors.dropped() > 0)
        errs.push_back("... and " + std::to_string(result.errors.dropped())
                       + " more errors");
      ++stats().config_rejected;
      return errs;
    }
    auto* mine = result.config->find(cfg->name);
    if (mine == nullptr) {
      errs.push_back("/dependencies/" + cfg->name
                     + ": is required (this actor serves dependency \""
                     + cfg->name + "\")");
      ++stats().config_rejected;
      return errs;
    }
    // Calls in flight keep the config they started with (their own
    // shared_ptr); long-lived state moves to the new settings now.
    auto n = now();
    auto previous = versions.back().get();
    versions.push_back(std::make_unique<config_version>(*mine));
    cfg = &versions.back()->cfg;
    pol->reconfigure(*cfg, n);
    if (previous->users == 0)
      drop_version(previous);
    hedge_delay_until = time_point::min();
    ++stats().config_applied;
    // A larger limit may admit queued calls.
    while (auto id = pol->limit.try_dequeue(n))
      admit_next(id, n);
    return errs;
  }

  // -- feature flags ---------------------------------------------------------------

  std::vector<std::string> apply_flags(const std::string& text) {
    std::vector<std::string> errs;
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec) {
      errs.push_back("(root): not valid JSON: " + ec.message());
      return errs;
    }
    error_list errors;
    auto f = parse_dependency_flags_config(v, json_path{}, errors);
    if (!errors.empty()) {
      for (auto& e : errors.errors())
        errs.push_back(e.to_string());
      return errs;
    }
    // Calls in flight keep what was decided on their arrival.
    pol->set_flags(f);
    return errs;
  }

  std::string flags_json() const {
    // pretty_json prints a 100% rollout as 100, not Boost's 1E2.
    return pretty_json(to_json(pol->flags));
  }

  std::string journey_json(std::uint64_t id) {
    auto* j = pol->journeys.find(id);
    if (j == nullptr) {
      // Still in flight?
      for (auto& s : slots)
        if (s.phase != call_phase::free && s.journey_on
            && s.req.journey_id == id) {
          materialize(s);
          return boost::json::serialize(to_json(*s.trip, s.trip->started()));
        }
      return {};
    }
    return boost::json::serialize(to_json(*j, j->started()));
  }

  std::string failed_journeys_json() {
    boost::json::array arr;
    for (auto* j : pol->journeys.failed())
      arr.push_back(to_json(*j, j->started()));
    return boost::json::serialize(arr);
  }
};

namespace {

dependency_actor::behavior_type
dependency_impl(dependency_actor::stateful_pointer<dependency_state> self,
                dependency_options opts) {
  auto& st = self->state;
  st.self = self;
  st.clock = &self->clock();
  st.versions.push_back(std::make_unique<config_version>(std::move(opts.config)));
  st.cfg = &st.versions.back()->cfg;
  if (opts.policies) {
    // The state of a previous incarnation (a supervisor restarted us).
    st.pol = std::move(opts.policies);
    st.pol->adopt(self->clock().now());
  } else {
    st.pol = std::make_shared<dependency_policies>(*st.cfg);
  }
  st.transport = std::move(opts.transport);
  st.alternates = std::move(opts.alternates);
  st.gen.reseed(opts.seed);
  st.journey_sample = opts.journey_sample == 0 ? 1 : opts.journey_sample;
  st.timer_slack = opts.timer_slack < duration{0} ? duration{0} : opts.timer_slack;
  if (st.transport)
    self->monitor(st.transport);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.transport && dm.source == st.transport.address())
      st.on_transport_down(st.now());
  });
  // CAF 0.17 tries handlers in order: the two hot messages come first.
  return {
    // Returning `delegated` spares CAF 0.17 a response_promise per message
    // (it builds one for every void handler, only to drop it).
    [self](result_atom, attempt_result& r) -> caf::delegated<void> {
      self->state.on_result(r);
      return {};
    },
    [self](call_atom, call_request& req) -> caf::delegated<reply_atom, call_reply> {
      // Answered later (or right away) by `reply`, exactly once.
      self->state.on_call(req);
      return {};
    },
    [self](config_atom, std::string& text)
      -> caf::result<config_atom, std::vector<std::string>> {
      return {config_atom::value, self->state.apply_config(text)};
    },
    [self](journey_atom, std::uint64_t id)
      -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.journey_json(id)};
    },
    [self](journey_atom, failed_atom) -> caf::result<journey_atom, std::string> {
      return {journey_atom::value, self->state.failed_journeys_json()};
    },
    [self](flags_atom, std::string& text)
      -> caf::result<flags_atom, std::vector<std::string>> {
      return {flags_atom::value, self->state.apply_flags(text)};
    },
    [self](flags_atom) -> caf::result<flags_atom, std::string> {
      return {flags_atom::value, self->state.flags_json()};
    },
    [self](stats_atom) -> caf::result<stats_atom, std::string> {
      return {stats_atom::value,
              boost::json::serialize(to_json(self->state.pol->stats))};
    },
    [self](transport_atom, caf::actor& next) {
      auto& st = self->state;
      if (st.transport)
        self->demonitor(st.transport);
      st.transport = std::move(next);
      st.transport_down = false;
      if (st.transport)
        self->monitor(st.transport);
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
