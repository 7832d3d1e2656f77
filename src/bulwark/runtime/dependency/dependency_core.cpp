#include "bulwark/runtime/dependency/dependency_core.hpp"

#include <algorithm>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"
#include "bulwark/runtime/core/correlation_id.hpp"
#include "bulwark/runtime/core/deadline.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/fallback/fallback_chain.hpp"
#include "bulwark/runtime/retry/retry_policy.hpp"
#include "bulwark/runtime/retry/retry_step.hpp"

namespace bulwark {

static_assert(dependency_core::max_parallel_attempts
                >= 1 + hedge_max_hedges_limit,
              "a round holds the first attempt and every hedge");
static_assert(dependency_core::max_parallel_attempts <= attempt_set_capacity);

std::string to_string(dependency_action_kind x) {
  switch (x) {
    case dependency_action_kind::send_attempt:
      return "send_attempt";
    case dependency_action_kind::cancel_attempt:
      return "cancel_attempt";
    case dependency_action_kind::call_alternate:
      return "call_alternate";
    case dependency_action_kind::reply:
      return "reply";
  }
  return "invalid";
}

namespace {

constexpr time_point never = no_deadline;

bool retryable_class(failure_class cls) noexcept {
  return cls == failure_class::transient || cls == failure_class::timeout
         || cls == failure_class::overloaded;
}

const char* rejection_text(const call_flags& f,
                           const circuit_breaker& b) noexcept {
  if (f.breaker == breaker_flag::force_open)
    return "circuit breaker forced open by a feature flag";
  return b.probe_hold() ? "path paused by a health probe (circuit breaker "
                          "forced open, reason probe)"
                        : "circuit breaker open";
}

time_point saturating_add(time_point t, duration d) noexcept {
  return deadline::after(t, d).at;
}

} // namespace

// A configuration and the number of calls in flight that started under it
// (counted without atomics: one owner).
struct dependency_core::config_version {
  explicit config_version(dependency_config x) : cfg(std::move(x)) {}
  dependency_config cfg;
  std::uint32_t users = 0;
};

// -- construction -------------------------------------------------------------

dependency_core::dependency_core(dependency_config cfg,
                                 dependency_policies_ptr policies,
                                 dependency_core_options opts, time_point now)
  : alternates_(std::move(opts.alternates)),
    gen_(opts.seed),
    journey_sample_(opts.journey_sample == 0 ? 1 : opts.journey_sample),
    journey_prefix_(opts.journey_prefix),
    sample_countdown_(journey_sample_),
    transport_(opts.transport) {
  versions_.push_back(std::make_unique<config_version>(std::move(cfg)));
  cfg_ = &versions_.back()->cfg;
  if (policies) {
    // The state of a previous incarnation (a supervisor restarted us).
    pol_ = std::move(policies);
    pol_->adopt(now);
  } else {
    pol_ = std::make_shared<dependency_policies>(*cfg_);
  }
}

dependency_core::~dependency_core() {
  for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot)
    delete calls_[slot].trip;
}

const dependency_config& dependency_core::cfg_of(const call& s) const noexcept {
  return s.ver->cfg;
}

// -- the breaker, as the call's flags see it ------------------------------------
// A call whose breaker flag is `disabled` takes no permit and records
// nothing; `force_open` never gets one. Every permit taken is given back
// through the same flag, so the breaker's accounting stays exact however the
// flags change while calls run.

bool dependency_core::acquire_permit(const call& s, time_point now) {
  switch (s.flags.breaker) {
    case breaker_flag::disabled:
      return true;
    case breaker_flag::force_open:
      return false;
    case breaker_flag::normal:
      break;
  }
  return pol_->breaker.try_acquire(now);
}

void dependency_core::release_permit(const call& s, time_point now) {
  if (s.flags.breaker != breaker_flag::disabled)
    pol_->breaker.release(now);
}

void dependency_core::count_rejected(const call& s) {
  if (s.flags.breaker == breaker_flag::force_open)
    ++counters().rejected_flag;
  else if (pol_->breaker.probe_hold())
    ++counters().rejected_probe;
  else
    ++counters().rejected_breaker;
}

// -- journeys -------------------------------------------------------------------

void dependency_core::materialize(call& s) {
  if (s.trip != nullptr || !s.journey_on)
    return;
  if (journey_pool_.empty()) {
    s.trip = new journey(s.req.journey_id, s.received);
  } else {
    s.trip = journey_pool_.back().release();
    journey_pool_.pop_back();
    *s.trip = journey{s.req.journey_id, s.received};
  }
  s.trip->set_operation(s.req.operation);
  if (s.traced)
    s.trip->set_trace(journey_trace{
      s.req.trace.trace, s.span, s.req.trace.parent_id, s.req.upstream_span});
  if (s.fast_events & fast_cache_hit)
    s.trip->record(
      s.received,
      journey_event{journey_event_kind::cache_hit_fresh}.with_source(
        reply_source::fresh_cache));
  if (s.fast_events & fast_admitted)
    s.trip->record(s.received, journey_event{journey_event_kind::admitted});
  if (s.fast_events & fast_attempt)
    // The fast path's first attempt starts on arrival.
    s.trip->record(
      s.received,
      journey_event{journey_event_kind::attempt_started}.with_attempt(1));
  s.fast_events = 0;
}

// Whether an event of a call without a journey yet is one of the fast
// path's, kept as a bit only.
inline bool dependency_core::note_fast(call& s,
                                       const journey_event& e) noexcept {
  switch (e.kind) {
    case journey_event_kind::admitted:
      s.fast_events |= fast_admitted;
      return true;
    case journey_event_kind::cache_hit_fresh:
      s.fast_events |= fast_cache_hit;
      return true;
    case journey_event_kind::attempt_started:
      if (e.attempt != 1)
        return false;
      s.fast_events |= fast_attempt;
      return true;
    case journey_event_kind::attempt_ended:
    case journey_event_kind::replied:
      // A success ends the fast path: nothing after it needs explaining.
      return e.success && (!e.has_source || !is_degraded(e.source));
    default:
      return false;
  }
}

void dependency_core::note_slow(call& s, time_point t, const journey_event& e) {
  materialize(s);
  s.trip->record(t, e);
}

// Inline: several events per call, most of them absorbed by `note_fast`.
inline void dependency_core::note(call& s, time_point t,
                                  const journey_event& e) {
  if (s.journey_on && (s.trip != nullptr || !note_fast(s, e)))
    note_slow(s, t, e);
}

// -- calls ----------------------------------------------------------------------

void dependency_core::refuse(const dependency_request& req, failure_class cls,
                             std::string message, action_list& out) {
  auto& a = out.push();
  a.kind = dependency_action_kind::reply;
  a.call = no_call;
  auto& r = a.reply;
  r.id = req.id;
  r.ok = false;
  r.payload.clear();
  r.source = reply_source::live;
  r.attempts = 0;
  r.hedge_won = false;
  r.journey_id = req.journey_id;
  r.cls = cls;
  r.may_retry = false;
  r.retry_after = duration{-1};
  r.message = std::move(message);
  r.preliminary = false;
  r.age = duration{-1};
  r.reason = preliminary_reason::none;
}

std::uint32_t dependency_core::on_call(time_point now, action_list& out) {
  auto slot = next_slot_;
  if (slot == no_call) {
    // Nothing filled in: an empty request, refused below.
    next_request() = dependency_request{};
    slot = next_slot_;
  }
  auto& req = calls_[slot].req;
  auto& st = counters();
  ++st.requests;
  // Malformed requests get a classified failure, never silence.
  const char* invalid = nullptr;
  if (req.operation.empty())
    invalid = "invalid request: empty operation";
  else if (static_cast<std::uint8_t>(req.crit) > 2)
    invalid = "invalid request: unknown criticality";
  if (invalid != nullptr) {
    ++st.invalid;
    refuse(req, failure_class::persistent, invalid, out);
    return no_call;
  }
  // The key travels as a header and is stored by ledgers: a CR LF would
  // inject a request downstream, a NUL would merge two keys. (The common,
  // valid key is checked inline; key_problem says what is wrong.)
  auto& key = req.idempotency_key;
  if (key.size() > max_key_bytes
      || !std::all_of(key.begin(), key.end(), is_key_char)) {
    if (auto problem = key_problem(key)) {
      ++st.invalid;
      refuse(req, failure_class::persistent,
             "invalid request: idempotency key " + *problem, out);
      return no_call;
    }
  }
  auto deadline = req.deadline == no_deadline
                    ? bulwark::deadline::after(now, cfg_->default_timeout).at
                    : req.deadline;
  if (deadline <= now) {
    ++st.failures_by_class[static_cast<int>(failure_class::deadline_exceeded)];
    ++st.replies_failed;
    refuse(req, failure_class::deadline_exceeded,
           "invalid request: deadline already passed", out);
    return no_call;
  }
  next_slot_ = no_call; // the request is a call now
  auto& s = calls_[slot];
  s.phase = call_phase::attempting;
  s.has_caller = true;
  start_call(slot, deadline, now, out);
  advance(now, out);
  return slot;
}

void dependency_core::start_call(std::uint32_t slot, time_point deadline,
                                 time_point now, action_list& out) {
  auto& s = calls_[slot];
  auto& st = counters();
  ++st.in_flight;
  s.ver = versions_.back().get();
  ++s.ver->users;
  auto& c = *cfg_;
  s.received = now;
  s.deadline = deadline;
  s.repeat = c.idempotency_of(s.req.operation);
  s.holds_limit = false;
  s.retried = false;
  s.throttled = false;
  s.accepted = false;
  s.attempts_made = 0;
  s.hedges_round = 0;
  s.round_base = 0;
  s.round.reset();
  s.prev_delay = duration{0};
  s.last_latency = duration{0};
  s.last = outcome::ok();
  s.fb_cursor = 0;
  s.hedge_at = s.backoff_until = s.queued_until = s.soft_at = never;
  s.prelim_sent = false;
  s.not_before = time_point::min();
  // Attempts already made upstream share the cap, so layers don't multiply.
  auto max = c.retry.enabled ? c.retry.max_attempts : 1u;
  s.attempt_cap = static_cast<std::uint8_t>(
    s.req.upstream_attempts < max ? max - s.req.upstream_attempts : 1u);
  s.journey_on = c.journeys.enabled;
  s.fast_events = 0;
  if (s.req.journey_id == 0)
    s.req.journey_id = journey_prefix_ | ++journey_counter_;
  // One call in `journey_sample` is recorded from the start even if nothing
  // goes wrong, so the recent journeys show normal calls too.
  s.sampled = false;
  if (s.journey_on && --sample_countdown_ == 0) {
    s.sampled = true;
    sample_countdown_ = journey_sample_;
  }
  s.traced = !s.req.trace.empty();
  s.span = 0;
  if (s.traced) {
    s.span = new_span_id(gen_);
    if (s.req.trace.flags & trace_flag_sampled)
      s.sampled = true;
  }
  if (s.sampled)
    materialize(s);
  if (pol_->flags_active) {
    s.flags =
      decide_flags(pol_->flags, flag_hash(s.req.idempotency_key, s.req.id));
    if (s.flags.breaker == breaker_flag::disabled)
      ++st.breaker_bypassed_flag;
  } else {
    s.flags = call_flags{};
  }
  pol_->budget.on_request(now);
  // Cache: only operations safe to repeat are cached.
  s.cacheable = c.cache.enabled && s.repeat == idempotency::idempotent;
  if (s.cacheable) {
    s.hint = cache_hint{};
    s.key.clear();
    s.key += s.req.operation;
    s.key += '\n';
    s.key += s.req.payload;
    if (s.has_caller && serve_from_cache(slot, now, out))
      return;
  }
  // Not answered from a fresh entry: a progressive call's soft deadline
  // starts to count (one flag test for every other call).
  if (s.req.progressive)
    start_progressive(s, now);
  // Client-side adaptive throttling (SRE): before the breaker, so a call it
  // rejects takes no permit and no slot. One it lets through is reported
  // back to it when accepted or when the call ends.
  if (pol_->throttle_on) {
    s.throttled = pol_->throttle.admit(gen_, now);
    if (!s.throttled) {
      ++st.rejected_throttle;
      s.last = outcome::failure(failure_class::rejected_locally, true);
      escalate(slot, failure_class::rejected_locally,
               "rejected by client-side throttling", now, out, true);
      return;
    }
  }
  // Admission: breaker first (a rejection never takes a concurrency slot),
  // then the concurrency limit.
  if (!acquire_permit(s, now)) {
    count_rejected(s);
    s.last = outcome::failure(failure_class::rejected_locally, true);
    escalate(slot, failure_class::rejected_locally,
             rejection_text(s.flags, pol_->breaker), now, out, true);
    return;
  }
  switch (pol_->limit.try_acquire(calls_.id(slot, 0), s.req.crit, now)) {
    case admission::run:
      s.holds_limit = true;
      note(s, now, journey_event{journey_event_kind::admitted});
      begin_round(slot, now, out, true);
      return;
    case admission::queued:
      ++st.queued;
      s.phase = call_phase::queued;
      s.queued_until =
        bulwark::deadline::after(now, c.bulkhead.max_queue_wait).at;
      note(s, now, journey_event{journey_event_kind::queued});
      reschedule(slot, now);
      return;
    case admission::rejected_full:
      ++st.rejected_bulkhead;
      break;
    case admission::rejected_shed:
      ++st.shed;
      break;
  }
  release_permit(s, now);
  s.last = outcome::failure(failure_class::rejected_locally, true);
  escalate(slot, failure_class::rejected_locally, "concurrency limit reached",
           now, out, true);
}

bool dependency_core::serve_from_cache(std::uint32_t slot, time_point now,
                                       action_list& out) {
  auto& s = calls_[slot];
  auto hit = pol_->cache.lookup(s.key, now);
  s.hint = hit.hint;
  switch (hit.freshness) {
    case cache_freshness::miss:
    case cache_freshness::stale_if_error_only:
      ++counters().cache_misses;
      return false;
    case cache_freshness::fresh:
      ++counters().cache_hits;
      note(s, now,
           journey_event{journey_event_kind::cache_hit_fresh}.with_source(
             reply_source::fresh_cache));
      finish_ok(slot, std::string{*hit.value}, reply_source::fresh_cache, now,
                out);
      return true;
    case cache_freshness::stale_revalidate: {
      ++counters().cache_stale_hits;
      note(s, now,
           journey_event{journey_event_kind::cache_hit_stale}.with_source(
             reply_source::stale_cache));
      bool start_refresh = hit.start_refresh;
      auto req = s.req; // the refresh repeats the request without a caller
      finish_ok(slot, std::string{*hit.value}, reply_source::stale_cache, now,
                out);
      if (start_refresh)
        revalidate(std::move(req), now, out);
      return true;
    }
  }
  return false;
}

void dependency_core::revalidate(dependency_request req, time_point now,
                                 action_list& out) {
  ++counters().revalidations;
  auto slot = calls_.acquire();
  auto& s = calls_[slot];
  s.phase = call_phase::attempting;
  s.has_caller = false;
  s.req = std::move(req);
  s.req.journey_id = 0;
  auto deadline = bulwark::deadline::after(now, cfg_->default_timeout).at;
  start_call(slot, deadline, now, out);
}

void dependency_core::cancel_call(std::uint32_t slot, time_point now,
                                  action_list& out) {
  auto& s = calls_[slot];
  s.last = outcome::failure(failure_class::cancelled);
  if (s.phase == call_phase::queued) {
    pol_->limit.cancel(calls_.id(slot, 0));
    release_permit(s, now);
  }
  cancel_attempts(slot, now, out);
  if (s.prelim_sent) {
    // The caller has its preliminary answer and wants nothing more: the
    // call ends here without a reply.
    ++counters().cancelled_after_preliminary;
    s.has_caller = false;
    forget_preliminary(s);
    note(s, now,
         journey_event{journey_event_kind::replied}.with_outcome(
           outcome::failure(failure_class::cancelled), now - s.received));
    complete(slot, now, out);
    return;
  }
  fail(slot, failure_class::cancelled, "cancelled by the caller", now, out);
}

// -- progressive delivery -------------------------------------------------------

void dependency_core::start_progressive(call& s, time_point now) {
  auto& c = cfg_of(s).progressive;
  if (!c.enabled || !s.has_caller)
    return;
  auto soft = s.req.soft_deadline < duration{0} ? c.soft_deadline
              : s.req.soft_deadline > progressive_max_soft_deadline
                ? progressive_max_soft_deadline
                : s.req.soft_deadline;
  auto at = saturating_add(now, soft);
  ++counters().progressive_calls;
  // At or after the deadline, the final reply comes first anyway.
  if (at < s.deadline)
    s.soft_at = at;
}

void dependency_core::send_preliminary(std::uint32_t slot, time_point now,
                                       action_list& out) {
  auto& s = calls_[slot];
  auto& c = cfg_of(s);
  auto& st = counters();
  const std::string* value = nullptr;
  auto source = reply_source::stale_cache;
  duration age{-1};
  for (std::size_t i = 0; i < c.progressive.source_count && value == nullptr;
       ++i) {
    switch (c.progressive.sources[i]) {
      case preliminary_source::stale_cache:
        if (s.cacheable) {
          value = pol_->cache.stale_for_error(s.key, now, &age);
          // Another call may have stored a fresh answer since this one
          // missed: still preliminary, but labelled for what it is.
          source = age < pol_->cache.config().ttl ? reply_source::fresh_cache
                                                  : reply_source::stale_cache;
        }
        break;
      case preliminary_source::static_value:
        for (auto& step : c.fallback.steps)
          if (step.kind == fallback_kind::static_value) {
            value = &step.value;
            source = reply_source::static_fallback;
            age = duration{-1};
            break;
          }
        break;
    }
  }
  if (value == nullptr) {
    ++st.preliminary_unavailable;
    return;
  }
  auto* r = reply_to_caller(s, slot, out);
  r->ok = true;
  r->payload = *value;
  r->source = source;
  r->preliminary = true;
  r->age = age;
  switch (s.phase) {
    case call_phase::queued:
      r->reason = preliminary_reason::queued;
      break;
    case call_phase::backoff:
      r->reason = preliminary_reason::retrying;
      break;
    case call_phase::alternate:
      r->reason = preliminary_reason::alternate;
      break;
    case call_phase::attempting:
    case call_phase::idle:
      r->reason = s.retried ? preliminary_reason::retrying
                            : preliminary_reason::awaiting_answer;
      break;
  }
  r->message = "preliminary: the fresh answer is late (";
  r->message += to_string(r->reason);
  r->message += ')';
  s.prelim_sent = true;
  s.prelim_at = now;
  s.prelim.assign(*value);
  ++st.preliminary_replies;
  note(
    s, now,
    journey_event{journey_event_kind::preliminary_replied}.with_source(source));
}

void dependency_core::count_final(call& s, const dependency_reply* r,
                                  time_point now) {
  auto& st = counters();
  ++st.finals_after_preliminary;
  // A failure does not contradict the preliminary answer: it only could
  // not confirm it.
  if (r != nullptr && r->ok && r->payload != s.prelim)
    ++st.finals_contradicted;
  st.preliminary_to_final.record(now - s.prelim_at);
  forget_preliminary(s);
}

void dependency_core::forget_preliminary(call& s) {
  // The slot's next call reuses the buffer, unless it grew big.
  if (s.prelim.capacity() > 256) {
    s.prelim.clear();
    s.prelim.shrink_to_fit();
  }
}

// -- attempts -------------------------------------------------------------------

void dependency_core::begin_round(std::uint32_t slot, time_point now,
                                  action_list& out, bool have_permit) {
  // The breaker permit for the first attempt of a call was taken at
  // admission; later rounds (retries) take their own.
  auto& s = calls_[slot];
  s.backoff_until = never;
  if (cannot_finish(s, now)) {
    // It would most likely come back after the deadline: do not spend the
    // dependency's capacity on it.
    if (have_permit)
      release_permit(s, now);
    s.phase = call_phase::attempting;
    shed_for_deadline(slot, now, out);
    return;
  }
  if (!have_permit && !acquire_permit(s, now)) {
    count_rejected(s);
    s.last = outcome::failure(failure_class::rejected_locally, true);
    s.phase = call_phase::attempting;
    note(s, now, journey_event{journey_event_kind::rejected});
    fallback(slot, failure_class::rejected_locally,
             rejection_text(s.flags, pol_->breaker), now, out);
    return;
  }
  s.phase = call_phase::attempting;
  s.round_start = now;
  s.round.reset();
  s.round_base = s.attempts_made;
  s.hedges_round = 0;
  s.hedge_at = never;
  auto& c = cfg_of(s);
  if (c.hedge.enabled && pol_->hedge.should_hedge(0, s.repeat)) {
    if (s.flags.hedging)
      s.hedge_at = now + hedge_delay(now);
    else
      ++counters().hedges_suppressed_flag;
  }
  send_attempt(slot, now, false, out);
}

duration dependency_core::expected_latency(time_point now) {
  if (now >= expected_latency_until_) {
    auto& c = cfg_->deadline_shedding;
    auto& lat = pol_->hedge.latencies();
    expected_latency_cached_ = lat.samples(now) >= c.min_samples
                                 ? lat.quantile(c.quantile, now)
                                 : duration{0};
    expected_latency_until_ = now + milliseconds(1);
  }
  return expected_latency_cached_;
}

void dependency_core::shed_for_deadline(std::uint32_t slot, time_point now,
                                        action_list& out) {
  auto& s = calls_[slot];
  ++counters().shed_deadline;
  s.last = outcome::failure(failure_class::rejected_locally, true);
  escalate(slot, failure_class::rejected_locally,
           "cannot finish before its deadline at the observed latency", now,
           out, true);
}

duration dependency_core::hedge_delay(time_point now) {
  if (now >= hedge_delay_until_) {
    hedge_delay_cached_ = pol_->hedge.hedge_delay(1, now);
    hedge_delay_until_ = now + milliseconds(1);
  }
  return hedge_delay_cached_;
}

void dependency_core::send_attempt(std::uint32_t slot, time_point now,
                                   bool hedge, action_list& out) {
  auto& s = calls_[slot];
  auto number = ++s.attempts_made;
  auto id = calls_.id(slot, number);
  auto i = s.round.add(id);
  s.sent_at[i] = now;
  s.timeout_at[i] = now + attempt_timeout(cfg_of(s).retry, now, s.deadline);
  auto& st = counters();
  ++st.attempts;
  if (hedge) {
    ++st.hedges;
    note(s, now,
         journey_event{journey_event_kind::hedge_started}
           .with_attempt(number)
           .with_who(initiator::hedger));
  } else {
    note(
      s, now,
      journey_event{journey_event_kind::attempt_started}.with_attempt(number));
  }
  if (!transport_) {
    // Nothing to send to: the attempt provably never executed.
    on_attempt_outcome(slot, id,
                       outcome::failure(failure_class::transient, true),
                       duration{0}, now, std::string{}, out);
    return;
  }
  auto& a = out.push();
  a.kind = dependency_action_kind::send_attempt;
  a.call = slot;
  a.id = id;
  a.deadline = s.timeout_at[i];
  a.number = number + s.req.upstream_attempts;
  a.span = s.traced ? child_span_id(s.span, number) : 0;
  reschedule(slot, now);
}

void dependency_core::try_hedge(std::uint32_t slot, time_point now,
                                action_list& out) {
  auto& s = calls_[slot];
  s.hedge_at = never;
  auto& c = cfg_of(s);
  if (!c.hedge.enabled || !s.flags.hedging || s.round.outstanding() == 0
      || !pol_->hedge.should_hedge(s.hedges_round, s.repeat)
      || s.attempts_made >= s.attempt_cap)
    return;
  if (now < s.not_before) {
    // A retry-after from an attempt of this call holds its hedges too.
    s.hedge_at = s.not_before;
    return;
  }
  if (cannot_finish(s, now)) {
    ++counters().shed_deadline;
    return;
  }
  if (!pol_->budget.try_withdraw(budget_use::hedge, now)) {
    ++counters().hedges_denied_budget;
    return;
  }
  if (!acquire_permit(s, now)) {
    count_rejected(s);
    return;
  }
  ++s.hedges_round;
  if (pol_->hedge.should_hedge(s.hedges_round, s.repeat)) {
    auto d = hedge_delay(now);
    s.hedge_at = s.round_start + d * (s.hedges_round + 1);
    // After a hedge a retry-after held back, the next keeps its distance.
    if (s.not_before > s.round_start && s.hedge_at < now + d)
      s.hedge_at = now + d;
  }
  send_attempt(slot, now, true, out);
}

void dependency_core::cancel_listed(std::uint32_t slot, const settle_result& r,
                                    time_point now, action_list& out) {
  auto& s = calls_[slot];
  for (std::uint32_t i = 0; i < r.cancel_count; ++i) {
    release_permit(s, now);
    if (transport_) {
      auto& a = out.push();
      a.kind = dependency_action_kind::cancel_attempt;
      a.call = slot;
      a.id = r.cancel[i];
    }
  }
}

void dependency_core::cancel_attempts(std::uint32_t slot, time_point now,
                                      action_list& out) {
  // Abandons every attempt still in flight (their late results are dropped).
  auto res = calls_[slot].round.cancel_all();
  cancel_listed(slot, res, now, out);
}

void dependency_core::on_result(std::uint64_t attempt,
                                const transport_observation& obs,
                                std::string&& payload, time_point now,
                                action_list& out) {
  auto slot = calls_.find(attempt);
  if (slot == calls_.npos || correlation_id::index(attempt) == 0) {
    ++counters().late_results;
    return;
  }
  auto& s = calls_[slot];
  auto i = s.phase == call_phase::attempting ? s.round.index_of(attempt)
                                             : attempt_set::npos;
  if (i == attempt_set::npos
      || s.round.status_at(i) != attempt_status::outstanding) {
    ++counters().late_results;
    return;
  }
  auto o = classify(cfg_of(s).classification, obs);
  on_attempt_outcome(slot, attempt, o, now - s.sent_at[i], now,
                     std::move(payload), out, obs.status);
  if (limit_grew_) {
    // The adaptive limit rose: queued calls may start, now that this
    // result has been handled.
    limit_grew_ = false;
    std::uint64_t next = 0;
    while (pol_->limit.try_dequeue(now, next))
      admit_next(next, now, out);
  }
  advance(now, out);
}

void dependency_core::on_attempt_outcome(std::uint32_t slot,
                                         std::uint64_t attempt,
                                         const outcome& o, duration latency,
                                         time_point now, std::string&& payload,
                                         action_list& out,
                                         std::int32_t status) {
  auto& s = calls_[slot];
  // A failure that no other attempt can turn around ends the round now.
  bool final_failure = o.cls == failure_class::persistent || o.do_not_retry;
  auto res = s.round.on_result(attempt, o.success, final_failure);
  auto& st = counters();
  st.attempt_latency.record(latency);
  if (pol_->adaptive_on) {
    // Successes give latency, overload and timeouts are drops; other
    // failures (a 404, a refused connection) say nothing about capacity.
    bool drop = !o.success
                && (o.cls == failure_class::overloaded
                    || o.cls == failure_class::timeout);
    if ((o.success || drop) && pol_->sample_limit(latency, drop, now))
      limit_grew_ = true;
  }
  if (s.throttled && !s.accepted
      && (o.success || o.cls == failure_class::persistent)) {
    // The dependency served it (if only with a 4xx): an accept.
    s.accepted = true;
    pol_->throttle.on_result(true, now);
  }
  if (s.flags.breaker != breaker_flag::disabled)
    pol_->breaker.record(o, latency, now);
  note(s, now,
       journey_event{journey_event_kind::attempt_ended}
         .with_attempt(correlation_id::index(attempt))
         .with_outcome(o, latency)
         .with_status(status));
  if (o.success) {
    pol_->budget.on_success(now);
    pol_->hedge.record_latency(latency, now);
    if (res.cancel_count > 0) // a hedge or the first attempt still out
      cancel_listed(slot, res, now, out);
    // Attempt 0 of a round is its first; the others are hedges.
    bool hedge = s.round.winner() != 0;
    if (hedge)
      ++st.hedges_won;
    if (s.cacheable)
      pol_->cache.store(s.hint, s.key, payload, now);
    finish_ok(slot, std::move(payload), reply_source::live, now, out, hedge);
    return;
  }
  ++st.attempt_failures_by_class[static_cast<int>(o.cls)];
  if (retryable_class(o.cls) || o.do_not_retry)
    pol_->budget.on_failure(now);
  s.last = o;
  s.last_latency = latency;
  if (o.has_retry_after() && cfg_of(s).retry.honour_retry_after)
    s.not_before = std::max(s.not_before, saturating_add(now, o.retry_after));
  if (res.is_winner()) {
    cancel_listed(slot, res, now, out);
    decide(slot, now, out);
    return;
  }
  if (s.round.outstanding() > 0) {
    // Another attempt of the round may still succeed.
    reschedule(slot, now);
    return;
  }
  s.round.close();
  decide(slot, now, out);
}

void dependency_core::decide(std::uint32_t slot, time_point now,
                             action_list& out) {
  auto& s = calls_[slot];
  auto& c = cfg_of(s);
  auto& st = counters();
  if (!s.has_caller && s.cacheable)
    pol_->cache.refresh_failed(s.key);
  retry_step_input in;
  in.op = s.repeat;
  in.last = s.last;
  in.attempts_made = s.attempts_made;
  in.attempt_cap = s.attempt_cap;
  in.last_latency = s.last_latency;
  in.previous_delay = s.prev_delay;
  in.deadline = s.deadline;
  // Sheddable requests take a fallback before spending a retry.
  in.sheddable_fallback =
    prefers_fallback(s.req.crit)
    && next_fallback_step(c.fallback, s.last.cls, s.req.crit, s.fb_cursor);
  in.flag_allows = s.flags.retry;
  in.not_before = s.not_before;
  auto step = retry_step(c.retry, in, now, pol_->budget, gen_);
  switch (step.status) {
    case retry_status::retry:
      ++st.retries;
      ++st.retries_by_class[static_cast<int>(s.last.cls)];
      s.retried = true;
      s.prev_delay = step.delay;
      s.phase = call_phase::backoff;
      s.hedge_at = never;
      s.backoff_until = now + step.delay;
      note(s, now, journey_event{journey_event_kind::backoff_scheduled});
      if (step.delay <= duration{0})
        begin_round(slot, now, out);
      else
        reschedule(slot, now);
      return;
    case retry_status::disabled_by_flag:
      // Retries switched off by an operator: this failure is final here,
      // and the caller is told not to retry either (may_retry stays false
      // while retries are configured).
      ++st.retries_suppressed_flag;
      break;
    case retry_status::budget_exhausted:
      ++st.retries_denied_budget;
      break;
    default:
      break;
  }
  escalate(slot, s.last.cls, retry_message(step.status), now, out, false,
           &step.status);
}

// -- fallback -------------------------------------------------------------------

void dependency_core::escalate(std::uint32_t slot, failure_class cls,
                               std::string_view why, time_point now,
                               action_list& out, bool rejected,
                               const retry_status* reason) {
  // Level 2 of the escalation ladder: the dependency's own fallback chain.
  auto& s = calls_[slot];
  if (rejected) {
    note(s, now, journey_event{journey_event_kind::rejected});
  } else {
    auto e = journey_event{journey_event_kind::escalated}.with_level(2);
    note(s, now, reason != nullptr ? e.with_reason(*reason) : e);
  }
  fallback(slot, cls, why, now, out);
}

void dependency_core::fallback(std::uint32_t slot, failure_class cls,
                               std::string_view why, time_point now,
                               action_list& out) {
  auto& s = calls_[slot];
  if (!s.has_caller) {
    fail(slot, cls, why, now, out);
    return;
  }
  auto& c = cfg_of(s);
  auto& st = counters();
  for (;;) {
    auto pick = next_fallback_step(c.fallback, cls, s.req.crit, s.fb_cursor);
    if (!pick) {
      fail(slot, cls, why, now, out);
      return;
    }
    s.fb_cursor = static_cast<std::uint32_t>(pick.next_cursor());
    auto& step = *pick.step;
    switch (step.kind) {
      case fallback_kind::stale_cache: {
        if (!s.cacheable)
          continue;
        auto* v = pol_->cache.stale_for_error(s.key, now);
        if (v == nullptr)
          continue;
        ++st.fallbacks_stale;
        note(s, now,
             journey_event{journey_event_kind::fallback_used}.with_source(
               reply_source::stale_cache));
        finish_ok(slot, std::string{*v}, reply_source::stale_cache, now, out);
        return;
      }
      case fallback_kind::static_value:
        ++st.fallbacks_static;
        note(s, now,
             journey_event{journey_event_kind::fallback_used}.with_source(
               reply_source::static_fallback));
        finish_ok(slot, std::string{step.value}, reply_source::static_fallback,
                  now, out);
        return;
      case fallback_kind::alternate: {
        auto i =
          std::find(alternates_.begin(), alternates_.end(), step.dependency);
        if (i == alternates_.end() || now >= s.deadline)
          continue;
        ++st.fallbacks_alternate;
        s.phase = call_phase::alternate;
        note(s, now,
             journey_event{journey_event_kind::fallback_used}.with_source(
               reply_source::alternate));
        auto& a = out.push();
        a.kind = dependency_action_kind::call_alternate;
        a.call = slot;
        a.id = calls_.id(slot, 0);
        a.deadline = s.deadline;
        a.number = s.req.upstream_attempts + s.attempts_made;
        a.alternate = static_cast<std::uint32_t>(i - alternates_.begin());
        a.span = s.span;
        reschedule(slot, now);
        return;
      }
      case fallback_kind::fail_fast:
        ++st.fallbacks_fail_fast;
        fail(slot, cls, why, now, out);
        return;
    }
  }
}

void dependency_core::on_alternate_reply(std::uint64_t id, bool ok,
                                         failure_class cls,
                                         std::string&& payload,
                                         std::string_view message,
                                         time_point now, action_list& out) {
  auto slot = calls_.find(id);
  if (slot == calls_.npos || correlation_id::index(id) != 0
      || calls_[slot].phase != call_phase::alternate) {
    ++counters().late_results;
    return;
  }
  if (ok) {
    finish_ok(slot, std::move(payload), reply_source::alternate, now, out);
    return;
  }
  calls_[slot].phase = call_phase::attempting;
  std::string why = "alternate failed: ";
  why += message;
  fallback(slot, cls, why, now, out);
}

// -- the one reply --------------------------------------------------------------

dependency_reply* dependency_core::reply_to_caller(const call& s,
                                                   std::uint32_t slot,
                                                   action_list& out) {
  if (!s.has_caller)
    return nullptr; // a background revalidation answers nobody
  auto& a = out.push();
  a.kind = dependency_action_kind::reply;
  a.call = slot;
  auto& r = a.reply;
  r.id = s.req.id;
  r.source = reply_source::live;
  r.attempts = s.attempts_made;
  r.hedge_won = false;
  r.journey_id = s.req.journey_id;
  r.cls = failure_class::transient;
  r.may_retry = false;
  r.retry_after = duration{-1};
  r.preliminary = false;
  r.age = duration{-1};
  r.reason = preliminary_reason::none;
  return &r;
}

void dependency_core::fail(std::uint32_t slot, failure_class cls,
                           std::string_view why, time_point now,
                           action_list& out) {
  auto& s = calls_[slot];
  auto* r = reply_to_caller(s, slot, out);
  if (r != nullptr) {
    r->ok = false;
    r->payload.clear();
    r->cls = cls;
    // May the caller retry? Only if nothing was retried here and the
    // failure is of a kind worth retrying: otherwise retries would multiply.
    r->may_retry = !s.retried && !s.last.do_not_retry && retryable_class(cls)
                   && !cfg_of(s).retry.enabled;
    // The downstream's "not before" travels up with the failure it caused,
    // so the caller's caller waits too instead of retrying into it.
    if (s.last.has_retry_after() && s.last.cls == cls)
      r->retry_after = s.last.retry_after;
    r->message = why;
  }
  if (s.prelim_sent)
    count_final(s, r, now);
  auto& st = counters();
  ++st.failures_by_class[static_cast<int>(cls)];
  ++st.replies_failed;
  if (s.has_caller && pol_->objective.config().enabled)
    pol_->objective.record(false, now - s.received, now);
  note(s, now,
       journey_event{journey_event_kind::replied}.with_outcome(
         outcome::failure(cls), now - s.received));
  complete(slot, now, out);
}

void dependency_core::finish_ok(std::uint32_t slot, std::string&& payload,
                                reply_source source, time_point now,
                                action_list& out, bool hedge_won) {
  auto& s = calls_[slot];
  auto* r = reply_to_caller(s, slot, out);
  if (r != nullptr) {
    r->ok = true;
    r->payload = std::move(payload);
    r->source = source;
    r->hedge_won = hedge_won;
    r->message.clear();
  }
  if (s.prelim_sent)
    count_final(s, r, now);
  auto& st = counters();
  ++st.replies_ok;
  if (s.has_caller && pol_->objective.config().enabled)
    pol_->objective.record(true, now - s.received, now);
  ++st.replies_by_source[static_cast<int>(source)];
  note(s, now,
       journey_event{journey_event_kind::replied}
         .with_outcome(outcome::ok(), now - s.received)
         .with_source(source));
  complete(slot, now, out);
}

void dependency_core::complete(std::uint32_t slot, time_point now,
                               action_list& out) {
  auto& s = calls_[slot];
  timers_.cancel(slot);
  auto& st = counters();
  --st.in_flight;
  // Failed and degraded journeys are always kept; others (a retry that
  // succeeded, a hedge that won) only when sampled: copying each into the
  // log would cost more than the retry did.
  if (s.trip != nullptr
      && (s.sampled || s.traced || s.prelim_sent || s.trip->failed()
          || s.trip->degraded()))
    pol_->journeys.add(*s.trip);
  bool had_limit = s.holds_limit;
  if (s.throttled && !s.accepted)
    pol_->throttle.on_result(false, now);
  if (s.has_caller)
    st.request_latency.record(now - s.received);
  release(slot);
  std::uint64_t next = 0;
  if (had_limit && pol_->limit.release(now, next))
    admit_next(next, now, out);
}

inline void dependency_core::release(std::uint32_t slot) {
  auto& s = calls_[slot];
  if (--s.ver->users == 0 && s.ver != versions_.back().get())
    drop_version(s.ver);
  s.ver = nullptr;
  if (s.trip != nullptr) {
    journey_pool_.emplace_back(s.trip);
    s.trip = nullptr;
  }
  // Buffers are reused by the slot's next call, unless they grew big.
  if (s.req.payload.capacity() > 256) {
    s.req.payload.clear();
    s.req.payload.shrink_to_fit();
  }
  if (s.key.capacity() > 256) {
    s.key.clear();
    s.key.shrink_to_fit();
  }
  calls_.release(slot);
}

void dependency_core::drop_version(config_version* v) {
  for (auto i = versions_.begin(); i != versions_.end(); ++i)
    if (i->get() == v) {
      versions_.erase(i);
      return;
    }
}

// -- the concurrency limit's queue ----------------------------------------------

void dependency_core::admit_next(std::uint64_t next, time_point now,
                                 action_list& out) {
  for (;;) {
    auto slot = calls_.find(next);
    if (slot != calls_.npos && calls_[slot].phase == call_phase::queued) {
      auto& s = calls_[slot];
      s.holds_limit = true;
      s.queued_until = never;
      note(s, now, journey_event{journey_event_kind::dequeued});
      begin_round(slot, now, out, true);
      return;
    }
    // Not ours any more (cannot happen: finished calls leave the queue).
    if (!pol_->limit.release(now, next))
      return;
  }
}

void dependency_core::expire_queue(time_point now, action_list& out) {
  expired_.clear();
  pol_->limit.expire(now, [this](std::uint64_t id) { expired_.push_back(id); });
  for (std::size_t k = 0; k < expired_.size(); ++k) {
    auto slot = calls_.find(expired_[k]);
    if (slot == calls_.npos || calls_[slot].phase != call_phase::queued)
      continue;
    auto& s = calls_[slot];
    ++counters().queue_timeouts;
    release_permit(s, now);
    s.last = outcome::failure(failure_class::rejected_locally, true);
    escalate(slot, failure_class::rejected_locally,
             "waited too long for a concurrency slot", now, out, true);
  }
}

// -- timers ---------------------------------------------------------------------
// One timer per call: the earliest of its attempt timeouts, hedge time,
// backoff end, queue wait end and deadline.

void dependency_core::reschedule(std::uint32_t slot, time_point now) {
  auto& s = calls_[slot];
  auto t = s.deadline < s.soft_at ? s.deadline : s.soft_at;
  switch (s.phase) {
    case call_phase::attempting:
      for (std::uint32_t i = 0; i < s.round.size(); ++i)
        if (s.round.status_at(i) == attempt_status::outstanding
            && s.timeout_at[i] < t)
          t = s.timeout_at[i];
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
      if (pol_->shedding_on) {
        // Wake at the first instant the time left is below the expected
        // latency (`cannot_finish`), not before: a timer due now that
        // finds nothing to do would be rescheduled for now again.
        auto e = expected_latency(now);
        if (e > duration{0} && s.deadline - e + nanoseconds(1) < t)
          t = std::max(now, s.deadline - e + nanoseconds(1));
      }
      break;
    case call_phase::alternate:
    case call_phase::idle:
      break;
  }
  if (t == never) {
    timers_.cancel(slot);
    return;
  }
  timers_.schedule(slot, t, now);
  if (t < earliest_)
    earliest_ = t;
}

void dependency_core::advance(time_point now, action_list& out) {
  // One comparison when nothing is due: it runs after every call and result.
  if (now < earliest_)
    return;
  for (auto slot = timers_.pop_due(now); slot != timer_queue::npos;
       slot = timers_.pop_due(now))
    fire(slot, now, out);
  earliest_ = timers_.empty() ? no_deadline : timers_.next();
}

void dependency_core::fire(std::uint32_t slot, time_point now,
                           action_list& out) {
  if (!calls_.in_use(slot))
    return;
  auto& s = calls_[slot];
  if (now >= s.deadline) {
    // The caller's deadline passed: whatever is in flight is abandoned.
    s.last = outcome::failure(failure_class::deadline_exceeded);
    bool queued = s.phase == call_phase::queued;
    if (queued) {
      // It never ran: give back its queue place and its breaker permit.
      pol_->limit.cancel(calls_.id(slot, 0));
      release_permit(s, now);
    }
    cancel_attempts(slot, now, out);
    escalate(slot, failure_class::deadline_exceeded, "deadline exceeded", now,
             out, queued);
    return;
  }
  if (s.soft_at <= now) {
    // The fresh answer is late: a preliminary one now, the call goes on.
    s.soft_at = never;
    send_preliminary(slot, now, out);
  }
  auto generation = calls_.generation(slot);
  switch (s.phase) {
    case call_phase::queued:
      if (now >= s.queued_until) {
        expire_queue(now, out);
      } else if (cannot_finish(s, now)) {
        // It waited until it can no longer finish in time: it leaves the
        // queue now, with its reply, rather than at its deadline.
        pol_->limit.cancel(calls_.id(slot, 0));
        release_permit(s, now);
        s.phase = call_phase::attempting;
        shed_for_deadline(slot, now, out);
      }
      break;
    case call_phase::attempting: {
      // The attempts that timed out, taken first: a timeout may end the
      // call or start its next round, which changes the round.
      std::array<std::uint64_t, max_parallel_attempts> due{};
      std::uint32_t n_due = 0;
      for (std::uint32_t i = 0; i < s.round.size(); ++i)
        if (s.round.status_at(i) == attempt_status::outstanding
            && s.timeout_at[i] <= now)
          due[n_due++] = s.round.id_at(i);
      auto base = s.round_base;
      for (std::uint32_t k = 0; k < n_due; ++k) {
        if (s.round_base != base)
          break; // a new round started: its attempts are not due
        auto i = s.round.index_of(due[k]);
        ++counters().attempt_timeouts;
        if (transport_) {
          auto& a = out.push();
          a.kind = dependency_action_kind::cancel_attempt;
          a.call = slot;
          a.id = due[k];
        }
        on_attempt_outcome(
          slot, due[k], outcome::failure(failure_class::timeout),
          s.timeout_at[i] - s.sent_at[i], now, std::string{}, out);
        if (!calls_.in_use(slot) || calls_.generation(slot) != generation
            || s.phase != call_phase::attempting)
          return;
      }
      if (s.hedge_at <= now)
        try_hedge(slot, now, out);
      break;
    }
    case call_phase::backoff:
      if (s.backoff_until <= now)
        begin_round(slot, now, out);
      break;
    case call_phase::alternate:
    case call_phase::idle:
      break;
  }
  if (calls_.in_use(slot) && calls_.generation(slot) == generation)
    reschedule(slot, now);
}

// -- transport ------------------------------------------------------------------

void dependency_core::transport_down(time_point now, action_list& out) {
  ++counters().transport_downs;
  transport_ = false;
  // Every attempt in flight fails as transient: retried or sent to the
  // fallback chain, none hangs until its timeout.
  for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot) {
    if (!calls_.in_use(slot) || calls_[slot].phase != call_phase::attempting)
      continue;
    auto& s = calls_[slot];
    std::array<std::uint64_t, max_parallel_attempts> out_ids{};
    std::uint32_t n_out = 0;
    for (std::uint32_t i = 0; i < s.round.size(); ++i)
      if (s.round.status_at(i) == attempt_status::outstanding)
        out_ids[n_out++] = s.round.id_at(i);
    auto generation = calls_.generation(slot);
    for (std::uint32_t k = 0; k < n_out; ++k) {
      if (!calls_.in_use(slot) || calls_.generation(slot) != generation
          || s.phase != call_phase::attempting)
        break;
      auto i = s.round.index_of(out_ids[k]);
      if (i == attempt_set::npos
          || s.round.status_at(i) != attempt_status::outstanding)
        continue;
      on_attempt_outcome(slot, out_ids[k],
                         outcome::failure(failure_class::transient),
                         now - s.sent_at[i], now, std::string{}, out);
    }
  }
}

void dependency_core::transport_replaced(bool available) noexcept {
  transport_ = available;
}

// -- reconfiguration and flags ----------------------------------------------------

std::vector<std::string> dependency_core::reconfigure(std::string_view text,
                                                      time_point now,
                                                      action_list& out) {
  std::vector<std::string> errs;
  auto result = parse_bulwark_config(text);
  if (!result.ok()) {
    errs = result.errors.lines();
    ++counters().config_rejected;
    return errs;
  }
  return reconfigure(*result.config, now, out);
}

std::vector<std::string> dependency_core::reconfigure(const bulwark_config& doc,
                                                      time_point now,
                                                      action_list& out) {
  std::vector<std::string> errs;
  auto* mine = doc.find(cfg_->name);
  if (mine == nullptr) {
    errs.push_back("/dependencies/" + cfg_->name
                   + ": is required (this actor serves dependency \""
                   + cfg_->name + "\")");
    ++counters().config_rejected;
    return errs;
  }
  // Calls in flight keep the config they started with; long-lived state
  // moves to the new settings now.
  auto previous = versions_.back().get();
  versions_.push_back(std::make_unique<config_version>(*mine));
  cfg_ = &versions_.back()->cfg;
  pol_->reconfigure(*cfg_, now);
  if (previous->users == 0)
    drop_version(previous);
  hedge_delay_until_ = time_point::min();
  expected_latency_until_ = time_point::min();
  ++counters().config_applied;
  // A larger limit may admit queued calls.
  std::uint64_t next = 0;
  while (pol_->limit.try_dequeue(now, next))
    admit_next(next, now, out);
  return errs;
}

std::vector<std::string> dependency_core::set_flags(std::string_view text) {
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
  pol_->set_flags(f);
  return errs;
}

// -- observers ------------------------------------------------------------------

const dependency_stats& dependency_core::stats_at(time_point now) noexcept {
  pol_->stats.objective = pol_->objective.snapshot(now);
  return pol_->stats;
}

std::string dependency_core::stats_json() const {
  return boost::json::serialize(to_json(pol_->stats));
}

std::string dependency_core::flags_json() const {
  // pretty_json prints a 100% rollout as 100, not Boost's 1E2.
  return pretty_json(to_json(pol_->flags));
}

std::string dependency_core::journey_json(std::uint64_t id) {
  if (auto* j = pol_->journeys.find(id))
    return boost::json::serialize(to_json(*j, j->started()));
  // Still in flight?
  for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot) {
    if (!calls_.in_use(slot))
      continue;
    auto& s = calls_[slot];
    if (s.journey_on && s.req.journey_id == id) {
      materialize(s);
      return boost::json::serialize(to_json(*s.trip, s.trip->started()));
    }
  }
  return {};
}

std::string dependency_core::trace_json(trace_id trace) {
  boost::json::array arr;
  if (trace.empty())
    return boost::json::serialize(arr);
  std::vector<const journey*> kept;
  pol_->journeys.find_trace(trace, max_trace_journeys, kept);
  for (auto* j : kept)
    arr.push_back(to_json(*j, j->started()));
  // Calls still in flight (not yet in the log).
  for (std::uint32_t slot = 0;
       slot < calls_.capacity() && arr.size() < max_trace_journeys; ++slot) {
    if (!calls_.in_use(slot) || slot == next_slot_)
      continue;
    auto& s = calls_[slot];
    if (s.journey_on && s.traced && s.req.trace.trace == trace) {
      materialize(s);
      arr.push_back(to_json(*s.trip, s.trip->started()));
    }
  }
  return boost::json::serialize(arr);
}

std::string dependency_core::failed_journeys_json() const {
  boost::json::array arr;
  for (auto* j : pol_->journeys.failed())
    arr.push_back(to_json(*j, j->started()));
  return boost::json::serialize(arr);
}

} // namespace bulwark
