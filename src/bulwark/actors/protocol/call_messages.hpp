// The call protocol's messages: a logical call to a dependency
// (`call_request`) and its one final answer (`call_reply`, which also carries
// a progressive call's preliminary answer), with CAF 0.17
// `inspect` overloads so they cross nodes through io::middleman. Who sends
// them and how: bulwark/actors/protocol/protocol.hpp.
#pragma once

#include "bulwark/actors/protocol/wire.hpp"
#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/deadline.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/fallback/reply_source.hpp"
#include "bulwark/runtime/progressive/preliminary_reason.hpp"

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace bulwark {

/// One logical call to a dependency, as the caller sends it.
struct call_request {
  /// The caller's correlation id; the reply carries it back unchanged.
  std::uint64_t id = 0;
  /// Which operation of the dependency (decides idempotency, cache, ...).
  std::string operation;
  std::string payload;
  /// One key per logical request, reused by every retry and hedge so the
  /// downstream (or an idempotency ledger) can deduplicate.
  std::string idempotency_key;
  criticality crit = criticality::standard;
  /// Asks for progressive delivery (honoured only where the dependency's
  /// `progressive.enabled` is true): a preliminary answer as
  /// `(preliminary_atom, call_reply)` when the fresh one is not there at the
  /// soft deadline, then the final one as usual.
  /// (Next to `crit`: it fills padding, see "malloc size classes" in
  /// attempt_messages.hpp.)
  bool progressive = false;
  /// Absolute deadline (see `to_wire_time`), `no_deadline_ns` for none.
  std::int64_t deadline_ns = no_deadline_ns;
  /// Correlates the hops of one user request; 0 lets the receiver pick one.
  std::uint64_t journey_id = 0;
  /// Attempts already made by layers above (they share the attempt cap).
  std::uint32_t upstream_attempts = 0;
  /// W3C trace context: the trace, the caller's span as the parent of this
  /// call, flags and tracestate. Empty: the call is not traced.
  trace_context trace;
  /// The span that sent the request the caller is serving (an upstream
  /// attempt's span from its `traceparent`), 0 when none: it joins this
  /// call's spans to the upstream process's in an assembled trace.
  std::uint64_t upstream_span = 0;
  /// This call's soft deadline in ns after its arrival (capped at 1h);
  /// negative: the dependency's `progressive.soft_deadline`.
  std::int64_t soft_deadline_ns = -1;

  bulwark::deadline deadline() const noexcept {
    return bulwark::deadline{from_wire_time(deadline_ns)};
  }
};

/// The one final answer to a `call_request`, or a progressive call's
/// preliminary answer (`preliminary` true, sent as `(preliminary_atom,
/// call_reply)`; its final answer follows).
struct call_reply {
  /// The caller's correlation id from `call_request::id`.
  std::uint64_t id = 0;
  bool ok = false;
  std::string payload;
  /// Where the payload came from (a degraded answer is still `ok`).
  reply_source source = reply_source::live;
  /// Attempts made for this call, hedges included.
  std::uint32_t attempts = 0;
  /// True when a hedged attempt, not the first, produced the answer.
  bool hedge_won = false;
  /// A preliminary answer (sent as `(preliminary_atom, call_reply)`): the
  /// final one is still to come. (Next to `hedge_won`: the two fill padding.)
  bool preliminary = false;
  /// Why the answer is preliminary; `none` exactly when it is not.
  preliminary_reason reason = preliminary_reason::none;
  std::uint64_t journey_id = 0;
  /// Meaningful only when `ok` is false.
  failure_class cls = failure_class::transient;
  /// False tells the caller "already retried here: do not retry", so
  /// attempts do not multiply across layers.
  bool may_retry = false;
  /// On failure: the downstream's retry-after hint (a delay in ns, from the
  /// attempt that failed with `cls`), `no_retry_after_ns` when it gave none.
  /// An HTTP service answers it as `Retry-After` (to_service_response).
  std::int64_t retry_after_ns = no_retry_after_ns;
  /// Human-readable reason on failure; for a preliminary answer, why it is
  /// preliminary.
  std::string message;
  /// A preliminary answer from the cache: the entry's age in ns; -1
  /// otherwise.
  std::int64_t age_ns = -1;
};

// -- comparison (for tests and round-trip checks) ------------------------------

bool operator==(const call_request& x, const call_request& y);
bool operator==(const call_reply& x, const call_reply& y);

inline bool operator!=(const call_request& x, const call_request& y) {
  return !(x == y);
}
inline bool operator!=(const call_reply& x, const call_reply& y) {
  return !(x == y);
}

// -- CAF inspection -----------------------------------------------------------

namespace detail {

/// A trace context that arrived from another node must be one this node
/// could have made: no ids without a trace, a tracestate only with one and
/// in canonical form (it becomes an HTTP header).
caf::error check_trace(const trace_context& x);

/// A reply is preliminary exactly when it names why, and an age is either
/// -1 (none) or not negative: anything else no dependency actor sends.
caf::error check_preliminary(const call_reply& x);

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_request& x) {
  auto crit = static_cast<std::uint8_t>(x.crit);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = detail::check_trace(x.trace))
      return err;
    return detail::load_enum(crit, x.crit, detail::criticality_count);
  });
  return f(caf::meta::type_name("call_request"), x.id, x.operation, x.payload,
           x.idempotency_key, crit, x.deadline_ns, x.journey_id,
           x.upstream_attempts, x.trace.trace.hi, x.trace.trace.lo,
           x.trace.parent_id, x.trace.flags, x.trace.tracestate,
           x.upstream_span, x.progressive, x.soft_deadline_ns, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_reply& x) {
  auto source = static_cast<std::uint8_t>(x.source);
  auto cls = static_cast<std::uint8_t>(x.cls);
  auto reason = static_cast<std::uint8_t>(x.reason);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err =
          detail::load_enum(source, x.source, detail::reply_source_count))
      return err;
    if (auto err = detail::load_enum(cls, x.cls, failure_class_count))
      return err;
    if (auto err =
          detail::load_enum(reason, x.reason, detail::preliminary_reason_count))
      return err;
    return detail::check_preliminary(x);
  });
  return f(caf::meta::type_name("call_reply"), x.id, x.ok, x.payload, source,
           x.attempts, x.hedge_won, x.journey_id, cls, x.may_retry,
           x.retry_after_ns, x.message, x.preliminary, x.age_ns, reason, load);
}

} // namespace bulwark
