// Hostile requests for the flags endpoints of the admin server: PUT and
// DELETE /flags/<name> (and other methods) with garbage names (bad percent
// escapes, path tricks, huge or control bytes), with JSON-ish flags bodies
// built from the keys the flags parser knows (so many reach its deeper
// checks: rollouts out of range, wrong types, unknown modes) and with
// mutated, cut or random bodies. The generic HTTP fuzzer
// (tests/actors/http/http_fuzz.hpp) only knows /config; its run loop takes
// its cases from its own generator, so the loop is repeated here over ours,
// with the same verdicts (a hang, a refused connection, a non-HTTP answer or
// a 5xx other than 503 is a problem). The same seed gives the same cases.
#pragma once

#include "bulwark/runtime/core/rng.hpp"
#include "tests/actors/http/http_fuzz.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::testing {

class flags_fuzzer {
 public:
  explicit flags_fuzzer(std::uint64_t seed) : gen_(seed) {}

  fuzz_case next() {
    fuzz_case c;
    auto roll = gen_.below(1000);
    if (roll < 2)
      c.ending = fuzz_ending::stay_open;
    else if (roll < 100)
      c.ending = fuzz_ending::reset;
    std::string body;
    switch (gen_.below(5)) {
      case 0:
      case 1:
        c.kind = "flags: json-ish body";
        body = flags_ish(0);
        break;
      case 2:
        c.kind = "flags: mutated body";
        body = flip(pick({R"({"retry": {"enabled": false, "rollout": 50}})",
                          R"({"breaker": {"mode": "force_open"}})",
                          R"({"hedging": {"enabled": false}, "retry": {}})"}));
        break;
      case 3:
        c.kind = "flags: cut body";
        body =
          R"({"retry": {"enabled": false, "rollout": 25}, "breaker": {"mode": "disabled"}})";
        body.resize(gen_.below(body.size()));
        break;
      default:
        c.kind = "flags: random body";
        body = random_bytes(gen_.below(200));
        break;
    }
    auto method = gen_.below(10) < 6 ? std::string{"PUT"}
                  : gen_.below(10) < 8
                    ? std::string{"DELETE"}
                    : pick({"GET", "POST", "PATCH", "HEAD", "OPTIONS"});
    c.bytes = method + " " + target() + " HTTP/1.1\r\nHost: x\r\n";
    if (gen_.below(4) == 0)
      c.bytes += "Authorization: "
                 + pick({"Bearer x", "Bearer ", "Basic abc", random_bytes(8)})
                 + "\r\n";
    auto length = body.size();
    if (gen_.below(20) == 0)
      length = gen_.below(2 * body.size() + 2);
    c.bytes += "Content-Type: application/json\r\nContent-Length: "
               + std::to_string(length) + "\r\n\r\n" + body;
    return c;
  }

 private:
  std::string target() {
    std::string name =
      gen_.below(4) == 0
        ? url_ish(gen_.below(30))
        : pick({"payments", "inventory", "*", "%2A", "%2a", "%", "%2", "%zz",
                "%00", "", "nope", "payments/x", "../config", "payments%20",
                "%2A%2A", "*?x=1", std::string(3000, 'a')});
    return pick(
             {"/flags/", "/flags/", "/flags/", "/flags", "/flags//", "/FLAGS/"})
           + name;
  }

  std::string flags_ish(int depth) {
    switch (gen_.below(depth > 3 ? 5 : 8)) {
      case 0:
        return pick(
          {"150", "-1", "50", "0", "100", "100.5", "1e999", "\"50\""});
      case 1:
        return pick({"true", "false", "null", "[]", "\"\""});
      case 2:
        return "\""
               + pick({"normal", "force_open", "disabled", "forced_open", "x",
                       "Normal"})
               + "\"";
      case 3:
        return pick({"{", "}", "[", ",", ":", "\"\\u12", ""});
      case 4:
        return random_bytes(gen_.below(6));
      default: {
        std::string s = "{";
        auto n = gen_.below(4);
        for (std::uint64_t i = 0; i < n; ++i) {
          if (i > 0)
            s += ",";
          s += "\""
               + pick({"retry", "hedging", "breaker", "enabled", "rollout",
                       "mode", "x", "*"})
               + "\":" + flags_ish(depth + 1);
        }
        return s + (gen_.below(10) == 0 ? "" : "}");
      }
    }
  }

  std::string url_ish(std::uint64_t n) {
    static const std::string chars = "abcXYZ019-_.~%*/?#&=+ \t\x01\x7f\xff";
    std::string s;
    for (std::uint64_t i = 0; i < n; ++i)
      s.push_back(chars[gen_.below(chars.size())]);
    return s;
  }

  std::string random_bytes(std::uint64_t n) {
    std::string s;
    for (std::uint64_t i = 0; i < n; ++i)
      s.push_back(static_cast<char>(gen_.below(256)));
    return s;
  }

  std::string flip(std::string s) {
    auto n = 1 + gen_.below(4);
    for (std::uint64_t i = 0; i < n && !s.empty(); ++i)
      s[gen_.below(s.size())] = static_cast<char>(gen_.below(256));
    return s;
  }

  std::string pick(std::vector<std::string> options) {
    return options[gen_.below(options.size())];
  }

  rng gen_;
};

/// Sends `n` flags cases, one connection each, and judges the answers as
/// run_fuzz does; adds to `sum`.
inline void run_flags_fuzz(
  std::uint16_t port, std::uint64_t seed, std::size_t n, fuzz_summary& sum,
  std::chrono::milliseconds client_timeout = std::chrono::seconds(5)) {
  flags_fuzzer fuzz{seed};
  run_fuzz_cases(port, fuzz, n, sum, client_timeout);
}

} // namespace bulwark::testing
