// What repeating an operation does. `idempotent`: safe to repeat. `keyed`: not
// idempotent, but the downstream deduplicates by the request's idempotency key.
// `unsafe`: never hedged, and retried only when the failure proves the attempt
// never executed. Configuration that hedges an `unsafe` operation is rejected.
#pragma once

#include <cstdint>
#include <string>

namespace bulwark {

enum class idempotency : std::uint8_t { idempotent, keyed, unsafe };

/// @relates idempotency
inline std::string to_string(idempotency x) {
  switch (x) {
    case idempotency::idempotent:
      return "idempotent";
    case idempotency::keyed:
      return "keyed";
    case idempotency::unsafe:
      return "unsafe";
  }
  return "invalid";
}

/// Whether a speculative duplicate (a hedge) may be sent at all.
constexpr bool may_hedge(idempotency x) noexcept {
  return x != idempotency::unsafe;
}

/// Whether a failed attempt may be repeated, given whether the failure proves
/// that the attempt never executed downstream.
constexpr bool may_repeat(idempotency x, bool never_executed) noexcept {
  return x != idempotency::unsafe || never_executed;
}

} // namespace bulwark
