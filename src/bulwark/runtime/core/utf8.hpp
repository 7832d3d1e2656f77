// UTF-8 checks for text that crosses a trust boundary. Boost.JSON serializes
// the bytes of a string as they are, so a value that is not valid UTF-8 makes
// the whole document invalid JSON; whatever echoes outside input (error
// messages, log lines, stored keys) goes through these first.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bulwark {

/// Length of the valid UTF-8 sequence starting at `s[i]` (1..4), or 0 when
/// the byte there does not start one (overlong forms, surrogates and code
/// points above U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

/// True when `s` is valid UTF-8 as a whole.
bool is_valid_utf8(std::string_view s) noexcept;

/// `s` made safe to quote in a log line, a header or JSON: invalid UTF-8
/// bytes and control characters (CR, LF, NUL, ...) become `\xNN`, so the
/// text stays valid UTF-8 on one line, and the result is cut after at most
/// `max_bytes` bytes of input, never inside a character, with "..." appended
/// when cut.
std::string printable_utf8(std::string_view s, std::size_t max_bytes);

} // namespace bulwark
