#include "bulwark/actors/storage/json_bytes.hpp"

#include "bulwark/runtime/core/utf8.hpp"

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace bulwark {

namespace json = boost::json;

namespace {

constexpr char alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  auto rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = p[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0)
    return false;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=')
      pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int s = 0;
      if (k >= 4 - static_cast<std::size_t>(pad)) {
        if (text[i + k] != '=')
          return false;
      } else if ((s = sextet(text[i + k])) < 0) {
        return false;
      }
      v = (v << 6) | static_cast<std::uint32_t>(s);
    }
    out += static_cast<char>((v >> 16) & 0xFF);
    if (pad == 2) {
      if ((v & 0xFFFF) != 0)
        return false;
      break;
    }
    out += static_cast<char>((v >> 8) & 0xFF);
    if (pad == 1) {
      if ((v & 0xFF) != 0)
        return false;
      break;
    }
    out += static_cast<char>(v & 0xFF);
  }
  return true;
}

json::value bytes_to_json(std::string_view bytes) {
  if (is_valid_utf8(bytes))
    return json::string{bytes};
  return json::object{{"base64", base64_encode(bytes)}};
}

bool bytes_from_json(const json::value& v, std::string& out,
                     std::string& error) {
  if (auto* s = v.if_string()) {
    out.assign(s->data(), s->size());
    return true;
  }
  auto* o = v.if_object();
  if (o == nullptr || o->size() != 1 || !o->contains("base64")) {
    error = "not a string or {\"base64\": ...}";
    return false;
  }
  auto* b = o->at("base64").if_string();
  if (b == nullptr
      || !base64_decode(std::string_view{b->data(), b->size()}, out)) {
    error = "\"base64\" is not padded standard base64";
    return false;
  }
  return true;
}

} // namespace bulwark
