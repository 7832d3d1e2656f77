#include "bulwark/runtime/core/idempotency_key.hpp"

#include <fmt/format.h>

namespace bulwark {

std::optional<std::string> key_problem(std::string_view key,
                                       std::size_t max_bytes) {
  if (key.size() > max_bytes)
    return fmt::format("longer than {} bytes (got {} bytes)", max_bytes,
                       key.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (is_key_char(key[i]))
      continue;
    const char* what = c == 0                  ? "a NUL"
                       : c == '\r'             ? "a CR"
                       : c == '\n'             ? "a LF"
                       : c == ' '              ? "a space"
                       : c < 0x20 || c == 0x7F ? "a control character"
                                               : "a non-ASCII byte";
    return fmt::format("contains {} (0x{:02X}) at byte {}; allowed: visible "
                       "ASCII 0x21-0x7E",
                       what, static_cast<unsigned>(c), i);
  }
  return std::nullopt;
}

} // namespace bulwark
