#include "bulwark/runtime/config/config_error.hpp"

#include <fmt/format.h>

namespace bulwark {

std::string config_error::to_string() const {
  return fmt::format("{}: {}", path.empty() ? "(document)" : path, message);
}

void error_list::add(const json_path& at, std::string message) {
  ++total_;
  if (errors_.size() < max_stored)
    errors_.push_back(config_error{at.display(), std::move(message)});
}

void error_list::add_document(std::string message) {
  ++total_;
  if (errors_.size() < max_stored)
    errors_.push_back(config_error{std::string{}, std::move(message)});
}

std::string error_list::dropped_line(std::size_t n) {
  return fmt::format("... and {} more errors", n);
}

std::vector<std::string> error_list::lines() const {
  std::vector<std::string> result;
  result.reserve(errors_.size() + 1);
  for (auto& e : errors_)
    result.push_back(e.to_string());
  if (dropped() > 0)
    result.push_back(dropped_line(dropped()));
  return result;
}

std::string error_list::to_string() const {
  std::string result;
  for (auto& line : lines()) {
    result += line;
    result += '\n';
  }
  return result;
}

} // namespace bulwark
