#include "bulwark/runtime/load/request_template.hpp"

#include <iterator>

#include <fmt/format.h>

namespace bulwark {

std::string to_string(template_placeholder x) {
  switch (x) {
    case template_placeholder::seq:
      return "seq";
    case template_placeholder::uuid:
      return "uuid";
    case template_placeholder::run:
      return "run";
  }
  return "invalid";
}

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}

} // namespace

std::optional<request_template> request_template::parse(std::string_view text,
                                                        std::string& error) {
  if (text.size() > max_bytes) {
    error = fmt::format("template is {} bytes, more than the limit of {}",
                        text.size(), max_bytes);
    return std::nullopt;
  }
  request_template result;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      auto j = i + 1;
      while (j < text.size() && j - i <= 16 && is_word_char(text[j]))
        ++j;
      if (j > i + 1 && j < text.size() && text[j] == '}') {
        auto word = text.substr(i + 1, j - i - 1);
        bool known = false;
        for (auto p : {template_placeholder::seq, template_placeholder::uuid,
                       template_placeholder::run}) {
          if (to_string(p) == word) {
            if (!literal.empty())
              result.parts_.push_back(part{false, p, std::move(literal)});
            literal.clear();
            result.parts_.push_back(part{true, p, {}});
            known = true;
            break;
          }
        }
        if (!known) {
          // `word` is lowercase letters and '_' only: safe to quote.
          error = fmt::format("unknown placeholder {{{}}} at byte {} (known: "
                              "{{seq}}, {{uuid}}, {{run}})",
                              word, i);
          return std::nullopt;
        }
        i = j + 1;
        continue;
      }
    }
    literal += text[i];
    ++i;
  }
  if (!literal.empty())
    result.parts_.push_back(
      part{false, template_placeholder::seq, std::move(literal)});
  return result;
}

void append_uuid(std::string& out, rng& gen) {
  auto hi = gen();
  auto lo = gen();
  // Version 4 (random) and the RFC 4122 variant.
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  fmt::format_to(std::back_inserter(out), "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                 hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                 lo & 0xFFFFFFFFFFFFULL);
}

std::string format_uuid(rng& gen) {
  std::string out;
  append_uuid(out, gen);
  return out;
}

void request_template::expand_into(std::string& out, std::uint64_t seq,
                                   rng& gen, std::string_view run_id) const {
  for (auto& p : parts_) {
    if (!p.placeholder) {
      out += p.text;
      continue;
    }
    switch (p.which) {
      case template_placeholder::seq:
        fmt::format_to(std::back_inserter(out), "{}", seq);
        break;
      case template_placeholder::uuid:
        append_uuid(out, gen);
        break;
      case template_placeholder::run:
        out += run_id;
        break;
    }
  }
}

bool request_template::uses(template_placeholder x) const noexcept {
  for (auto& p : parts_)
    if (p.placeholder && p.which == x)
      return true;
  return false;
}

std::vector<std::string_view> request_template::literals() const {
  std::vector<std::string_view> out;
  for (auto& p : parts_)
    if (!p.placeholder)
      out.emplace_back(p.text);
  return out;
}

} // namespace bulwark
