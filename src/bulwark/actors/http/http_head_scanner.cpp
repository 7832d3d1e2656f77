#include "bulwark/actors/http/http_head_scanner.hpp"

#include <boost/asio/ip/address_v6.hpp>
#include <boost/beast/core/string.hpp>

#include <cstring>
#include <utility>

namespace bulwark {

namespace {

namespace bhttp = boost::beast::http;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9'))
    return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  if (s.empty())
    return false;
  for (auto c : s)
    if (!is_tchar(c))
      return false;
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

using boost::beast::iequals; // ASCII only, like RFC 9110's field names

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

/// A header name for a message: a token (validated before), cut to 64.
std::string quoted_name(std::string_view name) {
  constexpr std::size_t max = 64;
  if (name.size() <= max)
    return std::string{name};
  return std::string{name.substr(0, max)} + "...";
}

// RFC 3986: unreserved / sub-delims (pct-encoded is checked separately).
bool is_reg_name_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
    return true;
  return c != '\0' && std::strchr("-._~!$&'()*+,;=", c) != nullptr;
}

bool valid_port(std::string_view port) {
  if (port.size() > 5)
    return false;
  unsigned value = 0;
  for (auto c : port) {
    if (!is_digit(c))
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

bool valid_reg_name(std::string_view host) {
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (host[i] == '%') {
      if (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2]))
        return false;
      i += 2;
    } else if (!is_reg_name_char(host[i])) {
      return false;
    }
  }
  return true;
}

bool valid_ipv6(std::string_view inner) {
  // Hex digits, colons and dots only: no zone id (`%`), no IPvFuture.
  if (inner.empty() || inner.size() > 45)
    return false;
  for (auto c : inner)
    if (!is_hex(c) && c != ':' && c != '.')
      return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address_v6(std::string{inner}, ec);
  return !ec;
}

} // namespace

std::string_view to_string(http_section section) {
  switch (section) {
    case http_section::request_head:
      return "request_head";
    case http_section::trailer:
      return "trailer";
  }
  return "unknown";
}

std::string_view to_string(http_scan_state state) {
  switch (state) {
    case http_scan_state::need_more:
      return "need_more";
    case http_scan_state::complete:
      return "complete";
    case http_scan_state::rejected:
      return "rejected";
  }
  return "unknown";
}

bool valid_http_authority(std::string_view authority, bool allow_empty_host) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos
        || !valid_ipv6(authority.substr(1, close - 1)))
      return false;
    auto rest = authority.substr(close + 1);
    if (rest.empty())
      return true;
    return rest.front() == ':' && valid_port(rest.substr(1));
  }
  auto colon = authority.find(':');
  auto host = authority.substr(0, colon);
  if (host.empty() && !allow_empty_host)
    return false;
  if (!valid_reg_name(host))
    return false;
  return colon == std::string_view::npos
         || valid_port(authority.substr(colon + 1));
}

http_head_scanner::http_head_scanner(http_section section,
                                     http_head_limits limits)
  : section_(section),
    limits_(limits) {}

void http_head_scanner::reject(bhttp::status st, std::string reason) {
  state_ = http_scan_state::rejected;
  status_ = st;
  reason_ = std::move(reason);
}

void http_head_scanner::reject_malformed(std::string_view what) {
  reject(bhttp::status::bad_request,
         "malformed HTTP request: " + std::string{what});
}

http_scan_state http_head_scanner::scan(std::string_view data) {
  const char* section_name =
    section_ == http_section::trailer ? "trailer section" : "header section";
  while (state_ == http_scan_state::need_more && pos_ < data.size()) {
    auto lf = data.find('\n', pos_);
    if (lf == std::string_view::npos) {
      pos_ = data.size();
      break;
    }
    pos_ = lf + 1;
    if (pos_ > limits_.max_bytes)
      break; // the section is too large whatever the line holds
    auto line = data.substr(line_start_, lf - line_start_);
    line_start_ = pos_;
    if (line.empty() || line.back() != '\r') {
      reject_malformed(std::string{"bare LF (a line not ended by CRLF) in the "}
                       + section_name);
      break;
    }
    line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      reject_malformed(std::string{"bare CR (not followed by LF) in the "}
                       + section_name);
      break;
    }
    on_line(line, pos_);
  }
  if (state_ == http_scan_state::need_more && pos_ > limits_.max_bytes)
    reject(bhttp::status::request_header_fields_too_large,
           std::string{section_name} + " larger than "
             + std::to_string(limits_.max_bytes) + " bytes");
  return state_;
}

bool http_head_scanner::on_line(std::string_view line, std::size_t next) {
  if (section_ == http_section::request_head && !request_line_seen_) {
    if (line.empty()) {
      begin_ = next; // RFC 9112 §2.2: empty lines before a request line
      return true;
    }
    return on_request_line(line);
  }
  if (line.empty()) {
    end_ = next;
    if (section_ == http_section::request_head)
      return finish();
    state_ = http_scan_state::complete;
    return true;
  }
  return on_field(line);
}

bool http_head_scanner::on_request_line(std::string_view line) {
  request_line_seen_ = true;
  for (auto c : line) {
    if (is_control(c)) {
      reject_malformed("control character in the request line");
      return false;
    }
  }
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1
      || sp2 + 1 == line.size()
      || line.find(' ', sp2 + 1) != std::string_view::npos) {
    reject_malformed("the request line must be METHOD SP TARGET SP VERSION");
    return false;
  }
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!is_token(method)) {
    reject_malformed("invalid character in the method");
    return false;
  }
  if (version == "HTTP/1.1") {
    version_ = 11;
  } else if (version == "HTTP/1.0") {
    version_ = 10;
  } else {
    reject_malformed(
      "unsupported HTTP version (expected HTTP/1.0 or HTTP/1.1)");
    return false;
  }
  return on_target(method, target);
}

bool http_head_scanner::on_target(std::string_view method,
                                  std::string_view target) {
  for (auto c : target) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      reject_malformed("the request target has a byte outside ASCII");
      return false;
    }
    if (c == '#') {
      reject_malformed("the request target has a fragment (#)");
      return false;
    }
  }
  if (target.front() == '/')
    return true;
  if (target == "*") {
    if (method == "OPTIONS")
      return true;
    reject_malformed("request target * is only allowed with OPTIONS");
    return false;
  }
  const char* expected = "the request target must be /path, "
                         "http://authority/path or * (with OPTIONS)";
  auto colon = target.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    reject_malformed(expected);
    return false;
  }
  auto scheme = target.substr(0, colon);
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    auto c = scheme[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha
        && (i == 0 || (!is_digit(c) && c != '+' && c != '-' && c != '.'))) {
      reject_malformed(expected);
      return false;
    }
  }
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    reject_malformed("the request target's scheme must be http or https");
    return false;
  }
  auto rest = target.substr(colon + 1);
  if (rest.substr(0, 2) != "//") {
    reject_malformed(expected);
    return false;
  }
  rest.remove_prefix(2);
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) {
    reject_malformed("the request target has userinfo (@)");
    return false;
  }
  if (!valid_http_authority(authority, false)) {
    reject_malformed("invalid authority in the request target");
    return false;
  }
  auto path = rest.substr(authority.size());
  absolute_form_ = true;
  authority_ = std::string{authority};
  origin_target_ = path.empty() || path.front() == '?' ? "/" + std::string{path}
                                                       : std::string{path};
  return true;
}

bool http_head_scanner::on_field(std::string_view line) {
  bool trailer = section_ == http_section::trailer;
  const char* field = trailer ? "trailer field" : "header field";
  if (is_ows(line.front())) {
    reject_malformed(fields_ == 0
                       ? std::string{"whitespace before the first "} + field
                       : std::string{"obsolete line folding (a "} + field
                           + " line starting with whitespace)");
    return false;
  }
  if (++fields_ > limits_.max_fields) {
    reject(bhttp::status::request_header_fields_too_large,
           "more than " + std::to_string(limits_.max_fields) + " "
             + (trailer ? "trailer" : "header") + " fields");
    return false;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    reject_malformed(std::string{field} + " line without a colon");
    return false;
  }
  auto name = line.substr(0, colon);
  if (name.empty()) {
    reject_malformed(std::string{"empty "} + field + " name");
    return false;
  }
  for (auto c : name) {
    if (is_ows(c)) {
      reject_malformed(std::string{"whitespace between a "} + field
                       + " name and its colon");
      return false;
    }
    if (!is_tchar(c)) {
      reject_malformed(std::string{"invalid character in a "} + field
                       + " name");
      return false;
    }
  }
  auto value = trim_ows(line.substr(colon + 1));
  for (auto c : value) {
    if (is_control(c) && c != '\t') {
      reject_malformed("control character in the value of " + std::string{field}
                       + " " + quoted_name(name));
      return false;
    }
  }
  if (trailer)
    return true;
  return on_framing_field(name, value);
}

bool http_head_scanner::on_framing_field(std::string_view name,
                                         std::string_view value) {
  if (iequals(name, "host")) {
    if (++hosts_ > 1) {
      reject_malformed("more than one Host header");
      return false;
    }
    if (!valid_http_authority(value, true)) {
      reject_malformed("invalid Host header (expected host or host:port)");
      return false;
    }
    return true;
  }
  if (iequals(name, "content-length")) {
    if (++content_lengths_ > 1) {
      reject_malformed("more than one Content-Length header");
      return false;
    }
    // One decimal number: no list, no sign, nothing beyond 2^64 - 1.
    bool ok = !value.empty() && value.size() <= 20;
    std::uint64_t n = 0;
    for (auto c : value) {
      if (!ok)
        break;
      auto d = static_cast<std::uint64_t>(c - '0');
      ok = is_digit(c) && n <= (UINT64_MAX - d) / 10;
      n = n * 10 + d;
    }
    if (!ok) {
      reject_malformed("invalid Content-Length (expected one decimal number)");
      return false;
    }
    return true;
  }
  if (iequals(name, "transfer-encoding"))
    return on_transfer_encoding(value);
  return true;
}

bool http_head_scanner::on_transfer_encoding(std::string_view value) {
  transfer_encoding_ = true;
  // A comma-separated list; empty elements are allowed (RFC 9110 §5.6.1).
  while (!value.empty()) {
    auto comma = value.find(',');
    auto element = trim_ows(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{}
                                            : value.substr(comma + 1);
    if (element.empty())
      continue;
    auto semicolon = element.find(';');
    auto coding = trim_ows(element.substr(0, semicolon));
    if (!is_token(coding)) {
      reject_malformed("invalid Transfer-Encoding");
      return false;
    }
    // chunked takes no parameters: "chunked;x=1" is some other coding.
    bool chunked =
      iequals(coding, "chunked") && semicolon == std::string_view::npos;
    last_coding_chunked_ = chunked;
    if (chunked)
      ++chunked_codings_;
    else
      other_coding_ = true;
  }
  return true;
}

bool http_head_scanner::finish() {
  // RFC 9112 §6.1 and §6.3: a body whose length cannot be known for sure is
  // refused and the connection closed (the caller closes after any
  // rejection).
  if (transfer_encoding_) {
    if (version_ < 11) {
      reject_malformed("Transfer-Encoding in an HTTP/1.0 request");
      return false;
    }
    if (content_lengths_ > 0) {
      reject_malformed("both Content-Length and Transfer-Encoding");
      return false;
    }
    if (!last_coding_chunked_) {
      reject_malformed("Transfer-Encoding must end in chunked");
      return false;
    }
    if (chunked_codings_ > 1) {
      reject_malformed("Transfer-Encoding applies chunked more than once");
      return false;
    }
    if (other_coding_) {
      reject(bhttp::status::not_implemented,
             "Transfer-Encoding other than chunked is not supported");
      return false;
    }
  }
  if (version_ >= 11 && hosts_ == 0) {
    reject_malformed("missing Host header");
    return false;
  }
  state_ = http_scan_state::complete;
  return true;
}

} // namespace bulwark
