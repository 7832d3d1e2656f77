// A seeded generator of hostile HTTP input for the server fuzz tests: random
// bytes, valid requests with flipped bytes or cut short, bad methods and
// versions, huge headers, broken chunked encoding, bad or conflicting
// Content-Length, request smuggling shapes, pipelined garbage, and (for the
// admin server) PUT /config with random JSON-ish bodies. Each case also says
// how the client ends the connection, so half-closed and reset sockets are
// exercised too. The same seed gives the same cases. hostile_corpus.hpp
// uses it for its `mutation` category.
#pragma once

#include "bulwark/runtime/core/rng.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace bulwark::testing {

enum class fuzz_ending {
  half_close, // send, half-close, read until the server closes
  reset, // send, then reset the connection without reading
  stay_open, // send, keep the socket open: the server's timeout must act
};

struct fuzz_case {
  std::string bytes;
  fuzz_ending ending = fuzz_ending::half_close;
  const char* kind = "";
};

class http_fuzzer {
 public:
  explicit http_fuzzer(std::uint64_t seed) : gen_(seed) {}

  /// Targets that make well-formed requests; the first few cases are
  /// mutated from requests to these.
  std::vector<std::string> targets{
    "/healthz",           "/readyz",     "/metrics", "/config",
    "/journeys?failed=1", "/journeys/1", "/nope"};

  fuzz_case next() {
    fuzz_case c;
    auto roll = gen_.below(1000);
    if (roll < 2)
      c.ending = fuzz_ending::stay_open;
    else if (roll < 100)
      c.ending = fuzz_ending::reset;
    switch (gen_.below(17)) {
      case 0:
        c.kind = "random bytes";
        c.bytes = random_bytes(gen_.below(400));
        break;
      case 1:
        c.kind = "flipped bytes";
        c.bytes = flip(valid_request());
        break;
      case 2:
        c.kind = "truncated";
        c.bytes = valid_request();
        c.bytes.resize(gen_.below(c.bytes.size()));
        break;
      case 3:
        c.kind = "bad method";
        c.bytes = pick({"G@T", "get", "FOO BAR", "", " ", "GET\x01", "PUT\t",
                        std::string(300, 'A')})
                  + " " + target() + " HTTP/1.1\r\nHost: x\r\n\r\n";
        break;
      case 4:
        c.kind = "bad version";
        c.bytes = "GET " + target() + " "
                  + pick({"HTTP/9.9", "HTTP/1.1x", "HTTP/1", "http/1.1",
                          "HTTP/1.10", "", "HTTP/0.9"})
                  + "\r\nHost: x\r\n\r\n";
        break;
      case 5:
        c.kind = "huge header";
        c.bytes = "GET " + target() + " HTTP/1.1\r\nHost: x\r\nX-Big: "
                  + std::string(4'000 + gen_.below(20'000), 'b') + "\r\n\r\n";
        break;
      case 6: {
        c.kind = "many headers";
        c.bytes = "GET " + target() + " HTTP/1.1\r\nHost: x\r\n";
        auto n = 50 + gen_.below(1'000);
        for (std::uint64_t i = 0; i < n; ++i)
          c.bytes += "X-H" + std::to_string(i) + ": v\r\n";
        c.bytes += "\r\n";
        break;
      }
      case 7:
        c.kind = "bad chunked";
        c.bytes =
          "PUT /config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
          "chunked\r\n\r\n"
          + pick({"ZZ\r\nab\r\n0\r\n\r\n", "FFFFFFFFFFFFFFFFFFFF\r\nab\r\n",
                  "5\r\nab\r\n0\r\n\r\n", "2\r\nab0\r\n\r\n",
                  "2;ext=\x01\r\nab\r\n0\r\n\r\n", "-1\r\n\r\n", "3\r\nabc\r\n",
                  "200000\r\n" + std::string(5000, 'c')});
        break;
      case 8:
        c.kind = "bad content-length";
        c.bytes = "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  + pick({"-1", "abc", "1, 2", "99999999999999999999999",
                          "0x10", " ", "4\r\nContent-Length: 5", "+4"})
                  + "\r\n\r\n{}{}";
        break;
      case 9:
        c.kind = "short body";
        c.bytes = "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  + std::to_string(100 + gen_.below(1000)) + "\r\n\r\n{\"a\":";
        break;
      case 10:
        c.kind = "oversized body";
        c.bytes = "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  + std::to_string((1 << 20) + 1 + gen_.below(1 << 20))
                  + "\r\n\r\n" + std::string(gen_.below(2000), '{');
        break;
      case 11:
        c.kind = "chunked and content-length";
        c.bytes = "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        break;
      case 12:
        c.kind = "pipelined garbage";
        c.bytes = valid_request() + random_bytes(gen_.below(200));
        break;
      case 13:
        c.kind = "random json-ish config";
        c.bytes = put_config(json_ish(0));
        break;
      case 14:
        c.kind = "mutated config";
        c.bytes = put_config(
          flip(R"({"dependencies": {"dep": {"retry": {"max_attempts": 3}}}})"));
        break;
      case 15:
        c.kind = "control bytes in header";
        c.bytes = "GET " + target() + " HTTP/1.1\r\nHost: x\r\nX-A: "
                  + random_bytes(1 + gen_.below(40)) + "\r\n\r\n";
        break;
      default:
        c.kind = "valid";
        c.bytes = valid_request();
        break;
    }
    return c;
  }

  std::uint64_t below(std::uint64_t n) {
    return gen_.below(n);
  }

 private:
  std::string random_bytes(std::uint64_t n) {
    std::string s;
    s.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
      s.push_back(static_cast<char>(gen_.below(256)));
    return s;
  }

  std::string flip(std::string s) {
    if (s.empty())
      return s;
    auto n = 1 + gen_.below(6);
    for (std::uint64_t i = 0; i < n; ++i)
      s[gen_.below(s.size())] = static_cast<char>(gen_.below(256));
    return s;
  }

  std::string pick(std::vector<std::string> options) {
    return options[gen_.below(options.size())];
  }

  std::string target() {
    return targets[gen_.below(targets.size())];
  }

  std::string valid_request() {
    return "GET " + target() + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }

  std::string put_config(const std::string& body) {
    return "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Type: "
           "application/json\r\n"
           "Content-Length: "
           + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  std::string json_ish(int depth) {
    switch (gen_.below(depth > 4 ? 6 : 9)) {
      case 0:
        return std::to_string(static_cast<std::int64_t>(gen_())
                              >> gen_.below(64));
      case 1:
        return "\""
               + pick({"250ms", "1s", "x", "", "-5ms", "exponential", "full"})
               + "\"";
      case 2:
        return pick({"true", "false", "null", "1e999", "-0", "0.5"});
      case 3:
        return random_bytes(gen_.below(10));
      case 4:
        return pick({"{", "}", "[", "]", ",", ":", "\"\\u12"});
      case 5:
        return "\"" + random_bytes(gen_.below(8)) + "\"";
      case 6:
      case 7: {
        std::string s = "{";
        auto n = gen_.below(5);
        for (std::uint64_t i = 0; i < n; ++i) {
          if (i > 0)
            s += ",";
          s += "\""
               + pick({"dependencies", "dep", "retry", "max_attempts",
                       "backoff", "breaker", "timeout", "kind", "base", "cache",
                       "hedge", "x"})
               + "\":" + json_ish(depth + 1);
        }
        return s + (gen_.below(10) == 0 ? "" : "}");
      }
      default: {
        std::string s = "[";
        auto n = gen_.below(4);
        for (std::uint64_t i = 0; i < n; ++i)
          s += (i > 0 ? "," : "") + json_ish(depth + 1);
        return s + "]";
      }
    }
  }

  rng gen_;
};

/// The seed of a fuzz run: $BULWARK_FUZZ_SEED when set (to replay a
/// failure), a fresh random one otherwise. Tests print it.
inline std::uint64_t fuzz_seed() {
  if (const char* env = std::getenv("BULWARK_FUZZ_SEED"))
    return std::strtoull(env, nullptr, 10);
  return (static_cast<std::uint64_t>(std::random_device{}()) << 32)
         ^ std::random_device{}();
}

/// What a fuzz run saw.
struct fuzz_summary {
  std::size_t cases = 0;
  std::size_t answered = 0; // got at least one status line
  std::size_t silent = 0; // closed without an answer (timeouts, resets)
  std::map<int, std::size_t> statuses;
  std::map<std::string, std::size_t> kinds;
  /// Hangs, refused connections, 5xx other than 503: each a failure.
  std::vector<std::string> problems;
};

/// "cases N, answered N, silent N, statuses {400: N, ...}".
inline std::string describe(const fuzz_summary& sum) {
  std::string out = "cases " + std::to_string(sum.cases) + ", answered "
                    + std::to_string(sum.answered) + ", closed silently "
                    + std::to_string(sum.silent) + ", statuses {";
  bool first = true;
  for (auto& [status, n] : sum.statuses) {
    out +=
      (first ? "" : ", ") + std::to_string(status) + ": " + std::to_string(n);
    first = false;
  }
  return out + "}";
}

/// Printable prefix of `s` for failure messages.
inline std::string printable(const std::string& s, std::size_t max = 120) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 32 && c < 127) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// Sends `n` cases of `fuzz` (anything with `fuzz_case next()`), one
/// connection each, and adds what the server did to `sum`. `client_timeout`
/// bounds every wait: a server that neither answers nor closes in time is a
/// problem, and so is any answer but HTTP or a 5xx other than 503.
template <class Fuzzer>
void run_fuzz_cases(std::uint16_t port, Fuzzer& fuzz, std::size_t n,
                    fuzz_summary& sum,
                    std::chrono::milliseconds client_timeout) {
  auto problem = [&](const fuzz_case& c, const std::string& what) {
    if (sum.problems.size() < 20)
      sum.problems.push_back(what + " [" + c.kind + "] " + printable(c.bytes));
    else if (sum.problems.size() == 20)
      sum.problems.push_back("...");
  };
  for (std::size_t i = 0; i < n; ++i) {
    auto c = fuzz.next();
    ++sum.cases;
    ++sum.kinds[c.kind];
    http_test_client client{port, client_timeout};
    if (!client.connect()) {
      problem(c, "connect failed: " + client.last_error().message());
      continue;
    }
    // A send error is fine: the server may answer and close early.
    client.send_raw(c.bytes);
    if (c.ending == fuzz_ending::reset) {
      client.reset();
      continue;
    }
    if (c.ending == fuzz_ending::half_close)
      client.shutdown_send();
    auto out = client.read_all();
    if (client.timed_out()) {
      problem(c, "no answer and no close within the client timeout");
      continue;
    }
    // Skip interim 100 Continue answers.
    std::size_t pos = 0;
    while (out.compare(pos, 12, "HTTP/1.1 100") == 0) {
      auto end = out.find("\r\n\r\n", pos);
      if (end == std::string::npos)
        break;
      pos = end + 4;
    }
    if (out.size() < pos + 12) {
      ++sum.silent;
      continue;
    }
    // An HTTP/1.0 request (a flipped byte can make one) gets an HTTP/1.0
    // status line.
    if (out.compare(pos, 9, "HTTP/1.1 ") != 0
        && out.compare(pos, 9, "HTTP/1.0 ") != 0) {
      problem(c, "answer is not HTTP: " + printable(out.substr(pos), 60));
      continue;
    }
    ++sum.answered;
    auto status = std::atoi(out.substr(pos + 9, 3).c_str());
    ++sum.statuses[status];
    if (status >= 500 && status != 503)
      problem(c, "server error " + printable(out.substr(pos), 300));
  }
}

/// Sends `n` generated cases (http_fuzzer seeded with `seed`).
inline fuzz_summary
run_fuzz(std::uint16_t port, std::uint64_t seed, std::size_t n,
         std::chrono::milliseconds client_timeout = std::chrono::seconds(5)) {
  fuzz_summary sum;
  http_fuzzer fuzz{seed};
  run_fuzz_cases(port, fuzz, n, sum, client_timeout);
  return sum;
}

} // namespace bulwark::testing
