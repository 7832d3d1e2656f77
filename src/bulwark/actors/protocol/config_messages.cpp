#include "bulwark/actors/protocol/config_messages.hpp"

#include <boost/json/serialize.hpp>

#include <caf/sec.hpp>

namespace bulwark {

parsed_config_update parse_config_update(std::string_view json_text) {
  parsed_config_update result;
  auto parsed = parse_bulwark_config(json_text);
  if (!parsed.ok()) {
    result.errors = parsed.errors.lines();
    return result;
  }
  result.update.config =
    std::make_shared<const bulwark_config>(std::move(*parsed.config));
  return result;
}

namespace detail {

std::string config_update_text(const config_update& x) {
  if (x.config == nullptr)
    return {};
  return boost::json::serialize(to_json(*x.config));
}

caf::error load_config_update(const std::string& text, config_update& x) {
  if (text.empty()) {
    x.config = nullptr;
    return caf::none;
  }
  auto parsed = parse_config_update(text);
  if (!parsed.ok())
    return caf::make_error(caf::sec::invalid_argument);
  x = std::move(parsed.update);
  return caf::none;
}

} // namespace detail

} // namespace bulwark
