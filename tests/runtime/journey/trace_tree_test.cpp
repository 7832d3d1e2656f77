#include "tools/trace/trace_tree.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace bulwark::tools;

namespace {

// What A's and B's admin servers answer for one trace (shortened journeys).
const char* from_a = R"({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
  "spans": [{"dependency": "to_b", "span_id": "aaaaaaaaaaaaaaa1",
    "parent_id": "5e5e5e5e5e5e5e5e", "attempts": 1, "failed": false,
    "entries": [
      {"event": "admitted"},
      {"event": "attempt_started", "attempt": 1, "span_id": "a1a1a1a1a1a1a1a1"},
      {"event": "attempt_ended", "attempt": 1, "success": true, "latency_us": 2100},
      {"event": "replied", "success": true}]}],
  "unavailable": {}})";

const char* from_b = R"({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
  "spans": [{"dependency": "to_c", "span_id": "bbbbbbbbbbbbbbb1",
    "parent_id": "5b5b5b5b5b5b5b5b", "upstream_span_id": "a1a1a1a1a1a1a1a1",
    "attempts": 2, "failed": false,
    "entries": [
      {"event": "admitted"},
      {"event": "attempt_started", "attempt": 1, "span_id": "b1b1b1b1b1b1b1b1"},
      {"event": "attempt_ended", "attempt": 1, "success": false,
       "class": "transient", "latency_us": 800},
      {"event": "backoff_scheduled"},
      {"event": "attempt_started", "attempt": 2, "span_id": "b2b2b2b2b2b2b2b2"},
      {"event": "attempt_ended", "attempt": 2, "success": true, "latency_us": 700},
      {"event": "replied", "success": true}]}],
  "unavailable": {}})";

} // namespace

TEST_CASE("the spans of two processes join under the attempt that crossed "
          "between them, naming the hop that retried",
          "[tools][trace]") {
  auto text = render_trace_tree(
    {{"b:2", boost::json::parse(from_b)}, {"a:1", boost::json::parse(from_a)}});
  CHECK(text
        == "[a:1] to_b span aaaaaaaaaaaaaaa1: 1 attempt -> ok\n"
           "  attempt 1 span a1a1a1a1a1a1a1a1: ok after 2100 us\n"
           "    [b:2] to_c span bbbbbbbbbbbbbbb1: 2 attempts, retried -> ok\n"
           "      attempt 1 span b1b1b1b1b1b1b1b1: transient after 800 us\n"
           "      attempt 2 span b2b2b2b2b2b2b2b2: ok after 700 us\n");
}

TEST_CASE("without the upstream process a call is a root, and malformed "
          "answers are skipped and counted",
          "[tools][trace]") {
  auto text = render_trace_tree(
    {{"b:2", boost::json::parse(from_b)},
     {"x:3", boost::json::parse("[1, 2]")},
     {"y:4", boost::json::parse(R"({"spans": [7, {"a": 1}]})")}});
  CHECK(text.rfind("[b:2] to_c span bbbbbbbbbbbbbbb1", 0) == 0);
  CHECK(text.find("(3 malformed answers or spans skipped)")
        != std::string::npos);
  CHECK(render_trace_tree({}) == "no spans for this trace\n");
}
