#include "bulwark/runtime/classify/classifier_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "bulwark/runtime/config/object_reader.hpp"

using namespace bulwark;

namespace {

const json_path at =
  json_path{} / "dependencies" / "payments" / "classification";

classifier_config parse_text(std::string_view text, error_list& errs) {
  return parse_classifier_config(boost::json::parse(text), at, errs);
}

} // namespace

TEST_CASE("status classes have names", "[runtime][classify][config]") {
  CHECK(to_string(status_class::success) == "success");
  CHECK(to_string(status_class::transient) == "transient");
  CHECK(to_string(status_class::timeout) == "timeout");
  CHECK(to_string(status_class::overloaded) == "overloaded");
  CHECK(to_string(status_class::persistent) == "persistent");
}

TEST_CASE("the default status map covers every status as documented",
          "[runtime][classify][config]") {
  auto m = status_map::defaults();
  for (int s = 100; s <= 599; ++s) {
    CAPTURE(s);
    status_class expected = status_class::persistent;
    if (s >= 200 && s < 400)
      expected = status_class::success;
    else if (s == 408)
      expected = status_class::timeout;
    else if (s == 429 || s == 503)
      expected = status_class::overloaded;
    else if (s >= 500)
      expected = status_class::transient;
    CHECK(m.lookup(s) == expected);
  }
  CHECK(m.lookup(600) == status_class::transient);
  CHECK(m.lookup(0) == status_class::transient);
  CHECK(status_map{}.lookup(200) == status_class::persistent);
}

TEST_CASE("parsing the JSON of the default classification yields the defaults",
          "[runtime][classify][config]") {
  error_list errs;
  auto json = to_json(classifier_config{});
  auto cfg = parse_classifier_config(json, at, errs);
  CHECK(errs.to_string() == "");
  CHECK(cfg.statuses == status_map::defaults());
  CHECK(boost::json::serialize(json)
        == R"({"success_statuses":["2xx","3xx"],"transient_statuses":["5xx"],)"
           R"("timeout_statuses":[408],"overloaded_statuses":[429,503],)"
           R"("persistent_statuses":["1xx","4xx"]})");
  error_list errs2;
  auto empty = parse_text("{}", errs2);
  CHECK(errs2.empty());
  CHECK(empty.statuses == status_map::defaults());
}

TEST_CASE(
  "a given list replaces its class's defaults and statuses beat classes",
  "[runtime][classify][config]") {
  SECTION("a user status beats a default status") {
    error_list errs;
    auto cfg = parse_text(R"({"transient_statuses": ["5xx", 503, 404]})", errs);
    CHECK(errs.to_string() == "");
    CHECK(cfg.statuses.lookup(503) == status_class::transient);
    CHECK(cfg.statuses.lookup(404) == status_class::transient);
    CHECK(cfg.statuses.lookup(429) == status_class::overloaded);
    CHECK(cfg.statuses.lookup(500) == status_class::transient);
  }
  SECTION("a default status beats a user class") {
    error_list errs;
    auto cfg = parse_text(R"({"transient_statuses": ["4xx", "5xx"]})", errs);
    CHECK(errs.to_string() == "");
    CHECK(cfg.statuses.lookup(400) == status_class::transient);
    CHECK(cfg.statuses.lookup(408) == status_class::timeout);
    CHECK(cfg.statuses.lookup(429) == status_class::overloaded);
    CHECK(cfg.statuses.lookup(503) == status_class::overloaded);
  }
  SECTION("a user class beats a default class") {
    error_list errs;
    auto cfg = parse_text(R"({"persistent_statuses": ["5xx"]})", errs);
    CHECK(errs.to_string() == "");
    CHECK(cfg.statuses.lookup(500) == status_class::persistent);
    CHECK(cfg.statuses.lookup(503) == status_class::overloaded);
    // 1xx and 4xx are no longer listed anywhere: persistent by fallback.
    CHECK(cfg.statuses.lookup(404) == status_class::persistent);
    CHECK(cfg.statuses.lookup(101) == status_class::persistent);
  }
  SECTION("a status no list names is persistent") {
    error_list errs;
    auto cfg = parse_text(R"({"success_statuses": [200, 204]})", errs);
    CHECK(errs.to_string() == "");
    CHECK(cfg.statuses.lookup(200) == status_class::success);
    CHECK(cfg.statuses.lookup(201) == status_class::persistent);
    CHECK(cfg.statuses.lookup(302) == status_class::persistent);
  }
  SECTION("an empty overloaded list leaves 429 and 503 to their classes") {
    error_list errs;
    auto cfg = parse_text(R"({"overloaded_statuses": []})", errs);
    CHECK(errs.to_string() == "");
    CHECK(cfg.statuses.lookup(429) == status_class::persistent);
    CHECK(cfg.statuses.lookup(503) == status_class::transient);
  }
}

TEST_CASE("any status map survives a round trip through JSON",
          "[runtime][classify][config]") {
  classifier_config cfg;
  cfg.statuses.set(404, status_class::transient);
  cfg.statuses.set(200, status_class::timeout);
  cfg.statuses.set_hundred(1, status_class::success);
  cfg.statuses.set(150, status_class::overloaded);
  for (int s = 300; s < 360; ++s)
    cfg.statuses.set(s, status_class::transient); // 3xx now mostly transient
  auto json = to_json(cfg);
  CHECK(json.at("transient_statuses").as_array().front() == "3xx");
  error_list errs;
  auto back = parse_classifier_config(json, at, errs);
  CHECK(errs.to_string() == "");
  CHECK(back.statuses == cfg.statuses);
}

TEST_CASE("bad classification documents report every error with its path",
          "[runtime][classify][config]") {
  struct row {
    const char* doc;
    const char* errors;
  };
  const row rows[] = {
    {R"(null)",
     "/dependencies/payments/classification: must be an object (got: null)\n"},
    {R"({"transient_statuses": [500, 600, "6xx", "5XX", 99, 502.5, "503",
                                true]})",
     "/dependencies/payments/classification/transient_statuses/1: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: 600)\n"
     "/dependencies/payments/classification/transient_statuses/2: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: \"6xx\")\n"
     "/dependencies/payments/classification/transient_statuses/3: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: \"5XX\")\n"
     "/dependencies/payments/classification/transient_statuses/4: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: 99)\n"
     "/dependencies/payments/classification/transient_statuses/5: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: 5.025E2)\n"
     "/dependencies/payments/classification/transient_statuses/6: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: \"503\")\n"
     "/dependencies/payments/classification/transient_statuses/7: must be an "
     "HTTP status from 100 to 599 or a status class from \"1xx\" to \"5xx\" "
     "(got: true)\n"},
    {R"({"success_statuses": "2xx"})",
     "/dependencies/payments/classification/success_statuses: must be an array "
     "of HTTP statuses and status classes such as [503, \"5xx\"] (got: "
     "\"2xx\")\n"},
    {R"({"transient_statuses": ["5xx", 503], "overloaded_statuses": [429, 503],
         "persistent_statuses": ["4xx", "5xx"]})",
     "/dependencies/payments/classification/overloaded_statuses/1: 503 is "
     "already listed in transient_statuses\n"
     "/dependencies/payments/classification/persistent_statuses/1: \"5xx\" is "
     "already listed in transient_statuses\n"},
    {R"({"timeouts": [408]})",
     "/dependencies/payments/classification/timeouts: unknown key (allowed: "
     "success_statuses, transient_statuses, timeout_statuses, "
     "overloaded_statuses, persistent_statuses)\n"},
    // A slow call is the breaker's to judge (breaker/slow_call_duration).
    {R"({"slow_call_threshold": "500ms"})",
     "/dependencies/payments/classification/slow_call_threshold: unknown key "
     "(allowed: success_statuses, transient_statuses, timeout_statuses, "
     "overloaded_statuses, persistent_statuses)\n"},
  };
  for (auto& r : rows) {
    CAPTURE(r.doc);
    error_list errs;
    parse_text(r.doc, errs);
    CHECK(errs.to_string() == r.errors);
  }
  // A list with a bad element keeps its class's default list.
  error_list bad;
  CHECK(parse_text(R"({"transient_statuses": [404, 600]})", bad).statuses
        == status_map::defaults());
  CHECK(bad.size() == 1);
  // Duplicates inside one list and whole numbers written as 503.0 are fine.
  error_list errs;
  auto cfg =
    parse_text(R"({"transient_statuses": ["5xx", "5xx", 404, 404.0]})", errs);
  CHECK(errs.to_string() == "");
  CHECK(cfg.statuses.lookup(404) == status_class::transient);
}

TEST_CASE("the classification parser announces every key it accepts",
          "[runtime][classify][config]") {
  std::vector<std::string> keys;
  schema_sink() = &keys;
  error_list errs;
  parse_text("{}", errs);
  schema_sink() = nullptr;
  CHECK(keys
        == std::vector<std::string>{
          "/dependencies/payments/classification/success_statuses",
          "/dependencies/payments/classification/transient_statuses",
          "/dependencies/payments/classification/timeout_statuses",
          "/dependencies/payments/classification/overloaded_statuses",
          "/dependencies/payments/classification/persistent_statuses",
        });
}
