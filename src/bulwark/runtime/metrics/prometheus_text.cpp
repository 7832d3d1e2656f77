#include "bulwark/runtime/metrics/prometheus_text.hpp"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "bulwark/runtime/metrics/latency_histogram.hpp"
#include "bulwark/runtime/metrics/metric_table.hpp"

namespace bulwark {

std::string escape_label_value(std::string_view value) {
  std::string result;
  result.reserve(value.size());
  for (auto c : value) {
    switch (c) {
      case '\\':
        result += "\\\\";
        break;
      case '"':
        result += "\\\"";
        break;
      case '\n':
        result += "\\n";
        break;
      default:
        result += c;
    }
  }
  return result;
}

std::string format_sample_value(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

namespace {

// A label name may hold [a-zA-Z_][a-zA-Z0-9_]* (and not start with "__").
std::string sanitize_label_name(std::string_view name) {
  std::string result;
  for (auto c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (c >= '0' && c <= '9' && !result.empty());
    result += ok ? c : '_';
  }
  if (result.empty())
    result = "component";
  while (result.size() > 1 && result[0] == '_' && result[1] == '_')
    result.erase(0, 1);
  return result;
}

struct prepared_source {
  std::string label;
  std::string value; // escaped
  const metrics_source* source;
  std::string extra_label; // sanitized; empty: none
  std::string extra_value; // escaped
};

class writer {
 public:
  explicit writer(const std::vector<metrics_source>& sources) {
    sources_.reserve(sources.size());
    for (auto& x : sources)
      sources_.push_back(prepared_source{
        sanitize_label_name(x.label), escape_label_value(x.name), &x,
        x.extra_label.empty() ? std::string{}
                              : sanitize_label_name(x.extra_label),
        escape_label_value(x.extra_value)});
    out_.reserve(512 + sources.size() * 8192);
  }

  void family(const metric_family& fam) {
    out_ += "# HELP ";
    out_ += fam.name;
    out_ += ' ';
    out_ += fam.help; // our own constants: no backslash, no line feed
    out_ += "\n# TYPE ";
    out_ += fam.name;
    out_ += ' ';
    out_ += to_string(fam.kind);
    out_ += '\n';
    for (auto& src : sources_) {
      current_ = &src;
      std::visit([&](auto& stats) { rows_of(fam, stats); }, src.source->stats);
    }
    current_ = nullptr;
  }

  std::string take() {
    return std::move(out_);
  }

 private:
  void rows_of(const metric_family& fam, const dependency_stats& x) {
    for (auto& r : dependency_metric_rows())
      if (r.family == fam.name)
        row(fam, r, x);
  }

  void rows_of(const metric_family& fam, const supervisor_stats& x) {
    for (auto& r : supervisor_metric_rows())
      if (r.family == fam.name)
        row(fam, r, x);
  }

  void rows_of(const metric_family& fam, const http_service_stats& x) {
    for (auto& r : http_service_metric_rows())
      if (r.family == fam.name)
        row(fam, r, x);
  }

  void rows_of(const metric_family& fam, const host_actor_stats& x) {
    for (auto& r : host_actor_metric_rows())
      if (r.family == fam.name)
        row(fam, r, x);
  }

  template <class Stats>
  void row(const metric_family& fam, const metric_row<Stats>& r,
           const Stats& x) {
    if (fam.kind == metric_kind::histogram) {
      static const latency_histogram empty;
      histogram(fam.name, r.histogram != nullptr ? *r.histogram(x) : empty);
      return;
    }
    for (std::size_t i = 0; i < index_size(r.index); ++i) {
      auto value = r.read != nullptr ? r.read(x, i) : 0;
      auto text =
        r.divisor == 1.0
          ? std::to_string(value)
          : format_sample_value(static_cast<double>(value) / r.divisor);
      if (r.index == metric_index::none) {
        sample(fam.name, r.labels, {}, {}, text);
      } else {
        sample(fam.name, r.labels, r.index_label, index_name(r.index, i), text);
      }
    }
  }

  void histogram(std::string_view name, const latency_histogram& h) {
    std::string bucket_name{name};
    bucket_name += "_bucket";
    for (std::size_t i = 0; i < latency_histogram::bound_count; ++i)
      sample(bucket_name, {}, "le",
             format_sample_value(latency_histogram::bound_seconds(i)),
             std::to_string(h.cumulative(i)));
    sample(bucket_name, {}, "le", "+Inf", std::to_string(h.count()));
    sample(std::string{name} + "_sum", {}, {}, {},
           format_sample_value(h.sum()));
    sample(std::string{name} + "_count", {}, {}, {}, std::to_string(h.count()));
  }

  /// One sample of the current source: its own label first, then the
  /// fixed `labels`, then `extra` (when named).
  void sample(std::string_view name, const std::array<metric_label, 2>& labels,
              std::string_view extra, std::string_view extra_value,
              std::string_view value) {
    out_ += name;
    out_ += '{';
    out_ += current_->label;
    out_ += "=\"";
    out_ += current_->value;
    out_ += '"';
    if (!current_->extra_label.empty()) {
      out_ += ',';
      out_ += current_->extra_label;
      out_ += "=\"";
      out_ += current_->extra_value;
      out_ += '"';
    }
    for (auto& l : labels)
      if (!l.name.empty())
        label(l.name, l.value);
    if (!extra.empty())
      label(extra, extra_value);
    out_ += "} ";
    out_ += value;
    out_ += '\n';
  }

  void label(std::string_view key, std::string_view value) {
    out_ += ',';
    out_ += key;
    out_ += "=\"";
    out_ += escape_label_value(value);
    out_ += '"';
  }

  std::vector<prepared_source> sources_;
  const prepared_source* current_ = nullptr;
  std::string out_;
};

} // namespace

std::string render_prometheus(const std::vector<metrics_source>& sources) {
  writer w{sources};
  for (auto& fam : metric_families())
    w.family(fam);
  return w.take();
}

std::string render_prometheus(
  const std::vector<std::pair<std::string, dependency_stats>>& deps,
  std::string_view component) {
  std::vector<metrics_source> sources;
  sources.reserve(deps.size());
  for (auto& [name, stats] : deps)
    sources.push_back(metrics_source{std::string{component}, name, stats});
  return render_prometheus(sources);
}

} // namespace bulwark
