#include "bench/runner/scenario_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string_view>

#include <boost/json/object.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark::bench {

namespace {

bool valid_scenario_name(const std::string& x) {
  if (x.empty() || x.size() > 64)
    return false;
  for (char c : x)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
          || c == '_'))
      return false;
  return true;
}

// "/dependencies/dep/retry/x" -> at / "retry" / "x": a policies error named
// where the user wrote it. Segments are unescaped (RFC 6901) because
// json_path escapes them again.
json_path map_policy_path(const std::string& pointer, const json_path& at) {
  static constexpr std::string_view prefix = "/dependencies/dep";
  json_path result = at;
  if (pointer.compare(0, prefix.size(), prefix) != 0)
    return result;
  std::string rest = pointer.substr(prefix.size());
  std::size_t pos = 0;
  while (pos < rest.size()) {
    auto next = rest.find('/', pos + 1);
    auto seg = rest.substr(
      pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    std::string plain;
    for (std::size_t i = 0; i < seg.size(); ++i) {
      if (seg[i] == '~' && i + 1 < seg.size()) {
        plain += seg[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        plain += seg[i];
      }
    }
    result = result / plain;
    if (next == std::string::npos)
      break;
    pos = next;
  }
  return result;
}

void read_load(const boost::json::value& v, const json_path& at,
               error_list& errors, scenario_file_config& cfg) {
  object_reader r{v, at, errors, {"rate_per_s", "duration"}};
  if (!r.valid())
    return;
  r.read("rate_per_s", cfg.rate_per_s, 0.001, 100000.0);
  r.read("duration", cfg.length, milliseconds(1), hours(1));
  // Bounds the run's memory and time: one entry per request.
  if (cfg.rate_per_s * to_seconds(cfg.length) > 5e6)
    errors.add(at, "rate_per_s x duration must be at most 5000000 requests");
}

void read_modes(const boost::json::value& v, const json_path& at,
                error_list& errors, scenario_file_config& cfg) {
  if (!v.is_array() || v.as_array().empty()) {
    errors.add(at, "must be a non-empty array of \"bulwark\", \"naive\", "
                   "\"none\" (got: "
                     + describe_json(v) + ")");
    return;
  }
  std::vector<bench_mode> modes;
  auto& arr = v.as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    bool found = false;
    for (auto m : all_bench_modes) {
      if (arr[i].is_string() && arr[i].get_string() == to_string(m)) {
        found = true;
        bool dup = false;
        for (auto x : modes)
          dup = dup || x == m;
        if (dup)
          errors.add(at / i, "duplicate mode \"" + to_string(m) + "\"");
        else
          modes.push_back(m);
      }
    }
    if (!found)
      errors.add(at / i, "must be one of \"bulwark\", \"naive\", \"none\" "
                         "(got: "
                           + describe_json(arr[i]) + ")");
  }
  if (!modes.empty())
    cfg.modes = std::move(modes);
}

void read_policies(const boost::json::value& v, const json_path& at,
                   error_list& errors, scenario_file_config& cfg) {
  boost::json::object deps;
  deps["dep"] = v;
  boost::json::object doc;
  doc["dependencies"] = std::move(deps);
  auto result = validate_bulwark_config(doc);
  for (auto& e : result.errors.errors())
    errors.add(map_policy_path(e.path, at), e.message);
  if (result.errors.dropped() > 0)
    errors.add(at, error_list::dropped_line(result.errors.dropped()));
  if (result.ok() && !result.config->dependencies.empty())
    cfg.policies = result.config->dependencies.front();
}

} // namespace

scenario_file_config parse_scenario_file(const boost::json::value& v,
                                         error_list& errors) {
  scenario_file_config cfg;
  json_path root;
  object_reader r{
    v,
    root,
    errors,
    {"name", "description", "load", "faults", "modes", "policies", "seed"}};
  if (!r.valid())
    return cfg;
  if (r.require("name")) {
    r.read("name", cfg.name);
    if (!cfg.name.empty() && !valid_scenario_name(cfg.name))
      errors.add(r.path("name"),
                 "must be 1 to 64 lowercase letters, digits, '-' or '_' "
                 "(got: "
                   + describe_json(*r.find("name")) + ")");
  }
  r.read("description", cfg.description, true);
  if (r.require("load"))
    read_load(*r.find("load"), r.path("load"), errors, cfg);
  if (r.require("faults"))
    cfg.faults =
      parse_fault_schedule(*r.find("faults"), r.path("faults"), errors);
  if (auto* m = r.find("modes"))
    read_modes(*m, r.path("modes"), errors, cfg);
  if (auto* p = r.find("policies"))
    read_policies(*p, r.path("policies"), errors, cfg);
  if (r.find("seed") != nullptr) {
    std::int64_t seed = 1;
    auto before = errors.size();
    r.read("seed", seed, 0, std::numeric_limits<std::int64_t>::max());
    if (errors.size() == before)
      cfg.seed = static_cast<std::uint64_t>(seed);
  }
  return cfg;
}

scenario_file_config read_scenario_file(const std::string& path,
                                        error_list& errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors.add_document("cannot read scenario file '" + path
                        + "': it is a directory");
    return {};
  }
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    errors.add_document("cannot read scenario file '" + path
                        + "': " + std::strerror(errno));
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    errors.add_document("cannot read scenario file '" + path + "'");
    return {};
  }
  auto doc = parse_json_text(text.str(), errors);
  if (!errors.empty())
    return {};
  return parse_scenario_file(doc, errors);
}

} // namespace bulwark::bench
