#include "bulwark/runtime/config/duration_text.hpp"

#include <cstdint>
#include <limits>

namespace bulwark {

std::string to_string(duration_parse_error x) {
  switch (x) {
    case duration_parse_error::none:
      return "none";
    case duration_parse_error::syntax:
      return "syntax";
    case duration_parse_error::negative:
      return "negative";
    case duration_parse_error::too_large:
      return "too_large";
  }
  return "invalid";
}

namespace {

struct unit_info {
  std::string_view suffix;
  std::int64_t nanos;
};

// Longest suffixes first so "ms" is not read as "m" + garbage.
constexpr unit_info units[] = {
  {"ns", 1},
  {"us", 1'000},
  {"ms", 1'000'000},
  {"h", 3'600'000'000'000},
  {"m", 60'000'000'000},
  {"s", 1'000'000'000},
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

duration_parse_error parse_duration(std::string_view text, duration& out) {
  if (!text.empty() && text.front() == '-')
    return duration_parse_error::negative;
  if (!text.empty() && text.front() == '+')
    text.remove_prefix(1);
  const unit_info* unit = nullptr;
  for (auto& u : units) {
    if (text.size() > u.suffix.size()
        && text.substr(text.size() - u.suffix.size()) == u.suffix) {
      unit = &u;
      break;
    }
  }
  if (unit == nullptr)
    return duration_parse_error::syntax;
  auto number = text.substr(0, text.size() - unit->suffix.size());
  auto dot = number.find('.');
  auto int_part = number.substr(0, dot);
  auto frac_part =
    dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  if (int_part.empty() || (dot != std::string_view::npos && frac_part.empty()))
    return duration_parse_error::syntax;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  std::int64_t whole = 0;
  for (char c : int_part) {
    if (!is_digit(c))
      return duration_parse_error::syntax;
    if (whole > (max - (c - '0')) / 10)
      return duration_parse_error::too_large;
    whole = whole * 10 + (c - '0');
  }
  if (whole > max / unit->nanos)
    return duration_parse_error::too_large;
  std::int64_t nanos = whole * unit->nanos;
  // Fraction: digits beyond nanosecond precision must be zero.
  std::int64_t scale = unit->nanos;
  for (char c : frac_part) {
    if (!is_digit(c))
      return duration_parse_error::syntax;
    if (scale % 10 != 0) {
      if (c != '0')
        return duration_parse_error::syntax;
      continue;
    }
    scale /= 10;
    auto add = (c - '0') * scale;
    if (nanos > max - add)
      return duration_parse_error::too_large;
    nanos += add;
  }
  out = duration{nanos};
  return duration_parse_error::none;
}

std::string format_duration(duration d) {
  auto n = d.count();
  if (n == 0)
    return "0s";
  constexpr unit_info by_size[] = {
    {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
    {"ms", 1'000'000},        {"us", 1'000},         {"ns", 1},
  };
  for (auto& u : by_size)
    if (n % u.nanos == 0)
      return std::to_string(n / u.nanos) + std::string{u.suffix};
  return std::to_string(n) + "ns";
}

} // namespace bulwark
