// The metrics path end to end, checked by the real `promtool` (Debian package
// `prometheus`; `./bulwark` installs it): dependency actors run calls with
// failures, retries and an open breaker under virtual time, answer
// `stats_atom`, the stats render as Prometheus text, and promtool must accept
// that text without a single lint complaint. The example alert rules are
// checked and unit-tested with promtool as well. A missing promtool is a
// failure, never a skip: these checks are the point of the test.
#include "bulwark/actors/dependency/dependency_actor.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/transport/scripted_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/metrics/prometheus_text.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

struct command_result {
  int status = -1; // exit status, -1 if it did not exit normally
  std::string output; // stdout and stderr
};

command_result run_command(const std::string& cmd) {
  command_result result;
  auto full = cmd + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr)
    return result;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    result.output.append(buf, n);
  auto rc = pclose(pipe);
  if (rc != -1 && WIFEXITED(rc))
    result.status = WEXITSTATUS(rc);
  return result;
}

// Fails the test (with what to do) when promtool is not installed.
void require_promtool() {
  auto found = run_command("command -v promtool");
  INFO("promtool not found on PATH: install the prometheus package "
       "(apt-get install prometheus; ./bulwark does it on CI)");
  REQUIRE(found.status == 0);
}

std::string source_path(const std::string& rel) {
  return std::string{BULWARK_SOURCE_DIR} + "/" + rel;
}

// A file in the temp directory removed when the test ends.
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& stem)
    : path(std::filesystem::temp_directory_path()
           / (stem + "-" + std::to_string(::getpid()) + ".prom")) {}
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

dependency_config make_config(const std::string& name,
                              const std::string& settings) {
  auto result = parse_bulwark_config(R"({"dependencies": {")" + name + R"(": )"
                                     + settings + "}}");
  INFO(result.errors.to_string());
  REQUIRE(result.ok());
  return result.config->dependencies.at(0);
}

struct fixture : deterministic_fixture {
  scripted_transport payments_transport = scripted_transport::spawn(sys);
  scripted_transport inventory_transport = scripted_transport::spawn(sys);
  probe caller = make_probe();
  std::vector<caf::actor> spawned;

  ~fixture() override {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(payments_transport.handle(),
                        caf::exit_reason::user_shutdown);
    caf::anon_send_exit(inventory_transport.handle(),
                        caf::exit_reason::user_shutdown);
    run();
  }

  dependency_actor spawn_dep(const std::string& name,
                             const std::string& settings,
                             const scripted_transport& transport) {
    dependency_options opts;
    opts.config = make_config(name, settings);
    opts.transport = transport.handle();
    auto dep = spawn_dependency(sys, std::move(opts));
    spawned.push_back(caf::actor_cast<caf::actor>(dep));
    return dep;
  }

  void call(const dependency_actor& dep, std::uint64_t id) {
    call_request req;
    req.id = id;
    req.operation = "get";
    req.payload = "p";
    req.idempotency_key = "key-" + std::to_string(id);
    caller.send(dep, call_atom::value, std::move(req));
    run();
  }

  dependency_stats stats_of(const dependency_actor& dep) {
    caller.clear();
    caller.send(dep, stats_atom::value);
    run();
    auto answers = caller.collect<stats_atom, dependency_stats>();
    REQUIRE(answers.size() == 1);
    return std::get<1>(answers[0]);
  }
};

// The sample line of `metric` with exactly these labels, or "".
std::string sample_line(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, series.size() + 1, series + " ") == 0)
      return line;
  return {};
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "dependency stats render as metrics promtool accepts without "
                 "lint complaints",
                 "[actors][metrics]") {
  require_promtool();
  // payments retries transient failures after a constant 100 ms backoff.
  auto payments = spawn_dep("payments", R"({
    "idempotency": "idempotent",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "1s",
              "backoff": {"kind": "constant", "jitter": "none", "base": "100ms"}}
  })",
                            payments_transport);
  // inventory opens its breaker after two failures out of two calls.
  auto inventory = spawn_dep("inventory", R"({
    "idempotency": "idempotent",
    "retry": {"enabled": false},
    "breaker": {"window_size": 2, "minimum_calls": 2,
                "failure_rate_threshold": 50, "open_duration": "30s"}
  })",
                             inventory_transport);
  // payments call 1: 500, 500, then success; each attempt takes 20-30 ms,
  // so the request takes 20 + 100 + 20 + 100 + 30 = 270 ms.
  payments_transport.push(status_result(500), milliseconds(20));
  payments_transport.push(status_result(502), milliseconds(20));
  payments_transport.push(success_result("ok"), milliseconds(30));
  call(payments, 1);
  advance_time(seconds(1));
  // call 2: success after 2 ms; call 3: not found (persistent) after 1 ms.
  payments_transport.push(success_result("ok"), milliseconds(2));
  call(payments, 2);
  advance_time(seconds(1));
  payments_transport.push(status_result(404), milliseconds(1));
  call(payments, 3);
  advance_time(seconds(1));
  // inventory: two failures open the breaker, the third call is rejected.
  inventory_transport.push(status_result(500), milliseconds(5));
  call(inventory, 1);
  advance_time(seconds(1));
  inventory_transport.push(status_result(500), milliseconds(5));
  call(inventory, 2);
  advance_time(seconds(1));
  call(inventory, 3);
  advance_time(seconds(1));
  auto replies = caller.replies();
  REQUIRE(replies.size() == 6);

  auto payments_stats = stats_of(payments);
  auto inventory_stats = stats_of(inventory);
  auto text = render_prometheus(
    {{"payments", payments_stats}, {"inventory", inventory_stats}});

  // What the actors recorded, as the scrape shows it.
  CHECK(sample_line(text, R"(bulwark_requests_total{dependency="payments"})")
        == R"(bulwark_requests_total{dependency="payments"} 3)");
  CHECK(sample_line(text, R"(bulwark_attempts_total{dependency="payments"})")
        == R"(bulwark_attempts_total{dependency="payments"} 5)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_retries_total{dependency="payments",reason="transient"})")
    == R"(bulwark_retries_total{dependency="payments",reason="transient"} 2)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_failures_total{dependency="payments",class="persistent"})")
    == R"(bulwark_failures_total{dependency="payments",class="persistent"} 1)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_replies_total{dependency="payments",outcome="ok",source="live"})")
    == R"(bulwark_replies_total{dependency="payments",outcome="ok",source="live"} 2)");
  // Request latencies 270 ms, 2 ms and 1 ms (le is inclusive).
  CHECK(
    sample_line(
      text,
      R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.001"})")
    == R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.001"} 1)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.2"})")
    == R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.2"} 2)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.3"})")
    == R"(bulwark_request_duration_seconds_bucket{dependency="payments",le="0.3"} 3)");
  CHECK(
    sample_line(
      text, R"(bulwark_request_duration_seconds_sum{dependency="payments"})")
    == R"(bulwark_request_duration_seconds_sum{dependency="payments"} 0.273)");
  // Attempt latencies 20, 20, 30, 2 and 1 ms.
  CHECK(
    sample_line(
      text, R"(bulwark_attempt_duration_seconds_count{dependency="payments"})")
    == R"(bulwark_attempt_duration_seconds_count{dependency="payments"} 5)");
  CHECK(
    sample_line(
      text, R"(bulwark_attempt_duration_seconds_sum{dependency="payments"})")
    == R"(bulwark_attempt_duration_seconds_sum{dependency="payments"} 0.073)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.02"})")
    == R"(bulwark_attempt_duration_seconds_bucket{dependency="payments",le="0.02"} 4)");
  CHECK(
    sample_line(
      text, R"(bulwark_breaker_state{dependency="payments",state="closed"})")
    == R"(bulwark_breaker_state{dependency="payments",state="closed"} 1)");
  CHECK(sample_line(
          text, R"(bulwark_breaker_state{dependency="inventory",state="open"})")
        == R"(bulwark_breaker_state{dependency="inventory",state="open"} 1)");
  CHECK(
    sample_line(
      text, R"(bulwark_breaker_state{dependency="inventory",state="closed"})")
    == R"(bulwark_breaker_state{dependency="inventory",state="closed"} 0)");
  CHECK(
    sample_line(
      text,
      R"(bulwark_rejected_total{dependency="inventory",reason="breaker"})")
    == R"(bulwark_rejected_total{dependency="inventory",reason="breaker"} 1)");
  CHECK(sample_line(
          text, R"(bulwark_breaker_transitions_total{dependency="inventory"})")
        == R"(bulwark_breaker_transitions_total{dependency="inventory"} 1)");
  CHECK(
    sample_line(
      text, R"(bulwark_request_duration_seconds_count{dependency="inventory"})")
    == R"(bulwark_request_duration_seconds_count{dependency="inventory"} 3)");

  // promtool: exit 0 and nothing printed (lint problems are printed).
  temp_file file{"bulwark-metrics"};
  {
    std::ofstream out{file.path, std::ios::binary};
    out << text;
  }
  auto checked =
    run_command("promtool check metrics < '" + file.path.string() + "'");
  INFO("promtool said:\n" << checked.output << "\non:\n" << text);
  CHECK(checked.status == 0);
  CHECK(checked.output.empty());
}

TEST_CASE("promtool finds lint problems in a bad exposition",
          "[actors][metrics]") {
  // The check above means something only if promtool does complain about
  // what breaks the conventions: a counter without _total, a missing HELP.
  require_promtool();
  temp_file file{"bulwark-metrics-bad"};
  {
    std::ofstream out{file.path, std::ios::binary};
    out << "# TYPE bulwark_requests counter\n"
           "bulwark_requests{dependency=\"x\"} 1\n";
  }
  auto checked =
    run_command("promtool check metrics < '" + file.path.string() + "'");
  INFO(checked.output);
  CHECK(checked.status != 0);
  CHECK_FALSE(checked.output.empty());
}

TEST_CASE("the example alert rules pass promtool check and their unit tests",
          "[actors][metrics]") {
  require_promtool();
  auto rules = source_path("docs/alerts/bulwark_rules.yml");
  auto checked = run_command("promtool check rules '" + rules + "'");
  INFO(checked.output);
  CHECK(checked.status == 0);
  CHECK(checked.output.find("SUCCESS: 7 rules found") != std::string::npos);
  auto tested =
    run_command("promtool test rules '"
                + source_path("docs/alerts/bulwark_rules_test.yml") + "'");
  INFO(tested.output);
  CHECK(tested.status == 0);
  CHECK(tested.output.find("SUCCESS") != std::string::npos);
}
