// A location inside a JSON document as an RFC 6901 JSON Pointer
// ("/dependencies/payments/retry/max_attempts"). Config errors name it so a
// user can find the bad value, and `boost::json::value::at_pointer` accepts it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bulwark {

class json_path {
 public:
  json_path() = default;

  /// A child object member; escapes `~` and `/` as RFC 6901 requires.
  json_path operator/(std::string_view key) const;

  /// A child array element.
  json_path operator/(std::size_t index) const;

  /// The pointer text; empty for the document root.
  const std::string& str() const noexcept {
    return pointer_;
  }

  /// The pointer text for messages: "(root)" for the document root.
  std::string display() const;

  bool is_root() const noexcept {
    return pointer_.empty();
  }

  friend bool operator==(const json_path& a, const json_path& b) {
    return a.pointer_ == b.pointer_;
  }

 private:
  std::string pointer_;
};

} // namespace bulwark
