// The scenario runner's vocabulary: a scenario is a named benchmark with a
// one-line description and a function from options to a result. A result is
// an ordered list of named fields (numbers, strings, bools) or, for scenarios
// that compare modes ("bulwark" vs "naive"), one such list per mode. Each
// scenario registers itself from its own .cpp with a `scenario_registrar`, so
// adding a scenario touches no runner code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::bench {

class progress;

struct scenario_options {
  /// Seeds every random choice of the scenario (fault schedules, jitter).
  std::uint64_t seed = 1;
  /// Repetitions; scenarios that support it report medians.
  int runs = 1;
  /// Whether `--runs` was given (a scenario may then use its own default).
  bool runs_given = false;
  /// Load duration of one run in ms (`--run-ms`); 0: the scenario's own.
  std::int64_t run_ms = 0;
  /// Smaller sizes for CI smoke tests.
  bool quick = false;
  /// The live progress line (bench/runner/progress.hpp); null when nobody
  /// watches. Scenarios report through `report_progress`.
  progress* live = nullptr;
};

/// Tells the live progress line (if any) that `mode` is `fraction` (0..1)
/// done. Cheap enough to call per simulated second.
void report_progress(const scenario_options& opts, const std::string& mode,
                     double fraction);

/// `nullptr` is a field that has no value yet (JSON `null`), e.g. a measure
/// whose prerequisite is not built.
using field_value =
  std::variant<bool, std::int64_t, double, std::string, std::nullptr_t>;

/// Named values in insertion order (the order of the report's columns).
class field_list {
 public:
  using item = std::pair<std::string, field_value>;

  /// Adds a field, or replaces the value of an existing one in place.
  field_list& add(std::string name, field_value value);

  field_list& add(std::string name, const char* value) {
    return add(std::move(name), field_value{std::string{value}});
  }

  template <class T, class = std::enable_if_t<
                       std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>>
  field_list& add(std::string name, T value) {
    if constexpr (std::is_integral_v<T>)
      return add(std::move(name),
                 field_value{static_cast<std::int64_t>(value)});
    else
      return add(std::move(name), field_value{static_cast<double>(value)});
  }

  const std::vector<item>& items() const noexcept {
    return items_;
  }

  const field_value* find(std::string_view name) const noexcept;

  bool empty() const noexcept {
    return items_.empty();
  }

 private:
  std::vector<item> items_;
};

/// One line of a chart: (x, y) points of one quantity in one mode.
struct series {
  /// What the line shows, e.g. "p99".
  std::string name;
  /// The mode it belongs to ("bulwark"); empty for single-mode scenarios.
  std::string mode;
  std::vector<std::pair<double, double>> points;
};

/// An x range a chart shades, e.g. a fault window.
struct shaded_window {
  double start = 0;
  double end = 0;
  std::string label;
};

/// A chart of the report folder, drawn as `<scenario>-<name>.png`.
struct chart {
  /// File name part: lowercase letters, digits and '-'.
  std::string name;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<series> lines;
  std::vector<shaded_window> windows;
  /// Logarithmic y axis (latencies); points with y <= 0 are then left out.
  bool log_y = false;
};

/// One of several set-ups a scenario compares side by side (e.g. `metastable`
/// runs its modes on set-ups "A" and "B"): its own fields and modes.
struct setup_result {
  std::string name;
  field_list fields;
  std::vector<std::pair<std::string, field_list>> modes;

  /// The fields of mode `name`, created on first use.
  field_list& mode(const std::string& name);
};

/// Field names may contain '.': the JSON output nests them, so
/// "success.pre" and "success.r9" become "success": {"pre": .., "r9": ..};
/// tables and CSV show the dotted name as it is.
struct scenario_result {
  /// Fields of the whole scenario (e.g. its parameters).
  field_list fields;
  /// Per-mode fields, in insertion order; empty for single-mode scenarios.
  std::vector<std::pair<std::string, field_list>> modes;
  /// Set-ups, each with its own modes; empty for most scenarios.
  std::vector<setup_result> setups;
  /// Time series for the report folder's charts; optional.
  std::vector<chart> charts;
  /// Bars the scenario checks itself and that failed, each saying which and
  /// by how much; the runner prints them and exits non-zero.
  std::vector<std::string> failed_bars;

  /// The fields of mode `name`, created on first use.
  field_list& mode(const std::string& name);

  /// Set-up `name`, created on first use.
  setup_result& setup(const std::string& name);
};

using scenario_function =
  std::function<scenario_result(const scenario_options&)>;

struct scenario {
  std::string name;
  std::string description;
  scenario_function run;
};

/// Every scenario linked into the binary.
class scenario_registry {
 public:
  static scenario_registry& instance();

  /// Registers `x`; a second scenario with the same name is a programming
  /// error and aborts at startup.
  void add(scenario x);

  const scenario* find(std::string_view name) const;

  /// All scenarios, sorted by name.
  std::vector<const scenario*> all() const;

 private:
  std::vector<scenario> scenarios_;
};

/// Registers a scenario at static initialization:
///   static const scenario_registrar reg{"bare", "one line", run_bare};
struct scenario_registrar {
  scenario_registrar(std::string name, std::string description,
                     scenario_function run);
};

/// The median of `xs` (mean of the middle two for an even count); 0 if empty.
double median(std::vector<double> xs);

} // namespace bulwark::bench
