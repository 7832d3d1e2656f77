// Indented JSON text for people (Boost.JSON 1.81 only prints compactly). Used
// by `bulwark-config defaults`, GET /config and reports.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace bulwark {

/// `v` as JSON with two-space indentation and a trailing newline; object
/// members keep their insertion order.
std::string pretty_json(const boost::json::value& v);

} // namespace bulwark
