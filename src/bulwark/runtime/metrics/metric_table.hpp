// Every metric bulwark exports, declared once. The table has two parts:
// the metric families (name, type, help), in the order `/metrics` writes
// them, and one row list per kind of component (dependency, supervisor,
// HTTP service, actor of a service host)
// that says where each sample of a family comes from in the typed stats
// (`dependency_stats`, `supervisor_stats`): its fixed labels, the enum it is
// split by, and the accessor that reads it. From these rows come the stats'
// JSON (`to_json`), the Prometheus text
// (bulwark/runtime/metrics/prometheus_text.hpp) and the check that keeps
// docs/metrics.md in step (tests/runtime/metrics/metric_table_test.cpp).
// Nothing is looked up by string: a counter that is renamed or removed stops
// compiling or fails that test, instead of exporting zeros. docs/metrics.md
// says how to add one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "bulwark/runtime/dependency/dependency_stats.hpp"
#include "bulwark/runtime/metrics/host_actor_stats.hpp"
#include "bulwark/runtime/metrics/http_service_stats.hpp"
#include "bulwark/runtime/supervise/supervisor_stats.hpp"

namespace bulwark {

enum class metric_kind : std::uint8_t { counter, gauge, histogram };

/// "counter", "gauge", "histogram": the Prometheus TYPE.
std::string_view to_string(metric_kind x) noexcept;

/// One metric family: HELP and TYPE are written once per scrape.
struct metric_family {
  std::string_view name;
  metric_kind kind;
  /// Our own constant text: no backslash, no line feed.
  std::string_view help;
};

/// Every family, in output order.
const std::vector<metric_family>& metric_families();

/// The enum a row is split by: one sample per value, labelled with the
/// value's name (`to_string`).
enum class metric_index : std::uint8_t {
  none,
  failure_class,
  reply_source,
  /// One-hot: 1 for the current state, 0 for the others; in JSON the name
  /// of the current state.
  breaker_state,
  member_health,
  objective_window,
};

/// Number of values of `x` (1 for `none`).
std::size_t index_size(metric_index x) noexcept;

/// The label value of entry `i` of `x`.
std::string index_name(metric_index x, std::size_t i);

struct metric_label {
  std::string_view name;
  std::string_view value;
};

/// Where one or more samples of a family come from, for component type
/// `Stats`.
template <class Stats>
struct metric_row {
  /// The family the samples belong to; empty for a value that is in the
  /// JSON only (the table test lists those explicitly).
  std::string_view family;
  /// The JSON key of the value in `to_json(Stats)`; empty when the value
  /// is not in the JSON (derived from other fields, or a constant zero).
  std::string_view key;
  /// Fixed labels, written after the component's own label (unused ones
  /// have an empty name).
  std::array<metric_label, 2> labels{};
  /// Splits the row into one sample per enum value.
  metric_index index = metric_index::none;
  /// The label that names the enum value.
  std::string_view index_label;
  /// Reads the value (entry `i` of `index`). Null: this kind of component
  /// has no such counter and writes 0, so every component of a family has
  /// the same series.
  std::uint64_t (*read)(const Stats&, std::size_t i) = nullptr;
  /// For histogram families instead of `read`; null writes an empty
  /// histogram.
  const latency_histogram* (*histogram)(const Stats&) = nullptr;
  /// How many of `read`'s integers make one unit: values kept in a smaller
  /// unit (a burn rate in thousandths: 1000) are written divided by it.
  double divisor = 1.0;
  /// A constant zero row (`read` and `histogram` both null).
  bool zero() const noexcept {
    return read == nullptr && histogram == nullptr;
  }
};

/// The rows of a dependency, in output order.
const std::vector<metric_row<dependency_stats>>& dependency_metric_rows();

/// The rows of a supervisor, in output order.
const std::vector<metric_row<supervisor_stats>>& supervisor_metric_rows();

/// The rows of an HTTP service (families `bulwark_http_service_*` only; the
/// JSON keys are the fields' names, or the label value of a split family).
const std::vector<metric_row<http_service_stats>>& http_service_metric_rows();

/// The rows of an actor a service host restarts (families `bulwark_host_*`).
const std::vector<metric_row<host_actor_stats>>& host_actor_metric_rows();

/// Adds the value of every row of `rows` that has a JSON key to `out`:
/// a number; an object keyed by the index names for a split row; the name
/// of the current value for a one-hot row (`breaker_state`);
/// `to_json(latency_histogram)` for a histogram.
template <class Stats>
void append_json(const std::vector<metric_row<Stats>>& rows, const Stats& x,
                 boost::json::object& out);

extern template void
append_json(const std::vector<metric_row<dependency_stats>>&,
            const dependency_stats&, boost::json::object&);
extern template void
append_json(const std::vector<metric_row<supervisor_stats>>&,
            const supervisor_stats&, boost::json::object&);
extern template void
append_json(const std::vector<metric_row<http_service_stats>>&,
            const http_service_stats&, boost::json::object&);
extern template void
append_json(const std::vector<metric_row<host_actor_stats>>&,
            const host_actor_stats&, boost::json::object&);

} // namespace bulwark
