// Sends the cases of a hostile_corpus to a server on 127.0.0.1 and judges
// every answer against what the case allows: each answer must be complete,
// well-formed HTTP/1.x with an acceptable status (never a 500 unless
// allowed: that is a handler that threw), the server must give exactly the
// answers the case holds (one more means it answered a request hidden in
// the bytes) and close or answer within the client timeout. Cases run on
// `concurrency` connections at a time, in batches; after each batch the
// profile's normal requests (GET of its health target, one valid request per
// JSON endpoint) must answer 2xx, so a route that died is caught even though
// 503 is acceptable in a case's answer. Used by the Catch2 tests (in
// process) and by the bulwark-hostile tool (against a process).
#pragma once

#include "tests/actors/http/hostile_corpus.hpp"
#include "tests/actors/http/http_test_client.hpp"

// GCC 12 with -fsanitize=address reports a maybe-uninitialized
// boost::optional inside Beast's parser (a false positive in code inlined
// from Boost's headers); -Werror would fail the sanitizer build on it.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/parser.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::testing {

struct hostile_run_options {
  std::uint16_t port = 0;
  hostile_profile profile = hostile_profile::plain;
  std::uint64_t seed = 1;
  std::size_t cases = 1000;
  std::size_t first_case = 0; // to replay one case: first_case = i, cases = 1
  std::size_t concurrency = 4;
  std::size_t batch = 200;
  /// Bounds every wait of a case; must exceed the server's read timeout
  /// (a slowloris case waits for the server to close).
  std::chrono::milliseconds client_timeout{15'000};
  /// Statuses acceptable in every answer on top of the case's (e.g. 500
  /// while faults are injected on purpose).
  std::set<int> also_allowed;
};

struct hostile_violation {
  std::size_t index = 0;
  std::string category;
  std::string kind;
  std::string what;
  std::string bytes; // first 200 bytes of the case, escaped
};

struct hostile_summary {
  std::size_t cases = 0;
  std::size_t answered = 0; // at least one answer
  std::size_t silent = 0; // closed without an answer (allowed by the case)
  std::size_t resets = 0; // the client reset the connection, nothing judged
  std::size_t liveness_checks = 0;
  std::map<std::string, std::size_t> categories;
  std::map<int, std::size_t> statuses;
  std::vector<hostile_violation> violations;
  std::size_t violation_count = 0; // violations beyond the first 50 are counted

  bool ok() const {
    return violation_count == 0;
  }
};

namespace detail {

/// The answers in `out`, parsed one after another; `head(i)` says whether
/// answer i is to a HEAD request. Interim 1xx answers are skipped.
struct parsed_answers {
  std::vector<int> statuses;
  std::vector<std::string> bodies; // first 120 bytes of each, escaped
  std::string error; // not well-formed, or cut short
};

template <class IsHead>
parsed_answers parse_answers(const std::string& out, IsHead head) {
  namespace http = boost::beast::http;
  parsed_answers result;
  std::string_view rest = out;
  while (!rest.empty()) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    if (head(result.statuses.size()))
      parser.skip(true);
    boost::beast::error_code ec;
    auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec == http::error::need_more || (!ec && !parser.is_done())) {
      result.error = "incomplete answer (the connection closed inside it): "
                     + printable(std::string{rest}, 80);
      return result;
    }
    if (ec) {
      result.error = "answer is not well-formed HTTP (" + ec.message()
                     + "): " + printable(std::string{rest}, 80);
      return result;
    }
    rest.remove_prefix(used);
    auto status = parser.get().result_int();
    if (status >= 200) {
      result.statuses.push_back(static_cast<int>(status));
      result.bodies.push_back(printable(parser.get().body(), 120));
    }
  }
  return result;
}

inline std::string status_list(const std::vector<int>& statuses) {
  std::string out = "{";
  for (std::size_t i = 0; i < statuses.size(); ++i)
    out += (i ? ", " : "") + std::to_string(statuses[i]);
  return out + "}";
}

} // namespace detail

/// Judges what the server sent for `c`; returns "" when it was fine.
inline std::string judge_hostile(const hostile_case& c, const std::string& out,
                                 hostile_profile profile,
                                 const std::set<int>& also_allowed,
                                 std::vector<int>* statuses = nullptr) {
  auto parsed = detail::parse_answers(out, [&](std::size_t i) {
    return !c.any_answers && i < c.answers.size() && c.answers[i].head;
  });
  if (statuses)
    *statuses = parsed.statuses;
  if (!parsed.error.empty() && !(c.any_answers && !parsed.statuses.empty()))
    return parsed.error;
  auto allowed = [&](int status, const hostile_answer* a) {
    if (status == 503 || also_allowed.count(status) > 0)
      return true;
    if (c.any_answers)
      return status >= 200 && status < 500;
    if (!a->statuses.empty())
      return std::find(a->statuses.begin(), a->statuses.end(), status)
             != a->statuses.end();
    return hostile_app_status(profile, status);
  };
  auto n = parsed.statuses.size();
  for (std::size_t i = 0; i < n; ++i) {
    auto status = parsed.statuses[i];
    if (c.any_answers) {
      if (!allowed(status, nullptr))
        return "answer " + std::to_string(i + 1) + " has status "
               + std::to_string(status)
               + " (a server error): " + parsed.bodies[i];
      continue;
    }
    if (i >= c.answers.size())
      return "answered " + std::to_string(n) + " requests where the case holds "
             + std::to_string(c.answers.size())
             + " (a hidden or injected request was answered)";
    if (!allowed(status, &c.answers[i]))
      return "answer " + std::to_string(i + 1) + " has status "
             + std::to_string(status) + ", expected "
             + (c.answers[i].statuses.empty()
                  ? std::string{"an answer of the "}
                      + std::string{to_string(profile)} + " handlers"
                  : detail::status_list(c.answers[i].statuses))
             + ": " + parsed.bodies[i];
  }
  if (!c.any_answers && !c.silent_ok && n < c.answers.size())
    return "closed after " + std::to_string(n) + " answers, expected "
           + std::to_string(c.answers.size());
  return "";
}

/// Sends one case and judges it; "" when fine. Adds to `sum` under `mtx`.
inline void run_hostile_case(const hostile_run_options& opts,
                             const hostile_case& c, hostile_summary& sum,
                             std::mutex& mtx) {
  auto violation = [&](const std::string& what) {
    std::lock_guard<std::mutex> guard{mtx};
    if (++sum.violation_count <= 50)
      sum.violations.push_back({c.index, std::string{to_string(c.category)},
                                c.kind, what, printable(c.bytes, 200)});
  };
  http_test_client client{opts.port, opts.client_timeout};
  if (!client.connect()) {
    violation("connect failed: " + client.last_error().message());
    return;
  }
  // A send error is fine: the server may answer and close early.
  if (!c.bytes.empty())
    client.send_raw(c.bytes);
  if (c.ending == fuzz_ending::reset) {
    client.reset();
    std::lock_guard<std::mutex> guard{mtx};
    ++sum.resets;
    return;
  }
  if (c.ending == fuzz_ending::half_close)
    client.shutdown_send();
  auto out = client.read_all();
  if (client.timed_out()) {
    violation("neither answered nor closed within "
              + std::to_string(opts.client_timeout.count()) + " ms");
    return;
  }
  std::vector<int> statuses;
  auto what = judge_hostile(c, out, opts.profile, opts.also_allowed, &statuses);
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (statuses.empty())
      ++sum.silent;
    else
      ++sum.answered;
    for (auto s : statuses)
      ++sum.statuses[s];
  }
  if (!what.empty())
    violation(what);
}

/// Sends the corpus's normal requests (`n` varies their keys); "" when each
/// answered 2xx (or a status in `also_allowed`), else what went wrong.
inline std::string hostile_liveness(const hostile_run_options& opts,
                                    const hostile_corpus& corpus,
                                    std::uint64_t n) {
  for (auto& p : corpus.normal_requests(n)) {
    http_test_client client{opts.port, opts.client_timeout};
    if (!client.connect())
      return p.name + ": connect failed";
    if (!client.send_raw(p.bytes))
      return p.name + ": send failed";
    auto res = client.read_response();
    if (!res)
      return p.name + ": no answer (" + client.last_error().message() + ")";
    auto status = static_cast<int>(res->result_int());
    if ((status < 200 || status > 299) && opts.also_allowed.count(status) == 0)
      return p.name + " answered " + std::to_string(status) + ": "
             + printable(res->body(), 120);
  }
  return "";
}

/// Runs `opts.cases` cases from `opts.first_case` on.
inline hostile_summary run_hostile(const hostile_run_options& opts) {
  hostile_corpus corpus{opts.profile, opts.seed};
  hostile_summary sum;
  std::mutex mtx;
  auto end = opts.first_case + opts.cases;
  auto batch = std::max<std::size_t>(1, opts.batch);
  auto workers = std::max<std::size_t>(1, opts.concurrency);
  for (auto first = opts.first_case; first < end; first += batch) {
    auto last = std::min(end, first + batch);
    std::atomic<std::size_t> next{first};
    auto work = [&] {
      for (auto i = next++; i < last; i = next++) {
        auto c = corpus.make(i);
        {
          std::lock_guard<std::mutex> guard{mtx};
          ++sum.cases;
          ++sum.categories[std::string{to_string(c.category)}];
        }
        run_hostile_case(opts, c, sum, mtx);
      }
    };
    std::vector<std::thread> threads;
    for (std::size_t w = 1; w < workers; ++w)
      threads.emplace_back(work);
    work();
    for (auto& t : threads)
      t.join();
    ++sum.liveness_checks;
    auto failed = hostile_liveness(opts, corpus, last);
    if (!failed.empty()) {
      std::lock_guard<std::mutex> guard{mtx};
      if (++sum.violation_count <= 50)
        sum.violations.push_back({last - 1, "liveness", "normal requests",
                                  "after cases " + std::to_string(first) + ".."
                                    + std::to_string(last - 1) + ": " + failed,
                                  ""});
    }
  }
  return sum;
}

/// Several lines: cases per category, outcomes, statuses, violations.
inline std::string describe(const hostile_summary& sum) {
  std::string out = "cases " + std::to_string(sum.cases) + ": answered "
                    + std::to_string(sum.answered)
                    + ", closed without an answer " + std::to_string(sum.silent)
                    + ", reset by the client " + std::to_string(sum.resets)
                    + ", liveness checks " + std::to_string(sum.liveness_checks)
                    + ", violations " + std::to_string(sum.violation_count)
                    + "\ncategories:";
  for (auto& [name, n] : sum.categories)
    out += " " + name + "=" + std::to_string(n);
  out += "\nstatuses:";
  for (auto& [status, n] : sum.statuses)
    out += " " + std::to_string(status) + "=" + std::to_string(n);
  for (auto& v : sum.violations)
    out += "\nVIOLATION case " + std::to_string(v.index) + " [" + v.category
           + ": " + v.kind + "] " + v.what + "\n  bytes: " + v.bytes;
  return out;
}

/// The summary as one JSON object.
inline boost::json::object to_json(const hostile_summary& sum) {
  boost::json::object categories;
  for (auto& [name, n] : sum.categories)
    categories[name] = n;
  boost::json::object statuses;
  for (auto& [status, n] : sum.statuses)
    statuses[std::to_string(status)] = n;
  boost::json::array violations;
  for (auto& v : sum.violations)
    violations.push_back(boost::json::object{{"case", v.index},
                                             {"category", v.category},
                                             {"kind", v.kind},
                                             {"what", v.what},
                                             {"bytes", v.bytes}});
  return {{"cases", sum.cases},
          {"answered", sum.answered},
          {"silent", sum.silent},
          {"resets", sum.resets},
          {"liveness_checks", sum.liveness_checks},
          {"violation_count", sum.violation_count},
          {"categories", std::move(categories)},
          {"statuses", std::move(statuses)},
          {"violations", std::move(violations)}};
}

} // namespace bulwark::testing
