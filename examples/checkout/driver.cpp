// The driver: starts the four services and the gateway as child processes
// (processes.hpp), payments as two replicas sharing the ledgers of the
// payments-ledger process, each with its admin server, prints where to look,
// drives
// checkouts from 8 clients — each order with its client's deadline,
// criticality and trace (client.hpp) — with faults changed at run time
// through PUT /faults, then checks the invariants (invariants.hpp) against
// the answers, the services' books and the admin servers, and stops every
// child whatever happened. A client re-sends its order id until an answer
// names the order's outcome (while the gateway restarts there is none),
// re-sends some orders after their outcome, and every order is read once
// more at the end: the answers must agree. `e2e` is the kill drill: the
// gateway, inventory and the payments replicas are each SIGKILLed two or
// three times with orders in flight, the payments-ledger process once, and
// each is restarted on its ports and data directory (saga log, ledger
// journals); a payments replica once crashes itself between a charge's side
// effect and its ledger record. Charges are counted from the ledger
// journals, the one book both replicas write. Finally every process gets
// SIGTERM under load and must exit within 10 s.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "client.hpp"
#include "common.hpp"
#include "invariants.hpp"
#include "processes.hpp"

namespace json = boost::json;

namespace checkout {

namespace {

/// The client's trace id of order `i` starts with this (make_order).
constexpr const char* trace_prefix = "4bf92f3577b34da6a3ce929d";

/// Every process with its service and admin URLs, and how to read an
/// order's trace while the demo runs.
void print_where_to_look(const process_group& pg) {
  std::printf("where to look while it runs (each process has an admin "
              "server: /dashboard, /metrics, /journeys, /traces/ID):\n");
  std::uint16_t gateway_admin = 0;
  for (auto& c : pg.children) {
    std::printf("  %-16s http://127.0.0.1:%u  admin "
                "http://127.0.0.1:%u/dashboard\n",
                c.name.c_str(), static_cast<unsigned>(c.port),
                static_cast<unsigned>(c.admin_port));
    if (c.name == "gateway")
      gateway_admin = c.admin_port;
  }
  std::printf("  an order's trace: bulwark-trace %s<order number + 1 as 8 "
              "hex digits> http://127.0.0.1:%u (build/tools/trace/)\n",
              trace_prefix, static_cast<unsigned>(gateway_admin));
  std::fflush(stdout);
}

/// Every process's admin server exports its HTTP service (and the
/// gateway's its dependencies).
void check_admin_servers(const process_group& pg, run_report& rep) {
  for (auto& c : pg.children) {
    auto service = c.args.front(); // the role: the name it is attached as
    auto text = get_text(c.admin_port, "/metrics");
    auto series =
      "bulwark_http_service_requests_total{service=\"" + service + "\"} ";
    auto at = text.find(series);
    if (at == std::string::npos
        || std::atoll(text.c_str() + at + series.size()) <= 0)
      rep.violate(c.name
                  + ": its admin server's /metrics has no requests of "
                    "service "
                  + service);
    if (service == "gateway"
        && text.find("bulwark_requests_total{dependency=\"inventory\"}")
             == std::string::npos)
      rep.violate("the gateway's admin server does not export its "
                  "dependencies");
  }
}

/// The gateway's admin server serves the trace of recent completed orders:
/// every span in the client's trace, payments and inventory among them.
/// Journeys are in memory, so only orders from `since` on count (their
/// first send came after the last gateway restart was ready): an order in
/// flight at the kill has its earlier steps' spans in the killed gateway.
/// Returns the bulwark-trace command of one order whose calls were retried
/// ("" when none was).
std::string check_traces(const std::vector<order_state>& orders,
                         std::size_t since, std::uint16_t admin_port,
                         run_report& rep) {
  std::string retried;
  int checked = 0;
  for (auto i = orders.rbegin(); i != orders.rend() && checked < 10; ++i) {
    auto index = static_cast<std::size_t>(orders.rend() - i - 1);
    if (index < since)
      break;
    if (str(i->body, "outcome") != "completed")
      continue;
    ++checked;
    auto t = get_json(admin_port, "/traces/" + i->trace_id);
    auto* spans = t.if_contains("spans");
    if (spans == nullptr || !spans->is_array() || spans->as_array().empty()) {
      rep.violate(i->order
                  + ": the gateway's admin server has no span of its "
                    "trace "
                  + i->trace_id);
      continue;
    }
    std::set<std::string> deps;
    for (auto& s : spans->as_array()) {
      if (!s.is_object())
        continue;
      auto& span = s.as_object();
      // A replica's dependency ("payments-2") stands for its service.
      auto dep = str(span, "dependency");
      deps.insert(dep.substr(0, dep.find('-')));
      if (str(span, "trace_id") != i->trace_id)
        rep.violate(i->order
                    + ": a span of another trace: " + json::serialize(span));
      if (auto* n = span.if_contains("attempts");
          retried.empty() && n != nullptr && n->is_int64() && n->as_int64() > 1)
        retried = "bulwark-trace " + i->trace_id
                  + " http://127.0.0.1:" + std::to_string(admin_port) + " ("
                  + i->order + ", " + str(span, "dependency") + " retried)";
    }
    if (deps.count("payments") == 0 || deps.count("inventory") == 0)
      rep.violate(i->order + ": its trace lacks payments or inventory");
  }
  if (checked == 0 && since < orders.size())
    rep.violate("no completed order among the last ones to read a trace of");
  if (since >= orders.size())
    std::printf("  traces:                  not checked: the last gateway "
                "restart came after the last order\n");
  return retried;
}

/// New orders keep coming while each process is told to stop: each must
/// exit within 10 s (the gateway drains for its grace, the services for
/// theirs; unfinished sagas stay in the log). The slowest stop in ms.
long stop_under_load(process_group& pg, std::uint16_t p_gw, run_report& rep) {
  std::atomic<bool> loading{true};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t)
    load.emplace_back([&, t] {
      for (int n = 0; loading; ++n) {
        json::object req{
          {"sku", "sku-1"},
          {"qty", 1},
          {"order_id", "late-" + std::to_string(t) + "-" + std::to_string(n)}};
        http_call(p_gw, "POST", "/checkout", json::serialize(req), 15'000);
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long slowest = 0;
  // The ledger process after its replicas: they answer 503 without it.
  for (auto* name :
       {"gateway", "inventory", "payments-1", "payments-2", "payments-ledger",
        "pricing-1", "pricing-2", "recommendations"}) {
    auto& c = pg.get(name);
    kill(c.pid, SIGTERM);
    auto took = wait_exit_ms(c.pid, 10'000);
    if (took < 0) {
      rep.violate(std::string{name} + " did not stop within 10 s of SIGTERM");
      kill(c.pid, SIGKILL);
      int status = 0;
      waitpid(c.pid, &status, 0);
    } else {
      slowest = std::max(slowest, took);
    }
    c.pid = -1;
  }
  loading = false;
  for (auto& t : load)
    t.join();
  return slowest;
}

} // namespace

int run_driver(bool drill) {
  auto t0 = std::chrono::steady_clock::now();
  signal(SIGPIPE, SIG_IGN);
  data_dir data;
  process_group pg;
  deployment d;
  if (!start_deployment(pg, data, 2, 2, d))
    return 1;
  print_where_to_look(pg);
  auto p_inv = d.inventory, p_pri = d.pricing[0], p_pri2 = d.pricing[1],
       p_pay1 = d.payments[0], p_pay2 = d.payments[1],
       p_ledger = d.payments_ledger, p_rec = d.recommendations,
       p_gw = d.gateway;
  // Faults from the start: errors before and after payments' side effect
  // (at both replicas), inventory errors and latency, flaky pricing.
  const char* pay_faults = R"({"error_rate": 0.05, "error_after_rate": 0.05})";
  const char* inv_faults = R"({"error_rate": 0.05, "latency_ms": 2})";
  put_faults(p_pay1, pay_faults);
  put_faults(p_pay2, pay_faults);
  put_faults(p_inv, inv_faults);
  put_faults(p_pri, R"({"error_rate": 0.2})");
  put_faults(p_pri2, R"({"error_rate": 0.2})");
  const int total = drill ? 240 : 200;
  constexpr int threads = 8;
  std::vector<order_state> orders;
  for (int i = 0; i < total; ++i)
    orders.push_back(make_order(i));
  std::atomic<int> next{0};
  // The first order claimed after the last gateway restart was ready.
  std::size_t gateway_since = 0;
  auto worker = [&] {
    for (;;) {
      auto i = next++;
      if (i >= total)
        return;
      auto& o = orders[static_cast<std::size_t>(i)];
      auto req = o.request();
      if (!send_until_outcome(p_gw, req, o.headers(), o.body, o.sends, o.error,
                              60'000))
        continue;
      // Every fourth order is sent again once it has its outcome: the same
      // order id must get the same answer, and nothing may run twice.
      if (i % 4 == 0) {
        int sends = 0;
        std::string error;
        send_until_outcome(p_gw, req, o.headers(), o.resent, sends, error,
                           60'000);
      }
      // Paced so that the run lasts a few seconds and the scheduled faults
      // and kills hit the middle of it.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back(worker);
  bool restarted = true;
  auto wait_for = [&](int n) {
    while (next.load() < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  // A killed process is restarted on the same port and data directory; it
  // lost the faults set through PUT /faults, which are set again.
  // `while_down` runs between the kill and the restart.
  auto kill_restart = [&](const char* name, const char* faults,
                          const std::function<void()>& while_down = {}) {
    auto& c = pg.get(name);
    std::printf("killing %s (pid %d) at request %d\n", name,
                static_cast<int>(c.pid), next.load());
    std::fflush(stdout);
    kill(c.pid, SIGKILL);
    int status = 0;
    waitpid(c.pid, &status, 0);
    c.pid = -1;
    if (while_down)
      while_down();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    bool ok = pg.restart(c);
    if (std::string{name} == "gateway")
      gateway_since = static_cast<std::size_t>(next.load());
    std::printf("%s restarted (pid %d): %s\n", name, static_cast<int>(c.pid),
                ok ? "ready" : "NOT READY");
    std::fflush(stdout);
    restarted = restarted && ok;
    if (faults != nullptr)
      put_faults(c.port, faults);
  };
  // One charge sent straight to a payments replica (not an order's key):
  // what the shared ledger answers around the ledger process's kill.
  const std::string probe_key = "probe-ledger-kill";
  auto charge_probe = [&](std::uint16_t port) {
    return http_call(
      port, "POST", "/charge",
      json::serialize(json::object{{"order_id", probe_key}, {"amount", 1}}),
      5'000,
      "Idempotency-Key: " + probe_key + "\r\nBulwark-Deadline-Ms: 3000\r\n");
  };
  /// Before the kill, while down, then at payments-1 and payments-2 once
  /// the ledger is back.
  std::vector<http_answer> ledger_probe;
  // A payments replica kills itself right after a charge's side effect,
  // before its commit reaches the owner: the owner sees the replica's node
  // down and releases the key, and the gateway's retry (or failover)
  // executes it once; the crashed replica's effect died with it.
  auto self_crash_payments = [&] {
    auto& pay = pg.get("payments-1");
    put_faults(p_pay1, R"({"crash_after_effect": true})");
    int status = 0;
    bool died = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!died && std::chrono::steady_clock::now() < until) {
      died = waitpid(pay.pid, &status, WNOHANG) == pay.pid;
      if (!died)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!died) {
      // Say why no charge reached it: the gateway's view of its members.
      auto stats = get_json(p_gw, "/stats");
      std::fprintf(stderr,
                   "payments-1 took no charge within 30 s; the gateway's "
                   "payments supervisor: %s\npayments-1: %s\npayments-2: %s\n",
                   json::serialize(stats["payments"]).c_str(),
                   json::serialize(stats["payments-1"]).c_str(),
                   json::serialize(stats["payments-2"]).c_str());
      kill(pay.pid, SIGKILL);
      waitpid(pay.pid, &status, 0);
    }
    bool by_itself = died && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    std::printf("payments-1 crashed after a side effect (pid %d) at request "
                "%d: %s\n",
                static_cast<int>(pay.pid), next.load(),
                by_itself ? "yes" : "NO");
    std::fflush(stdout);
    pay.pid = -1;
    restarted = restarted && by_itself;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    bool ok = pg.restart(pay);
    std::printf("payments-1 restarted (pid %d): %s\n",
                static_cast<int>(pay.pid), ok ? "ready" : "NOT READY");
    std::fflush(stdout);
    restarted = restarted && ok;
    put_faults(p_pay1, pay_faults);
  };
  // Scheduled faults, changed at run time: a pricing replica's outage (the
  // other serves), a recommendations outage (fallbacks), both pricing
  // replicas out (stale prices from the cache); for the drill, SIGKILLs of
  // the gateway (three), inventory (two), each payments replica (twice:
  // payments-1 once by its own crash after a side effect) and the
  // payments-ledger process (one: every replica answers 503 until it is
  // back on its journals and port), with orders in flight. Spaced so that
  // each hits a run with charges flowing (a gateway restart empties the
  // price cache, so no gateway kill lands during the pricing outage).
  wait_for(20);
  put_faults(p_pri, R"({"outage_s": 0.5})");
  if (drill) {
    kill_restart("gateway", nullptr);
    wait_for(40);
    kill_restart("inventory", inv_faults);
  }
  wait_for(50);
  // Recommendations down: the next order's recommendations come from a
  // fallback, and it is not failed by them. A probe order (its own sku, so
  // the stock check does not count it) sees it for sure, whatever else the
  // clients are doing at that moment.
  put_faults(p_rec, R"({"outage_s": 1.0})");
  json::object probe;
  {
    int sends = 0;
    std::string error;
    send_until_outcome(
      p_gw,
      json::serialize(json::object{
        {"sku", "sku-probe"}, {"qty", 1}, {"order_id", "probe-recs"}}),
      "", probe, sends, error, 60'000);
  }
  if (drill) {
    wait_for(60);
    self_crash_payments();
    wait_for(75);
    kill_restart("payments-2", pay_faults);
  }
  wait_for(85);
  put_faults(p_pri, R"({"outage_s": 1.5})");
  put_faults(p_pri2, R"({"outage_s": 1.5})");
  if (drill) {
    wait_for(120);
    kill_restart("gateway", nullptr);
    wait_for(130);
    // While the ledger process is down a replica refuses a charge (503,
    // nothing executed); once it is back, a charge run at one replica is
    // answered its recorded bytes at the other.
    ledger_probe.push_back(charge_probe(p_pay2));
    kill_restart("payments-ledger", nullptr,
                 [&] { ledger_probe.push_back(charge_probe(p_pay2)); });
    for (auto port : {p_pay1, p_pay2})
      for (int i = 0; i < 50; ++i) {
        auto a = charge_probe(port);
        // Until the replica's link is back (503), or an injected error
        // before the side effect (nothing recorded).
        if (a.status != 503
            && a.body.find("before the side effect") == std::string::npos) {
          ledger_probe.push_back(a);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    // It came back on its journals: the committed charges are known again
    // (the owners' counters start at each start, so these are replays).
    auto stats = get_json(p_ledger, "/stats");
    std::int64_t replayed = -1;
    if (auto* c = stats.if_contains("charge-ledger"); c && c->is_object())
      if (auto* n = c->as_object().if_contains("replayed"); n && n->is_int64())
        replayed = n->as_int64();
    std::printf("payments-ledger replayed %lld charge records\n",
                static_cast<long long>(replayed));
    std::fflush(stdout);
    restarted = restarted && replayed > 0;
    wait_for(140);
    kill_restart("inventory", inv_faults);
    wait_for(160);
    kill_restart("payments-1", pay_faults);
    wait_for(180);
    kill_restart("payments-2", pay_faults);
    wait_for(200);
    kill_restart("gateway", nullptr);
  }
  for (auto& t : pool)
    t.join();
  // The product page's price, progressively: with pricing slowed past the
  // 100 ms soft deadline, the stream carries the stale cached price of an
  // ordered sku first (event: preliminary), then the fresh one (event:
  // final), and nothing after it. A restarted gateway's caches start empty:
  // the sku is priced through each pricing member first (the supervisor's
  // least-outstanding ties rotate, and each member has its own cache), and
  // the entries pass their 1 s TTL (stale, still inside stale_if_error). A
  // breaker the run's faults left open answers from the stale cache at once,
  // a final with no preliminary: a well-formed stream too, so such a try is
  // repeated (at most 4), and every stream must be well-formed.
  put_faults(p_pri, R"({"error_rate": 0})");
  put_faults(p_pri2, R"({"error_rate": 0})");
  auto price_target = "/product/price?sku=" + orders[0].sku;
  std::vector<std::string> bad_streams;
  int progressive_try = 0;
  for (int t = 1; t <= 4 && progressive_try == 0; ++t) {
    for (int i = 0; i < 2; ++i)
      http_call(p_gw, "GET", price_target, "", 10'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
    put_faults(p_pri, R"({"latency_ms": 300})");
    put_faults(p_pri2, R"({"latency_ms": 300})");
    auto page = http_call(p_gw, "GET", price_target, "", 10'000,
                          "Accept: text/event-stream\r\n");
    put_faults(p_pri, R"({"latency_ms": 0})");
    put_faults(p_pri2, R"({"latency_ms": 0})");
    auto count = [&](const std::string& what) {
      std::size_t n = 0;
      for (auto at = page.body.find(what); at != std::string::npos;
           at = page.body.find(what, at + 1))
        ++n;
      return n;
    };
    auto prelims = count("event: preliminary\ndata: "
                         R"({"preliminary":true,"status":200,)");
    auto finals = count("event: final\ndata: "
                        R"({"preliminary":false,"status":200,)");
    auto fin = page.body.find("event: final");
    auto prelim = page.body.find("event: preliminary");
    bool well_formed = page.status == 200 && finals == 1 && prelims <= 1
                       && count("event: ") == finals + prelims
                       && (prelims == 0 || prelim < fin);
    if (!well_formed)
      bad_streams.push_back("status " + std::to_string(page.status) + ": "
                            + page.body);
    else if (prelims == 1)
      progressive_try = t;
  }
  put_faults(p_pri, R"({"error_rate": 0.2})");
  put_faults(p_pri2, R"({"error_rate": 0.2})");
  // Every order once more: its answer must be its first outcome (a saga the
  // last gateway resumed is joined and waited for).
  for (auto& o : orders) {
    int sends = 0;
    std::string error;
    send_until_outcome(p_gw, o.request(), o.headers(), o.final_read, sends,
                       error, 60'000);
  }
  auto run_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  // -- invariants ----------------------------------------------------------
  if (std::getenv("CHECKOUT_STATS") != nullptr)
    std::printf("gateway stats: %s\n",
                http_call(p_gw, "GET", "/stats", "", 5000).body.c_str());
  // Charges and refunds from the owner's journals (the payments-ledger
  // process reads them): a replica's own count also has executions whose
  // record was never written, which did not happen.
  auto pay = get_json(p_ledger, "/ledger");
  auto inv = get_json(p_inv, "/ledger");
  run_report rep;
  check_orders(orders, pay, inv, rep);
  check_stock([&](const std::string& sku) { return stock_of(p_inv, sku); },
              rep);
  // Each replica recorded the context of the keyed calls it took first.
  auto pay_context = get_json(p_pay1, "/context");
  for (auto& [kind, calls] : get_json(p_pay2, "/context"))
    if (auto* mine = pay_context.if_contains(kind);
        mine != nullptr && mine->is_object() && calls.is_object())
      for (auto& [key, ctx] : calls.as_object())
        mine->as_object().emplace(key, ctx);
  check_context(orders, pay_context, get_json(p_inv, "/context"), rep);
  if (auto src = str(probe, "recommendations_source");
      src != "static_fallback" && src != "gateway_fallback")
    rep.violate("recommendations did not degrade to the fallback during "
                "their outage (probe order: "
                + json::serialize(probe) + ")");
  for (auto& b : bad_streams)
    rep.violate("the product page's price stream is not at most one "
                "preliminary then one final answer: "
                + b);
  if (progressive_try == 0)
    rep.violate("the product page's price stream never carried a preliminary "
                "answer in 4 tries with pricing slowed to 300 ms");
  else if (progressive_try > 1)
    std::printf("  product page: preliminary then final on try %d\n",
                progressive_try);
  if (drill) {
    auto said = [&](std::size_t i) {
      return i < ledger_probe.size() ? std::to_string(ledger_probe[i].status)
                                         + " " + ledger_probe[i].body
                                     : std::string{"no answer"};
    };
    auto recorded = ledger_count(pay, "charge", probe_key);
    std::printf("  %-24s before the kill %s; while down %s; after: "
                "payments-1 %d, payments-2 %d (same bytes: %s), %d record\n",
                "ledger kill probe:", said(0).substr(0, 3).c_str(),
                said(1).substr(0, 3).c_str(),
                ledger_probe.size() > 2 ? ledger_probe[2].status : 0,
                ledger_probe.size() > 3 ? ledger_probe[3].status : 0,
                ledger_probe.size() > 3
                    && ledger_probe[2].body == ledger_probe[3].body
                  ? "yes"
                  : "no",
                recorded);
    if (ledger_probe.size() != 4 || ledger_probe[1].status != 503
        || ledger_probe[1].body.find("idempotency ledger unreachable")
             == std::string::npos)
      rep.violate("a replica did not refuse a charge with 503 while the "
                  "ledger process was down: "
                  + said(1));
    if (ledger_probe.size() == 4
        && (ledger_probe[2].status != ledger_probe[3].status
            || ledger_probe[2].body != ledger_probe[3].body))
      rep.violate("the replicas answered one charge key differently: " + said(2)
                  + " / " + said(3));
    // Executed before the kill (its answer was recorded): the restarted
    // ledger answers both replicas those bytes from its journal.
    bool executed_before =
      !ledger_probe.empty()
      && (ledger_probe[0].status == 200
          || ledger_probe[0].body.find("after the side effect")
               != std::string::npos);
    if (executed_before && ledger_probe.size() == 4
        && ledger_probe[2].body != ledger_probe[0].body)
      rep.violate("the restarted ledger did not answer the probe charge its "
                  "record: "
                  + said(0) + " then " + said(2));
    if (recorded != 1)
      rep.violate("the probe charge has " + std::to_string(recorded)
                  + " journal records, not 1");
  }
  if (!restarted)
    rep.violate("a killed process did not come back (or payments-1 did not "
                "crash after a side effect, or the restarted payments-ledger "
                "replayed no charge)");
  check_admin_servers(pg, rep);
  auto retried =
    check_traces(orders, gateway_since, pg.get("gateway").admin_port, rep);
  // -- SIGTERM under load --------------------------------------------------
  auto slowest_stop = stop_under_load(pg, p_gw, rep);
  std::printf(
    "checkout %s: %d orders, %d with an outcome (%d re-sends while "
    "processes restarted, %d re-sent after their outcome) in %lld ms\n",
    drill ? "drill (gateway, inventory, payments replicas and "
            "payments-ledger killed and restarted)"
          : "demo",
    total, rep.answered, rep.resends, rep.resent,
    static_cast<long long>(run_ms));
  print_report(rep, pay, inv);
  std::printf("  %-24s every process stopped within %ld ms of SIGTERM under "
              "load\n",
              "shutdown:", slowest_stop);
  if (!retried.empty())
    std::printf("  %-24s %s\n", "a retried order's trace:", retried.c_str());
  std::printf("all processes stopped\n");
  if (rep.violations.empty()) {
    std::printf(
      "invariants hold: every order has one outcome and a re-sent "
      "order id gets it again; no side effect ran twice; every "
      "completed order charged once and confirmed; every failed "
      "order refunded and released as far as it got (%d checked), "
      "none confirmed; stock matches the completed orders; "
      "recommendations degraded instead of failing checkout; the "
      "product page streamed a stale price, then the fresh one; every "
      "downstream call carried its client's criticality, deadline "
      "and trace; every admin server exported its service; charges "
      "counted from the payments ledger's journals%s\n",
      rep.compensations_checked,
      drill ? "; across SIGKILLs of the gateway, inventory, both "
              "payments replicas and the payments ledger"
            : "");
    return 0;
  }
  std::printf("INVARIANTS VIOLATED:\n");
  for (auto& v : rep.violations)
    std::printf("  %s\n", v.c_str());
  return 1;
}

} // namespace checkout
