#include "bulwark/actors/http/call_reply_response.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

call_reply failed(failure_class cls, bool may_retry) {
  call_reply r;
  r.ok = false;
  r.cls = cls;
  r.may_retry = may_retry;
  r.message = "retries spent (3 attempts)";
  return r;
}

} // namespace

TEST_CASE("a successful reply is a 200 with its payload, degraded or not",
          "[actors][http][context]") {
  call_reply r;
  r.ok = true;
  r.payload = "{\"price\": 3}";
  r.source = reply_source::stale_cache;
  auto res = to_service_response(std::move(r));
  CHECK(res.status == 200);
  CHECK(res.body == "{\"price\": 3}");
  CHECK_FALSE(res.do_not_retry);
  CHECK(res.retry_after < duration{0});
}

TEST_CASE("a failed reply gets its status by failure class and the "
          "do-not-retry marker when it may not be retried",
          "[actors][http][context]") {
  CHECK(failure_status(failure_class::timeout) == 504);
  CHECK(failure_status(failure_class::deadline_exceeded) == 504);
  CHECK(failure_status(failure_class::overloaded) == 503);
  CHECK(failure_status(failure_class::rejected_locally) == 503);
  CHECK(failure_status(failure_class::transient) == 502);
  CHECK(failure_status(failure_class::persistent) == 502);
  CHECK(failure_status(failure_class::cancelled) == 502);
  for (auto cls : all_failure_classes) {
    for (bool may_retry : {false, true}) {
      auto res = to_service_response(failed(cls, may_retry));
      CHECK(res.status == failure_status(cls));
      CHECK(res.do_not_retry == !may_retry);
      CHECK(res.content_type == "application/json");
      auto body = boost::json::parse(res.body).as_object();
      CHECK(body.at("error").as_string() == "retries spent (3 attempts)");
      CHECK(body.at("class").as_string() == to_string(cls));
      CHECK(res.retry_after < duration{0}); // none given, none written
    }
  }
  auto busy = failed(failure_class::overloaded, false);
  busy.retry_after_ns = to_wire_duration(seconds(3));
  CHECK(to_service_response(std::move(busy)).retry_after == seconds(3));
}

TEST_CASE("a preliminary reply is answered like a final one and marked with "
          "its reason and age",
          "[actors][http][context]") {
  call_reply r;
  r.ok = true;
  r.payload = "{\"price\": 2}";
  r.source = reply_source::stale_cache;
  r.preliminary = true;
  r.reason = preliminary_reason::retrying;
  r.age_ns = 1'500'000'000;
  auto res = to_preliminary_response(std::move(r));
  CHECK(res.status == 200);
  CHECK(res.body == "{\"price\": 2}");
  REQUIRE(res.headers.size() == 1);
  CHECK(res.headers[0].first == "Bulwark-Preliminary");
  CHECK(res.headers[0].second == "retrying; age=1500");
  CHECK(preliminary_header_value(preliminary_reason::awaiting_answer, -1)
        == "awaiting_answer");
}
