#include "actors/protocol/service_messages.hpp"

#include <cctype>

namespace bulwark {

namespace {

bool iequals(std::string_view x, std::string_view y) {
  if (x.size() != y.size())
    return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto a = static_cast<unsigned char>(x[i]);
    auto b = static_cast<unsigned char>(y[i]);
    if (std::tolower(a) != std::tolower(b))
      return false;
  }
  return true;
}

} // namespace

const std::string* service_request::header(std::string_view name) const {
  for (auto& [key, value] : headers)
    if (iequals(key, name))
      return &value;
  return nullptr;
}

bool operator==(const service_response& x, const service_response& y) {
  return x.status == y.status && x.content_type == y.content_type
         && x.body == y.body && x.headers == y.headers
         && x.retry_after == y.retry_after && x.do_not_retry == y.do_not_retry
         && x.not_executed == y.not_executed;
}

} // namespace bulwark
