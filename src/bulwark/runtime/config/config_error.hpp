// One problem found in a configuration document: where (JSON Pointer) and what.
// Parsers collect every error rather than stopping at the first, so a user sees
// the whole list at once; `error_list` caps its size so a huge bad document
// cannot produce an unbounded report.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bulwark/runtime/config/json_path.hpp"

namespace bulwark {

struct config_error {
  /// JSON Pointer, made safe to quote (json_path::display); empty for the
  /// whole document.
  std::string path;
  std::string message; // e.g. "must be between 1 and 10 (got: 0)"

  /// "PATH: message", with "(root)" or "(document)" for an empty path.
  std::string to_string() const;

  friend bool operator==(const config_error& a, const config_error& b) {
    return a.path == b.path && a.message == b.message;
  }
};

class error_list {
 public:
  /// More errors than this are counted but not stored.
  static constexpr std::size_t max_stored = 200;

  void add(const json_path& at, std::string message);

  /// An error about the document as a whole (unreadable, not JSON, ...).
  void add_document(std::string message);

  bool empty() const noexcept {
    return total_ == 0;
  }
  std::size_t size() const noexcept {
    return total_;
  }
  const std::vector<config_error>& errors() const noexcept {
    return errors_;
  }

  /// Number of errors found but not stored.
  std::size_t dropped() const noexcept {
    return total_ - errors_.size();
  }

  /// Every stored error as "PATH: message", plus "... and N more errors"
  /// when some were dropped: the list that replies and HTTP bodies carry.
  std::vector<std::string> lines() const;

  /// `lines()`, one per line (each ends with a line feed).
  std::string to_string() const;

  /// "... and N more errors": the one place that text is written.
  static std::string dropped_line(std::size_t n);

 private:
  std::vector<config_error> errors_;
  std::size_t total_ = 0;
};

} // namespace bulwark
