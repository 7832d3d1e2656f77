#include "bench/runner/report.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bulwark::bench {

namespace {

boost::json::value to_json(const field_value& x) {
  return std::visit([](const auto& v) { return boost::json::value(v); }, x);
}

boost::json::object to_json(const field_list& xs) {
  boost::json::object obj;
  for (auto& [key, val] : xs.items())
    obj[key] = to_json(val);
  return obj;
}

void write(std::string& out, const boost::json::value& v) {
  if (auto* obj = v.if_object()) {
    out += '{';
    bool first = true;
    for (auto& member : *obj) {
      if (!first)
        out += ", ";
      first = false;
      out += boost::json::serialize(boost::json::string(member.key()));
      out += ": ";
      write(out, member.value());
    }
    out += '}';
  } else if (auto* arr = v.if_array()) {
    out += '[';
    bool first = true;
    for (auto& item : *arr) {
      if (!first)
        out += ", ";
      first = false;
      write(out, item);
    }
    out += ']';
  } else if (auto* d = v.if_double()) {
    out += std::isfinite(*d) ? fmt::format("{}", *d) : std::string{"null"};
  } else {
    out += boost::json::serialize(v);
  }
}

} // namespace

boost::json::object to_json(const std::string& name, std::uint64_t seed,
                            const scenario_result& result) {
  boost::json::object obj;
  obj["scenario"] = name;
  obj["seed"] = seed;
  for (auto& [key, val] : result.fields.items())
    obj[key] = to_json(val);
  if (!result.modes.empty()) {
    boost::json::object modes;
    for (auto& [mode, fields] : result.modes)
      modes[mode] = to_json(fields);
    obj["modes"] = std::move(modes);
  }
  return obj;
}

std::string json_line(const boost::json::value& v) {
  std::string out;
  write(out, v);
  return out;
}

std::string format_value(const field_value& x) {
  struct visitor {
    std::string operator()(bool v) const {
      return v ? "true" : "false";
    }
    std::string operator()(std::int64_t v) const {
      return std::to_string(v);
    }
    std::string operator()(double v) const {
      if (!std::isfinite(v))
        return fmt::format("{}", v);
      auto a = std::fabs(v);
      if (a >= 1000)
        return fmt::format("{:.0f}", v);
      if (a >= 100)
        return fmt::format("{:.1f}", v);
      if (a >= 1)
        return fmt::format("{:.2f}", v);
      return fmt::format("{:.3g}", v);
    }
    std::string operator()(const std::string& v) const {
      return v;
    }
  };
  return std::visit(visitor{}, x);
}

std::string format_table(const scenario& x, std::uint64_t seed,
                         const scenario_result& result) {
  std::string out =
    fmt::format("{} (seed {}): {}\n", x.name, seed, x.description);
  // Row labels: top-level fields, then every field any mode has, in order of
  // first appearance.
  std::size_t label_width = 0;
  for (auto& [key, val] : result.fields.items())
    label_width = std::max(label_width, key.size());
  std::vector<std::string> mode_rows;
  for (auto& [mode, fields] : result.modes)
    for (auto& [key, val] : fields.items())
      if (std::find(mode_rows.begin(), mode_rows.end(), key) == mode_rows.end())
        mode_rows.push_back(key);
  for (auto& key : mode_rows)
    label_width = std::max(label_width, key.size());
  for (auto& [key, val] : result.fields.items())
    out += fmt::format("  {:<{}}  {}\n", key, label_width, format_value(val));
  if (result.modes.empty())
    return out;
  std::vector<std::size_t> widths;
  for (auto& [mode, fields] : result.modes) {
    auto w = mode.size();
    for (auto& [key, val] : fields.items())
      w = std::max(w, format_value(val).size());
    widths.push_back(w);
  }
  out += fmt::format("  {:<{}}", "", label_width);
  for (std::size_t i = 0; i < result.modes.size(); ++i)
    out += fmt::format("  {:>{}}", result.modes[i].first, widths[i]);
  out += '\n';
  for (auto& key : mode_rows) {
    out += fmt::format("  {:<{}}", key, label_width);
    for (std::size_t i = 0; i < result.modes.size(); ++i) {
      auto* val = result.modes[i].second.find(key);
      out += fmt::format("  {:>{}}", val ? format_value(*val) : "-", widths[i]);
    }
    out += '\n';
  }
  return out;
}

} // namespace bulwark::bench
