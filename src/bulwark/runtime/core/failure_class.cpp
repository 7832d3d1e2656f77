#include "bulwark/runtime/core/failure_class.hpp"

namespace bulwark {

std::string to_string(failure_class x) {
  switch (x) {
    case failure_class::transient:
      return "transient";
    case failure_class::timeout:
      return "timeout";
    case failure_class::overloaded:
      return "overloaded";
    case failure_class::persistent:
      return "persistent";
    case failure_class::rejected_locally:
      return "rejected_locally";
    case failure_class::deadline_exceeded:
      return "deadline_exceeded";
    case failure_class::cancelled:
      return "cancelled";
  }
  return "invalid";
}

bool from_string(std::string_view str, failure_class& x) {
  for (auto candidate : all_failure_classes) {
    if (to_string(candidate) == str) {
      x = candidate;
      return true;
    }
  }
  return false;
}

} // namespace bulwark
