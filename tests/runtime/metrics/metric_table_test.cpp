#include "bulwark/runtime/metrics/metric_table.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/breaker/breaker_state.hpp"
#include "bulwark/runtime/fallback/fallback_config.hpp"

using namespace bulwark;

namespace {

std::set<std::string> family_names() {
  std::set<std::string> names;
  for (auto& f : metric_families())
    names.insert(std::string{f.name});
  return names;
}

/// Families that at least one row of `rows` reads a value for.
template <class Stats>
void read_families(const std::vector<metric_row<Stats>>& rows,
                   std::set<std::string>& out) {
  for (auto& r : rows)
    if (!r.zero() && !r.family.empty())
      out.insert(std::string{r.family});
}

/// Values that are in the JSON but in no family: each one is a decision
/// written down here, so a counter cannot lose its family unnoticed.
template <class Stats>
std::set<std::string> json_only(const std::vector<metric_row<Stats>>& rows) {
  std::set<std::string> keys;
  for (auto& r : rows)
    if (r.family.empty())
      keys.insert(std::string{r.key});
  return keys;
}

/// How many uint64 fields the rows read (a split row one per enum value;
/// a one-hot row reads an enum, not a counter).
template <class Stats>
std::size_t counters_read(const std::vector<metric_row<Stats>>& rows) {
  std::size_t n = 0;
  for (auto& r : rows)
    if (r.read != nullptr && !r.key.empty()
        && r.index != metric_index::breaker_state)
      n += index_size(r.index);
  return n;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The rows of the "Metric families" table of docs/metrics.md:
/// name -> type.
std::map<std::string, std::string> documented_families() {
  std::map<std::string, std::string> result;
  std::istringstream in{read_file(BULWARK_SOURCE_DIR "/docs/metrics.md")};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `bulwark_", 0) != 0)
      continue;
    auto name_end = line.find('`', 3);
    auto name = line.substr(3, name_end - 3);
    auto type_begin = line.find("| ", name_end) + 2;
    auto type =
      line.substr(type_begin, line.find(' ', type_begin) - type_begin);
    result[name] = type;
  }
  return result;
}

} // namespace

TEST_CASE("every row names a declared family", "[runtime][metrics]") {
  auto names = family_names();
  for (auto& r : dependency_metric_rows()) {
    INFO("dependency row " << r.key << " -> " << r.family);
    CHECK((r.family.empty() || names.count(std::string{r.family}) == 1));
  }
  for (auto& r : supervisor_metric_rows()) {
    INFO("supervisor row " << r.key << " -> " << r.family);
    CHECK((r.family.empty() || names.count(std::string{r.family}) == 1));
  }
  for (auto& r : http_service_metric_rows()) {
    INFO("http service row " << r.key << " -> " << r.family);
    CHECK(names.count(std::string{r.family}) == 1);
    // Their own families, and the objectives' (shared with dependencies).
    CHECK((r.family.substr(0, 21) == "bulwark_http_service_"
           || r.family.substr(0, 18) == "bulwark_objective_"));
  }
  for (auto& r : host_actor_metric_rows()) {
    INFO("host actor row " << r.key << " -> " << r.family);
    CHECK(names.count(std::string{r.family}) == 1);
    CHECK(r.family.substr(0, 13) == "bulwark_host_");
  }
}

TEST_CASE("every family reads a value from some component",
          "[runtime][metrics]") {
  std::set<std::string> read;
  read_families(dependency_metric_rows(), read);
  read_families(supervisor_metric_rows(), read);
  read_families(http_service_metric_rows(), read);
  read_families(host_actor_metric_rows(), read);
  for (auto& f : metric_families()) {
    INFO(f.name);
    CHECK(read.count(std::string{f.name}) == 1);
  }
}

TEST_CASE("only the listed values are in the JSON without a family",
          "[runtime][metrics]") {
  // Sums of split families: the JSON keeps the total for people.
  CHECK(json_only(dependency_metric_rows())
        == std::set<std::string>{"replies_ok", "retries"});
  // Supervisor counters without a family yet.
  CHECK(json_only(supervisor_metric_rows())
        == std::set<std::string>{"cancelled_after_preliminary", "cooldowns",
                                 "parked", "reach_ignored",
                                 "unreachable_events"});
}

TEST_CASE("the rows read every counter of the stats structs",
          "[runtime][metrics]") {
  // A counter added to a struct without a row (or a row removed) changes
  // one side only. dependency_stats: the counters, the breaker state (one
  // byte, padded to eight) and three histograms.
  auto dep_counters = (sizeof(dependency_stats) - sizeof(std::uint64_t)
                       - 3 * sizeof(latency_histogram))
                      / sizeof(std::uint64_t);
  CHECK(counters_read(dependency_metric_rows()) == dep_counters);
  // supervisor_stats: the counters plus `in_flight`.
  CHECK(counters_read(supervisor_metric_rows())
        == sizeof(supervisor_counters) / sizeof(std::uint64_t) + 1);
  // http_service_stats: nothing but counters and one gauge.
  CHECK(counters_read(http_service_metric_rows())
        == sizeof(http_service_stats) / sizeof(std::uint64_t));
  CHECK(counters_read(host_actor_metric_rows())
        == sizeof(host_actor_stats) / sizeof(std::uint64_t));
}

TEST_CASE("fixed label values match the enums they name",
          "[runtime][metrics]") {
  std::set<std::string> kinds;
  for (auto& r : dependency_metric_rows())
    if (r.family == "bulwark_fallbacks_total")
      kinds.insert(std::string{r.labels[0].value});
  CHECK(kinds
        == std::set<std::string>{to_string(fallback_kind::stale_cache),
                                 to_string(fallback_kind::static_value),
                                 to_string(fallback_kind::alternate),
                                 to_string(fallback_kind::fail_fast)});
  std::vector<std::string> sources;
  for (auto& r : supervisor_metric_rows())
    if (r.family == "bulwark_replies_total" && r.labels[0].value == "ok")
      sources.push_back(std::string{r.labels[1].value});
  std::vector<std::string> expected;
  for (auto s : all_reply_sources)
    expected.push_back(to_string(s));
  CHECK(sources == expected);
}

TEST_CASE("docs/metrics.md documents exactly the declared families",
          "[runtime][metrics][docs]") {
  auto documented = documented_families();
  REQUIRE(!documented.empty());
  for (auto& f : metric_families()) {
    INFO(f.name << " is missing from the families table of docs/metrics.md");
    auto it = documented.find(std::string{f.name});
    REQUIRE(it != documented.end());
    CHECK(it->second == to_string(f.kind));
  }
  auto names = family_names();
  for (auto& [name, type] : documented) {
    INFO(name << " is documented but not declared in metric_table.cpp");
    CHECK(names.count(name) == 1);
  }
}

TEST_CASE("the JSON form has every keyed row", "[runtime][metrics]") {
  dependency_stats d;
  d.replies_by_source[1] = 4;
  d.breaker = breaker_state::open;
  boost::json::object o;
  append_json(dependency_metric_rows(), d, o);
  for (auto& r : dependency_metric_rows()) {
    INFO(r.key);
    CHECK((r.key.empty() || o.contains(r.key)));
  }
  CHECK(o.at("replies_by_source").at("fresh_cache") == 4);
  CHECK(o.at("breaker_state") == "open");
  CHECK(o.at("request_latency").is_object());
}
