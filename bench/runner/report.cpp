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

// Puts `val` at the dotted path `key` ("success.pre") below `obj`, making
// the objects on the way; a path running into a plain value replaces it.
void put(boost::json::object& obj, const std::string& key,
         boost::json::value val) {
  auto* at = &obj;
  std::size_t start = 0;
  for (auto dot = key.find('.'); dot != std::string::npos;
       dot = key.find('.', start)) {
    auto& next = (*at)[key.substr(start, dot - start)];
    if (!next.is_object())
      next = boost::json::object{};
    at = &next.as_object();
    start = dot + 1;
  }
  (*at)[key.substr(start)] = std::move(val);
}

boost::json::object to_json(const field_list& xs) {
  boost::json::object obj;
  for (auto& [key, val] : xs.items())
    put(obj, key, to_json(val));
  return obj;
}

boost::json::object
to_json(const std::vector<std::pair<std::string, field_list>>& modes) {
  boost::json::object obj;
  for (auto& [mode, fields] : modes)
    obj[mode] = to_json(fields);
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
    put(obj, key, to_json(val));
  if (!result.modes.empty())
    obj["modes"] = to_json(result.modes);
  if (!result.setups.empty()) {
    boost::json::object setups;
    for (auto& x : result.setups) {
      auto setup = to_json(x.fields);
      if (!x.modes.empty())
        setup["modes"] = to_json(x.modes);
      setups[x.name] = std::move(setup);
    }
    obj["setups"] = std::move(setups);
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
    std::string operator()(std::nullptr_t) const {
      return "null";
    }
  };
  return std::visit(visitor{}, x);
}

namespace {

using mode_list = std::vector<std::pair<std::string, field_list>>;

// Fields as an aligned two-column table, then the modes' fields with one
// column per mode; every line starts with `indent`.
std::string fields_and_modes(const field_list& top, const mode_list& modes,
                             const std::string& indent) {
  std::string out;
  // Row labels: top-level fields, then every field any mode has, in order of
  // first appearance.
  std::size_t label_width = 0;
  for (auto& [key, val] : top.items())
    label_width = std::max(label_width, key.size());
  std::vector<std::string> mode_rows;
  for (auto& [mode, fields] : modes)
    for (auto& [key, val] : fields.items())
      if (std::find(mode_rows.begin(), mode_rows.end(), key) == mode_rows.end())
        mode_rows.push_back(key);
  for (auto& key : mode_rows)
    label_width = std::max(label_width, key.size());
  for (auto& [key, val] : top.items())
    out += fmt::format("{}{:<{}}  {}\n", indent, key, label_width,
                       format_value(val));
  if (modes.empty())
    return out;
  std::vector<std::size_t> widths;
  for (auto& [mode, fields] : modes) {
    auto w = mode.size();
    for (auto& [key, val] : fields.items())
      w = std::max(w, format_value(val).size());
    widths.push_back(w);
  }
  out += fmt::format("{}{:<{}}", indent, "", label_width);
  for (std::size_t i = 0; i < modes.size(); ++i)
    out += fmt::format("  {:>{}}", modes[i].first, widths[i]);
  out += '\n';
  for (auto& key : mode_rows) {
    out += fmt::format("{}{:<{}}", indent, key, label_width);
    for (std::size_t i = 0; i < modes.size(); ++i) {
      auto* val = modes[i].second.find(key);
      out += fmt::format("  {:>{}}", val ? format_value(*val) : "-", widths[i]);
    }
    out += '\n';
  }
  return out;
}

} // namespace

std::string format_table(const scenario& x, std::uint64_t seed,
                         const scenario_result& result) {
  std::string out =
    fmt::format("{} (seed {}): {}\n", x.name, seed, x.description);
  out += fields_and_modes(result.fields, result.modes, "  ");
  for (auto& setup : result.setups) {
    out += fmt::format("  set-up {}\n", setup.name);
    out += fields_and_modes(setup.fields, setup.modes, "    ");
  }
  return out;
}

} // namespace bulwark::bench
