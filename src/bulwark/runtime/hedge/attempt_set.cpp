#include "bulwark/runtime/hedge/attempt_set.hpp"

namespace bulwark {

std::string to_string(attempt_status x) {
  switch (x) {
    case attempt_status::outstanding:
      return "outstanding";
    case attempt_status::succeeded:
      return "succeeded";
    case attempt_status::failed:
      return "failed";
    case attempt_status::cancelled:
      return "cancelled";
  }
  return "invalid";
}

std::string to_string(settle_kind x) {
  switch (x) {
    case settle_kind::won:
      return "won";
    case settle_kind::failed:
      return "failed";
    case settle_kind::all_failed:
      return "all_failed";
    case settle_kind::cancelled:
      return "cancelled";
    case settle_kind::late:
      return "late";
    case settle_kind::unknown:
      return "unknown";
  }
  return "invalid";
}

} // namespace bulwark
