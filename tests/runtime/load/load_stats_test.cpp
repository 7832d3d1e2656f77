#include "bulwark/runtime/load/load_stats.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("requests are classed by status and the summary gives "
          "percentiles in milliseconds",
          "[runtime][load][stats]") {
  CHECK(end_of_status(200) == request_end::ok);
  CHECK(end_of_status(302) == request_end::ok);
  CHECK(end_of_status(429) == request_end::client_error);
  CHECK(end_of_status(503) == request_end::server_error);
  CHECK(end_of_status(700) == request_end::server_error);
  load_stats s;
  for (int i = 1; i <= 100; ++i)
    s.record(request_end::ok, milliseconds(i));
  s.record_status(503, milliseconds(1000));
  s.record(request_end::unfinished, milliseconds(2000));
  s.sent = 102;
  CHECK(s.finished() == 102);
  CHECK(s.error_ratio() == Approx(2.0 / 102));
  auto j = to_json(s, seconds(2));
  CHECK(j.at("requests").as_uint64() == 102);
  CHECK(j.at("ok").as_uint64() == 100);
  CHECK(j.at("unfinished").as_uint64() == 1);
  CHECK(j.at("server_error").as_uint64() == 1);
  CHECK(j.at("statuses").at("503").as_uint64() == 1);
  CHECK(j.at("rate_per_s").as_double() == Approx(51.0));
  CHECK(j.at("p50_ms").as_double() == Approx(51.0).epsilon(0.001));
  CHECK(j.at("max_ms").as_double() == Approx(2000.0));
}

TEST_CASE("A/B ratios are side B over side A, null where A is zero",
          "[runtime][load][stats]") {
  load_stats a;
  load_stats b;
  for (int i = 0; i < 100; ++i) {
    a.record(request_end::ok, milliseconds(10));
    b.record(request_end::ok, milliseconds(20));
  }
  b.record(request_end::server_error, milliseconds(20));
  auto r = ab_ratios(a, seconds(1), b, seconds(2));
  CHECK(r.at("p50_ratio").as_double() == Approx(2.0).epsilon(0.001));
  CHECK(r.at("rate_ratio").as_double() == Approx(101.0 / 2 / 100));
  CHECK(r.at("error_ratio_ratio").is_null());
  a.merge(b);
  CHECK(a.finished() == 201);
}
