#include "bulwark/runtime/chaos/proxy_fault_table.hpp"

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

const time_point t0{};

boost::json::value doc(const std::string& text) {
  return boost::json::parse(text);
}

} // namespace

TEST_CASE("faults are added, replaced, listed and removed by name",
          "[runtime][chaos][table]") {
  proxy_fault_table t;
  CHECK(t.put("charge", doc(R"({"method": "POST", "path": "/charge",
                                 "errors": {"transient": 10}})"),
              t0)
          .empty());
  CHECK(t.put("all", doc(R"({"reset": 1})"), t0).empty());
  CHECK(t.faults().size() == 2);
  CHECK(t.faults()[0].name == "all"); // name order
  auto listed = t.to_json();
  CHECK(listed.at("faults").as_object().contains("charge"));
  CHECK(t.put("charge", doc(R"({"path": "/charge"})"), t0).empty());
  CHECK(t.faults().size() == 2);
  CHECK(t.faults()[1].config.method.empty());
  CHECK(t.remove("charge"));
  CHECK_FALSE(t.remove("charge"));
  CHECK(t.faults().size() == 1);
}

TEST_CASE("a bad change is refused with every error and changes nothing",
          "[runtime][chaos][table]") {
  proxy_fault_table t;
  REQUIRE(t.put("keep", doc(R"({"reset": 5})"), t0).empty());
  auto before = boost::json::serialize(t.to_json());
  auto errors = t.replace_all(doc(R"({"faults": {
    "ok": {"reset": 1},
    "bad": {"reset": 200},
    "bad name!": {}}})"),
                              t0);
  CHECK(errors.size() == 2);
  INFO(errors.to_string());
  CHECK(errors.errors()[0].path == "/faults/bad/reset");
  CHECK(errors.errors()[1].to_string()
        == "/faults/bad name!: fault name has a byte 0x20 at 3; allowed: "
           "A-Z a-z 0-9 . _ -");
  CHECK(boost::json::serialize(t.to_json()) == before);
  errors = t.put("keep", doc(R"({"latency": {"kind": "gamma"}})"), t0);
  CHECK_FALSE(errors.empty());
  CHECK(errors.errors()[0].path == "/latency/kind");
  CHECK(boost::json::serialize(t.to_json()) == before);
  CHECK_FALSE(t.put("", doc("{}"), t0).empty());
  CHECK_FALSE(t.replace_all(doc(R"({"faults": []})"), t0).empty());
  CHECK_FALSE(t.replace_all(doc(R"({"fault": {}})"), t0).empty());
  CHECK(boost::json::serialize(t.to_json()) == before);
}

TEST_CASE("a request gets the longest matching prefix, a method-specific "
          "fault before one for any method",
          "[runtime][chaos][table]") {
  proxy_fault_table t;
  REQUIRE(t.replace_all(doc(R"({"faults": {
    "root": {},
    "charge-any": {"path": "/charge"},
    "charge-post": {"method": "POST", "path": "/charge"},
    "charge-deep": {"path": "/charge/refund"}}})"),
                        t0)
            .empty());
  CHECK(t.match("GET", "/x")->name == "root");
  CHECK(t.match("GET", "/charge")->name == "charge-any");
  CHECK(t.match("POST", "/charge?id=1")->name == "charge-post");
  CHECK(t.match("POST", "/charge/refund")->name == "charge-deep");
  proxy_fault_table empty;
  CHECK(empty.match("GET", "/") == nullptr);
}

TEST_CASE("replacing a fault restarts its windows unless it is unchanged, "
          "and the table holds at most 64 faults",
          "[runtime][chaos][table]") {
  proxy_fault_table t;
  REQUIRE(t.put("a", doc(R"({"reset": 1})"), t0).empty());
  REQUIRE(t.replace_all(doc(R"({"faults": {"a": {"reset": 1},
                                           "b": {}}})"),
                        t0 + seconds(5))
            .empty());
  CHECK(t.faults()[0].added == t0);
  CHECK(t.faults()[1].added == t0 + seconds(5));
  REQUIRE(t.put("a", doc(R"({"reset": 2})"), t0 + seconds(9)).empty());
  CHECK(t.faults()[0].added == t0 + seconds(9));
  for (int i = 2; i < 64; ++i)
    REQUIRE(t.put("f" + std::to_string(i), doc("{}"), t0).empty());
  auto errors = t.put("one-more", doc("{}"), t0);
  CHECK(errors.errors().at(0).message
        == "the proxy holds 64 faults already, the most it keeps");
  CHECK(t.faults().size() == 64);
  CHECK(fault_name_problem(std::string(65, 'x')));
  CHECK_FALSE(fault_name_problem("a.b_c-D9"));
}
