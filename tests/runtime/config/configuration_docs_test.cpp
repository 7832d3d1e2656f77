// Keeps docs/configuration.md (and its pages under docs/configuration/) in step
// with the parser: every key any reader accepts must be documented, and every
// documented key must be accepted.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

using namespace bulwark;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit);
}

// "/dependencies/payments/fallback/0/kind" ->
// "/dependencies/*/fallback/*/kind": names chosen by the user (dependencies,
// operations, supervisors, cluster peers and remotes) and array indices are
// patterns in the docs.
std::string normalize(const std::string& pointer) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in{pointer};
  std::getline(in, part, '/'); // leading empty segment
  while (std::getline(in, part, '/'))
    parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    bool named =
      i > 0
      && (parts[i - 1] == "dependencies" || parts[i - 1] == "operations"
          || parts[i - 1] == "supervisors" || parts[i - 1] == "peers"
          || parts[i - 1] == "remotes");
    if (named || is_number(parts[i]))
      parts[i] = "*";
  }
  std::string result;
  for (auto& p : parts)
    result += "/" + p;
  return result;
}

// Heading lines name an object by its pointer pattern in backticks (several
// patterns when sections share their keys, e.g. a dependency's and a
// supervisor's `hedge`); table rows under it start with the backticked key.
std::set<std::string> documented_keys() {
  std::vector<std::filesystem::path> files{BULWARK_SOURCE_DIR
                                           "/docs/configuration.md"};
  for (auto& entry : std::filesystem::directory_iterator{BULWARK_SOURCE_DIR
                                                         "/docs/configuration"})
    if (entry.path().extension() == ".md")
      files.push_back(entry.path());
  std::set<std::string> result;
  for (auto& file : files) {
    std::istringstream in{read_file(file)};
    std::string line;
    std::vector<std::string> sections;
    bool in_code = false;
    while (std::getline(in, line)) {
      if (line.rfind("```", 0) == 0)
        in_code = !in_code;
      if (in_code)
        continue;
      if (line.rfind("#", 0) == 0) {
        sections.clear();
        for (auto open = line.find('`'); open != std::string::npos;) {
          auto close = line.find('`', open + 1);
          if (close == std::string::npos)
            break;
          if (line[open + 1] == '/')
            sections.push_back(line.substr(open + 1, close - open - 1));
          open = line.find('`', close + 1);
        }
        continue;
      }
      if (!sections.empty() && line.rfind("| `", 0) == 0) {
        auto close = line.find('`', 3);
        auto key = line.substr(3, close - 3);
        for (auto& section : sections)
          result.insert(section == "/" ? "/" + key : section + "/" + key);
      }
    }
  }
  return result;
}

std::set<std::string> accepted_keys() {
  std::vector<std::string> sink;
  schema_sink() = &sink;
  auto full = read_file(BULWARK_SOURCE_DIR "/docs/examples/full.json");
  auto result = parse_bulwark_config(full);
  schema_sink() = nullptr;
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  std::set<std::string> keys;
  for (auto& p : sink)
    keys.insert(normalize(p));
  return keys;
}

} // namespace

TEST_CASE("every configuration key the parser accepts is documented",
          "[runtime][config][docs]") {
  auto documented = documented_keys();
  for (auto& key : accepted_keys()) {
    INFO("undocumented key: " << key);
    CHECK(documented.count(key) == 1);
  }
}

TEST_CASE("every documented configuration key is accepted by the parser",
          "[runtime][config][docs]") {
  auto accepted = accepted_keys();
  for (auto& key : documented_keys()) {
    INFO("documented but not accepted: " << key);
    CHECK(accepted.count(key) == 1);
  }
}

TEST_CASE("the complete example configuration is valid",
          "[runtime][config][docs]") {
  auto result = parse_bulwark_config(
    read_file(BULWARK_SOURCE_DIR "/docs/examples/full.json"));
  INFO(result.errors.to_string());
  CHECK(result.ok());
}
