// Reads one JSON object of a configuration document into a `*_config` struct.
// Every parse function follows one pattern: construct a reader with the keys it
// accepts (anything else is an "unknown key" error), then `read` each key into
// a field that already holds its default. A missing key keeps the default; a
// bad value records an error naming its JSON Pointer and the value, and keeps
// the default, so parsing always finishes and reports every problem at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// A short rendering of a JSON value for messages ("got: ..."), cut at 60
/// characters.
std::string describe_json(const boost::json::value& v);

/// Collects the JSON Pointer of every key any reader accepts while it is set;
/// used by the test that keeps docs/configuration.md complete.
std::vector<std::string>*& schema_sink() noexcept;

class object_reader {
 public:
  object_reader(const boost::json::value& v, json_path at, error_list& errors,
                std::initializer_list<std::string_view> known_keys);

  /// False when the value is not an object (an error was recorded then).
  bool valid() const noexcept {
    return obj_ != nullptr;
  }

  /// The member, or nullptr when absent (or the value is not an object).
  const boost::json::value* find(std::string_view key) const;

  json_path path(std::string_view key) const {
    return at_ / key;
  }
  const json_path& path() const noexcept {
    return at_;
  }
  error_list& errors() noexcept {
    return errors_;
  }

  /// Records "is required" when the key is absent. Returns whether present.
  bool require(std::string_view key);

  void read(std::string_view key, bool& out);
  void read(std::string_view key, std::string& out, bool allow_empty = false);
  /// A string that becomes a key or an id
  /// (bulwark/runtime/core/idempotency_key.hpp): 1..max_bytes visible ASCII. A
  /// NUL, a control, a space or a non-ASCII byte is an error naming its
  /// position; the value is never quoted.
  void read_key(std::string_view key, std::string& out, std::size_t max_bytes);
  void read(std::string_view key, std::int64_t& out, std::int64_t min,
            std::int64_t max);
  void read(std::string_view key, std::uint32_t& out, std::uint32_t min,
            std::uint32_t max);
  void read(std::string_view key, double& out, double min, double max);
  void read(std::string_view key, duration& out, duration min, duration max);
  void read(std::string_view key, failure_class_set& out);

  /// Percentages are numbers in [0, 100]; `out` receives the fraction (0..1).
  void read_percent(std::string_view key, double& out);

  /// Enums are strings matched against `to_string` of each candidate.
  template <class Enum>
  void read_enum(std::string_view key, Enum& out,
                 std::initializer_list<Enum> candidates) {
    auto* v = find(key);
    if (v == nullptr)
      return;
    if (v->is_string()) {
      std::string_view str = v->get_string();
      for (auto candidate : candidates) {
        if (to_string(candidate) == str) {
          out = candidate;
          return;
        }
      }
    }
    std::string names;
    for (auto candidate : candidates) {
      if (!names.empty())
        names += ", ";
      names += '"' + to_string(candidate) + '"';
    }
    errors_.add(path(key), fmt::format("must be one of {} (got: {})", names,
                                       describe_json(*v)));
  }

 private:
  const boost::json::object* obj_ = nullptr;
  json_path at_;
  error_list& errors_;
};

/// Parses a JSON text with Boost.JSON's strict parser (UTF-8 validated, depth
/// limited). On failure records a document error with line and column and
/// returns null.
boost::json::value parse_json_text(std::string_view text, error_list& errors);

} // namespace bulwark
