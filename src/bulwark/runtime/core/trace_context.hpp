// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a
// request belongs to and the span that caused it, as carried by the
// `traceparent` and `tracestate` HTTP headers. Both headers arrive from the
// network, so parsing is strict and never throws: a `traceparent` that is not
// exactly the version-00 form (lowercase hex, ids not all zero), or a later
// version that does not follow the spec's forward-compatibility rules, is
// refused with a message naming what was wrong; a `tracestate` is kept only
// when it follows the list grammar and stays within 512 bytes and 32
// members. New ids come from the caller's seeded `rng`, so tests replay.
#pragma once

#include "bulwark/runtime/core/rng.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

/// The longest `tracestate` kept (the spec asks vendors to propagate at
/// least 512 bytes; longer ones are dropped whole here).
inline constexpr std::size_t max_tracestate_bytes = 512;

/// The most `tracestate` list members kept (the spec's bound).
inline constexpr std::size_t max_tracestate_members = 32;

/// `traceparent`'s length in version 00: "00-" 32 "-" 16 "-" 2.
inline constexpr std::size_t traceparent_size = 55;

/// The sampled flag, the one flag every version defines.
inline constexpr std::uint8_t trace_flag_sampled = 0x01;

/// A trace id, 128 bits as two halves; all zero means "no trace".
struct trace_id {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  bool empty() const noexcept {
    return (hi | lo) == 0;
  }
};

inline bool operator==(trace_id x, trace_id y) noexcept {
  return x.hi == y.hi && x.lo == y.lo;
}
inline bool operator!=(trace_id x, trace_id y) noexcept {
  return !(x == y);
}

/// The trace context of one request: its trace, the span that sent it
/// (the parent of whatever the receiver does), the trace flags and the
/// vendors' `tracestate`. An empty `trace` means no context at all.
struct trace_context {
  bulwark::trace_id trace;
  /// The sender's span id: the parent of what the receiver does; 0 when the
  /// trace starts here (a root).
  std::uint64_t parent_id = 0;
  std::uint8_t flags = 0;
  /// Canonical form (see `parse_tracestate`), empty when there is none.
  std::string tracestate;

  bool empty() const noexcept {
    return trace.empty();
  }
};

bool operator==(const trace_context& x, const trace_context& y);
inline bool operator!=(const trace_context& x, const trace_context& y) {
  return !(x == y);
}

/// Parses a `traceparent` value into `out`'s trace, parent id and flags
/// (its tracestate is left alone). Returns nullopt on success, otherwise why
/// the value was refused (never quoting it) with `out` unchanged. Version 00
/// must be exactly 55 bytes. A later version (not `ff`) is read as the spec
/// says: at least 55 bytes, the version-00 fields first, then the end or a
/// `-`; only its sampled flag is kept.
std::optional<std::string> parse_traceparent(std::string_view text,
                                             trace_context& out);

/// Checks a `tracestate` value. On success writes its canonical form to
/// `out` (members joined by ",", optional whitespace and empty members
/// removed) and returns nullopt; otherwise returns why (too long, too many
/// members, a bad key or value at byte N, a duplicate key) with `out`
/// unchanged.
std::optional<std::string> parse_tracestate(std::string_view text,
                                            std::string& out);

/// `00-<trace>-<span_id>-<flags>`: the `traceparent` a request sent from the
/// span `span_id` of trace `ctx.trace` carries. Requires a non-empty trace and
/// a non-zero span id.
std::string format_traceparent(const trace_context& ctx, std::uint64_t span_id);

/// 32 lowercase hex digits.
std::string to_string(trace_id x);

/// 16 lowercase hex digits.
std::string span_id_to_string(std::uint64_t span_id);

/// Parses exactly 32 lowercase hex digits, not all zero (a trace id from a
/// URL, say). Returns nullopt on success, otherwise why.
std::optional<std::string> parse_trace_id(std::string_view text, trace_id& out);

/// A new random span id, never 0.
std::uint64_t new_span_id(rng& gen) noexcept;

/// A new random trace id, never empty.
trace_id new_trace_id(rng& gen) noexcept;

/// The span id of child `n` of span `span` (an attempt of a call): derived,
/// not drawn, so that nothing has to store one id per attempt and every
/// reader of a journey computes the same ids. Never 0; distinct for
/// distinct `n` of one span (a bijective mix).
std::uint64_t child_span_id(std::uint64_t span, std::uint32_t n) noexcept;

} // namespace bulwark
