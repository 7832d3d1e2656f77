#include "bulwark/runtime/saga/saga_record.hpp"

namespace bulwark {

std::string to_string(saga_record_kind x) {
  switch (x) {
    case saga_record_kind::started:
      return "started";
    case saga_record_kind::step_started:
      return "step_started";
    case saga_record_kind::step_result:
      return "step_result";
    case saga_record_kind::compensation_started:
      return "compensation_started";
    case saga_record_kind::compensation_result:
      return "compensation_result";
    case saga_record_kind::finished:
      return "finished";
  }
  return "invalid";
}

bool from_string(std::string_view str, saga_record_kind& x) {
  for (auto v :
       {saga_record_kind::started, saga_record_kind::step_started,
        saga_record_kind::step_result, saga_record_kind::compensation_started,
        saga_record_kind::compensation_result, saga_record_kind::finished})
    if (to_string(v) == str) {
      x = v;
      return true;
    }
  return false;
}

bool operator==(const saga_record& a, const saga_record& b) {
  return a.kind == b.kind && a.step == b.step && a.attempt == b.attempt
         && a.verdict == b.verdict && a.data == b.data
         && a.outcome == b.outcome;
}

} // namespace bulwark
