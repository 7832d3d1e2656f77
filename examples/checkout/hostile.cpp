// `checkout hostile`: the whole deployment under the project's hostile HTTP
// corpus (bulwark-hostile) at the gateway and at a keyed service (payments):
// every answer judged by the corpus runner, every process still serving
// afterwards, a normal checkout completing, nothing injected downstream, the
// ledgers valid JSON and each process's memory within twice its start.
#include <signal.h>

#include <cstdio>
#include <future>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <boost/json.hpp>

#include "client.hpp"
#include "common.hpp"
#include "processes.hpp"

namespace json = boost::json;

namespace checkout {

int run_hostile(const std::string& hostile_bin, std::uint64_t seed, int cases) {
  signal(SIGPIPE, SIG_IGN);
  data_dir data;
  process_group pg;
  deployment d;
  // One payments process with its own journals: the corpus judges one
  // keyed service's answers (the shared ledger's replicas are the drill's).
  if (!start_deployment(pg, data, 1, 1, d))
    return 1;
  auto p_gw = d.gateway, p_inv = d.inventory, p_pay = d.payments.front();
  std::vector<std::string> violations;
  // One normal order first, so every process has served real work before
  // its starting RSS is taken.
  auto checkout_ok = [&](const std::string& id) {
    json::object body;
    int sends = 0;
    std::string error;
    auto req = json::serialize(
      json::object{{"sku", "sku-1"}, {"qty", 1}, {"order_id", id}});
    return send_until_outcome(p_gw, req, "", body, sends, error, 30'000)
           && str(body, "outcome") == "completed";
  };
  if (!checkout_ok("before-corpus"))
    violations.push_back("a normal checkout failed before the corpus");
  std::map<std::string, long> rss_start;
  for (auto& c : pg.children)
    rss_start[c.name] = rss_kb(c.pid);
  // The corpus against the gateway and a keyed service (payments), each
  // process's memory bounded by the runner (--pid).
  // Both at once: most of a run is waiting for slow cases (slowloris
  // connections closed by the server's read timeout).
  auto corpus = [&](const char* name, std::uint16_t port, const char* profile) {
    return std::async(std::launch::async, [=, &pg] {
      return run_program(
        {hostile_bin, "--port", std::to_string(port), "--profile", profile,
         "--seed", std::to_string(seed), "--cases", std::to_string(cases),
         "--pid", std::to_string(pg.get(name).pid), "--concurrency", "16"});
    });
  };
  auto at_gateway = corpus("gateway", p_gw, "gateway");
  auto at_payments = corpus("payments", p_pay, "keyed");
  for (auto& [name, profile, rc] :
       {std::tuple{"gateway", "gateway", at_gateway.get()},
        std::tuple{"payments", "keyed", at_payments.get()}}) {
    std::printf("hostile corpus (%s profile, seed %llu, %d cases) against %s: "
                "exit %d\n",
                profile, static_cast<unsigned long long>(seed), cases, name,
                rc);
    if (rc != 0)
      violations.push_back(std::string{"the corpus found violations at "}
                           + name);
  }
  // Afterwards: every process still serves, a normal checkout completes,
  // nothing was injected downstream (faults untouched), memory bounded.
  for (auto& c : pg.children) {
    if (http_call(c.port, "GET", "/health", "", 5000).status != 200)
      violations.push_back(c.name + " does not answer GET /health");
    auto now = rss_kb(c.pid);
    std::printf("  %-16s RSS %ld kB -> %ld kB\n", c.name.c_str(),
                rss_start[c.name], now);
    if (rss_start[c.name] > 0 && now > 2 * rss_start[c.name])
      violations.push_back(c.name + ": RSS " + std::to_string(now)
                           + " kB, more than twice its start ("
                           + std::to_string(rss_start[c.name]) + " kB)");
  }
  if (!checkout_ok("after-corpus"))
    violations.push_back("a normal checkout failed after the corpus");
  for (auto port : {p_inv, p_pay}) {
    auto a = http_call(port, "GET", "/faults", "", 5000);
    json::error_code ec;
    auto v = json::parse(a.body, ec);
    auto clean =
      !ec && v.is_object()
      && v.as_object().at("error_rate").to_number<double>() == 0
      && v.as_object().at("error_after_rate").to_number<double>() == 0
      && v.as_object().at("latency_ms").to_number<double>() == 0
      && v.as_object().at("outage_s_left").to_number<double>() == 0
      && !v.as_object().at("crash_after_effect").as_bool();
    if (!clean)
      violations.push_back("faults changed at port " + std::to_string(port)
                           + " (injected?): " + a.body);
  }
  // Every stored key is written as valid JSON (Boost.JSON's parser refuses
  // invalid UTF-8).
  for (auto port : {p_inv, p_pay}) {
    auto a = http_call(port, "GET", "/ledger", "", 5000);
    json::error_code ec;
    json::parse(a.body, ec);
    if (a.status != 200 || ec)
      violations.push_back("GET /ledger at port " + std::to_string(port)
                           + " is not valid JSON: " + ec.message());
  }
  for (auto i = pg.children.rbegin(); i != pg.children.rend(); ++i)
    stop_child(*i, 10'000);
  std::printf("all processes stopped\n");
  if (violations.empty()) {
    std::printf(
      "hostile corpus survived: every process still serves, a normal "
      "checkout completes, no fault was injected downstream, the ledgers "
      "are valid JSON, RSS within 2x its start\n");
    return 0;
  }
  std::printf("FAILED:\n");
  for (auto& v : violations)
    std::printf("  %s\n", v.c_str());
  return 1;
}

} // namespace checkout
