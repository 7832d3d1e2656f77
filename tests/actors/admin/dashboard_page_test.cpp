// GET /dashboard loaded in real headless Chromium (Debian package
// `chromium`) against a live admin server: a screenshot is saved as an
// artifact under the build directory, and the DOM after the page's script
// ran (--dump-dom) must show the same request and reply totals as /metrics.
// Chromium runs as a child process group that is killed in every case.
// GCC 12 reports a false -Wmaybe-uninitialized inside std::regex's
// std::function members when built with -fsanitize=address (-Werror makes it
// fatal); the same false positive is silenced around Beast's parser elsewhere.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "bulwark/actors/admin/dashboard_page.hpp"

#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/actors/transport/chaos_transport.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "tests/support/child_process.hpp"
#include "tests/actors/admin/headless_chromium.hpp"
#include "tests/actors/admin/live_admin.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <boost/json/parse.hpp>

#include <iostream>
#include <regex>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

struct card {
  std::string kind;
  std::string name;
  double requests = -1;
  double ok = -1;
  double failed = -1;
};

std::vector<card> cards_of(const std::string& dom) {
  static const std::regex re{
    R"re(data-kind="(\w+)" data-name="([^"]+)" data-requests-total="([0-9.]+)" )re"
    R"re(data-replies-ok-total="([0-9.]+)" data-replies-failed-total="([0-9.]+)")re"};
  std::vector<card> out;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), re);
       it != std::sregex_iterator(); ++it)
    out.push_back(card{(*it)[1], (*it)[2], std::stod((*it)[3]),
                       std::stod((*it)[4]), std::stod((*it)[5])});
  return out;
}

} // namespace

TEST_CASE("the dashboard is one self-contained page with no external fetch",
          "[actors][admin][dashboard]") {
  std::string page{dashboard_page()};
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("</html>") != std::string::npos);
  // Nothing leaves the origin: no absolute URLs to load, no external
  // scripts or styles (the SVG namespace is an identifier, not a fetch).
  std::string without_ns = page;
  for (std::string ns = "http://www.w3.org/2000/svg";;) {
    auto pos = without_ns.find(ns);
    if (pos == std::string::npos)
      break;
    without_ns.erase(pos, ns.size());
  }
  CHECK(without_ns.find("http://") == std::string::npos);
  CHECK(without_ns.find("https://") == std::string::npos);
  CHECK(without_ns.find("<script src") == std::string::npos);
  CHECK(without_ns.find("<link") == std::string::npos);
  CHECK(page.find("\"/metrics\"") != std::string::npos);
  // The trace panel asks its own origin only.
  CHECK(page.find("id=\"trace-panel\"") != std::string::npos);
  CHECK(page.find("xhr.open(\"GET\", \"/traces/\" + id + \"/tree\")")
        != std::string::npos);
}

TEST_CASE("GET /dashboard serves the page as HTML",
          "[actors][admin][dashboard]") {
  live_admin live;
  auto res = http_get(live.port(), "/dashboard");
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK((*res)[boost::beast::http::field::content_type]
        == dashboard_content_type);
  CHECK(res->body() == dashboard_page());
  auto post =
    http_call(live.port(),
              make_request(boost::beast::http::verb::post, "/dashboard", "x"));
  REQUIRE(post);
  CHECK(post->result_int() == 405);
}

TEST_CASE("headless Chromium renders the dashboard with the numbers of "
          "/metrics",
          "[actors][admin][dashboard][chromium]") {
  require_chromium();
  live_admin live;
  live.traffic(7, 4);
  auto dir = artifact_dir("dashboard");
  auto url = "http://127.0.0.1:" + std::to_string(live.port()) + "/dashboard";

  auto shot = dir / "dashboard.png";
  run_chromium(dir, url, {"--screenshot=" + shot.string()},
               dir / "screenshot.log");
  REQUIRE(std::filesystem::exists(shot));
  CHECK(std::filesystem::file_size(shot) > 5'000);
  std::cout << "dashboard screenshot: " << shot.string() << "\n";

  auto dom_file = dir / "dashboard.dom.html";
  run_chromium(dir, url, {"--dump-dom"}, dom_file);
  auto dom = read_text(dom_file);
  INFO("DOM: " << dom_file.string());
  // The script ran and read /metrics at least once.
  std::smatch m;
  REQUIRE(std::regex_search(dom, m, std::regex{R"re(data-scrapes="(\d+)")re"}));
  CHECK(std::stoi(m[1]) >= 1);

  auto text = live.metrics(); // no traffic since the page loaded
  auto cards = cards_of(dom);
  REQUIRE(cards.size() == 2);
  for (auto& c : cards) {
    INFO(c.kind << " " << c.name);
    CHECK(c.requests
          == sample_value(text, "bulwark_requests_total", c.kind, c.name));
    double ok = 0;
    for (auto src : {"live", "fresh_cache", "stale_cache", "static_fallback",
                     "alternate"}) {
      auto key = "bulwark_replies_total{" + c.kind + "=\"" + c.name
                 + "\",outcome=\"ok\",source=\"" + src + "\"} ";
      auto pos = text.find(key);
      REQUIRE(pos != std::string::npos);
      ok += std::stod(text.substr(pos + key.size()));
    }
    CHECK(c.ok == ok);
  }
  CHECK(cards[0].kind == "dependency");
  CHECK(cards[0].name == "payments");
  CHECK(cards[0].requests == 7);
  CHECK(cards[0].ok == 7);
  CHECK(cards[1].kind == "supervisor");
  CHECK(cards[1].name == "checkout");
  CHECK(cards[1].requests == 4);
  CHECK(cards[1].ok == 4);
  // Breaker state and member health made it into the page too.
  CHECK(dom.find("breaker closed") != std::string::npos);
  CHECK(dom.find("2/2 healthy, 2 up") != std::string::npos);
}

TEST_CASE("headless Chromium shows the trace panel's assembled tree for the "
          "trace id in the page's address",
          "[actors][admin][dashboard][chromium][trace]") {
  require_chromium();
  live_admin live;
  trace_id trace{0x0af7651916cd43ddULL, 0x8448eb211c80319cULL};
  call_request req;
  req.id = 1;
  req.operation = "charge";
  req.payload = "p";
  req.trace.trace = trace;
  req.trace.parent_id = 0x77;
  req.trace.flags = trace_flag_sampled; // keeps the journey
  CHECK(call_and_wait(live.sys, live.deps.at("payments"), req).ok);
  auto dir = artifact_dir("dashboard_trace");
  auto url = "http://127.0.0.1:" + std::to_string(live.port())
             + "/dashboard#trace=" + to_string(trace);
  auto dom_file = dir / "trace.dom.html";
  run_chromium(dir, url, {"--dump-dom"}, dom_file);
  auto dom = read_text(dom_file);
  INFO("DOM: " << dom_file.string());
  CHECK(dom.find("data-trace-nodes=\"1\"") != std::string::npos);
  auto call_line =
    "[127.0.0.1:" + std::to_string(live.port()) + "] payments \"charge\" span ";
  CHECK(dom.find(call_line) != std::string::npos);
  CHECK(dom.find(" -&gt; ok</div>") != std::string::npos); // a call line
  CHECK(dom.find("  attempt 1 span ") != std::string::npos);
  CHECK(dom.find("trace " + to_string(trace) + ": 1 call")
        != std::string::npos);
}

TEST_CASE("headless Chromium shows a host's HTTP services, what the host "
          "restarts and the objectives' burn",
          "[actors][admin][dashboard][chromium]") {
  require_chromium();
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  service_host_options o;
  o.transports.emplace("a", [](caf::actor_system& s) {
    return spawn_function_transport(
      s, [](const attempt_request&) { return success_result("a"); });
  });
  // "down" answers every call 503: its health probe pauses it.
  o.transports.emplace("down", [](caf::actor_system& s) {
    return spawn_function_transport(
      s, [](const attempt_request&) { return status_result(503); });
  });
  o.admin.emplace();
  auto started = service_host::start(
    sys, R"({"dependencies": {"a": {"idempotency": "idempotent",
      "objective": {"enabled": true, "availability": 99,
                    "latency_threshold": "100ms", "latency": 90}},
      "down": {"idempotency": "idempotent",
               "probe": {"enabled": true, "operation": "health",
                         "interval": "100ms", "timeout": "50ms",
                         "unhealthy_threshold": 1}}}})",
    std::move(o));
  REQUIRE(started.ok());
  auto& host = *started.host;
  http_service_options so;
  so.objective.enabled = true; // 99.9% available
  auto& svc = host.attach("front", std::make_unique<http_service>(sys, so));
  svc.route("GET", "/ok", service_function{[](const service_request&) {
              service_response r;
              r.body = "ok";
              return r;
            }});
  svc.route("GET", "/broken", service_function{[](const service_request&) {
              service_response r;
              r.status = 500;
              return r;
            }});
  svc.start();
  for (int i = 0; i < 3; ++i)
    REQUIRE(http_get(svc.port(), "/ok"));
  REQUIRE(http_get(svc.port(), "/broken"));
  // Wait (bounded, no sleep) for the probe to pause "down".
  bool paused = false;
  for (int i = 0; i < 20'000 && !paused; ++i) {
    auto m = http_get(host.admin()->port(), "/metrics");
    paused = m
             && m->body().find("bulwark_probe_paused{dependency=\"down\"} 1")
                  != std::string::npos;
  }
  REQUIRE(paused);
  auto dir = artifact_dir("dashboard_services");
  auto url =
    "http://127.0.0.1:" + std::to_string(host.admin()->port()) + "/dashboard";
  auto dom_file = dir / "services.dom.html";
  run_chromium(dir, url, {"--dump-dom"}, dom_file);
  auto dom = read_text(dom_file);
  INFO("DOM: " << dom_file.string());
  CHECK(dom.find(R"(data-kind="service" data-name="front" )"
                 R"(data-requests-total="4")")
        != std::string::npos);
  // 1 of 4 answers failed against a 0.1% budget: burning at 250, a page.
  CHECK(dom.find("<td>availability 99.90%</td><td class=\"v\" "
                 "data-field=\"objective-availability\">burn 250.00 (5 m), "
                 "250.00 (1 h): page</td>")
        != std::string::npos);
  CHECK(dom.find("breaker forced_open (paused by probe)") != std::string::npos);
  // The dependency's objectives, without calls yet: nothing burns.
  CHECK(dom.find("<td>latency \u2264 100.0 ms for 90.00%</td><td class=\"v\" "
                 "data-field=\"objective-latency\">burn 0.00 (5 m), "
                 "0.00 (1 h): ok</td>")
        != std::string::npos);
  // (The script's own text is in the dump too: look for rendered cells.)
  CHECK(dom.find("<td>transport a</td><td class=\"v\" "
                 "data-field=\"host-actor\">0 crashes, 0 restarts</td>")
        != std::string::npos);
  CHECK(dom.find("data-field=\"gave-up\"") == std::string::npos);
  host.stop();
}

TEST_CASE("headless Chromium shows a dependency's progressive replies and "
          "how many finals changed them",
          "[actors][admin][dashboard][chromium][progressive]") {
  require_chromium();
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  service_host_options o;
  // Answers the request's payload after 300 ms: the 20 ms soft deadline
  // passes first, so the call gets the static value as its preliminary.
  error_list errors;
  auto schedule = parse_fault_schedule(
    boost::json::parse(R"({"latency": {"kind": "fixed", "value": "300ms"}})"),
    json_path{}, errors);
  REQUIRE(errors.empty());
  o.transports.emplace("slow", [schedule](caf::actor_system& s) {
    return chaos_transport::spawn(s, schedule, 1).handle();
  });
  o.admin.emplace();
  auto started = service_host::start(
    sys, R"({"dependencies": {"slow": {"idempotency": "idempotent",
      "fallback": [{"kind": "static", "value": "guess"}],
      "progressive": {"enabled": true, "soft_deadline": "20ms",
                      "preliminary": ["static"]}}}})",
    std::move(o));
  REQUIRE(started.ok());
  auto& host = *started.host;
  caf::scoped_actor self{sys};
  call_request req;
  req.id = 7;
  req.operation = "get";
  req.payload = "fresh";
  req.progressive = true;
  self->send(host.dependency("slow"), call_atom::value, req);
  bool preliminary = false, final_ok = false;
  self->receive(
    [&](preliminary_atom, const call_reply& r) {
      preliminary = r.preliminary && r.payload == "guess";
    },
    caf::after(std::chrono::seconds(10)) >> [] {});
  self->receive(
    [&](reply_atom, const call_reply& r) {
      final_ok = r.ok && !r.preliminary && r.payload == "fresh";
    },
    caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(preliminary);
  REQUIRE(final_ok);
  // Wait (bounded, no sleep) for the final to show in the metrics.
  bool counted = false;
  for (int i = 0; i < 20'000 && !counted; ++i) {
    auto m = http_get(host.admin()->port(), "/metrics");
    counted = m
              && m->body().find("bulwark_progressive_replies_total{"
                                "dependency=\"slow\",kind=\"contradicted\"} 1")
                   != std::string::npos;
  }
  REQUIRE(counted);
  auto dir = artifact_dir("dashboard_progressive");
  auto url =
    "http://127.0.0.1:" + std::to_string(host.admin()->port()) + "/dashboard";
  auto dom_file = dir / "progressive.dom.html";
  run_chromium(dir, url, {"--dump-dom"}, dom_file);
  auto dom = read_text(dom_file);
  INFO("DOM: " << dom_file.string());
  // The static guess was replaced by the fresh answer: 1 of 1 changed.
  CHECK(dom.find("<td>progressive</td><td class=\"v\" "
                 "data-field=\"progressive\">1 preliminary of 1 calls, "
                 "1 changed by the final (100.00%), final p99 ")
        != std::string::npos);
  host.stop();
}
