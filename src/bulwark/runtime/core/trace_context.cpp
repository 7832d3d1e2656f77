#include "bulwark/runtime/core/trace_context.hpp"

#include <fmt/format.h>

#include <array>
#include <tuple>

namespace bulwark {

namespace {

// -1 for anything but a lowercase hex digit (the spec refuses uppercase).
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

// Reads `n` (<= 16) lowercase hex digits of `text` from `pos`.
bool read_hex(std::string_view text, std::size_t pos, std::size_t n,
              std::uint64_t& out) noexcept {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto v = hex_value(text[pos + i]);
    if (v < 0)
      return false;
    x = (x << 4) | static_cast<std::uint64_t>(v);
  }
  out = x;
  return true;
}

std::string bad_hex(std::string_view field, std::size_t pos, std::size_t n) {
  return fmt::format("{} (bytes {}-{}) is not {} lowercase hex digits", field,
                     pos, pos + n - 1, n);
}

bool is_lcalpha(char c) noexcept {
  return c >= 'a' && c <= 'z';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_key_tail(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*'
         || c == '/';
}

// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
bool is_value_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ',' && c != '=';
}

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

// key = simple-key / tenant-id "@" system-id (see the spec's ABNF).
std::optional<std::string> key_problem_at(std::string_view key,
                                          std::size_t at) {
  auto fail = [&](std::string_view what) {
    return fmt::format("tracestate key at byte {} {}", at, what);
  };
  auto tail_ok = [](std::string_view s) {
    for (auto c : s)
      if (!is_key_tail(c))
        return false;
    return true;
  };
  if (key.empty())
    return fail("is empty");
  auto atpos = key.find('@');
  if (atpos == std::string_view::npos) {
    if (key.size() > 256)
      return fail("is longer than 256 bytes");
    if (!is_lcalpha(key[0]) || !tail_ok(key.substr(1)))
      return fail("is not a lowercase letter followed by [a-z0-9_*/-]");
    return std::nullopt;
  }
  auto tenant = key.substr(0, atpos);
  auto system = key.substr(atpos + 1);
  if (tenant.empty() || tenant.size() > 241
      || !(is_lcalpha(tenant[0]) || is_digit(tenant[0]))
      || !tail_ok(tenant.substr(1)))
    return fail("has a bad tenant id (1-241 bytes of [a-z0-9_*/-], starting "
                "with a letter or digit)");
  if (system.empty() || system.size() > 14 || !is_lcalpha(system[0])
      || !tail_ok(system.substr(1)))
    return fail("has a bad system id (1-14 bytes of [a-z0-9_*/-], starting "
                "with a letter)");
  return std::nullopt;
}

// value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr
std::optional<std::string> value_problem_at(std::string_view value,
                                            std::size_t at) {
  if (value.empty() || value.size() > 256)
    return fmt::format("tracestate value at byte {} is not 1-256 bytes", at);
  for (std::size_t i = 0; i < value.size(); ++i)
    if (!(is_value_char(value[i]) || (value[i] == ' ' && i + 1 < value.size())))
      return fmt::format(
        "tracestate value has a forbidden byte (0x{:02X}) at "
        "byte {}",
        static_cast<unsigned>(static_cast<unsigned char>(value[i])), at + i);
  return std::nullopt;
}

void append_hex(std::string& out, std::uint64_t x, int digits) {
  static constexpr char digit[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i)
    out.push_back(digit[(x >> (4 * i)) & 0xF]);
}

} // namespace

bool operator==(const trace_context& x, const trace_context& y) {
  return std::tie(x.trace.hi, x.trace.lo, x.parent_id, x.flags, x.tracestate)
         == std::tie(y.trace.hi, y.trace.lo, y.parent_id, y.flags,
                     y.tracestate);
}

std::optional<std::string> parse_traceparent(std::string_view text,
                                             trace_context& out) {
  if (text.size() < traceparent_size)
    return fmt::format("traceparent is {} bytes (expected {})", text.size(),
                       traceparent_size);
  std::uint64_t version = 0;
  if (!read_hex(text, 0, 2, version))
    return bad_hex("traceparent version", 0, 2);
  if (version == 0xff)
    return std::string{"traceparent version ff is invalid"};
  if (version == 0 && text.size() != traceparent_size)
    return fmt::format("traceparent version 00 is {} bytes (expected {})",
                       text.size(), traceparent_size);
  // A later version: the version-00 fields first, then the end or a '-'.
  if (version != 0 && text.size() > traceparent_size
      && text[traceparent_size] != '-')
    return fmt::format("traceparent byte {} is not '-' after the flags",
                       traceparent_size);
  for (std::size_t dash : {std::size_t{2}, std::size_t{35}, std::size_t{52}})
    if (text[dash] != '-')
      return fmt::format("traceparent byte {} is not '-'", dash);
  trace_id trace;
  if (!read_hex(text, 3, 16, trace.hi) || !read_hex(text, 19, 16, trace.lo))
    return bad_hex("traceparent trace-id", 3, 32);
  if (trace.empty())
    return std::string{"traceparent trace-id is all zeros"};
  std::uint64_t parent = 0;
  if (!read_hex(text, 36, 16, parent))
    return bad_hex("traceparent parent-id", 36, 16);
  if (parent == 0)
    return std::string{"traceparent parent-id is all zeros"};
  std::uint64_t flags = 0;
  if (!read_hex(text, 53, 2, flags))
    return bad_hex("traceparent trace-flags", 53, 2);
  if (version != 0)
    flags &= trace_flag_sampled;
  out.trace = trace;
  out.parent_id = parent;
  out.flags = static_cast<std::uint8_t>(flags);
  return std::nullopt;
}

std::optional<std::string> parse_tracestate(std::string_view text,
                                            std::string& out) {
  if (text.size() > max_tracestate_bytes)
    return fmt::format("tracestate is {} bytes (at most {})", text.size(),
                       max_tracestate_bytes);
  std::array<std::string_view, max_tracestate_members> keys;
  std::size_t members = 0;
  std::string result;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto b = pos;
    auto e = end;
    while (b < e && is_ows(text[b]))
      ++b;
    while (e > b && is_ows(text[e - 1]))
      --e;
    if (b < e) { // an empty member (only whitespace) is allowed and dropped
      auto member = text.substr(b, e - b);
      auto eq = member.find('=');
      if (eq == std::string_view::npos)
        return fmt::format("tracestate member at byte {} has no '='", b);
      auto key = member.substr(0, eq);
      if (auto p = key_problem_at(key, b))
        return p;
      if (auto p = value_problem_at(member.substr(eq + 1), b + eq + 1))
        return p;
      if (members == max_tracestate_members)
        return fmt::format("tracestate has more than {} members",
                           max_tracestate_members);
      for (std::size_t i = 0; i < members; ++i)
        if (keys[i] == key)
          return fmt::format("tracestate key at byte {} is a duplicate", b);
      keys[members++] = key;
      if (!result.empty())
        result.push_back(',');
      result.append(member);
    }
    pos = end + 1;
  }
  out = std::move(result);
  return std::nullopt;
}

std::string format_traceparent(const trace_context& ctx,
                               std::uint64_t span_id) {
  std::string out;
  out.reserve(traceparent_size);
  out.append("00-");
  append_hex(out, ctx.trace.hi, 16);
  append_hex(out, ctx.trace.lo, 16);
  out.push_back('-');
  append_hex(out, span_id, 16);
  out.push_back('-');
  append_hex(out, ctx.flags, 2);
  return out;
}

std::string to_string(trace_id x) {
  std::string out;
  out.reserve(32);
  append_hex(out, x.hi, 16);
  append_hex(out, x.lo, 16);
  return out;
}

std::string span_id_to_string(std::uint64_t span_id) {
  std::string out;
  out.reserve(16);
  append_hex(out, span_id, 16);
  return out;
}

std::optional<std::string> parse_trace_id(std::string_view text,
                                          trace_id& out) {
  if (text.size() != 32)
    return fmt::format("trace id is {} bytes (expected 32 lowercase hex "
                       "digits)",
                       text.size());
  trace_id x;
  if (!read_hex(text, 0, 16, x.hi) || !read_hex(text, 16, 16, x.lo))
    return std::string{"trace id is not 32 lowercase hex digits"};
  if (x.empty())
    return std::string{"trace id is all zeros"};
  out = x;
  return std::nullopt;
}

std::uint64_t new_span_id(rng& gen) noexcept {
  for (;;)
    if (auto x = gen())
      return x;
}

std::uint64_t child_span_id(std::uint64_t span, std::uint32_t n) noexcept {
  // splitmix64's finalizer: a bijection, so distinct inputs stay distinct.
  auto z = span + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(n) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z != 0 ? z : 1;
}

trace_id new_trace_id(rng& gen) noexcept {
  for (;;) {
    trace_id x{gen(), gen()};
    if (!x.empty())
      return x;
  }
}

} // namespace bulwark
