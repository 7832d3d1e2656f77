#include "bulwark/runtime/breaker/breaker_state.hpp"

namespace bulwark {

std::string to_string(breaker_state x) {
  switch (x) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
    case breaker_state::forced_open:
      return "forced_open";
    case breaker_state::disabled:
      return "disabled";
  }
  return "invalid";
}

} // namespace bulwark
