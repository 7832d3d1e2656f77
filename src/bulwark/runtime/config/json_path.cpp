#include "bulwark/runtime/config/json_path.hpp"

#include "bulwark/runtime/core/utf8.hpp"

namespace bulwark {

json_path json_path::operator/(std::string_view key) const {
  json_path result = *this;
  result.pointer_.reserve(pointer_.size() + key.size() + 1);
  result.pointer_ += '/';
  for (char c : key) {
    if (c == '~')
      result.pointer_ += "~0";
    else if (c == '/')
      result.pointer_ += "~1";
    else
      result.pointer_ += c;
  }
  return result;
}

json_path json_path::operator/(std::size_t index) const {
  json_path result = *this;
  result.pointer_ += '/';
  result.pointer_ += std::to_string(index);
  return result;
}

std::string json_path::display() const {
  // Keys come from documents and request bodies: a CR LF or invalid UTF-8 in
  // one must not reach a log line or a JSON error as it is.
  constexpr std::size_t max_len = 200;
  return pointer_.empty() ? std::string{"(root)"}
                          : printable_utf8(pointer_, max_len);
}

} // namespace bulwark
