#include "bulwark/runtime/chaos/proxy_fault.hpp"

#include <array>
#include <cmath>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

proxy_fault_config parse_ok(const std::string& text) {
  error_list errors;
  auto cfg = parse_proxy_fault(boost::json::parse(text), json_path{}, errors);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  return cfg;
}

error_list parse_bad(const std::string& text) {
  error_list errors;
  parse_proxy_fault(boost::json::parse(text), json_path{}, errors);
  return errors;
}

// An error whose "PATH: message" line starts with `line`.
bool has_error(const error_list& errors, const std::string& line) {
  for (auto& e : errors.errors())
    if (e.to_string().rfind(line, 0) == 0)
      return true;
  return false;
}

const time_point t0{};

} // namespace

TEST_CASE("over 100,000 seeded requests every injected share is within one "
          "percentage point of the schedule, and within three standard "
          "errors of it over 1,000,000 (the draw is unbiased)",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"reset": 2, "black_hole": 1,
    "errors": {"transient": 5, "overloaded": 3, "persistent": 4},
    "retry_after": "2s", "slow_body": {"rate": 10, "bytes_per_s": 100}})");
  auto seed = GENERATE(1u, 2u, 3u);
  INFO("seed " << seed);
  for (int n : {100'000, 1'000'000}) {
    rng gen{seed};
    std::array<double, injected_fault_count> seen{};
    int forwarded = 0;
    for (int i = 0; i < n; ++i) {
      auto d = decide_proxy(cfg, t0, t0 + seconds(1), gen);
      switch (d.action) {
        case proxy_action::forward:
          ++forwarded;
          break;
        case proxy_action::reset:
          seen[static_cast<std::size_t>(injected_fault::reset)] += 1;
          break;
        case proxy_action::black_hole:
          seen[static_cast<std::size_t>(injected_fault::black_hole)] += 1;
          break;
        case proxy_action::error:
          seen[static_cast<std::size_t>(d.failure)] += 1;
          REQUIRE(d.retry_after
                  == (d.failure == failure_class::overloaded ? seconds(2)
                                                             : seconds(0)));
          break;
      }
      if (d.slow_body)
        seen[static_cast<std::size_t>(injected_fault::slow_body)] += 1;
    }
    auto share = [&](injected_fault k) {
      return seen[static_cast<std::size_t>(k)] / n;
    };
    std::array<std::pair<injected_fault, double>, 6> want{{
      {injected_fault::reset, 0.02},
      {injected_fault::black_hole, 0.01},
      {injected_fault::transient, 0.05},
      {injected_fault::overloaded, 0.03},
      {injected_fault::persistent, 0.04},
      // Slow bodies only apply to answered requests (forwarded or errors).
      {injected_fault::slow_body, 0.10 * 0.97},
    }};
    for (auto& [kind, rate] : want) {
      INFO(n << " requests, " << to_string(kind));
      if (n == 100'000)
        CHECK(std::fabs(share(kind) - rate) <= 0.01);
      else
        CHECK(std::fabs(share(kind) - rate)
              <= 3 * std::sqrt(rate * (1 - rate) / n));
    }
    CHECK(share(injected_fault::timeout) == 0.0);
    CHECK(forwarded > 0);
  }
}

TEST_CASE("an injected class is answered with its status and only "
          "overloaded carries Retry-After",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"errors": {"overloaded": 100}, "retry_after": "3s",
                          "statuses": {"overloaded": 429}})");
  rng gen{1};
  auto d = decide_proxy(cfg, t0, t0, gen);
  CHECK(d.action == proxy_action::error);
  CHECK(d.status == 429);
  CHECK(d.retry_after == seconds(3));
  auto plain = parse_ok(R"({"errors": {"transient": 100}})");
  d = decide_proxy(plain, t0, t0, gen);
  CHECK(d.status == 502);
  CHECK(d.retry_after == seconds(0));
}

TEST_CASE("windows count from when the fault was added: an outage fails "
          "every request inside it, a slowdown multiplies the latency",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"latency": {"kind": "fixed", "value": "10ms"},
    "windows": [{"kind": "outage", "start": "1s", "end": "2s",
                 "failure": "timeout"},
                {"kind": "slowdown", "start": "3s", "end": "4s",
                 "factor": 5}]})");
  rng gen{1};
  auto added = t0 + seconds(100);
  auto before = decide_proxy(cfg, added, added + milliseconds(999), gen);
  CHECK(before.action == proxy_action::forward);
  CHECK(before.latency == milliseconds(10));
  auto during = decide_proxy(cfg, added, added + milliseconds(1500), gen);
  CHECK(during.action == proxy_action::error);
  CHECK(during.failure == failure_class::timeout);
  CHECK(during.status == 504);
  auto slow = decide_proxy(cfg, added, added + milliseconds(3500), gen);
  CHECK(slow.latency == milliseconds(50));
}

TEST_CASE("after crash_at every request is reset, and a black hole waits "
          "for nothing",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"crash_at": "5s",
                          "latency": {"kind": "fixed", "value": "1s"}})");
  rng gen{1};
  CHECK(decide_proxy(cfg, t0, t0 + seconds(4), gen).action
        == proxy_action::forward);
  CHECK(decide_proxy(cfg, t0, t0 + seconds(5), gen).action
        == proxy_action::reset);
  auto hole = parse_ok(R"({"black_hole": 100,
                           "latency": {"kind": "fixed", "value": "1s"}})");
  auto d = decide_proxy(hole, t0, t0, gen);
  CHECK(d.action == proxy_action::black_hole);
  CHECK(d.latency == duration::zero());
  CHECK(d.body_bytes_per_s == 0);
}

TEST_CASE("a slow body is limited to its rate and the bandwidth caps every "
          "answered body",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"bandwidth": {"bytes_per_s": 5000},
                          "slow_body": {"rate": 100, "bytes_per_s": 10}})");
  rng gen{1};
  auto d = decide_proxy(cfg, t0, t0, gen);
  CHECK(d.slow_body);
  CHECK(d.body_bytes_per_s == 10);
  auto bw = parse_ok(R"({"bandwidth": {"bytes_per_s": 5000}})");
  d = decide_proxy(bw, t0, t0, gen);
  CHECK_FALSE(d.slow_body);
  CHECK(d.body_bytes_per_s == 5000);
  CHECK(decide_proxy(parse_ok("{}"), t0, t0, gen).body_bytes_per_s == 0);
}

TEST_CASE("a fault matches by method and path prefix, ignoring the query",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"method": "POST", "path": "/charge"})");
  CHECK(matches(cfg, "POST", "/charge"));
  CHECK(matches(cfg, "POST", "/charge/1?x=2"));
  CHECK_FALSE(matches(cfg, "GET", "/charge"));
  CHECK_FALSE(matches(cfg, "POST", "/refund?p=/charge"));
  auto any = parse_ok("{}");
  CHECK(matches(any, "DELETE", "/x"));
}

TEST_CASE("a bad fault lists every error with its JSON Pointer",
          "[runtime][chaos][proxy]") {
  auto errors = parse_bad(R"({"method": "post", "path": "charge",
    "statuses": {"transient": 200}, "reset": 60, "black_hole": -1,
    "errors": {"transient": 50}, "slow_body": {"rate": 5, "speed": 1},
    "bandwidth": {}, "latency": {"kind": "fixed", "value": "soon"},
    "colour": "red"})");
  INFO(errors.to_string());
  CHECK(has_error(errors, "/method: must be an HTTP method: 1 to 16 "
                          "uppercase letters (got: \"post\")"));
  CHECK(has_error(errors, "/path: must start with '/'"));
  CHECK(has_error(errors, "/statuses/transient: must be between 400 and 599 "
                          "(got: 200)"));
  CHECK(has_error(errors, "/black_hole: must be between 0 and 100 (got: -1)"));
  CHECK(has_error(errors, "/slow_body/speed: unknown key"));
  CHECK(has_error(errors, "/bandwidth/bytes_per_s: is required"));
  CHECK(has_error(errors, "(root): reset, black_hole and errors must add up "
                          "to at most 100 (got: 110)"));
  CHECK(has_error(errors, "/colour: unknown key"));
  bool latency_error = false;
  for (auto& e : errors.errors())
    latency_error = latency_error || e.path == "/latency/value";
  CHECK(latency_error);
}

TEST_CASE("a fault written as JSON reads back equal",
          "[runtime][chaos][proxy]") {
  auto cfg = parse_ok(R"({"method": "POST", "path": "/charge", "reset": 1.5,
    "errors": {"overloaded": 10}, "retry_after": "1s",
    "statuses": {"overloaded": 429},
    "slow_body": {"rate": 5, "bytes_per_s": 64},
    "bandwidth": {"bytes_per_s": 1000},
    "latency": {"kind": "uniform", "min": "1ms", "max": "3ms"},
    "windows": [{"kind": "brownout", "start": "0s", "end": "10s",
                 "failure": "transient", "rate": 20}]})");
  auto again = parse_ok(boost::json::serialize(to_json(cfg)));
  CHECK(again == cfg);
  CHECK(to_string(proxy_action::black_hole) == "black_hole");
  CHECK(to_string(injected_fault::slow_body) == "slow_body");
}
