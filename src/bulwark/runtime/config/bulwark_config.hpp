// The whole bulwark configuration document: every dependency with its policies,
// the supervisors that group them, and the optional cluster section (this
// node, its peers and the remote dependencies it calls).
// `parse_bulwark_config` is the single entry point for files, `PUT /config`
// and the `apply config` actor message. It never throws and never half-applies:
// it returns either a complete validated config or the list of every error,
// each naming its JSON Pointer.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/cluster/cluster_config.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/supervise/supervisor_config.hpp"

namespace bulwark {

struct bulwark_config {
  std::vector<dependency_config> dependencies;
  /// Groups of members, validated as a forest: every member exists, belongs
  /// to at most one supervisor, and no supervisor contains itself.
  std::vector<supervisor_config> supervisors;
  /// Present when the document has a `cluster` object. Remote names are
  /// unique across dependencies, supervisors and remotes; every published
  /// name is a dependency or supervisor of the document.
  std::optional<cluster_config> cluster;

  /// The dependency named `name`, or nullptr.
  const dependency_config* find(std::string_view name) const noexcept;

  /// The supervisor named `name`, or nullptr.
  const supervisor_config*
  find_supervisor(std::string_view name) const noexcept;
};

struct config_result {
  std::optional<bulwark_config> config; // set only when there are no errors
  error_list errors;

  bool ok() const noexcept {
    return config.has_value();
  }
};

/// Parses and validates a JSON text (UTF-8 checked, depth limited).
config_result parse_bulwark_config(std::string_view text);

/// Validates an already parsed document.
config_result validate_bulwark_config(const boost::json::value& doc);

/// The document that parses back into `cfg`, every key spelled out.
boost::json::object to_json(const bulwark_config& cfg);

/// One dependency, named "example", with every policy at its default.
bulwark_config default_bulwark_config();

} // namespace bulwark
