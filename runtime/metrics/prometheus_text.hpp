// Renders the stats of dependency actors (and supervisors) as Prometheus text
// exposition format 0.0.4, the body of `GET /metrics`. The input is exactly
// what the actors already report: the JSON object of their `stats_atom` reply
// (`to_json(dependency_stats)`), one per component, so the renderer needs no
// access to the actors and can be tested without CAF. The metric names, types
// and labels are fixed in one table (prometheus_text.cpp, documented in
// docs/metrics.md) and follow the Prometheus conventions: `bulwark_` prefix,
// counters end in `_total`, durations are `_seconds` histograms.
//
// Contract for the stats objects:
//  - Keys the table does not know are ignored, keys it expects but does not
//    find count as 0, values of the wrong type count as 0. So a supervisor can
//    pass its own stats object, with the keys it has, and get the same metric
//    families (a histogram that is missing or malformed renders as empty).
//  - Counters are JSON integers; `breaker_state` is a `breaker_state` name
//    ("closed", "open", ...); `request_latency` / `attempt_latency` are
//    `to_json(latency_histogram)`; by-class / by-source counters are objects
//    keyed by `failure_class` / `reply_source` names.
//  - Label values come only from configured component names and fixed enum
//    names, never from request data, so the number of series is bounded by the
//    configuration.
//
// Every family is written once (`# HELP`, `# TYPE`, then the samples of all
// components), so everything scraped at once must be rendered in ONE call:
// concatenating two renders would repeat families, which the format forbids.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace bulwark {

/// The Content-Type of the rendered text.
inline constexpr std::string_view prometheus_content_type =
  "text/plain; version=0.0.4; charset=utf-8";

/// One component to render.
struct metrics_source {
  /// The label that names it: "dependency" or "supervisor". Characters that
  /// a label name may not contain are replaced by '_'.
  std::string label = "dependency";
  /// Its configured name (the label value; escaped on output).
  std::string name;
  /// Its stats object (see the contract above).
  boost::json::object stats;
};

/// Every metric family, each with the samples of all `sources` in their
/// order. Families are written even when `sources` is empty (HELP and TYPE
/// only), so a scrape always sees the same names.
std::string render_prometheus(const std::vector<metrics_source>& sources);

/// Shorthand for components of one kind: `deps` as (name, stats object),
/// labelled `component`.
std::string render_prometheus(
  const std::vector<std::pair<std::string, boost::json::object>>& deps,
  std::string_view component = "dependency");

/// A label value as the format writes it between quotes: backslash, double
/// quote and line feed escaped as \\, \" and \n.
std::string escape_label_value(std::string_view value);

/// A sample value: integers as they are, other numbers in the shortest form
/// that reads back exactly, and +Inf, -Inf, NaN.
std::string format_sample_value(double value);

} // namespace bulwark
