#include "bulwark/runtime/classify/classifier.hpp"

#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "tests/support/counting_new.hpp"

using namespace bulwark;

namespace {

transport_observation http(int status) {
  transport_observation obs;
  obs.status = status;
  return obs;
}

transport_observation error(transport_error err) {
  transport_observation obs;
  obs.error = err;
  return obs;
}

} // namespace

TEST_CASE("transport errors have names", "[runtime][classify]") {
  CHECK(to_string(transport_error::none) == "none");
  CHECK(to_string(transport_error::connection_refused) == "connection_refused");
  CHECK(to_string(transport_error::connection_reset) == "connection_reset");
  CHECK(to_string(transport_error::timed_out) == "timed_out");
  CHECK(to_string(transport_error::dns_failure) == "dns_failure");
  CHECK(to_string(transport_error::protocol_error) == "protocol_error");
  CHECK(to_string(transport_error::cancelled) == "cancelled");
  CHECK(to_string(transport_error::transport_down) == "transport_down");
}

TEST_CASE("default classification sorts HTTP statuses into classes",
          "[runtime][classify]") {
  classifier_config cfg;
  for (int s : {200, 201, 204, 299, 301, 304, 399}) {
    CAPTURE(s);
    CHECK(classify(cfg, http(s)).success);
  }
  struct row {
    int status;
    failure_class cls;
  };
  const row rows[] = {
    {408, failure_class::timeout},    {429, failure_class::overloaded},
    {503, failure_class::overloaded}, {500, failure_class::transient},
    {502, failure_class::transient},  {504, failure_class::transient},
    {599, failure_class::transient},  {400, failure_class::persistent},
    {404, failure_class::persistent}, {409, failure_class::persistent},
    {499, failure_class::persistent}, {100, failure_class::persistent},
    {101, failure_class::persistent},
  };
  for (auto& r : rows) {
    CAPTURE(r.status);
    auto out = classify(cfg, http(r.status));
    CHECK_FALSE(out.success);
    CHECK(out.cls == r.cls);
    CHECK_FALSE(out.never_executed);
  }
  // Not an HTTP status at all: a protocol error.
  for (int s : {-1, 1, 99, 600, 999, 100000}) {
    CAPTURE(s);
    auto out = classify(cfg, http(s));
    CHECK_FALSE(out.success);
    CHECK(out.cls == failure_class::transient);
  }
}

TEST_CASE("transport errors classify by what they prove about execution",
          "[runtime][classify]") {
  classifier_config cfg;
  struct row {
    transport_error err;
    failure_class cls;
    bool never_executed;
  };
  const row rows[] = {
    {transport_error::connection_refused, failure_class::transient, true},
    {transport_error::dns_failure, failure_class::transient, true},
    {transport_error::connection_reset, failure_class::transient, false},
    {transport_error::timed_out, failure_class::timeout, false},
    {transport_error::cancelled, failure_class::cancelled, false},
    {transport_error::transport_down, failure_class::transient, false},
    {transport_error::protocol_error, failure_class::transient, false},
  };
  for (auto& r : rows) {
    CAPTURE(to_string(r.err));
    auto out = classify(cfg, error(r.err));
    CHECK_FALSE(out.success);
    CHECK(out.cls == r.cls);
    CHECK(out.never_executed == r.never_executed);
    // An error wins over a status that came with it.
    auto with_status = error(r.err);
    with_status.status = 200;
    auto out2 = classify(cfg, with_status);
    CHECK_FALSE(out2.success);
    CHECK(out2.cls == r.cls);
  }
}

TEST_CASE("retry-after and the do-not-retry marker are copied into the outcome",
          "[runtime][classify]") {
  classifier_config cfg;
  auto obs = http(503);
  obs.retry_after = milliseconds(1500);
  auto out = classify(cfg, obs);
  CHECK(out.cls == failure_class::overloaded);
  CHECK(out.has_retry_after());
  CHECK(out.retry_after == milliseconds(1500));
  CHECK_FALSE(out.do_not_retry);
  obs.do_not_retry = true;
  obs.retry_after = nanoseconds(1);
  out = classify(cfg, obs);
  CHECK(out.do_not_retry);
  CHECK(out.retry_after == nanoseconds(1));
  auto plain = classify(cfg, http(500));
  CHECK_FALSE(plain.has_retry_after());
  auto err = error(transport_error::connection_reset);
  err.do_not_retry = true;
  err.retry_after = seconds(2);
  out = classify(cfg, err);
  CHECK(out.do_not_retry);
  CHECK(out.retry_after == seconds(2));
}

TEST_CASE("a non-HTTP transport's report is used when there is no status",
          "[runtime][classify]") {
  classifier_config cfg;
  transport_observation obs;
  CHECK(classify(cfg, obs).success); // nothing went wrong
  obs.failed = true;
  auto out = classify(cfg, obs);
  CHECK_FALSE(out.success);
  CHECK(out.cls == failure_class::transient);
  CHECK_FALSE(out.never_executed);
  obs.reported_class = failure_class::persistent;
  CHECK(classify(cfg, obs).cls == failure_class::persistent);
  obs.never_executed = true;
  CHECK(classify(cfg, obs).never_executed);
  obs.never_executed = false;
  obs.reported_class = failure_class::rejected_locally;
  out = classify(cfg, obs);
  CHECK(out.cls == failure_class::rejected_locally);
  CHECK(out.never_executed);
  // A status, when present, decides instead of the report.
  obs.status = 200;
  CHECK(classify(cfg, obs).success);
}

TEST_CASE(
  "latency never turns a success into a failure, nor changes a failure's class",
  "[runtime][classify]") {
  // Slowness is the breaker's judgement (slow_call_duration), not the
  // classifier's.
  classifier_config cfg;
  auto obs = http(200);
  obs.latency = hours(1);
  CHECK(classify(cfg, obs).success);
  auto failed = http(500);
  failed.latency = hours(1);
  CHECK(classify(cfg, failed).cls == failure_class::transient);
}

TEST_CASE("a custom status map changes the class of a status",
          "[runtime][classify]") {
  classifier_config cfg;
  cfg.statuses.set(404, status_class::transient);
  cfg.statuses.set_hundred(3, status_class::persistent);
  CHECK(classify(cfg, http(404)).cls == failure_class::transient);
  CHECK(classify(cfg, http(302)).cls == failure_class::persistent);
  CHECK(classify(cfg, http(200)).success);
  cfg.statuses.set(200, status_class::timeout);
  CHECK(classify(cfg, http(200)).cls == failure_class::timeout);
}

TEST_CASE("classifying allocates nothing", "[runtime][classify]") {
  classifier_config cfg;
  auto before = bulwark::testing::allocations();
  std::size_t failures = 0;
  for (int s = 0; s < 700; ++s) {
    auto obs = http(s);
    obs.error = static_cast<transport_error>(s % 8);
    obs.failed = s % 3 == 0;
    obs.latency = milliseconds(s);
    failures += !classify(cfg, obs).success;
  }
  CHECK(bulwark::testing::allocations() == before);
  CHECK(failures > 0);
  static std::string sink;
  sink = to_string(transport_error::connection_refused); // > small-string size
  CHECK(bulwark::testing::allocations() > before);
}
