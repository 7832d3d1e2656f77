// What an idempotency key (or any id that becomes one) may contain. A key
// travels in an HTTP header (`Idempotency-Key`), is stored in ledgers and
// journals as JSON and appears in log lines, so one rule holds everywhere:
// 1 to `max_key_bytes` visible ASCII characters (0x21..0x7E). Spaces, control
// characters (CR, LF and NUL included) and bytes above 0x7E are refused:
// a CR LF would inject a header downstream, a NUL truncates in C APIs and
// merges two keys, and non-ASCII bytes are not valid JSON on their own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

/// The longest key accepted (Stripe's bound, more than any UUID-based key).
inline constexpr std::size_t max_key_bytes = 255;

/// True for the bytes a key may contain: visible ASCII, 0x21..0x7E.
constexpr bool is_key_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E;
}

/// Why `key` is not a valid key (empty keys count as valid: "no key"), or
/// nullopt. Never quotes the key itself: it describes the offending byte by
/// position and value, so the text is safe in a header, a JSON body or a log
/// line. `max_bytes` lets a caller ask for a shorter bound (an order id that
/// gets suffixes, say).
std::optional<std::string> key_problem(std::string_view key,
                                       std::size_t max_bytes = max_key_bytes);

} // namespace bulwark
