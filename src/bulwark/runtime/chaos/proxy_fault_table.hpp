// The fault proxy's live set of named faults, like Toxiproxy's toxics: the
// control API lists them, adds or replaces one by name, replaces them all,
// or removes one. Every change is validated whole before anything changes:
// a bad document is answered with every error and its JSON Pointer, and the
// table stays as it was. A request gets the fault whose path prefix is the
// longest that matches, a fault for its method before one for any method,
// then the first name in order; a fault's windows count from when it was
// added (a replaced fault restarts them unless its configuration is
// unchanged).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/chaos/proxy_fault.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct named_fault {
  std::string name;
  proxy_fault_config config;
  /// When it took effect; its windows and crash_at count from here.
  time_point added;
};

/// Why `name` cannot name a fault (1 to 64 of A-Z a-z 0-9 . _ -), or
/// nullopt. Never quotes the name.
std::optional<std::string> fault_name_problem(std::string_view name);

class proxy_fault_table {
 public:
  /// Faults a table holds at most.
  static constexpr std::size_t max_faults = 64;

  /// The fault for a request, or nullptr.
  const named_fault* match(std::string_view method,
                           std::string_view path) const noexcept;

  /// Replaces every fault with those of `doc` = {"faults": {name: fault}}.
  /// Returns the errors; the table changed only when there are none.
  error_list replace_all(const boost::json::value& doc, time_point now);

  /// Adds fault `name`, or replaces the fault of that name.
  error_list put(std::string_view name, const boost::json::value& fault,
                 time_point now);

  /// Removes fault `name`; false when there is none.
  bool remove(std::string_view name);

  /// {"faults": {name: fault}}, in name order.
  boost::json::object to_json() const;

  /// The faults, in name order.
  const std::vector<named_fault>& faults() const noexcept {
    return faults_;
  }

 private:
  void sort();

  std::vector<named_fault> faults_;
};

} // namespace bulwark
