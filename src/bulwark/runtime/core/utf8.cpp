#include "bulwark/runtime/core/utf8.hpp"

#include <fmt/format.h>

namespace bulwark {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  auto at = [&](std::size_t k) -> unsigned {
    return static_cast<unsigned char>(s[k]);
  };
  auto cont = [&](std::size_t k) {
    return k < s.size() && (at(k) & 0xC0) == 0x80;
  };
  auto c = at(i);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    auto c1 = at(i + 1);
    if (c == 0xE0 && c1 < 0xA0) // overlong
      return 0;
    if (c == 0xED && c1 >= 0xA0) // UTF-16 surrogates
      return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    auto c1 = at(i + 1);
    if (c == 0xF0 && c1 < 0x90) // overlong
      return 0;
    if (c == 0xF4 && c1 >= 0x90) // above U+10FFFF
      return 0;
    return 4;
  }
  return 0;
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    auto n = utf8_sequence_length(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

std::string printable_utf8(std::string_view s, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto n = utf8_sequence_length(s, i);
    if (i + (n == 0 ? 1 : n) > max_bytes)
      break;
    auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      out += fmt::format(
        "\\x{:02X}", static_cast<unsigned>(static_cast<unsigned char>(s[i])));
      i += 1;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  if (i < s.size())
    out += "...";
  return out;
}

} // namespace bulwark
