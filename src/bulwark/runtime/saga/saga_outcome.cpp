#include "bulwark/runtime/saga/saga_outcome.hpp"

namespace bulwark {

std::string to_string(saga_status x) {
  switch (x) {
    case saga_status::running:
      return "running";
    case saga_status::completed:
      return "completed";
    case saga_status::compensated:
      return "compensated";
    case saga_status::compensation_failed:
      return "compensation_failed";
    case saga_status::stuck:
      return "stuck";
  }
  return "invalid";
}

bool from_string(std::string_view str, saga_status& x) {
  for (auto v :
       {saga_status::running, saga_status::completed, saga_status::compensated,
        saga_status::compensation_failed, saga_status::stuck})
    if (to_string(v) == str) {
      x = v;
      return true;
    }
  return false;
}

bool operator==(const saga_outcome& a, const saga_outcome& b) {
  return a.status == b.status && a.steps == b.steps
         && a.compensations == b.compensations && a.failure == b.failure
         && a.failed_step == b.failed_step
         && a.failed_compensation == b.failed_compensation;
}

} // namespace bulwark
