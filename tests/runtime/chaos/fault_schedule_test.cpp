#include "bulwark/runtime/chaos/fault_schedule.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

fault_schedule parse(std::string_view text, error_list& errors) {
  return parse_fault_schedule(boost::json::parse(text), json_path{} / "chaos",
                              errors);
}

fault_schedule parse_ok(std::string_view text) {
  error_list errors;
  auto cfg = parse(text, errors);
  INFO(text);
  REQUIRE(errors.to_string() == "");
  return cfg;
}

time_point at(duration d) {
  return time_point{} + d;
}

} // namespace

TEST_CASE("fault schedule defaults survive a round trip through JSON",
          "[runtime][chaos][config]") {
  fault_schedule defaults;
  error_list errors;
  auto back = parse_fault_schedule(to_json(defaults), json_path{}, errors);
  CHECK(errors.to_string() == "");
  CHECK(back == defaults);
}

TEST_CASE("a full fault schedule survives a round trip through JSON",
          "[runtime][chaos][config]") {
  auto cfg = parse_ok(R"({
    "errors": {"transient": 20, "overloaded": 5, "timeout": 1.5},
    "retry_after": "2s",
    "latency": {"kind": "mixture", "parts": [
      {"weight": 0.99, "kind": "log_normal", "median": "10ms", "sigma": 0.5},
      {"weight": 0.01, "kind": "uniform", "min": "1s", "max": "2s"}]},
    "windows": [
      {"kind": "outage", "start": "10s", "end": "20s", "failure": "overloaded"},
      {"kind": "brownout", "start": "1s", "end": "2s", "rate": 30},
      {"kind": "slowdown", "start": "5s", "end": "6s", "factor": 4}],
    "crash_at": "1m"})");
  CHECK(cfg.error_rate[static_cast<std::size_t>(failure_class::transient)]
        == Approx(0.2));
  CHECK(cfg.error_rate[static_cast<std::size_t>(failure_class::timeout)]
        == Approx(0.015));
  CHECK(cfg.retry_after == seconds(2));
  REQUIRE(cfg.latency.parts.size() == 2);
  CHECK(cfg.latency.parts[0].kind == latency_kind::log_normal);
  CHECK(cfg.latency.parts[1].max == seconds(2));
  REQUIRE(cfg.windows.size() == 3);
  CHECK(cfg.windows[0].failure == failure_class::overloaded);
  CHECK(cfg.windows[1].rate == Approx(0.3));
  CHECK(cfg.windows[2].factor == 4.0);
  CHECK(cfg.crash_at == minutes(1));
  error_list errors;
  auto back = parse_fault_schedule(to_json(cfg), json_path{}, errors);
  CHECK(errors.to_string() == "");
  CHECK(back == cfg);
}

TEST_CASE("bad fault schedules are reported with their JSON Pointer",
          "[runtime][chaos][config]") {
  std::vector<std::pair<std::string, std::string>> table{
    {R"([])", "/chaos: must be an object (got: [])"},
    {R"({"color": 1})", "/chaos/color: unknown key (allowed: errors, "
                        "retry_after, latency, windows, crash_at)"},
    {R"({"errors": {"transient": 120}})",
     "/chaos/errors/transient: must be between 0 and 100 (got: 120)"},
    {R"({"errors": {"cancelled": 1}})",
     "/chaos/errors/cancelled: unknown key (allowed: transient, timeout, "
     "overloaded, persistent)"},
    {R"({"errors": {"transient": 60, "overloaded": 50}})",
     "/chaos/errors: rates must add up to at most 100 (got: 110)"},
    {R"({"latency": {"value": "1ms"}})", "/chaos/latency/kind: is required"},
    {R"({"latency": {"kind": "gamma"}})",
     "/chaos/latency/kind: must be one of \"fixed\", \"uniform\", "
     "\"log_normal\", \"mixture\" (got: \"gamma\")"},
    {R"({"latency": {"kind": "fixed", "median": "1ms"}})",
     "/chaos/latency/median: unknown key (allowed: kind, value)"},
    {R"({"latency": {"kind": "uniform", "min": "5ms", "max": "1ms"}})",
     "/chaos/latency/max: must be at least min (5ms) (got: 1ms)"},
    {R"({"latency": {"kind": "log_normal", "median": "5ms", "sigma": -1}})",
     "/chaos/latency/sigma: must be between 0 and 10 (got: -1)"},
    {R"({"latency": {"kind": "mixture", "parts": []}})",
     "/chaos/latency/parts: must be a non-empty array (got: [])"},
    {R"({"latency": {"kind": "mixture", "parts": [{"kind": "mixture", "parts": []}]}})",
     "/chaos/latency/parts/0/kind: a mixture part cannot be a mixture"},
    {R"({"latency": {"kind": "mixture", "parts": [{"kind": "fixed", "weight": 0}]}})",
     "/chaos/latency/parts: weights must not all be 0"},
    {R"({"windows": {}})", "/chaos/windows: must be an array (got: {})"},
    {R"({"windows": [{"kind": "outage", "start": "2s", "end": "1s"}]})",
     "/chaos/windows/0/end: must be after start (2s) (got: 1s)"},
    {R"({"windows": [{"kind": "slowdown", "start": "1s"}]})",
     "/chaos/windows/0/end: is required"},
    {R"({"windows": [{"kind": "outage", "start": "1s", "end": "2s", "factor": 2}]})",
     "/chaos/windows/0/factor: unknown key (allowed: kind, start, end, "
     "failure)"},
    {R"({"windows": [{"kind": "outage", "start": "1s", "end": "2s", "failure": "cancelled"}]})",
     "/chaos/windows/0/failure: must be one of \"transient\", \"timeout\", "
     "\"overloaded\", \"persistent\" (got: \"cancelled\")"},
    {R"({"crash_at": 5})", "/chaos/crash_at: must be a duration string with a "
                           "unit such as \"250ms\" (got: 5)"},
  };
  for (auto& [doc, expected] : table) {
    error_list errors;
    parse(doc, errors);
    INFO(doc);
    CHECK(errors.to_string() == expected + "\n");
  }
}

TEST_CASE("the same seed gives the same decisions", "[runtime][chaos]") {
  auto cfg = parse_ok(R"({
    "errors": {"transient": 20, "overloaded": 5}, "retry_after": "1s",
    "latency": {"kind": "mixture", "parts": [
      {"weight": 99, "kind": "log_normal", "median": "10ms", "sigma": 0.5},
      {"weight": 1, "kind": "fixed", "value": "1s"}]}})");
  for (std::uint64_t seed : {1u, 2u, 42u}) {
    INFO("seed " << seed);
    rng a{seed};
    rng b{seed};
    for (int i = 0; i < 1000; ++i) {
      auto now = at(milliseconds(i));
      auto x = decide(cfg, time_point{}, now, a);
      auto y = decide(cfg, time_point{}, now, b);
      REQUIRE(x.fail == y.fail);
      REQUIRE(x.failure == y.failure);
      REQUIRE(x.latency == y.latency);
      REQUIRE(x.retry_after == y.retry_after);
    }
  }
}

TEST_CASE("error rates hold within tolerance over 100k draws",
          "[runtime][chaos]") {
  auto cfg = parse_ok(R"({"errors": {"transient": 20, "overloaded": 5},
                          "retry_after": "1s"})");
  std::uint64_t seed = 7;
  INFO("seed " << seed);
  rng gen{seed};
  constexpr int n = 100000;
  int transient = 0;
  int overloaded = 0;
  int other = 0;
  for (int i = 0; i < n; ++i) {
    auto d = decide(cfg, time_point{}, time_point{}, gen);
    if (!d.fail)
      continue;
    if (d.failure == failure_class::transient) {
      ++transient;
      CHECK(d.retry_after == duration::zero());
    } else if (d.failure == failure_class::overloaded) {
      ++overloaded;
      REQUIRE(d.retry_after == seconds(1));
    } else {
      ++other;
    }
  }
  // 4 standard deviations: sqrt(0.2*0.8/1e5) = 0.00126.
  CHECK(transient / double(n) == Approx(0.20).margin(0.005));
  CHECK(overloaded / double(n) == Approx(0.05).margin(0.003));
  CHECK(other == 0);
}

TEST_CASE("windows are exact at their boundaries", "[runtime][chaos]") {
  auto cfg = parse_ok(R"({
    "latency": {"kind": "fixed", "value": "10ms"},
    "windows": [
      {"kind": "outage", "start": "10s", "end": "20s", "failure": "overloaded"},
      {"kind": "brownout", "start": "30s", "end": "40s", "rate": 100},
      {"kind": "slowdown", "start": "50s", "end": "60s", "factor": 3}],
    "crash_at": "70s"})");
  rng gen{1};
  auto start = at(seconds(100)); // windows are relative to the run's start
  auto d = [&](duration since_start) {
    return decide(cfg, start, start + since_start, gen);
  };
  CHECK_FALSE(d(seconds(10) - nanoseconds(1)).fail);
  auto in = d(seconds(10));
  CHECK(in.fail);
  CHECK(in.failure == failure_class::overloaded);
  CHECK(d(seconds(20) - nanoseconds(1)).fail);
  CHECK_FALSE(d(seconds(20)).fail);
  CHECK_FALSE(d(seconds(30) - nanoseconds(1)).fail);
  auto brown = d(seconds(30));
  CHECK(brown.fail);
  CHECK(brown.failure == failure_class::transient);
  CHECK(d(seconds(40) - nanoseconds(1)).fail);
  CHECK_FALSE(d(seconds(40)).fail);
  CHECK(d(seconds(50) - nanoseconds(1)).latency == milliseconds(10));
  CHECK(d(seconds(50)).latency == milliseconds(30));
  CHECK(d(seconds(60) - nanoseconds(1)).latency == milliseconds(30));
  CHECK(d(seconds(60)).latency == milliseconds(10));
  CHECK_FALSE(d(seconds(70) - nanoseconds(1)).crashed);
  CHECK(d(seconds(70)).crashed);
  CHECK(d(seconds(700)).crashed);
}

TEST_CASE("log-normal latency has its median within 2 percent",
          "[runtime][chaos]") {
  auto cfg = parse_ok(R"({"latency": {"kind": "log_normal", "median": "10ms",
                                       "sigma": 0.8}})");
  std::uint64_t seed = 11;
  INFO("seed " << seed);
  rng gen{seed};
  std::vector<duration::rep> xs;
  for (int i = 0; i < 100000; ++i)
    xs.push_back(decide(cfg, time_point{}, time_point{}, gen).latency.count());
  std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
  auto median = static_cast<double>(xs[xs.size() / 2]);
  CHECK(median == Approx(10e6).epsilon(0.02));
  // A log-normal tail: p99 = median * exp(2.326 * sigma) ~ 64ms.
  std::nth_element(xs.begin(), xs.begin() + xs.size() * 99 / 100, xs.end());
  CHECK(static_cast<double>(xs[xs.size() * 99 / 100])
        == Approx(10e6 * std::exp(2.326 * 0.8)).epsilon(0.05));
}

TEST_CASE("uniform latency stays in range and a mixture follows its weights",
          "[runtime][chaos]") {
  std::uint64_t seed = 3;
  INFO("seed " << seed);
  rng gen{seed};
  auto uni = parse_ok(R"({"latency": {"kind": "uniform", "min": "5ms",
                                       "max": "7ms"}})");
  for (int i = 0; i < 10000; ++i) {
    auto l = decide(uni, time_point{}, time_point{}, gen).latency;
    REQUIRE(l >= milliseconds(5));
    REQUIRE(l <= milliseconds(7));
  }
  auto mix = parse_ok(R"({"latency": {"kind": "mixture", "parts": [
      {"weight": 0.99, "kind": "fixed", "value": "1ms"},
      {"weight": 0.01, "kind": "fixed", "value": "1s"}]}})");
  int slow = 0;
  constexpr int n = 100000;
  for (int i = 0; i < n; ++i)
    if (decide(mix, time_point{}, time_point{}, gen).latency == seconds(1))
      ++slow;
  CHECK(slow / double(n) == Approx(0.01).margin(0.002));
}
