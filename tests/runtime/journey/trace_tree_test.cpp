#include "bulwark/runtime/journey/trace_tree.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace bulwark;

namespace {

// What A's and B's admin servers answer for one trace (shortened journeys).
const char* from_a = R"({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
  "spans": [{"dependency": "to_b", "operation": "work",
    "span_id": "aaaaaaaaaaaaaaa1",
    "parent_id": "5e5e5e5e5e5e5e5e", "attempts": 1, "failed": false,
    "entries": [
      {"event": "admitted"},
      {"event": "attempt_started", "attempt": 1, "span_id": "a1a1a1a1a1a1a1a1"},
      {"event": "attempt_ended", "attempt": 1, "success": true, "status": 200,
       "latency_us": 2100},
      {"event": "replied", "success": true}]}],
  "unavailable": {}})";

const char* from_b = R"({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
  "spans": [{"dependency": "to_c", "operation": "work",
    "span_id": "bbbbbbbbbbbbbbb1",
    "parent_id": "5b5b5b5b5b5b5b5b", "upstream_span_id": "a1a1a1a1a1a1a1a1",
    "attempts": 2, "failed": false,
    "entries": [
      {"event": "admitted"},
      {"event": "attempt_started", "attempt": 1, "span_id": "b1b1b1b1b1b1b1b1"},
      {"event": "attempt_ended", "attempt": 1, "success": false,
       "class": "transient", "status": 500, "latency_us": 800},
      {"event": "backoff_scheduled"},
      {"event": "attempt_started", "attempt": 2, "span_id": "b2b2b2b2b2b2b2b2"},
      {"event": "attempt_ended", "attempt": 2, "success": true, "latency_us": 700},
      {"event": "replied", "success": true}]}],
  "unavailable": {}})";

} // namespace

TEST_CASE("the spans of two processes join under the attempt that crossed "
          "between them, naming the hop that retried and each status",
          "[journey][trace]") {
  auto text = render_trace_tree(
    {{"b:2", boost::json::parse(from_b)}, {"a:1", boost::json::parse(from_a)}});
  CHECK(text
        == "trace 4bf92f3577b34da6a3ce929d0e0e4736\n"
           "[a:1] to_b \"work\" span aaaaaaaaaaaaaaa1: 1 attempt -> ok\n"
           "  attempt 1 span a1a1a1a1a1a1a1a1: ok (HTTP 200) after 2100 us\n"
           "    [b:2] to_c \"work\" span bbbbbbbbbbbbbbb1: 2 attempts, "
           "retried -> ok\n"
           "      attempt 1 span b1b1b1b1b1b1b1b1: transient (HTTP 500) after "
           "800 us\n"
           "      attempt 2 span b2b2b2b2b2b2b2b2: ok after 700 us\n");
}

TEST_CASE("without the upstream process a call is a root, and malformed "
          "answers are skipped and counted",
          "[journey][trace]") {
  auto text = render_trace_tree(
    {{"b:2", boost::json::parse(from_b)},
     {"x:3", boost::json::parse("[1, 2]")},
     {"y:4", boost::json::parse(R"({"spans": [7, {"a": 1}]})")}});
  CHECK(text.find("\n[b:2] to_c \"work\" span bbbbbbbbbbbbbbb1")
        != std::string::npos);
  CHECK(text.find("(3 malformed answers or spans skipped)")
        != std::string::npos);
  CHECK(render_trace_tree({}) == "no spans for this trace\n");
}

TEST_CASE("strings from another process are bounded and made printable",
          "[journey][trace]") {
  auto doc = boost::json::parse(
    R"({"spans": [{"dependency": "a\u001b[31mb", "span_id": "s1",
        "operation": ")"
    + std::string(500, 'x') + R"("}]})");
  auto text = render_trace_tree({{"p\n:1", doc}});
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("[p?:1] a?[31mb") == 0);
  CHECK(text.find(std::string(129, 'x')) == std::string::npos);
  CHECK(text.find(std::string(128, 'x')) != std::string::npos);
}

TEST_CASE("the tree as JSON nests the next process's call under the "
          "attempt that sent it, with operation, status and flags",
          "[journey][trace]") {
  auto tree = trace_tree_json(
    {{"b:2", boost::json::parse(from_b)}, {"a:1", boost::json::parse(from_a)}});
  INFO(boost::json::serialize(tree));
  auto& roots = tree.at("roots").as_array();
  REQUIRE(roots.size() == 1);
  auto& a = roots[0].as_object();
  CHECK(a.at("process") == "a:1");
  CHECK(a.at("dependency") == "to_b");
  CHECK(a.at("operation") == "work");
  CHECK(a.at("retried") == false);
  auto& a_tries = a.at("tries").as_array();
  REQUIRE(a_tries.size() == 1);
  CHECK(a_tries[0].at("status") == 200);
  auto& below = a_tries[0].at("calls").as_array();
  REQUIRE(below.size() == 1);
  auto& b = below[0].as_object();
  CHECK(b.at("process") == "b:2");
  CHECK(b.at("retried") == true);
  CHECK(b.at("hedged") == false);
  CHECK(b.at("fell_back") == false);
  CHECK(b.at("upstream_span_id") == "a1a1a1a1a1a1a1a1");
  auto& b_tries = b.at("tries").as_array();
  REQUIRE(b_tries.size() == 2);
  CHECK(b_tries[0].at("class") == "transient");
  CHECK(b_tries[0].at("status") == 500);
  CHECK(b_tries[0].at("latency_us") == 800);
  CHECK(b_tries[1].at("success") == true);
  CHECK(tree.at("skipped") == 0);
  CHECK(tree.at("trace_ids")
        == boost::json::array{"4bf92f3577b34da6a3ce929d0e0e4736"});
}

TEST_CASE("sources that disagree on the trace id are named",
          "[journey][trace]") {
  auto other = boost::json::parse(from_a);
  other.as_object()["trace_id"] = "0000000000000000000000000000000f";
  auto text =
    render_trace_tree({{"a:1", other}, {"b:2", boost::json::parse(from_b)}});
  CHECK(text.rfind("trace ids differ: 0000000000000000000000000000000f, "
                   "4bf92f3577b34da6a3ce929d0e0e4736\n",
                   0)
        == 0);
}

TEST_CASE("a cycle in hostile input prints every call once",
          "[journey][trace]") {
  // Each call claims the other's attempt as its upstream.
  auto doc = boost::json::parse(R"({"spans": [
    {"dependency": "x", "span_id": "c1", "upstream_span_id": "t2",
     "entries": [{"event": "attempt_started", "attempt": 1, "span_id": "t1"}]},
    {"dependency": "y", "span_id": "c2", "upstream_span_id": "t1",
     "entries": [{"event": "attempt_started", "attempt": 1, "span_id": "t2"}]}
  ]})");
  auto text = render_trace_tree({{"p:1", doc}});
  CHECK(text.find("x span c1") != std::string::npos);
  CHECK(text.find("y span c2") != std::string::npos);
  CHECK(text.find("x span c1", text.find("x span c1") + 1)
        == std::string::npos);
  auto tree = trace_tree_json({{"p:1", doc}});
  auto& roots = tree.at("roots").as_array();
  REQUIRE(roots.size() == 1);
  CHECK(roots[0].at("tries").as_array()[0].at("calls").as_array().size() == 1);
}
