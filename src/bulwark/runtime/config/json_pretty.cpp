#include "bulwark/runtime/config/json_pretty.hpp"

#include <cmath>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace bulwark {

namespace {

void write(std::string& out, const boost::json::value& v, int indent) {
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  if (auto* obj = v.if_object()) {
    if (obj->empty()) {
      out += "{}";
      return;
    }
    out += '{';
    bool first = true;
    for (auto& member : *obj) {
      if (!first)
        out += ',';
      first = false;
      newline(indent + 1);
      out += boost::json::serialize(boost::json::string(member.key()));
      out += ": ";
      write(out, member.value(), indent + 1);
    }
    newline(indent);
    out += '}';
  } else if (auto* arr = v.if_array()) {
    if (arr->empty()) {
      out += "[]";
      return;
    }
    out += '[';
    bool first = true;
    for (auto& item : *arr) {
      if (!first)
        out += ',';
      first = false;
      newline(indent + 1);
      write(out, item, indent + 1);
    }
    newline(indent);
    out += ']';
  } else if (auto* d = v.if_double(); d != nullptr && std::isfinite(*d)) {
    // Shortest round-trip form ("0.1", "2") rather than Boost's "1E-1".
    out += fmt::format("{}", *d);
  } else {
    out += boost::json::serialize(v);
  }
}

} // namespace

std::string pretty_json(const boost::json::value& v) {
  std::string out;
  write(out, v, 0);
  out += '\n';
  return out;
}

} // namespace bulwark
