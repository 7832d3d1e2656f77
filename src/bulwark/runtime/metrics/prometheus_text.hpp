// Renders the stats of dependency actors and supervisors as Prometheus text
// exposition format 0.0.4, the body of `GET /metrics`. The input is what the
// actors answer to `stats_atom`: typed values (`dependency_stats`,
// `supervisor_stats`), one per component, so the renderer needs no access to
// the actors and can be tested without CAF. The metric names, types, help and
// labels, and where each sample is read from, are declared once in
// bulwark/runtime/metrics/metric_table.hpp (documented in docs/metrics.md);
// they follow the Prometheus conventions: `bulwark_` prefix, counters end in
// `_total`, durations are `_seconds` histograms.
//
// Every family is written for every component that has rows in it: a value
// a kind of component does not have (a supervisor's cache lookups) is a
// constant 0 declared in the table, so all components show the same series;
// families of one kind only (supervisors' failovers, dependencies' flag
// actions) have samples for that kind only. Label values come only from
// configured component names and fixed enum names, never from request data,
// so the number of series is bounded by the configuration.
//
// Every family is written once (`# HELP`, `# TYPE`, then the samples of all
// components), so everything scraped at once must be rendered in ONE call:
// concatenating two renders would repeat families, which the format forbids.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bulwark/runtime/dependency/dependency_stats.hpp"
#include "bulwark/runtime/metrics/host_actor_stats.hpp"
#include "bulwark/runtime/metrics/http_service_stats.hpp"
#include "bulwark/runtime/supervise/supervisor_stats.hpp"

namespace bulwark {

/// The Content-Type of the rendered text.
inline constexpr std::string_view prometheus_content_type =
  "text/plain; version=0.0.4; charset=utf-8";

/// One component to render.
struct metrics_source {
  /// The label that names it: "dependency", "supervisor" or "service".
  /// Characters that a label name may not contain are replaced by '_'.
  std::string label = "dependency";
  /// Its configured name (the label value; escaped on output).
  std::string name;
  /// Its stats; the kind decides which rows of the table apply.
  std::variant<dependency_stats, supervisor_stats, http_service_stats,
               host_actor_stats>
    stats;
  /// A second label of every sample, after the first (e.g. `kind` of an
  /// actor of a service host); none when `extra_label` is empty. Sanitized
  /// and escaped like the first.
  std::string extra_label = {};
  std::string extra_value = {};
};

/// Every metric family, each with the samples of all `sources` in their
/// order. Families are written even when `sources` is empty (HELP and TYPE
/// only), so a scrape always sees the same names.
std::string render_prometheus(const std::vector<metrics_source>& sources);

/// Shorthand for dependencies: (name, stats), labelled `component`.
std::string render_prometheus(
  const std::vector<std::pair<std::string, dependency_stats>>& deps,
  std::string_view component = "dependency");

/// A label value as the format writes it between quotes: backslash, double
/// quote and line feed escaped as \\, \" and \n.
std::string escape_label_value(std::string_view value);

/// A sample value: integers as they are, other numbers in the shortest form
/// that reads back exactly, and +Inf, -Inf, NaN.
std::string format_sample_value(double value);

} // namespace bulwark
