// Checks the head of an HTTP/1.1 request (request line and header fields),
// or the trailer section of a chunked body, while its bytes arrive and before
// Beast parses it. Beast 1.81 compares its header limit with the bytes it has
// not consumed yet, so a flood of tiny fields never reaches it, and it
// accepts things RFC 9112 tells a server to refuse; this scanner is where the
// server enforces the rules instead: the whole section and the number of
// fields are bounded (431), every line ends in CRLF (no bare CR or LF), no
// whitespace before the first field and no obs-fold, no control character
// in a value, one request line of METHOD SP TARGET SP HTTP/1.0|1.1, a target
// that is origin-form, absolute-form (http/https, handed on as origin-form)
// or `*` for OPTIONS, exactly one valid Host in HTTP/1.1 (at most one in
// 1.0), one plain Content-Length, and a Transfer-Encoding that ends in
// chunked, never next to Content-Length or in HTTP/1.0 (400), and has no
// other coding (501). It is pure code (no I/O, no clock): the server feeds it
// what it has read and acts on the verdict.
#pragma once

#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark {

/// Which section a scanner checks.
enum class http_section {
  request_head, // empty lines, request line, header fields, empty line
  trailer, // trailer fields after a chunked body's last chunk, empty line
};

std::string_view to_string(http_section section);

enum class http_scan_state {
  need_more, // nothing wrong so far; the section is not complete
  complete, // the section ends at end()
  rejected, // answer status() with reason() and close
};

std::string_view to_string(http_scan_state state);

/// How large a section may be.
struct http_head_limits {
  /// Bytes of the whole section: request line (and empty lines before it),
  /// fields and the final empty line. A longer single line is refused too.
  std::size_t max_bytes = 8 * 1024;
  /// Field lines.
  std::size_t max_fields = 100;
};

class http_head_scanner {
 public:
  http_head_scanner(http_section section, http_head_limits limits);

  /// Scans `data`: every byte of the section received so far, from its
  /// first one. Each call's `data` extends the previous call's (it may live
  /// elsewhere in memory); bytes already scanned are not scanned again. Once
  /// complete or rejected, returns that state without looking at `data`.
  http_scan_state scan(std::string_view data);

  http_scan_state state() const noexcept {
    return state_;
  }

  /// Offset of the request line: empty lines before it are skipped (RFC
  /// 9112 §2.2). 0 for trailers.
  std::size_t begin() const noexcept {
    return begin_;
  }

  /// One past the empty line that ends the section (when complete).
  std::size_t end() const noexcept {
    return end_;
  }

  /// When rejected: 400, 431 or 501.
  boost::beast::http::status status() const noexcept {
    return status_;
  }

  /// When rejected: what was wrong and where, safe to send and log (it
  /// quotes no received bytes except a header name, which is a bounded
  /// token).
  const std::string& reason() const noexcept {
    return reason_;
  }

  /// HTTP version of a request head: 10 or 11.
  unsigned version() const noexcept {
    return version_;
  }

  /// True when the target was absolute-form (`http://authority/path?q`).
  bool absolute_form() const noexcept {
    return absolute_form_;
  }

  /// For an absolute-form target: the origin-form the handler gets
  /// (`/path?q`, `/` for an empty path) ...
  const std::string& origin_target() const noexcept {
    return origin_target_;
  }

  /// ... and its authority, which replaces Host (RFC 9112 §3.2.2).
  const std::string& authority() const noexcept {
    return authority_;
  }

  /// Field lines seen.
  std::size_t fields() const noexcept {
    return fields_;
  }

 private:
  void reject(boost::beast::http::status status, std::string reason);
  void reject_malformed(std::string_view what);
  bool on_line(std::string_view line, std::size_t next);
  bool on_request_line(std::string_view line);
  bool on_target(std::string_view method, std::string_view target);
  bool on_field(std::string_view line);
  bool on_framing_field(std::string_view name, std::string_view value);
  bool on_transfer_encoding(std::string_view value);
  bool finish();

  http_section section_;
  http_head_limits limits_;
  http_scan_state state_ = http_scan_state::need_more;
  std::size_t pos_ = 0; // next byte to look at
  std::size_t line_start_ = 0; // first byte of the current line
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  boost::beast::http::status status_ = boost::beast::http::status::ok;
  std::string reason_;
  bool request_line_seen_ = false;
  unsigned version_ = 11;
  bool absolute_form_ = false;
  std::string origin_target_;
  std::string authority_;
  std::size_t fields_ = 0;
  std::size_t hosts_ = 0;
  std::size_t content_lengths_ = 0;
  bool transfer_encoding_ = false;
  std::size_t chunked_codings_ = 0;
  bool last_coding_chunked_ = false;
  bool other_coding_ = false;
};

/// True for an RFC 3986 authority without userinfo: reg-name, IPv4 or
/// [IPv6], then optionally `:` and a port of at most 5 digits (<= 65535).
/// An empty host is valid only when `allow_empty_host` (a Host header may be
/// empty, RFC 9112 §3.2; an http URI may not, RFC 9110 §4.2.1).
bool valid_http_authority(std::string_view authority, bool allow_empty_host);

} // namespace bulwark
