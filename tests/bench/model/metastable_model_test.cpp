#include "bench/model/metastable_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

namespace {

time_point at_s(double s) {
  return time_point{} + duration{static_cast<duration::rep>(s * 1e9)};
}

double ms(duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

model_config one_server(double rate, double seconds_, std::uint64_t seed) {
  model_config cfg;
  cfg.servers = {server_config{}};
  cfg.phases = {
    {"load", duration{static_cast<duration::rep>(seconds_ * 1e9)}, rate}};
  cfg.attempt_timeout = seconds(100);
  cfg.max_attempts = 1;
  cfg.seed = seed;
  return cfg;
}

// Fails every attempt's first try: a policy that counts what it is asked.
class counting_policy final : public client_policy {
 public:
  bool admit = true;
  std::optional<duration> retry_delay = duration{0};
  int admits = 0;
  int retries_asked = 0;
  int observed = 0;

  bool admit_first_try(time_point) override {
    ++admits;
    return admit;
  }
  std::optional<duration> decide_retry(time_point, std::uint32_t) override {
    ++retries_asked;
    return retry_delay;
  }
  void observe(time_point, const attempt_report&) override {
    ++observed;
  }
};

} // namespace

TEST_CASE("first tries form a Poisson process at the phase's rate",
          "[bench][model]") {
  std::uint64_t seed = 7;
  INFO("seed " << seed);
  auto cfg = one_server(5, 2000, seed); // 10,000 expected, sd 100
  cfg.phases.push_back({"quiet", seconds(100), 0});
  cfg.phases.push_back({"fast", seconds(100), 50}); // 5,000 expected, sd 71
  no_retry_policy p;
  auto run = run_model(cfg, p);
  std::size_t in_load = 0;
  std::size_t in_quiet = 0;
  std::size_t in_fast = 0;
  for (auto& r : run.requests) {
    auto i = phase_of(cfg, r.first_try);
    (i == 0 ? in_load : i == 1 ? in_quiet : in_fast) += 1;
  }
  CHECK(in_load > 9600);
  CHECK(in_load < 10400);
  CHECK(in_quiet == 0);
  CHECK(in_fast > 4700);
  CHECK(in_fast < 5300);
  // Inter-arrival gaps have the exponential's coefficient of variation 1.
  double sum = 0;
  double sum2 = 0;
  for (std::size_t i = 1; i < in_load; ++i) {
    auto gap =
      to_seconds(run.requests[i].first_try - run.requests[i - 1].first_try);
    sum += gap;
    sum2 += gap * gap;
  }
  auto n = static_cast<double>(in_load - 1);
  auto mean = sum / n;
  auto sd = std::sqrt(sum2 / n - mean * mean);
  CHECK(mean == Approx(0.2).epsilon(0.03));
  CHECK(sd / mean == Approx(1.0).epsilon(0.05));
}

TEST_CASE("one worker at half load gives the M/M/1 mean time in system",
          "[bench][model]") {
  std::uint64_t seed = 3;
  INFO("seed " << seed);
  // lambda 5, mu 10: mean time in system 1 / (mu - lambda) = 200 ms, and
  // P(time > t) = exp(-(mu - lambda) t), so P(> 1 s) = exp(-5) = 0.0067.
  auto cfg = one_server(5, 4000, seed);
  no_retry_policy p;
  auto run = run_model(cfg, p);
  double sum = 0;
  std::size_t over_1s = 0;
  for (auto& r : run.requests) {
    REQUIRE(r.succeeded());
    auto t = ms(r.end - r.first_try);
    sum += t;
    over_1s += t > 1000 ? 1 : 0;
  }
  auto n = static_cast<double>(run.requests.size());
  CHECK(sum / n == Approx(200).epsilon(0.08));
  CHECK(static_cast<double>(over_1s) / n == Approx(0.0067).margin(0.003));
  CHECK(run.served == run.requests.size());
  CHECK(run.late_completions == 0);
}

TEST_CASE("timed-out work is still served, and its late answer is dropped",
          "[bench][model]") {
  // 100 first tries in 1 s against 10/s of capacity and a 1 s timeout: most
  // time out, yet the worker serves every one of them.
  model_config cfg;
  cfg.servers = {server_config{}};
  cfg.phases = {{"burst", seconds(1), 100}, {"tail", seconds(60), 0}};
  cfg.attempt_timeout = seconds(1);
  cfg.max_attempts = 1;
  cfg.seed = 11;
  INFO("seed " << cfg.seed);
  no_retry_policy p;
  auto run = run_model(cfg, p);
  std::size_t ok = 0;
  for (auto& r : run.requests) {
    ok += r.succeeded() ? 1 : 0;
    if (r.succeeded())
      CHECK(r.end - r.first_try <= seconds(1));
    else
      CHECK(r.how == request_end::attempts_exhausted);
  }
  CHECK(run.requests.size() > 70);
  CHECK(ok < run.requests.size() / 2);
  // The run ends when the last request has ended, not when the queue is
  // empty, so not every stale job has been served by then.
  CHECK(run.late_completions > 0);
  CHECK(run.served == ok + run.late_completions);
  CHECK(run.finished <= at_s(3));
}

TEST_CASE("an error window answers at once, flushes the queue and lets work "
          "in service finish",
          "[bench][model]") {
  model_config cfg;
  server_config s;
  s.workers = 1;
  s.mean_service = seconds(1);
  s.error_start = at_s(5);
  s.error_end = at_s(10);
  cfg.servers = {s};
  cfg.phases = {{"load", seconds(20), 3}};
  cfg.attempt_timeout = seconds(1000);
  cfg.max_attempts = 1;
  cfg.seed = 5;
  INFO("seed " << cfg.seed);
  no_retry_policy p;
  auto run = run_model(cfg, p);
  std::size_t errors_in_window = 0;
  for (auto& a : run.attempts) {
    if (a.sent >= at_s(5) && a.sent < at_s(10)) {
      // Arrivals in the window: an error at once.
      CHECK(a.outcome == attempt_outcome::error);
      CHECK(a.ended == a.sent);
      ++errors_in_window;
    }
    if (a.outcome == attempt_outcome::error) {
      CHECK(a.ended >= at_s(5));
      CHECK(a.ended < at_s(10));
    }
  }
  CHECK(errors_in_window > 5);
  // The queue built up before 5 s (3/s against 1/s) was answered at 5 s.
  std::size_t flushed = 0;
  std::size_t finished_in_window = 0;
  for (auto& a : run.attempts) {
    if (a.sent < at_s(5) && a.outcome == attempt_outcome::error) {
      CHECK(a.ended == at_s(5));
      ++flushed;
    }
    if (a.sent < at_s(5) && a.outcome == attempt_outcome::success
        && a.ended >= at_s(5) && a.ended < at_s(10))
      ++finished_in_window;
  }
  CHECK(flushed > 3);
  CHECK(finished_in_window == 1); // the one job in service at 5 s
}

TEST_CASE("attempts go round-robin over the servers, retries included",
          "[bench][model]") {
  model_config cfg;
  server_config s;
  s.workers = 100;
  s.mean_service = milliseconds(1);
  auto broken = s;
  broken.error_start = at_s(0);
  broken.error_end = at_s(1000);
  cfg.servers = {broken, s, s};
  cfg.phases = {{"load", seconds(10), 20}};
  cfg.attempt_timeout = seconds(1);
  cfg.max_attempts = 3;
  cfg.seed = 9;
  INFO("seed " << cfg.seed);
  immediate_retry_policy p;
  auto run = run_model(cfg, p);
  for (std::size_t i = 0; i < run.attempts.size(); ++i)
    CHECK(run.attempts[i].server == i % 3);
  // Every request that met the broken server retried on the next one.
  for (auto& r : run.requests)
    CHECK(r.succeeded());
}

TEST_CASE("the attempt cap holds and the policy decides every retry below it",
          "[bench][model]") {
  model_config cfg;
  server_config s;
  s.error_start = at_s(0);
  s.error_end = at_s(1000);
  cfg.servers = {s};
  cfg.phases = {{"load", seconds(10), 10}};
  cfg.max_attempts = 4;
  cfg.seed = 13;
  INFO("seed " << cfg.seed);
  counting_policy p;
  auto run = run_model(cfg, p);
  auto n = static_cast<int>(run.requests.size());
  REQUIRE(n > 50);
  for (auto& r : run.requests) {
    CHECK(r.attempts == 4);
    CHECK(r.how == request_end::attempts_exhausted);
  }
  CHECK(p.admits == n);
  CHECK(p.retries_asked == 3 * n); // never asked at the cap
  CHECK(p.observed == 4 * n);

  counting_policy refusing;
  refusing.retry_delay = std::nullopt;
  auto refused = run_model(cfg, refusing);
  for (auto& r : refused.requests) {
    CHECK(r.attempts == 1);
    CHECK(r.how == request_end::retry_refused);
  }

  counting_policy rejecting;
  rejecting.admit = false;
  auto rejected = run_model(cfg, rejecting);
  CHECK(rejected.attempts.empty());
  for (auto& r : rejected.requests)
    CHECK(r.how == request_end::rejected_locally);
}

TEST_CASE("a retry waits the delay the policy chose", "[bench][model]") {
  model_config cfg;
  server_config s;
  s.error_start = at_s(0);
  s.error_end = at_s(1000);
  cfg.servers = {s};
  cfg.phases = {{"load", seconds(5), 2}};
  cfg.max_attempts = 2;
  cfg.seed = 17;
  INFO("seed " << cfg.seed);
  counting_policy p;
  p.retry_delay = milliseconds(250);
  auto run = run_model(cfg, p);
  REQUIRE(!run.attempts.empty());
  for (auto& a : run.attempts)
    if (a.number == 2)
      CHECK(a.sent - run.requests[a.request].first_try == milliseconds(250));
}

TEST_CASE("a full queue answers with an error at once", "[bench][model]") {
  model_config cfg;
  server_config s;
  s.workers = 1;
  s.mean_service = seconds(10);
  s.max_queue = 2;
  cfg.servers = {s};
  cfg.phases = {{"load", seconds(5), 10}};
  cfg.attempt_timeout = seconds(100);
  cfg.max_attempts = 1;
  cfg.seed = 19;
  INFO("seed " << cfg.seed);
  no_retry_policy p;
  auto run = run_model(cfg, p);
  REQUIRE(run.attempts.size() > 10);
  // One in service, two queued; everything else was refused on arrival.
  std::size_t errors = 0;
  for (auto& a : run.attempts)
    if (a.outcome == attempt_outcome::error) {
      CHECK(a.ended == a.sent);
      ++errors;
    }
  CHECK(errors >= run.attempts.size() - 3);
}

TEST_CASE("the same seed gives the same run, and every mode meets the same "
          "first tries",
          "[bench][model]") {
  auto cfg = one_server(12, 30, 23);
  cfg.attempt_timeout = seconds(1);
  cfg.max_attempts = 3;
  INFO("seed " << cfg.seed);
  immediate_retry_policy a;
  immediate_retry_policy b;
  no_retry_policy c;
  auto x = run_model(cfg, a);
  auto y = run_model(cfg, b);
  auto z = run_model(cfg, c);
  REQUIRE(x.requests.size() == y.requests.size());
  REQUIRE(x.attempts.size() == y.attempts.size());
  for (std::size_t i = 0; i < x.attempts.size(); ++i) {
    CHECK(x.attempts[i].sent == y.attempts[i].sent);
    CHECK(x.attempts[i].ended == y.attempts[i].ended);
  }
  REQUIRE(z.requests.size() == x.requests.size());
  for (std::size_t i = 0; i < x.requests.size(); ++i)
    CHECK(z.requests[i].first_try == x.requests[i].first_try);
  CHECK(x.attempts.size() > z.attempts.size()); // retries happened
  cfg.seed = 24;
  auto other = run_model(cfg, c);
  CHECK(other.requests.front().first_try != z.requests.front().first_try);
}

TEST_CASE("queue depth is sampled once per bucket to the end of the phases",
          "[bench][model]") {
  model_config cfg;
  cfg.servers = {server_config{}};
  cfg.phases = {{"over", seconds(10), 20}, {"idle", seconds(5), 0}};
  cfg.attempt_timeout = seconds(1000);
  cfg.max_attempts = 1;
  cfg.seed = 29;
  INFO("seed " << cfg.seed);
  no_retry_policy p;
  auto run = run_model(cfg, p);
  REQUIRE(run.queue_depth.size() == 15);
  CHECK(run.queue_depth[0] == 0);
  // 20/s against 10/s: about 10 more waiting every second.
  CHECK(run.queue_depth[9] > 60);
  CHECK(run.queue_depth[14] < run.queue_depth[10]);
}

TEST_CASE("a config the model cannot run is refused with a reason",
          "[bench][model]") {
  no_retry_policy p;
  model_config cfg;
  CHECK_THROWS_AS(run_model(cfg, p), std::invalid_argument);
  cfg.servers = {server_config{}};
  cfg.servers[0].workers = 0;
  CHECK_THROWS_AS(run_model(cfg, p), std::invalid_argument);
  cfg.servers[0].workers = 1;
  cfg.max_attempts = 0;
  CHECK_THROWS_AS(run_model(cfg, p), std::invalid_argument);
  cfg.max_attempts = 1;
  cfg.phases = {{"bad", seconds(1), -1}};
  CHECK_THROWS_WITH(run_model(cfg, p), Catch::Contains("'bad'"));
  cfg.phases = {{"ok", seconds(1), 1}};
  cfg.attempt_timeout = duration{0};
  CHECK_THROWS_AS(run_model(cfg, p), std::invalid_argument);
}

TEST_CASE("the policy's gauge is sampled with the queues, when it has one",
          "[bench][model]") {
  model_config cfg;
  server_config s;
  s.error_start = at_s(2);
  s.error_end = at_s(4);
  cfg.servers = {s};
  cfg.phases = {{"load", seconds(8), 5}};
  cfg.max_attempts = 3;
  cfg.seed = 31;
  INFO("seed " << cfg.seed);
  token_bucket_policy bucket{10.0, 0.1, 1.0};
  auto run = run_model(cfg, bucket);
  REQUIRE(run.policy_gauge.size() == run.queue_depth.size());
  REQUIRE(run.policy_gauge.size() == 8);
  CHECK(run.policy_gauge[0] == Approx(10.0));
  // The error window spends the tokens; successes earn a little back.
  CHECK(run.policy_gauge[4] < 5.0);
  CHECK(run.policy_gauge[7] > run.policy_gauge[4]);
  no_retry_policy none;
  CHECK(run_model(cfg, none).policy_gauge.empty());
}

TEST_CASE("a server under overload control answers every attempt once, "
          "drops work whose caller gave up and serves none of it late",
          "[bench][model][overload]") {
  std::uint64_t seed = 21;
  INFO("seed " << seed);
  // 1 worker at 10 rps offered 20 rps for 30 s: a queue that grows without
  // bound under FIFO.
  auto cfg = one_server(20, 30, seed);
  cfg.attempt_timeout = seconds(2);
  no_retry_policy p;
  auto fifo = run_model(cfg, p);
  cfg.servers[0].policy = server_policy::overload_control;
  cfg.servers[0].overload =
    model_overload_config(cfg.servers[0].mean_service, cfg.attempt_timeout);
  CHECK(cfg.servers[0].overload.target == milliseconds(400));
  no_retry_policy q;
  auto run = run_model(cfg, q);
  REQUIRE(run.requests.size() == fifo.requests.size());
  std::size_t open = 0;
  std::size_t ok = 0;
  for (auto& a : run.attempts) {
    open += a.ended < a.sent ? 1 : 0;
    CHECK(a.ended - a.sent <= cfg.attempt_timeout);
  }
  for (auto& r : run.requests)
    ok += r.succeeded() ? 1 : 0;
  std::size_t fifo_ok = 0;
  for (auto& r : fifo.requests)
    fifo_ok += r.succeeded() ? 1 : 0;
  CHECK(open == 0);
  CHECK(run.dropped_expired + run.shed > 0);
  // FIFO serves mostly work whose caller left; overload control serves
  // work someone waits for, close to the server's 10 per second.
  CHECK(fifo.late_completions > fifo.served / 2);
  CHECK(run.late_completions < run.served / 10);
  CHECK(ok > 3 * fifo_ok);
  CHECK(ok > 150);
  CHECK(to_string(server_policy::overload_control) == "overload_control");
  CHECK(to_string(server_policy::fifo) == "fifo");
}

namespace {

// Routes every attempt to server 1, rejects every second retry locally and
// remembers what it was told.
class routing_policy final : public client_policy {
 public:
  std::vector<attempt_info> asked;
  std::vector<attempt_report> reports;

  bool admit_first_try(time_point) override {
    return true;
  }
  std::optional<std::uint32_t>
  route_attempt(time_point, const attempt_info& info) override {
    asked.push_back(info);
    if (info.attempt > 1 && asked.size() % 2 == 0)
      return std::nullopt;
    return 1;
  }
  std::optional<duration> decide_retry(time_point, std::uint32_t) override {
    return duration{0};
  }
  void observe(time_point, const attempt_report& r) override {
    reports.push_back(r);
  }
};

} // namespace

TEST_CASE("a policy may route an attempt elsewhere or reject it locally, "
          "and round robin advances only for attempts sent",
          "[bench][model]") {
  model_config cfg;
  server_config s;
  s.workers = 100;
  s.mean_service = milliseconds(1);
  auto broken = s;
  broken.error_start = at_s(0);
  broken.error_end = at_s(1000);
  cfg.servers = {s, broken};
  cfg.phases = {{"load", seconds(10), 20}};
  cfg.attempt_timeout = seconds(1);
  cfg.max_attempts = 3;
  cfg.seed = 11;
  INFO("seed " << cfg.seed);
  routing_policy p;
  auto run = run_model(cfg, p);
  REQUIRE(!run.attempts.empty());
  for (auto& a : run.attempts)
    CHECK(a.server == 1); // where the policy sent it, not round robin's pick
  std::size_t sent = 0;
  for (auto& info : p.asked) {
    CHECK(info.servers == 2);
    CHECK(info.timeout == seconds(1));
    // Round robin's pick counts the attempts actually sent.
    CHECK(info.server == sent % 2);
    if (info.attempt == 1)
      CHECK(info.previous_server == attempt_info::no_server);
    else
      CHECK(info.previous_server == 1);
    if (!(info.attempt > 1 && (&info - p.asked.data() + 1) % 2 == 0))
      ++sent;
  }
  CHECK(sent == run.attempts.size());
  // Server 1 answers errors: every request ends at the cap or with a retry
  // rejected locally, never with a success.
  std::size_t refused = 0;
  for (auto& r : run.requests) {
    CHECK(!r.succeeded());
    refused += r.how == request_end::retry_refused ? 1 : 0;
  }
  CHECK(refused > 0);
  for (auto& r : p.reports) {
    CHECK(r.server == 1);
    CHECK(!r.overloaded); // a crash's error is not an overload refusal
  }
}

namespace {

// Counts the reports by kind.
class report_counter final : public client_policy {
 public:
  std::size_t overloaded = 0;
  std::size_t errors = 0;

  bool admit_first_try(time_point) override {
    return true;
  }
  std::optional<duration> decide_retry(time_point, std::uint32_t) override {
    return std::nullopt;
  }
  void observe(time_point, const attempt_report& r) override {
    if (r.outcome == attempt_outcome::error)
      ++errors;
    if (r.overloaded) {
      CHECK(r.outcome == attempt_outcome::error);
      ++overloaded;
    }
  }
};

} // namespace

TEST_CASE("work a server refuses (shed, dropped, a full queue) is reported "
          "as an overload, a crashed server's error is not",
          "[bench][model][overload]") {
  std::uint64_t seed = 21;
  INFO("seed " << seed);
  auto cfg = one_server(20, 30, seed);
  cfg.attempt_timeout = seconds(2);
  cfg.servers[0].policy = server_policy::overload_control;
  cfg.servers[0].overload =
    model_overload_config(cfg.servers[0].mean_service, cfg.attempt_timeout);
  report_counter p;
  auto run = run_model(cfg, p);
  // A job dropped when its caller's deadline passed is often dropped after
  // the attempt timed out, and then nobody hears of it.
  CHECK(p.overloaded <= run.dropped_expired + run.shed);
  CHECK(p.overloaded > 0);
  CHECK(p.errors == p.overloaded);
  // A bounded FIFO queue that fills: refusals are overloads too.
  auto full = one_server(20, 30, seed);
  full.servers[0].max_queue = 5;
  report_counter q;
  run_model(full, q);
  CHECK(q.overloaded > 0);
  CHECK(q.errors == q.overloaded);
  // An error window: errors, none of them an overload.
  auto crash = one_server(5, 10, seed);
  crash.servers[0].error_start = at_s(0);
  crash.servers[0].error_end = at_s(100);
  report_counter c;
  run_model(crash, c);
  CHECK(c.errors > 0);
  CHECK(c.overloaded == 0);
}

namespace {

// Lets one attempt be in flight at a time (a bulkhead of one slot) and
// answers every refusal with `wait`.
class one_slot_policy final : public client_policy {
 public:
  std::optional<duration> wait;
  std::uint32_t in_flight = 0;
  std::size_t most_waiting = 0;

  bool admit_first_try(time_point) override {
    return true;
  }
  std::optional<std::uint32_t> route_attempt(time_point,
                                             const attempt_info&) override {
    if (in_flight >= 1)
      return std::nullopt;
    ++in_flight;
    return 0;
  }
  std::optional<duration> wait_for_slot(time_point,
                                        std::size_t waiting) override {
    most_waiting = std::max(most_waiting, waiting);
    return wait;
  }
  std::optional<duration> decide_retry(time_point, std::uint32_t) override {
    return std::nullopt;
  }
  void observe(time_point, const attempt_report&) override {
    --in_flight;
  }
};

// Attempts in sending order never overlap: one slot.
void check_one_at_a_time(const model_run& run) {
  for (std::size_t i = 1; i < run.attempts.size(); ++i)
    CHECK(run.attempts[i].sent >= run.attempts[i - 1].ended);
}

} // namespace

TEST_CASE("an attempt the policy refused waits for a slot as long as the "
          "policy allows, oldest first, and is rejected when its wait is over",
          "[bench][model]") {
  // 5 rps on one 10 rps worker: half the first tries find the slot taken.
  std::uint64_t seed = 13;
  INFO("seed " << seed);
  auto cfg = one_server(5, 20, seed);
  std::size_t sent_late = 0;

  SECTION("no wait: rejected locally at once, nothing is sent later") {
    one_slot_policy p;
    auto run = run_model(cfg, p);
    check_one_at_a_time(run);
    std::size_t rejected = 0;
    for (auto& r : run.requests)
      if (r.how == request_end::rejected_locally) {
        ++rejected;
        CHECK(r.end == r.first_try);
        CHECK(r.attempts == 0);
      }
    CHECK(rejected > 10);
    for (auto& a : run.attempts)
      sent_late += a.sent > run.requests[a.request].first_try ? 1 : 0;
    CHECK(sent_late == 0);
  }

  SECTION("a long wait: every request goes once a slot frees, in order") {
    one_slot_policy p;
    p.wait = seconds(1000);
    auto run = run_model(cfg, p);
    check_one_at_a_time(run);
    for (auto& r : run.requests)
      CHECK(r.succeeded());
    CHECK(p.most_waiting > 0);
    for (auto& a : run.attempts)
      sent_late += a.sent > run.requests[a.request].first_try ? 1 : 0;
    CHECK(sent_late > 10);
    // Oldest first: attempts leave in the order their requests came.
    for (std::size_t i = 1; i < run.attempts.size(); ++i)
      CHECK(run.attempts[i].request > run.attempts[i - 1].request);
  }

  SECTION("a short wait: sent within it, or rejected when it is over") {
    one_slot_policy p;
    p.wait = milliseconds(20);
    auto run = run_model(cfg, p);
    check_one_at_a_time(run);
    std::size_t rejected = 0;
    for (auto& r : run.requests)
      if (r.how == request_end::rejected_locally) {
        ++rejected;
        CHECK(r.end == r.first_try + milliseconds(20));
      }
    CHECK(rejected > 10);
    for (auto& a : run.attempts) {
      auto waited = a.sent - run.requests[a.request].first_try;
      CHECK(waited <= milliseconds(20));
      sent_late += waited > duration{0} ? 1 : 0;
    }
    CHECK(sent_late > 0);
  }
}
