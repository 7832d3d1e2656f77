// A seeded corpus of hostile HTTP/1.1 input, and for every case the answers
// a correct server may give. Categories: request lines, methods, versions,
// Host, targets, body framing (Transfer-Encoding and Content-Length, with a
// request hidden behind bad framing that must never be answered), header
// size and syntax, chunks and extensions, trailers, pipelining, half-closes,
// slowloris, JSON bodies, key headers (Idempotency-Key injection,
// Bulwark-Deadline-Ms, Bulwark-Attempt) and random mutations (the smaller
// generator of http_fuzz.hpp). A profile decides the targets and bodies:
// `plain` (a test server that answers 200 to every well-formed request),
// `admin` (admin_server), `keyed` (a keyed service like the checkout's
// payments) and `gateway` (the checkout gateway). Case `i` of a seed is the
// same whatever else runs; the first cases cycle through every category.
// hostile_run.hpp sends the cases and judges the answers.
#pragma once

#include "bulwark/runtime/core/rng.hpp"
#include "tests/actors/http/http_fuzz.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::testing {

enum class hostile_profile { plain, admin, keyed, gateway };

inline std::string_view to_string(hostile_profile p) {
  switch (p) {
    case hostile_profile::plain:
      return "plain";
    case hostile_profile::admin:
      return "admin";
    case hostile_profile::keyed:
      return "keyed";
    case hostile_profile::gateway:
      return "gateway";
  }
  return "unknown";
}

inline std::optional<hostile_profile> hostile_profile_from(std::string_view s) {
  for (auto p : {hostile_profile::plain, hostile_profile::admin,
                 hostile_profile::keyed, hostile_profile::gateway})
    if (to_string(p) == s)
      return p;
  return std::nullopt;
}

enum class hostile_category {
  request_line,
  method,
  version,
  host,
  target,
  encoding,
  header,
  chunk,
  trailer,
  pipelining,
  half_close,
  slowloris,
  json_body,
  key_header,
  mutation,
};

inline constexpr std::array<hostile_category, 15> all_hostile_categories{
  hostile_category::request_line, hostile_category::method,
  hostile_category::version,      hostile_category::host,
  hostile_category::target,       hostile_category::encoding,
  hostile_category::header,       hostile_category::chunk,
  hostile_category::trailer,      hostile_category::pipelining,
  hostile_category::half_close,   hostile_category::slowloris,
  hostile_category::json_body,    hostile_category::key_header,
  hostile_category::mutation};

inline std::string_view to_string(hostile_category c) {
  switch (c) {
    case hostile_category::request_line:
      return "request_line";
    case hostile_category::method:
      return "method";
    case hostile_category::version:
      return "version";
    case hostile_category::host:
      return "host";
    case hostile_category::target:
      return "target";
    case hostile_category::encoding:
      return "encoding";
    case hostile_category::header:
      return "header";
    case hostile_category::chunk:
      return "chunk";
    case hostile_category::trailer:
      return "trailer";
    case hostile_category::pipelining:
      return "pipelining";
    case hostile_category::half_close:
      return "half_close";
    case hostile_category::slowloris:
      return "slowloris";
    case hostile_category::json_body:
      return "json_body";
    case hostile_category::key_header:
      return "key_header";
    case hostile_category::mutation:
      return "mutation";
  }
  return "unknown";
}

/// One answer a case expects.
struct hostile_answer {
  /// Acceptable statuses; empty means "whatever the profile's handlers may
  /// answer to a well-formed request" (see hostile_app_status). 503 (the
  /// connection cap, overload) is acceptable everywhere.
  std::vector<int> statuses;
  /// The answer to a HEAD request: no body follows its header.
  bool head = false;
};

struct hostile_case {
  std::size_t index = 0;
  hostile_category category = hostile_category::mutation;
  std::string kind; // what it tries, e.g. "TE gzip hides a request"
  std::string bytes;
  fuzz_ending ending = fuzz_ending::half_close;
  /// Exactly these answers, in order (interim 1xx answers aside). More
  /// answers mean the server answered a request hidden in the bytes.
  std::vector<hostile_answer> answers;
  /// Closing before giving every answer is fine (slowloris, nothing sent).
  bool silent_ok = false;
  /// Random mutations: any number of answers, none of them a server error.
  bool any_answers = false;
};

/// True when a handler of `profile` may answer a well-formed request with
/// `status`: the plain test server always answers 200; the others any
/// 2xx-4xx, 503 and 504 (a deadline), the gateway also 502 (a compensated
/// checkout). Never 500: that is a handler that threw.
inline bool hostile_app_status(hostile_profile profile, int status) {
  if (profile == hostile_profile::plain)
    return status == 200;
  if (status >= 200 && status < 500)
    return true;
  return status == 503 || status == 504
         || (profile == hostile_profile::gateway && status == 502);
}

class hostile_corpus {
 public:
  hostile_corpus(hostile_profile profile, std::uint64_t seed)
    : profile_(profile),
      seed_(seed) {}

  hostile_profile profile() const noexcept {
    return profile_;
  }

  /// The GET target that must answer 200 while the server is alive.
  std::string health_target() const {
    return profile_ == hostile_profile::admin ? "/healthz" : "/health";
  }

  /// A request a healthy server answers 2xx.
  struct probe {
    std::string name; // e.g. "POST /charge"
    std::string bytes;
  };

  /// The GET of the health target, and one well-formed request per JSON
  /// endpoint whose normal answer is 2xx (a route that died would answer
  /// 500 or 503 here while the health target still answers 200). `n` makes
  /// keys and ids differ between calls.
  std::vector<probe> normal_requests(std::uint64_t n) const {
    maker m{*this, rng{mix(seed_ ^ 0x5bd1e995, n)}};
    std::vector<probe> out;
    out.push_back(
      {"GET " + health_target(), maker::request("GET", health_target())});
    if (profile_ == hostile_profile::admin) {
      out.push_back({"GET /config", maker::request("GET", "/config")});
      return out;
    }
    for (auto& e : m.endpoints())
      out.push_back({e.method + " " + e.target,
                     maker::request(e.method, e.target,
                                    "Content-Type: application/json\r\n"
                                      + (e.keyed ? "Idempotency-Key: " + m.key()
                                                     + "-probe\r\n"
                                                 : std::string{}),
                                    m.valid_body(e))});
    return out;
  }

  /// Case `index`; the same index and seed always give the same case.
  hostile_case make(std::size_t index) const {
    maker m{*this, rng{mix(seed_, index)}};
    hostile_case c;
    c.index = index;
    if (index < all_hostile_categories.size()) {
      c.category = all_hostile_categories[index];
    } else {
      // Weights in permille; slowloris cases are few (each may hold a
      // connection for the server's whole read timeout).
      auto roll = m.gen.below(1000);
      constexpr std::array<std::pair<hostile_category, int>, 15> weights{
        {{hostile_category::request_line, 60},
         {hostile_category::method, 50},
         {hostile_category::version, 45},
         {hostile_category::host, 70},
         {hostile_category::target, 90},
         {hostile_category::encoding, 100},
         {hostile_category::header, 95},
         {hostile_category::chunk, 80},
         {hostile_category::trailer, 50},
         {hostile_category::pipelining, 80},
         {hostile_category::half_close, 40},
         {hostile_category::slowloris, 3},
         {hostile_category::json_body, 100},
         {hostile_category::key_header, 87},
         {hostile_category::mutation, 50}}};
      int acc = 0;
      for (auto& [cat, w] : weights) {
        acc += w;
        if (roll < static_cast<std::uint64_t>(acc)) {
          c.category = cat;
          break;
        }
      }
    }
    m.fill(c);
    return c;
  }

 private:
  static std::uint64_t mix(std::uint64_t seed, std::uint64_t index) {
    auto z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// A JSON endpoint of the profile.
  struct endpoint {
    std::string method;
    std::string target;
    bool keyed; // sends an Idempotency-Key
  };

  struct maker {
    const hostile_corpus& corpus;
    rng gen;

    hostile_profile profile() const {
      return corpus.profile_;
    }

    // -- building blocks
    // -------------------------------------------------------

    std::string pick(const std::vector<std::string>& options) {
      return options[gen.below(options.size())];
    }

    bool chance(std::uint64_t one_in) {
      return gen.below(one_in) == 0;
    }

    std::vector<std::string> get_targets() const {
      switch (profile()) {
        case hostile_profile::plain:
          return {"/", "/health", "/a/b", "/x?y=1"};
        case hostile_profile::admin:
          return {"/healthz",    "/readyz",    "/metrics",
                  "/config",     "/flags",     "/journeys?failed=1",
                  "/journeys/1", "/dashboard", "/nope"};
        case hostile_profile::keyed:
          return {"/health", "/ledger", "/charge", "/nope"};
        case hostile_profile::gateway:
          return {"/health", "/stats", "/checkout", "/nope"};
      }
      return {"/"};
    }

    std::vector<endpoint> endpoints() const {
      switch (profile()) {
        case hostile_profile::plain:
          return {{"POST", "/json", false}};
        case hostile_profile::admin:
          return {{"PUT", "/config", false}, {"PUT", "/flags/payments", false}};
        case hostile_profile::keyed:
          return {{"POST", "/charge", true}, {"POST", "/refund", true}};
        case hostile_profile::gateway:
          return {{"POST", "/checkout", false}};
      }
      return {};
    }

    std::string get_target() {
      return pick(get_targets());
    }

    endpoint pick_endpoint() {
      auto all = endpoints();
      return all[gen.below(all.size())];
    }

    std::string key() {
      return "hostile-" + std::to_string(gen.below(1'000'000'000));
    }

    /// A body the endpoint accepts (or at least understands).
    std::string valid_body(const endpoint& e) {
      auto id = std::to_string(gen.below(1'000'000'000));
      switch (profile()) {
        case hostile_profile::keyed:
          if (e.target == "/refund")
            return R"({"order_id":"hostile-)" + id + R"("})";
          return R"({"order_id":"hostile-)" + id + R"(","amount":)"
                 + std::to_string(1 + gen.below(500)) + "}";
        case hostile_profile::gateway:
          return R"({"sku":"sku-)" + std::to_string(1 + gen.below(3))
                 + R"(","qty":)" + std::to_string(1 + gen.below(3))
                 + R"(,"order_id":"hostile-)" + id + R"("})";
        case hostile_profile::admin:
          if (e.target == "/config")
            return R"({"dependencies": {"hostile-)" + id + R"(": {}}})";
          return R"({"retry": {"enabled": true}})";
        case hostile_profile::plain:
          break;
      }
      return R"({"id":)" + id + "}";
    }

    /// `METHOD target HTTP/1.1`, Host, `extra` fields, Content-Length when
    /// there is a body.
    static std::string request(const std::string& method,
                               const std::string& target,
                               const std::string& extra = {},
                               const std::string& body = {}) {
      std::string r =
        method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra;
      if (!body.empty() || method == "POST" || method == "PUT")
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      return r + "\r\n" + body;
    }

    /// A well-formed request of the profile; sets `head` for HEAD.
    std::string valid_request(bool& head, const std::string& extra = {}) {
      head = false;
      switch (gen.below(6)) {
        case 0:
        case 1: {
          auto e = pick_endpoint();
          auto fields = extra
                        + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : "")
                        + "Content-Type: application/json\r\n";
          return request(e.method, e.target, fields, valid_body(e));
        }
        case 2:
          head = true;
          return request("HEAD", get_target(), extra);
        default:
          return request("GET", get_target(), extra);
      }
    }

    std::string valid_request() {
      bool head = false;
      auto r = valid_request(head);
      if (head) // keep it simple for callers that do not track HEAD
        return request("GET", get_target());
      return r;
    }

    /// A request the server must never answer when it hides behind bad
    /// framing or an injected header.
    static std::string forbidden_request() {
      return "PUT /faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nContent-Length: 19\r\n\r\n{\"error_rate\": "
             "1.0}";
    }

    static std::string chunked(const std::string& body) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx", body.size());
      return std::string{size} + "\r\n" + body + "\r\n0\r\n\r\n";
    }

    std::string random_bytes(std::uint64_t n) {
      std::string s;
      s.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i)
        s.push_back(static_cast<char>(gen.below(256)));
      return s;
    }

    // -- expectations
    // ------------------------------------------------------------

    static void expect(hostile_case& c, std::vector<int> statuses) {
      c.answers.push_back(hostile_answer{std::move(statuses), false});
    }

    static void expect_app(hostile_case& c, bool head = false) {
      c.answers.push_back(hostile_answer{{}, head});
    }

    static void refused(hostile_case& c, std::string kind, std::string bytes,
                        std::vector<int> statuses = {400}) {
      c.kind = std::move(kind);
      c.bytes = std::move(bytes);
      expect(c, std::move(statuses));
    }

    static void accepted(hostile_case& c, std::string kind, std::string bytes,
                         bool head = false) {
      c.kind = std::move(kind);
      c.bytes = std::move(bytes);
      expect_app(c, head);
    }

    // -- categories
    // --------------------------------------------------------------

    void fill(hostile_case& c) {
      switch (c.category) {
        case hostile_category::request_line:
          return request_line(c);
        case hostile_category::method:
          return method(c);
        case hostile_category::version:
          return version(c);
        case hostile_category::host:
          return host(c);
        case hostile_category::target:
          return target(c);
        case hostile_category::encoding:
          return encoding(c);
        case hostile_category::header:
          return header(c);
        case hostile_category::chunk:
          return chunk(c);
        case hostile_category::trailer:
          return trailer(c);
        case hostile_category::pipelining:
          return pipelining(c);
        case hostile_category::half_close:
          return half_close(c);
        case hostile_category::slowloris:
          return slowloris(c);
        case hostile_category::json_body:
          return json_body(c);
        case hostile_category::key_header:
          return key_header(c);
        case hostile_category::mutation:
          return mutation(c);
      }
    }

    void request_line(hostile_case& c) {
      const std::string rest = "\r\nHost: 127.0.0.1\r\n\r\n";
      auto t = get_target();
      switch (gen.below(12)) {
        case 0:
          return refused(c, "two spaces", "GET  " + t + " HTTP/1.1" + rest);
        case 1:
          return refused(c, "trailing space", "GET " + t + " HTTP/1.1 " + rest);
        case 2:
          return refused(c, "leading space", " GET " + t + " HTTP/1.1" + rest);
        case 3:
          return refused(c, "no version", "GET " + t + rest);
        case 4:
          return refused(c, "tabs", "GET\t" + t + "\tHTTP/1.1" + rest);
        case 5:
          return refused(c, "bare LF", "GET " + t + " HTTP/1.1\nHost: h\n\n");
        case 6:
          return refused(c, "request line over the head limit",
                         "GET /" + std::string(8'200 + gen.below(20'000), 'a')
                           + " HTTP/1.1" + rest,
                         {431});
        case 7:
          return refused(c, "NUL in the request line",
                         "GET /" + std::string(1, '\0') + " HTTP/1.1" + rest);
        case 8: {
          bool head = false;
          auto r = valid_request(head);
          return accepted(c, "empty lines before the request line",
                          pick({"\r\n", "\r\n\r\n", "\r\n\r\n\r\n"}) + r, head);
        }
        case 9:
          // Ignoring it and answering 400 are both fine.
          c.kind = "only an empty line";
          c.bytes = "\r\n";
          expect(c, {400});
          c.silent_ok = true;
          return;
        case 10:
          return refused(c, "bare CR",
                         "GET " + t + " HTTP/1.1\r\r\nHost: h\r\n\r\n");
        default:
          return refused(c, "HTTP/0.9 request", "GET " + t + "\r\n\r\n");
      }
    }

    void method(hostile_case& c) {
      const std::string rest = " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      auto t = get_target();
      switch (gen.below(8)) {
        case 0:
          return refused(c, "method with a separator",
                         pick({"G@T", "GE(T", "GET,", "PO\"ST", "GET/"}) + " "
                           + t + rest);
        case 1:
          return refused(c, "method with a control byte",
                         pick({std::string{"GET\x01"}, std::string{"\x7fGET"},
                               std::string{"G\0T", 3}})
                           + " " + t + rest);
        case 2:
          return refused(c, "CONNECT to an authority",
                         "CONNECT 127.0.0.1:443" + rest);
        case 3:
          return accepted(c, "OPTIONS *", "OPTIONS *" + rest);
        case 4:
          return accepted(c, "HEAD", "HEAD " + t + rest, true);
        case 5:
          return accepted(c, "long method",
                          std::string(100 + gen.below(2'000), 'M') + " " + t
                            + rest);
        default:
          return accepted(c, "unusual method",
                          pick({"get", "FOO", "PATCH", "TRACE", "DELETE",
                                "BREW", "PROPFIND", "M-SEARCH"})
                            + " " + t + rest);
      }
    }

    void version(hostile_case& c) {
      auto t = get_target();
      switch (gen.below(4)) {
        case 0:
        case 1:
          return refused(
            c, "unsupported version",
            "GET " + t + " "
              + pick({"HTTP/2.0", "HTTP/1.2", "HTTP/9.9", "http/1.1",
                      "HTTP/1.10", "HTTP/1", "HTTP/01.1", "HTTP/1.1x", "HTTP/3",
                      "HTTP /1.1", "HTTP/0.9"})
              + "\r\nHost: 127.0.0.1\r\n\r\n");
        case 2:
          return accepted(c, "HTTP/1.0 without Host",
                          "GET " + t + " HTTP/1.0\r\n\r\n");
        default:
          return accepted(c, "HTTP/1.0 keep-alive",
                          "GET " + t
                            + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: "
                              "keep-alive\r\n\r\n");
      }
    }

    void host(hostile_case& c) {
      auto t = get_target();
      auto with = [&](const std::string& fields,
                      const std::string& version = "HTTP/1.1") {
        return "GET " + t + " " + version + "\r\n" + fields + "\r\n";
      };
      switch (gen.below(8)) {
        case 0:
          return refused(c, "no Host", with(""));
        case 1:
          return refused(c, "two Host headers",
                         with("Host: 127.0.0.1\r\nHost: "
                              + pick({"127.0.0.1", "evil.example", ""})
                              + "\r\n"));
        case 2:
        case 3:
          return refused(
            c, "invalid Host",
            with("Host: "
                 + pick({"a b", "user@h", "u:p@h", "h/p", "h:port", "h:99999",
                         "[::1", "[zz::1]", "h%zz", "h\\x", "<h>", "h:80:80",
                         "[fe80::1%25eth0]", "h\"", "h{}"})
                 + "\r\n"));
        case 4:
          return refused(
            c, "control byte in Host",
            with("Host: h"
                 + std::string(1, static_cast<char>(1 + gen.below(31)))
                 + "x\r\n"));
        case 5:
          return refused(c, "HTTP/1.0 with two Host headers",
                         with("Host: a\r\nHost: b\r\n", "HTTP/1.0"));
        default:
          return accepted(c, "unusual but valid Host",
                          with("Host: "
                               + pick({"", "[::1]", "[::1]:8080", "127.0.0.1:",
                                       "xn--bcher-kva.example", "a%41b", "h:0",
                                       "LOCALHOST:65535", "a.b.c.d.e.f"})
                               + "\r\n"));
      }
    }

    void target(hostile_case& c) {
      const std::string rest = " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      auto t = get_target();
      switch (gen.below(10)) {
        case 0:
        case 1:
          return accepted(c, "absolute-form",
                          "GET "
                            + pick({"http://127.0.0.1", "http://127.0.0.1:1",
                                    "HTTP://localhost", "https://[::1]:443",
                                    "http://example.com"})
                            + t + rest);
        case 2:
          return accepted(c, "absolute-form without a path",
                          "GET http://127.0.0.1" + rest);
        case 3:
          return refused(c, "* without OPTIONS",
                         pick({"GET", "POST", "DELETE"}) + " *" + rest);
        case 4:
          return accepted(
            c, "dot segments and escapes",
            "GET "
              + pick({"/../../../etc/passwd", "/%2e%2e/%2e%2e/", t + "%00",
                      "/%00", "/a/./b/../c", "//double", t + "/..",
                      "/flags/%2e%2e%2fconfig", "/%ff%fe", t + "?%00=%00",
                      "/?a=1&a=2"})
              + rest);
        case 5:
          return accepted(
            c, "long target",
            "GET " + t + (t.find('?') == std::string::npos ? "?" : "&")
              + "q=" + std::string(1'000 + gen.below(6'000), 'q') + rest);
        case 6:
          return refused(
            c, "target over the head limit",
            "GET /" + std::string(9'000 + gen.below(9'000), 't') + rest, {431});
        case 7:
          return refused(c, "control byte in the target",
                         "GET /a"
                           + std::string(1, pick({"\x01", "\x7f", "\x1b"})[0])
                           + "b" + rest);
        case 8:
          return refused(
            c, "non-ASCII or fragment in the target",
            "GET " + pick({"/caf\xc3\xa9", "/a#frag", "/\xff", "/#"}) + rest);
        default:
          return refused(c, "bad target form",
                         "GET "
                           + pick({"health", "127.0.0.1:80", "ftp://h/",
                                   "http://u@h/", "http://", "http:/p",
                                   "mailto:x@y", "http://h h/", "\\\\share"})
                           + rest);
      }
    }

    void encoding(hostile_case& c) {
      auto e = pick_endpoint();
      auto hidden = forbidden_request();
      auto head = [&](const std::string& fields,
                      const std::string& version = "HTTP/1.1") {
        return e.method + " " + e.target + " " + version
               + "\r\nHost: 127.0.0.1\r\n" + fields + "\r\n";
      };
      auto body = valid_body(e);
      switch (gen.below(14)) {
        case 0:
        case 1:
          return refused(
            c, "Transfer-Encoding not ending in chunked hides a request",
            head("Transfer-Encoding: "
                 + pick({"gzip", "xchunked", "chunked, gzip", "chunked;x=1",
                         "identity", "", "chunkedx", "chunked, identity",
                         "\"chunked\""})
                 + "\r\n")
              + hidden);
        case 2:
          return refused(c, "Transfer-Encoding gzip before Content-Length",
                         head("Transfer-Encoding: gzip\r\nContent-Length: "
                              + std::to_string(hidden.size()) + "\r\n")
                           + hidden);
        case 3:
          return refused(
            c, "Content-Length and Transfer-Encoding: chunked",
            head(pick({"Content-Length: 4\r\nTransfer-Encoding: "
                       "chunked\r\n",
                       "Transfer-Encoding: chunked\r\nContent-Length: "
                       "4\r\n"}))
              + "0\r\n\r\n" + hidden);
        case 4:
          return refused(c, "a coding before chunked",
                         head("Transfer-Encoding: gzip, chunked\r\n")
                           + chunked(body) + hidden,
                         {501});
        case 5:
          return refused(c, "chunked twice",
                         head(pick({"Transfer-Encoding: chunked, chunked\r\n",
                                    "Transfer-Encoding: chunked\r\nTransfer-"
                                    "Encoding: chunked\r\n"}))
                           + chunked(body) + hidden);
        case 6:
          return refused(c, "Transfer-Encoding in HTTP/1.0",
                         head("Transfer-Encoding: chunked\r\n", "HTTP/1.0")
                           + chunked(body) + hidden);
        case 7:
          return refused(c, "Transfer-Encoding with space before the colon",
                         head("Transfer-Encoding : chunked\r\n") + chunked(body)
                           + hidden);
        case 8:
          return refused(
            c, "invalid Content-Length",
            head("Content-Length: "
                 + pick({"-1", "abc", "1, 2", "5, 5", "+4", "0x10", "4 4",
                         "99999999999999999999999", "1e3", "4.0", ""})
                 + "\r\n")
              + hidden);
        case 9:
          return refused(c, "repeated Content-Length",
                         head("Content-Length: 2\r\nContent-Length: "
                              + pick({"2", "3", "0"}) + "\r\n")
                           + "{}" + hidden);
        case 10:
          return refused(c, "Content-Length over the body limit",
                         head("Content-Length: "
                              + pick({"18446744073709551615", "9999999999"})
                              + "\r\n")
                           + hidden,
                         {413});
        case 11: {
          // The rest after the announced body is the next "request".
          c.kind = "Content-Length shorter than the body";
          c.bytes =
            head("Content-Length: " + std::to_string(body.size()) + "\r\n"
                 + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : ""))
            + body + "XYZ\r\n\r\n";
          expect_app(c);
          expect(c, {400});
          return;
        }
        case 12: {
          // Not Transfer-Encoding: no body, so "0" is the next request line.
          c.kind = "a Transfer-Encoding look-alike";
          c.bytes = "GET " + get_target() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + pick({"Transfer_Encoding", "Transfer-Encodin",
                            "X-Transfer-Encoding"})
                    + ": chunked\r\n\r\n0\r\n\r\n";
          expect_app(c);
          expect(c, {400});
          return;
        }
        default:
          return accepted(
            c, "chunked with odd but valid spelling",
            head(pick({"Transfer-Encoding: \tchunked\t\r\n",
                       "Transfer-Encoding: Chunked\r\n",
                       "transfer-encoding: ,chunked\r\n"})
                 + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : ""))
              + chunked(body));
      }
    }

    void header(hostile_case& c) {
      auto head = "GET " + get_target() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
      switch (gen.below(14)) {
        case 0: {
          c.kind = "many small fields";
          c.bytes = head;
          auto n = 101 + gen.below(3'000);
          for (std::uint64_t i = 0; i < n; ++i)
            c.bytes += "X:\r\n";
          c.bytes += "\r\n";
          expect(c, {431});
          return;
        }
        case 1: {
          c.kind = "100,000 X: lines";
          c.bytes = head;
          std::string line = "X:\r\n";
          c.bytes.reserve(c.bytes.size() + 100'000 * line.size() + 2);
          for (int i = 0; i < 100'000; ++i)
            c.bytes += line;
          c.bytes += "\r\n";
          expect(c, {431});
          return;
        }
        case 2:
          return refused(c, "one huge field",
                         head + "X-Big: "
                           + std::string(8'200 + gen.below(30'000), 'b')
                           + "\r\n\r\n",
                         {431});
        case 3: {
          c.kind = "many fields within the limits";
          c.bytes = head;
          auto n = 10 + gen.below(80);
          for (std::uint64_t i = 0; i < n; ++i)
            c.bytes +=
              "X-" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
          c.bytes += "\r\n";
          expect_app(c);
          return;
        }
        case 4:
          return refused(c, "obs-fold",
                         head + "X-A: a\r\n" + pick({" ", "\t"})
                           + "folded\r\n\r\n");
        case 5:
          return refused(c, "whitespace before the first field",
                         "GET " + get_target() + " HTTP/1.1\r\n"
                           + pick({" ", "\t", "  "})
                           + "Host: 127.0.0.1\r\n\r\n");
        case 6:
          return refused(c, "bare LF in a field line",
                         head + "X-A: a\nX-B: b\r\n\r\n");
        case 7:
          return refused(c, "control byte in a value",
                         head + "X-A: a"
                           + std::string(1, pick({std::string(1, '\0'), "\x01",
                                                  "\x7f", "\x1b", "\x0b"})[0])
                           + "b\r\n\r\n");
        case 8:
          return refused(c, "whitespace between a name and its colon",
                         head + "X-A" + pick({" ", "\t"}) + ": a\r\n\r\n");
        case 9:
          return refused(c, "a field line without a colon",
                         head + pick({"X-A a", "junk", "GET / HTTP/1.1"})
                           + "\r\n\r\n");
        case 10:
          return refused(
            c, "bad field name",
            head
              + pick({": empty", "X(A): a", "X@A: a", "\"X\": a", "X\x80: a"})
              + "\r\n\r\n");
        case 11:
          return accepted(c, "obs-text in a value",
                          head + "X-A: caf\xc3\xa9 \xff\xfe\r\n\r\n");
        case 12:
          return accepted(c, "long field name",
                          head + std::string(1'000 + gen.below(5'000), 'N')
                            + ": v\r\n\r\n");
        default:
          return refused(c, "bare CR in a value", head + "X-A: a\rb\r\n\r\n");
      }
    }

    void chunk(hostile_case& c) {
      auto e = pick_endpoint();
      auto head = e.method + " " + e.target
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
                    "chunked\r\n"
                  + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : "")
                  + "Content-Type: application/json\r\n\r\n";
      auto body = valid_body(e);
      switch (gen.below(12)) {
        case 0:
          return refused(c, "1 MiB chunk extension",
                         head + "5;ext=" + std::string(1 << 20, 'e')
                           + "\r\nhello\r\n0\r\n\r\n");
        case 1:
          return refused(c, "chunk extension over the line limit",
                         head + "2;"
                           + std::string(4'200 + gen.below(8'000), 'x')
                           + "\r\n{}\r\n0\r\n\r\n");
        case 2:
          return refused(c, "chunk size with thousands of leading zeros",
                         head + std::string(5'000 + gen.below(5'000), '0')
                           + "2\r\n{}\r\n0\r\n\r\n");
        case 3:
          return refused(c, "bad chunk size",
                         head
                           + pick({"ZZ", "-1", "", "0x10", " 2", "2 2", "+2"})
                           + "\r\n{}\r\n0\r\n\r\n");
        case 4:
          return refused(c, "chunk size overflow",
                         head
                           + pick({"1FFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFF",
                                   "10000000000000000"})
                           + "\r\n{}\r\n0\r\n\r\n",
                         {400, 413});
        case 5:
          return refused(c, "chunk data without its CRLF",
                         head + "2\r\n{}XX0\r\n\r\n");
        case 6:
          return refused(c, "chunks over the body limit",
                         head + pick({"200000", "FFFFFFF", "FFFFFFFFFF"})
                           + "\r\nabc",
                         {413, 400}); // 400: truncated, for a larger limit
        case 7:
          return refused(c, "control byte in a chunk extension",
                         head + "2;a=\x01\r\n{}\r\n0\r\n\r\n");
        case 8:
          c.kind = "truncated chunked body";
          c.bytes = head + "10\r\nonly a bit";
          expect(c, {400});
          return;
        case 9: {
          c.kind = "chunked body in many small chunks";
          c.bytes = head;
          for (auto ch : body)
            c.bytes += "1;i=" + std::to_string(gen.below(10)) + "\r\n"
                       + std::string(1, ch) + "\r\n";
          c.bytes += "0\r\n\r\n";
          expect_app(c);
          return;
        }
        case 10:
          return accepted(c, "chunk extensions with quoted strings",
                          head + pick({"", "00"}) + to_hex(body.size())
                            + ";a=\"q;\\\"uoted\";b;c=d\r\n" + body
                            + "\r\n0;last=\"x\"\r\n\r\n");
        default:
          return accepted(c, "valid chunked body", head + chunked(body));
      }
    }

    static std::string to_hex(std::size_t n) {
      char size[32];
      std::snprintf(size, sizeof size, "%zX", n);
      return size;
    }

    void trailer(hostile_case& c) {
      auto e = pick_endpoint();
      auto body = valid_body(e);
      auto head = e.method + " " + e.target
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
                    "chunked\r\n"
                  + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : "")
                  + "\r\n" + to_hex(body.size()) + "\r\n" + body + "\r\n0\r\n";
      switch (gen.below(7)) {
        case 0:
          return accepted(c, "valid trailers",
                          head
                            + "X-Checksum: 1\r\nIdempotency-Key: trailer\r\n"
                              "Host: evil.example\r\n\r\n");
        case 1:
          return refused(c, "huge trailer",
                         head + "X-T: "
                           + std::string(8'200 + gen.below(30'000), 't')
                           + "\r\n\r\n",
                         {431});
        case 2: {
          c.kind = "many trailers";
          c.bytes = head;
          auto n = 101 + gen.below(3'000);
          for (std::uint64_t i = 0; i < n; ++i)
            c.bytes += "X:\r\n";
          c.bytes += "\r\n";
          expect(c, {431});
          return;
        }
        case 3:
          return refused(c, "obs-fold in a trailer",
                         head + "X-T: a\r\n b\r\n\r\n");
        case 4:
          return refused(c, "bare LF in a trailer", head + "X-T: a\n\r\n");
        case 5:
          return refused(c, "NUL in a trailer value",
                         head + "X-T: a" + std::string(1, '\0') + "\r\n\r\n");
        default:
          return refused(
            c, "framing field in a trailer",
            head + pick({"Content-Length: 5", "Transfer-Encoding: chunked"})
              + "\r\n\r\n");
      }
    }

    void pipelining(hostile_case& c) {
      switch (gen.below(6)) {
        case 0:
        case 1: {
          c.kind = "valid requests pipelined";
          auto n = 2 + gen.below(15);
          for (std::uint64_t i = 0; i < n; ++i) {
            bool head = false;
            c.bytes += valid_request(head);
            expect_app(c, head);
          }
          return;
        }
        case 2: {
          c.kind = "valid, then invalid, then a request never answered";
          auto n = 1 + gen.below(4);
          for (std::uint64_t i = 0; i < n; ++i) {
            c.bytes += valid_request();
            expect_app(c);
          }
          c.bytes +=
            pick({"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
                  "GET / HTTP/1.1\r\nHost: h\r\n X: y\r\n\r\n",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                  "gzip\r\n\r\n"});
          expect(c, {400});
          c.bytes += forbidden_request();
          return;
        }
        case 3: {
          c.kind = "Connection: close ends the pipeline";
          c.bytes = valid_request();
          expect_app(c);
          c.bytes +=
            "GET " + get_target()
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
          expect_app(c);
          c.bytes += forbidden_request();
          return;
        }
        case 4: {
          c.kind = "Expect: 100-continue with the body sent anyway";
          auto e = pick_endpoint();
          auto body = valid_body(e);
          c.bytes = request(e.method, e.target,
                            "Expect: 100-continue\r\n"
                              + (e.keyed ? "Idempotency-Key: " + key() + "\r\n"
                                         : std::string{}),
                            body);
          expect_app(c);
          c.bytes += valid_request();
          expect_app(c);
          return;
        }
        default: {
          c.kind = "valid, then framing that hides a request";
          c.bytes = valid_request();
          expect_app(c);
          c.bytes +=
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
            "xchunked\r\n\r\n"
            + forbidden_request();
          expect(c, {400});
          return;
        }
      }
    }

    void half_close(hostile_case& c) {
      c.ending = fuzz_ending::half_close;
      auto full = valid_request();
      switch (gen.below(5)) {
        case 0:
          return refused(c, "request line cut short",
                         full.substr(0, 1 + gen.below(full.find('\r'))));
        case 1:
          return refused(c, "head cut short",
                         full.substr(0, full.find('\r') + 2 + gen.below(10)));
        case 2: {
          auto e = pick_endpoint();
          return refused(c, "body cut short",
                         e.method + " " + e.target
                           + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                             "100\r\n\r\n{\"a\":");
        }
        case 3:
          c.kind = "nothing sent";
          c.bytes.clear();
          c.silent_ok = true;
          return;
        default:
          return accepted(c, "complete request, then half-close", full);
      }
    }

    void slowloris(hostile_case& c) {
      c.ending = fuzz_ending::stay_open;
      switch (gen.below(3)) {
        case 0:
          c.kind = "a head that never ends";
          c.bytes =
            "GET " + get_target() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
          c.silent_ok = true;
          return;
        case 1:
          c.kind = "a body that never ends";
          c.bytes = "PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                    "100\r\n\r\nab";
          c.silent_ok = true;
          return;
        default:
          c.kind = "an idle kept-alive connection";
          c.bytes = valid_request();
          expect_app(c);
          return;
      }
    }

    std::string json_value() {
      switch (gen.below(16)) {
        case 0:
          return pick({"1e300", "-1e300", "1e999", "-1e999", "1E400"});
        case 1:
          return pick({"18446744073709551615", "18446744073709551616",
                       "-9223372036854775809", "9223372036854775807",
                       "99999999999999999999999999999"});
        case 2:
          return pick({"1.5", "-0", "0.0000001", "-1", "0", "NaN", "Infinity"});
        case 3:
          return "\"a\\u0000b\"";
        case 4:
          return "\""
                 + pick({"\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80",
                         "\xf8\x88\x80\x80\x80"})
                 + "\"";
        case 5:
          return pick(
            {"\"\\ud800\"", "\"\\udc00x\"", "\"\\u12\"", "\"\\x41\""});
        case 6:
          return "\"" + std::string(1'000 + gen.below(100'000), 's') + "\"";
        case 7:
          return pick({"null", "true", "[]", "{}", "\"\"", "[1,2,3]"});
        case 8:
          return "\"k\\r\\nPUT /faults HTTP/1.1\"";
        case 9:
          // A service that copies this into a header of a downstream call
          // (e.g. an Idempotency-Key) smuggles a whole request to it; the
          // normal requests after the batch then fail.
          return "\"k\\r\\n\\r\\nPUT /faults HTTP/1.1\\r\\nHost: "
                 "127.0.0.1\\r\\n"
                 "Content-Type: application/json\\r\\nContent-Length: 19\\r\\n"
                 "\\r\\n{\\\"error_rate\\\": 1.0}\"";
        default:
          return "\"hostile-" + std::to_string(gen.below(1000)) + "\"";
      }
    }

    std::string nested(std::size_t depth) {
      bool arrays = chance(2);
      std::string s;
      for (std::size_t i = 0; i < depth; ++i)
        s += arrays ? "[" : "{\"a\":";
      s += "1";
      for (std::size_t i = 0; i < depth; ++i)
        s += arrays ? "]" : "}";
      return s;
    }

    std::string json_document(const endpoint& e) {
      std::vector<std::string> keys;
      switch (profile()) {
        case hostile_profile::keyed:
          keys = {"order_id", "amount"};
          break;
        case hostile_profile::gateway:
          keys = {"sku", "qty", "order_id"};
          break;
        case hostile_profile::admin:
          keys =
            e.target == "/config"
              ? std::vector<std::string>{"dependencies", "retry", "breaker"}
              : std::vector<std::string>{"retry", "hedging", "breaker"};
          break;
        case hostile_profile::plain:
          keys = {"id", "name"};
          break;
      }
      switch (gen.below(8)) {
        case 0:
          return nested(10 + gen.below(chance(4) ? 100'000 : 1'000));
        case 1: {
          // Duplicate keys.
          auto k = keys[gen.below(keys.size())];
          return "{\"" + k + "\":" + json_value() + ",\"" + k
                 + "\":" + json_value() + "}";
        }
        case 2:
          return pick({"", "null", "[]", "{}", "{", "}", "[{}]", "\"text\"",
                       "1", "{\"a\"", "{\"a\":}", "{,}", "\xef\xbb\xbf{}"});
        case 3:
          return random_bytes(gen.below(300));
        default: {
          std::string s = "{";
          for (std::size_t i = 0; i < keys.size(); ++i) {
            if (i > 0)
              s += ",";
            s += "\"" + keys[i] + "\":" + json_value();
          }
          if (chance(3))
            s += ",\"extra\":" + nested(1 + gen.below(20));
          return s + "}";
        }
      }
    }

    void json_body(hostile_case& c) {
      auto e = pick_endpoint();
      auto body = json_document(e);
      c.kind = "hostile JSON body";
      c.bytes = request(
        e.method, e.target,
        "Content-Type: application/json\r\n"
          + (e.keyed ? "Idempotency-Key: " + key() + "\r\n" : std::string{}),
        body);
      expect_app(c);
    }

    void key_header(hostile_case& c) {
      auto e = pick_endpoint();
      auto body = valid_body(e);
      auto send = [&](const std::string& fields) {
        return request(e.method, e.target,
                       "Content-Type: application/json\r\n" + fields, body);
      };
      switch (gen.below(12)) {
        case 0:
        case 1:
          // An upstream that copies a key into a header unchecked: the
          // injected request must never run.
          return refused(c, "CR LF injection in Idempotency-Key",
                         send("Idempotency-Key: k"
                              + pick({"\r\nPUT /faults HTTP/1.1",
                                      "\nPUT /faults HTTP/1.1", "\rPUT /faults",
                                      "\r\n PUT /faults", "\r\nPUT /faults"})
                              + "\r\n")
                           + forbidden_request());
        case 2:
          return refused(
            c, "NUL in Idempotency-Key",
            send("Idempotency-Key: k" + std::string(1, '\0') + "x\r\n"));
        case 3:
          return refused(
            c, "8 KB Idempotency-Key",
            send("Idempotency-Key: " + std::string(8'192, 'k') + "\r\n"),
            {431});
        case 4:
          return accepted(
            c, "4 KB Idempotency-Key",
            send("Idempotency-Key: " + std::string(4'000, 'k') + "\r\n"));
        case 5:
          return accepted(c, "odd Idempotency-Key",
                          send("Idempotency-Key:"
                               + pick({"", " ", " caf\xc3\xa9", " \xff\xfe",
                                       " k%0d%0aPUT%20/faults", " ../../x",
                                       " k\tk", " \"quoted\"", " *"})
                               + "\r\n"));
        case 6:
          return accepted(c, "repeated Idempotency-Key",
                          send("Idempotency-Key: " + key()
                               + "\r\nIdempotency-Key: "
                               + pick({key(), "other", ""}) + "\r\n"));
        case 7:
        case 8:
          return accepted(
            c, "bad Bulwark-Deadline-Ms",
            send("Idempotency-Key: " + key() + "\r\nBulwark-Deadline-Ms: "
                 + pick({"-1", "abc", "1e3", "99999999999999999999", "0", "",
                         " 5 ", "1.5", "0x10", "+5", "18446744073709551616"})
                 + "\r\n"));
        case 9:
          return accepted(c, "bad Bulwark-Attempt",
                          send("Idempotency-Key: " + key()
                               + "\r\nBulwark-Attempt: "
                               + pick({"0", "-1", "x", "99999999999999999999",
                                       "", "1.5", "4294967296"})
                               + "\r\n"));
        case 10:
          return accepted(
            c, "repeated Bulwark headers",
            send("Idempotency-Key: " + key()
                 + "\r\nBulwark-Deadline-Ms: 5000\r\nBulwark-Deadline-Ms: "
                   "1\r\nBulwark-Attempt: 1\r\nBulwark-Attempt: 2\r\n"));
        default:
          return refused(
            c, "control byte in Bulwark-Deadline-Ms",
            send("Bulwark-Deadline-Ms: 5" + std::string(1, '\x01') + "\r\n"));
      }
    }

    void mutation(hostile_case& c) {
      http_fuzzer fuzz{gen()};
      fuzz.targets = get_targets();
      auto f = fuzz.next();
      c.kind = std::string{"mutation: "} + f.kind;
      c.bytes = std::move(f.bytes);
      c.ending = f.ending;
      c.any_answers = true;
      c.silent_ok = true;
    }
  };

  hostile_profile profile_;
  std::uint64_t seed_;
};

} // namespace bulwark::testing
