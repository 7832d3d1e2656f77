// A configuration document as actors receive it: parsed and validated ONCE
// by whoever received the text (the admin server's `PUT /config`, a test, a
// program; `parse_config_update`), then handed to every actor as one
// immutable shared value, so no actor re-parses a document on a reload. To
// an actor on another node it travels as the document's JSON text
// (`to_json(bulwark_config)`, which parses back into the same config) and is
// parsed once on arrival; a text that does not validate fails to load.
#pragma once

#include "bulwark/runtime/config/bulwark_config.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

/// `(config_atom, config_update)`: apply this whole document.
struct config_update {
  /// Null only in a default-constructed update (actors reject it).
  std::shared_ptr<const bulwark_config> config;
};

/// What `parse_config_update` found.
struct parsed_config_update {
  /// `update.config` is null when the text did not validate.
  config_update update;
  /// Every error ("PATH: message", error_list::lines()), empty when valid.
  std::vector<std::string> errors;

  bool ok() const noexcept {
    return update.config != nullptr;
  }
};

/// Parses and validates `json_text` once: the JSON-text entry point.
parsed_config_update parse_config_update(std::string_view json_text);

namespace detail {

/// The document's JSON text; empty for a null config.
std::string config_update_text(const config_update& x);

/// Parses `text` into `x` (empty text: null config); sec::invalid_argument
/// when the document does not validate.
caf::error load_config_update(const std::string& text, config_update& x);

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_update& x) {
  auto text = detail::config_update_text(x);
  auto load = caf::meta::load_callback(
    [&]() -> caf::error { return detail::load_config_update(text, x); });
  return f(caf::meta::type_name("config_update"), text, load);
}

} // namespace bulwark
