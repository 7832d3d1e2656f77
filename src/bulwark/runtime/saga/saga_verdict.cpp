#include "bulwark/runtime/saga/saga_verdict.hpp"

namespace bulwark {

std::string to_string(saga_verdict x) {
  switch (x) {
    case saga_verdict::done:
      return "done";
    case saga_verdict::not_executed:
      return "not_executed";
    case saga_verdict::unknown:
      return "unknown";
  }
  return "invalid";
}

bool from_string(std::string_view str, saga_verdict& x) {
  for (auto v :
       {saga_verdict::done, saga_verdict::not_executed, saga_verdict::unknown})
    if (to_string(v) == str) {
      x = v;
      return true;
    }
  return false;
}

} // namespace bulwark
