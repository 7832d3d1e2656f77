// A real Prometheus server (Debian package `prometheus`) scraping the admin
// port every second: the test starts it on loopback with a generated config
// and a throwaway TSDB under the build directory, waits (at most 30 s) until
// its HTTP API returns the bulwark series with the values /metrics shows,
// and stops it in every case (child_process kills its group on unwind).
// purity: real time — a real Prometheus process scrapes on its own clock;
// the test queries its API until the series appear, bounded.
// GCC 12 reports a false -Wmaybe-uninitialized inside std::regex's
// std::function members when built with -fsanitize=address (see
// dashboard_page_test.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "tests/support/child_process.hpp"
#include "tests/actors/admin/live_admin.hpp"

#include <boost/json/parse.hpp>

#include <fstream>
#include <iostream>

using namespace bulwark;
using namespace bulwark::testing;

namespace {

const std::string prometheus_binary = "/usr/bin/prometheus";

/// The result vector of an instant query, or an empty array.
boost::json::array query(std::uint16_t port, const std::string& promql) {
  auto res = http_get(port, "/api/v1/query?query=" + promql);
  if (!res || res->result_int() != 200)
    return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(res->body(), ec);
  if (ec || !v.is_object())
    return {};
  auto* data = v.as_object().if_contains("data");
  if (!data || !data->is_object())
    return {};
  auto* result = data->as_object().if_contains("result");
  return result && result->is_array() ? result->as_array()
                                      : boost::json::array{};
}

/// The value of the series whose label `kind` is `name`, or "".
std::string value_of(const boost::json::array& result, const std::string& kind,
                     const std::string& name) {
  for (auto& series : result) {
    auto& o = series.as_object();
    auto& metric = o.at("metric").as_object();
    if (auto* v = metric.if_contains(kind); v && v->as_string() == name)
      return std::string{o.at("value").as_array().at(1).as_string()};
  }
  return {};
}

} // namespace

TEST_CASE("a real Prometheus server scrapes the admin endpoint and serves the "
          "bulwark series",
          "[actors][admin][prometheus]") {
  if (!std::filesystem::exists(prometheus_binary))
    FAIL(prometheus_binary
         << " is missing: install the Debian package 'prometheus' "
            "(apt-get install prometheus; ./bulwark installs it on CI)");
  live_admin live;
  live.traffic(5, 3);
  auto text = live.metrics();
  REQUIRE(sample_value(text, "bulwark_requests_total", "dependency", "payments")
          == 5);
  REQUIRE(sample_value(text, "bulwark_requests_total", "supervisor", "checkout")
          == 3);

  auto dir = artifact_dir("prometheus");
  auto prom_port = free_loopback_port();
  {
    std::ofstream cfg{dir / "prometheus.yml"};
    cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: bulwark\n    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << live.port() << "']\n";
  }
  child_process prometheus{
    {prometheus_binary, "--config.file=" + (dir / "prometheus.yml").string(),
     "--storage.tsdb.path=" + (dir / "data").string(),
     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
    (dir / "prometheus.log").string()};

  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds(30);
  boost::json::array result;
  std::string payments;
  std::string checkout;
  while (std::chrono::steady_clock::now() < deadline) {
    INFO("prometheus log: " << (dir / "prometheus.log").string());
    result = query(prom_port, "bulwark_requests_total");
    payments = value_of(result, "dependency", "payments");
    checkout = value_of(result, "supervisor", "checkout");
    if (!payments.empty() && !checkout.empty())
      break;
    // Prometheus scrapes on its own clock and offers nothing to wait on
    // but itself: between two queries, wait (bounded) on its process, which
    // also fails the test at once should it exit.
    REQUIRE_FALSE(prometheus.wait_for(std::chrono::milliseconds(200)));
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - start);
  std::cout << "prometheus served the bulwark series after " << waited.count()
            << " ms (log: " << (dir / "prometheus.log").string() << ")\n";
  INFO(read_text(dir / "prometheus.log"));
  CHECK(payments == "5");
  CHECK(checkout == "3");
  // The scrape target is healthy, and a supervisor-only family arrived too.
  auto up = query(prom_port, "up%7Bjob%3D%22bulwark%22%7D");
  REQUIRE(up.size() == 1);
  CHECK(std::string{up[0].as_object().at("value").as_array().at(1).as_string()}
        == "1");
  CHECK(value_of(query(prom_port, "bulwark_members%7Bstate%3D%22running%22%7D"),
                 "supervisor", "checkout")
        == "2");
  prometheus.stop();
  CHECK_FALSE(prometheus.running());
}

TEST_CASE("GET /metrics renders dependencies and supervisors in one pass, "
          "each family once",
          "[actors][admin][prometheus]") {
  live_admin live;
  live.traffic(2, 3);
  auto text = live.metrics();
  CHECK(sample_value(text, "bulwark_requests_total", "dependency", "payments")
        == 2);
  CHECK(sample_value(text, "bulwark_requests_total", "supervisor", "checkout")
        == 3);
  // Every first call of a key failed once: payments retried, checkout's
  // members did (their dependencies retry before the supervisor fails over).
  CHECK(
    text.find(
      R"(bulwark_retries_total{dependency="payments",reason="transient"} 2)")
    != std::string::npos);
  CHECK(text.find(R"(bulwark_members{supervisor="checkout",state="healthy"} 2)")
        != std::string::npos);
  // The real linter accepts the text with the supervisor families in it.
  if (!std::filesystem::exists("/usr/bin/promtool"))
    FAIL("/usr/bin/promtool is missing: install the Debian package "
         "'prometheus'");
  auto dir = artifact_dir("metrics-lint");
  {
    std::ofstream out{dir / "metrics.txt"};
    out << text;
  }
  child_process promtool{
    {"/bin/sh", "-c",
     "/usr/bin/promtool check metrics < " + (dir / "metrics.txt").string()},
    (dir / "promtool.log").string()};
  auto status = promtool.wait_for(std::chrono::seconds(30));
  INFO(read_text(dir / "promtool.log"));
  REQUIRE(status);
  CHECK(*status == 0);
  std::map<std::string, int> helps;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("# HELP ", 0) == 0)
      ++helps[line.substr(7, line.find(' ', 7) - 7)];
  CHECK(helps.size() > 30);
  for (auto& [name, n] : helps) {
    INFO(name);
    CHECK(n == 1);
  }
}
