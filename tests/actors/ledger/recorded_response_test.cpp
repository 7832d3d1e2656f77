// The recorded answer both ledgers keep: folding and packing.
#include "bulwark/actors/ledger/recorded_response.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "bulwark/actors/http/http_service.hpp"

using namespace bulwark;
using namespace std::chrono_literals;

TEST_CASE("a recorded answer folds Retry-After rounded up to whole seconds "
          "and the do-not-retry marker into its headers",
          "[actors][ledger]") {
  service_response x;
  x.status = 503;
  x.content_type = "text/plain";
  x.headers = {{"X-A", "1"}};
  x.body = "busy";
  x.retry_after = 1500ms;
  x.do_not_retry = true;
  auto r = record_of(x);
  CHECK(r.status == 503);
  CHECK(r.content_type == "text/plain");
  CHECK(r.body == "busy");
  REQUIRE(r.headers.size() == 3);
  CHECK(r.headers[0] == std::make_pair(std::string{"X-A"}, std::string{"1"}));
  CHECK(r.headers[1].first == retry_after_header);
  CHECK(r.headers[1].second == "2");
  CHECK(r.headers[2].first == service_do_not_retry_header);
  CHECK(retry_after_text(0ms) == "0");
  CHECK(retry_after_text(1ms) == "1");
  CHECK(retry_after_text(-5s) == "0");
  // Without them nothing is added, and the status is kept as it is.
  service_response plain;
  plain.status = 700;
  CHECK(record_of(plain).headers.empty());
  CHECK(record_of(plain).status == 700);
}

TEST_CASE("packing into the ledger and back keeps every byte, separators and "
          "digits included",
          "[actors][ledger]") {
  recorded_response r;
  r.status = 201;
  r.content_type = "a:b/3:c";
  r.headers = {{"12:x", "3:y:"}, {"", ""}, {"k", std::string("\0\n", 2)}};
  r.body = std::string("9:body\0with:colons", 18);
  auto packed = to_ledger(r);
  CHECK(packed.status == 201);
  auto back = from_ledger(packed);
  CHECK(back.status == r.status);
  CHECK(back.content_type == r.content_type);
  CHECK(back.headers == r.headers);
  CHECK(back.body == r.body);
  // Through a journal record and back as well.
  journal_record rec;
  set_answer(rec, back);
  auto again = recorded_of(rec);
  CHECK(again.headers == r.headers);
  CHECK(to_service_response(again).body == r.body);
}

TEST_CASE("a ledger body that does not unpack is a 500, never made-up bytes",
          "[actors][ledger]") {
  ledger_result bad;
  bad.status = 200;
  bad.body = "not packed";
  auto r = from_ledger(bad);
  CHECK(r.status == 500);
  CHECK(r.body.empty());
  bad.body = "999:short";
  CHECK(from_ledger(bad).status == 500);
}
