// Assembles the spans that several admin servers report for one trace
// (`GET /traces/<trace id>`, docs/tracing.md) into one tree: each dependency
// call with its attempts, and under the attempt that reached the next
// process, that process's calls. Shared by bulwark-trace (which prints it as
// text) and the admin server's `GET /traces/<id>/tree` (which answers it as
// JSON). Pure: parsed JSON documents in, a tree, text or JSON out; the
// documents come from other processes, so every field is optional, strings
// are bounded and made printable, and nesting is bounded.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bulwark {

/// One admin server's answer: where it came from (a label, e.g. host:port)
/// and the parsed body of `GET /traces/<id>`.
struct trace_source {
  std::string label;
  boost::json::value doc;
};

/// One attempt (or hedge) of a call, as its journey recorded it.
struct trace_attempt {
  std::int64_t number = 0;
  std::string span;
  bool hedge = false;
  /// False while the attempt has no `attempt_ended` (still out, or lost).
  bool ended = false;
  bool success = false;
  /// The failure class when !success.
  std::string cls;
  /// The downstream's status (HTTP status), 0 when none was recorded.
  std::int64_t status = 0;
  std::int64_t latency_us = 0;
};

/// One dependency call of one process.
struct trace_call {
  /// The label of the source that reported it.
  std::string process;
  std::string dependency;
  std::string operation;
  std::string span;
  std::string parent;
  std::string upstream;
  std::int64_t attempts = 0;
  bool retried = false;
  bool hedged = false;
  bool fell_back = false;
  /// Where a fallback answer came from (stale cache, static, ...), if any.
  std::string fallback_source;
  /// "ok", "failed" or "failed: <class>".
  std::string result;
  std::vector<trace_attempt> tries;
};

/// The assembled tree: `calls` in source order, `roots` the calls whose
/// upstream span no source reported, `children` the calls made while
/// serving a request an attempt sent (by attempt span).
struct trace_tree {
  std::vector<trace_call> calls;
  std::vector<std::size_t> roots;
  std::multimap<std::string, std::size_t> children;
  /// The trace ids the sources and their spans named: one when they agree.
  std::set<std::string> trace_ids;
  /// Malformed answers and spans, skipped.
  std::size_t skipped = 0;
};

/// Deeper nesting is not followed (hostile or cyclic input).
inline constexpr int trace_tree_max_depth = 32;

trace_tree assemble_trace(const std::vector<trace_source>& sources);

/// The tree as text: first `trace <id>` (or `trace ids differ: ...` when
/// the sources disagree), then one line per call and per attempt, children
/// indented under the attempt that caused them. A call's line says where it was
/// seen, its dependency and operation, attempts, whether it retried, hedged or
/// fell back and how it ended; an attempt's line its outcome, the
/// downstream status and latency. Ends with a count of malformed entries
/// when there were any.
std::string render_trace_tree(const std::vector<trace_source>& sources);

/// The tree as JSON: {"trace_ids": [...], "roots": [node...], "skipped": n},
/// a node being
/// {"process", "dependency", "operation", "span_id", "parent_id",
/// "upstream_span_id", "attempts", "retried", "hedged", "fell_back",
/// "fallback_source", "result", "tries": [{"attempt", "span_id", "hedge",
/// "ended", "success", "class", "status", "latency_us", "calls": [node...]}]}.
boost::json::object trace_tree_json(const std::vector<trace_source>& sources);

} // namespace bulwark
