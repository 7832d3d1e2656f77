// Scenario `tools`: measures the tools a team points at its own services
// (issue 13) on real loopback sockets, each figure side by side with its
// reference in the same run:
// - `p50_error`, `p99_error`: an open loop below saturation against a server
//   that adds a known latency (log-normal, median 50 ms, sigma 0.5); the
//   generator's p50 / p99 against those of the latencies the server drew,
//   relative; `rate_error` is the same run's achieved vs target rate;
// - `stall_p99_ms` / `stall_p99_closed_ms`: a server that stalls 1 s in the
//   middle of the run, measured by an open loop and by a closed loop;
// - `fault_rate_error`: requests through bulwark-chaos with a fault schedule
//   (transient 5%, overloaded 3%, persistent 2%, reset 2%); the largest
//   difference between a fault's share seen by the client and its
//   scheduled share, in fractions of all requests (0.01 = one percentage
//   point);
// - `proxy_p50_overhead_us`: an A/B open loop at 5,000 req/s alternating
//   direct calls and calls through the proxy (no faults) in 100 ms slices;
// - `wrk_ratio`: closed-loop throughput of the generator over wrk's
//   (Debian's `wrk`, one thread, the same connections) on the same server,
//   alternating rounds; the median of the rounds' ratios.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "bench/runner/scenario.hpp"
#include "tools/chaos/chaos_proxy.hpp"
#include "tools/load/latency_server.hpp"
#include "tools/load/load_client.hpp"

namespace bulwark::bench {

namespace {

http_target loopback(std::uint16_t port) {
  std::string error;
  auto t =
    parse_target_url("http://127.0.0.1:" + std::to_string(port) + "/", error);
  if (!t)
    throw std::runtime_error("tools: " + error);
  return *t;
}

load_result must_run(const load_options& opts) {
  auto r = run_load(opts);
  if (!r.error.empty())
    throw std::runtime_error("tools: " + r.error);
  return r;
}

double relative(double got, double want) {
  return want == 0.0 ? 0.0 : std::fabs(got - want) / want;
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// Requests per second wrk reached, or a negative number when wrk is
// missing or its output could not be read.
double run_wrk(std::uint16_t port, std::size_t connections, int seconds) {
  auto cmd = "wrk -t1 -c" + std::to_string(connections) + " -d"
             + std::to_string(seconds)
             + "s http://127.0.0.1:" + std::to_string(port) + "/ 2>&1";
  auto* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return -1.0;
  char line[512];
  double rate = -1.0;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    double x = 0;
    if (std::sscanf(line, " Requests/sec: %lf", &x) == 1)
      rate = x;
  }
  ::pclose(p);
  return rate;
}

scenario_result run_tools(const scenario_options& opts) {
  scenario_result out;
  auto& f = out.fields;
  const bool quick = opts.quick;
  // -- accuracy against a known latency distribution -------------------------
  {
    latency_server_options so;
    so.latency.kind = latency_kind::log_normal;
    so.latency.median = milliseconds(50);
    so.latency.sigma = 0.5;
    so.seed = opts.seed;
    latency_server server{so};
    server.start();
    load_options lo;
    lo.targets = {loopback(server.port())};
    lo.rate_per_s = quick ? 200 : 500;
    lo.duration = seconds(quick ? 3 : 10);
    lo.connections = 128;
    lo.seed = opts.seed;
    report_progress(opts, "accuracy", 0.0);
    auto r = must_run(lo);
    auto injected = server.injected();
    auto& h = r.per_target[0].latency;
    f.add("p50_error", relative(ms(h.value_at_quantile(0.5)),
                                ms(injected.value_at_quantile(0.5))));
    f.add("p99_error", relative(ms(h.value_at_quantile(0.99)),
                                ms(injected.value_at_quantile(0.99))));
    f.add("rate_error", r.verdict.rate_error);
    f.add("rate_held", r.verdict.held);
    f.add("accuracy_p50_ms", ms(h.value_at_quantile(0.5)));
    f.add("injected_p50_ms", ms(injected.value_at_quantile(0.5)));
    f.add("accuracy_p99_ms", ms(h.value_at_quantile(0.99)));
    f.add("injected_p99_ms", ms(injected.value_at_quantile(0.99)));
    f.add("accuracy_rate_per_s", lo.rate_per_s);
    // What loopback, two wake-ups and the answer's write add to every
    // request, whatever its latency (it is in the relative errors).
    f.add("accuracy_offset_ms",
          ms(h.value_at_quantile(0.5)) - ms(injected.value_at_quantile(0.5)));
  }
  // -- a 1 s stall: open loop vs closed loop ----------------------------------
  {
    latency_server_options so;
    so.stall_start = seconds(1);
    so.stall_length = seconds(1);
    report_progress(opts, "stall", 0.0);
    latency_server open_server{so};
    open_server.start();
    load_options lo;
    lo.targets = {loopback(open_server.port())};
    lo.rate_per_s = 1000;
    lo.duration = seconds(quick ? 3 : 4);
    lo.connections = 64;
    lo.seed = opts.seed;
    auto open = must_run(lo);
    f.add("stall_p99_ms",
          ms(open.per_target[0].latency.value_at_quantile(0.99)));
    latency_server closed_server{so};
    closed_server.start();
    lo.targets = {loopback(closed_server.port())};
    lo.closed_loop = true;
    lo.connections = 8;
    auto closed = must_run(lo);
    f.add("stall_p99_closed_ms",
          ms(closed.per_target[0].latency.value_at_quantile(0.99)));
    f.add("stall_max_closed_ms", ms(closed.per_target[0].latency.max()));
  }
  // -- fault rates through the proxy ------------------------------------------
  {
    report_progress(opts, "faults", 0.0);
    latency_server server{latency_server_options{}};
    server.start();
    chaos_proxy_options po;
    po.upstream_port = server.port();
    po.seed = opts.seed;
    chaos_proxy proxy{po};
    proxy.start();
    auto errors = proxy.put_fault(
      "all", boost::json::parse(R"({"reset": 2, "retry_after": "1s",
        "errors": {"transient": 5, "overloaded": 3, "persistent": 2}})"));
    if (!errors.empty())
      throw std::runtime_error("tools: " + errors.to_string());
    load_options lo;
    lo.targets = {loopback(proxy.port())};
    lo.closed_loop = true;
    lo.connections = 16;
    lo.duration = seconds(300);
    lo.max_requests = quick ? 20'000 : 100'000;
    lo.seed = opts.seed;
    auto r = must_run(lo);
    auto& s = r.per_target[0];
    auto n = static_cast<double>(s.finished());
    auto share = [&](int status) {
      auto i = s.statuses.find(status);
      return i == s.statuses.end() ? 0.0 : static_cast<double>(i->second) / n;
    };
    auto resets =
      static_cast<double>(s.count(request_end::transport_error)) / n;
    double worst =
      std::max({std::fabs(share(502) - 0.05), std::fabs(share(503) - 0.03),
                std::fabs(share(400) - 0.02), std::fabs(resets - 0.02)});
    f.add("fault_rate_error", worst);
    f.add("fault_requests", s.finished());
    f.add("fault_share_transient", share(502));
    f.add("fault_share_overloaded", share(503));
    f.add("fault_share_persistent", share(400));
    f.add("fault_share_reset", resets);
  }
  // -- the proxy's added latency, side by side with direct calls --------------
  {
    report_progress(opts, "overhead", 0.0);
    latency_server server{latency_server_options{}};
    server.start();
    chaos_proxy_options po;
    po.upstream_port = server.port();
    chaos_proxy proxy{po};
    proxy.start();
    load_options lo;
    lo.targets = {loopback(server.port()), loopback(proxy.port())};
    lo.rate_per_s = quick ? 2000 : 5000;
    lo.duration = seconds(quick ? 3 : 10);
    lo.slice = milliseconds(100);
    lo.connections = 64;
    lo.seed = opts.seed;
    auto r = must_run(lo);
    auto direct = r.per_target[0].latency.value_at_quantile(0.5);
    auto proxied = r.per_target[1].latency.value_at_quantile(0.5);
    f.add("proxy_p50_overhead_us", static_cast<double>(proxied - direct) / 1e3);
    f.add("direct_p50_us", static_cast<double>(direct) / 1e3);
    f.add("proxied_p50_us", static_cast<double>(proxied) / 1e3);
    f.add("overhead_rate_per_s", lo.rate_per_s);
    f.add("overhead_rate_held", r.verdict.held);
  }
  // -- closed-loop throughput vs wrk ------------------------------------------
  {
    report_progress(opts, "wrk", 0.0);
    latency_server server{latency_server_options{}};
    server.start();
    const std::size_t connections = 64;
    const int secs = quick ? 2 : 5;
    const int rounds = quick ? 1 : 3;
    std::vector<double> ratios;
    double ours_last = 0, wrk_last = 0;
    for (int round = 0; round < rounds; ++round) {
      load_options lo;
      lo.targets = {loopback(server.port())};
      lo.closed_loop = true;
      lo.connections = connections;
      lo.duration = seconds(secs);
      lo.seed = opts.seed;
      auto r = must_run(lo);
      auto ours =
        static_cast<double>(r.per_target[0].finished()) / to_seconds(r.elapsed);
      auto theirs = run_wrk(server.port(), connections, secs);
      if (theirs <= 0)
        break;
      ratios.push_back(ours / theirs);
      ours_last = ours;
      wrk_last = theirs;
      report_progress(opts, "wrk", (round + 1.0) / rounds);
    }
    if (ratios.empty()) {
      f.add("wrk_ratio", "wrk not found (install the wrk package)");
    } else {
      f.add("wrk_ratio", median(ratios));
      f.add("generator_rate_per_s", ours_last);
      f.add("wrk_rate_per_s", wrk_last);
      f.add("wrk_rounds", static_cast<std::int64_t>(ratios.size()));
    }
  }
  return out;
}

const scenario_registrar tools_registrar{
  "tools",
  "bulwark-chaos and bulwark-bench load measured on loopback: latency and "
  "rate accuracy, a 1 s stall open vs closed loop, fault rates, proxy "
  "overhead, throughput vs wrk",
  run_tools};

} // namespace

} // namespace bulwark::bench
