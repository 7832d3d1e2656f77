#include "bulwark/actors/protocol/service_messages.hpp"

#include <boost/beast/core/string.hpp>

namespace bulwark {

const std::string* service_request::header(std::string_view name) const {
  for (auto& [key, value] : headers)
    if (boost::beast::iequals(key, name))
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
