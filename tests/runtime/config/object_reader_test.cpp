#include "bulwark/runtime/config/object_reader.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

struct sample_config {
  bool enabled = false;
  std::int64_t count = 3;
  double ratio = 0.5;
  duration delay = milliseconds(100);
  failure_class_set classes{failure_class::transient};
  failure_class cls = failure_class::timeout;
};

sample_config parse_sample(std::string_view text, error_list& errs) {
  sample_config cfg;
  auto doc = boost::json::parse(text);
  object_reader r{doc,
                  json_path{} / "sample",
                  errs,
                  {"enabled", "count", "ratio", "delay", "classes", "cls"}};
  r.read("enabled", cfg.enabled);
  r.read("count", cfg.count, 1, 10);
  r.read("ratio", cfg.ratio, 0.0, 1.0);
  r.read("delay", cfg.delay, duration{0}, seconds(10));
  r.read("classes", cfg.classes);
  r.read_enum("cls", cfg.cls,
              {failure_class::timeout, failure_class::transient});
  return cfg;
}

} // namespace

TEST_CASE("a reader fills fields that are present and keeps defaults otherwise",
          "[runtime][config]") {
  error_list errs;
  auto cfg = parse_sample(R"({"enabled": true, "count": 7, "delay": "2s",
                             "classes": ["timeout", "overloaded"]})",
                          errs);
  CHECK(errs.empty());
  CHECK(cfg.enabled);
  CHECK(cfg.count == 7);
  CHECK(cfg.ratio == 0.5);
  CHECK(cfg.delay == seconds(2));
  CHECK(cfg.classes.contains(failure_class::timeout));
  CHECK(cfg.classes.contains(failure_class::overloaded));
  CHECK_FALSE(cfg.classes.contains(failure_class::transient));
}

TEST_CASE(
  "a reader reports every error with its path and value and keeps defaults",
  "[runtime][config]") {
  error_list errs;
  auto cfg = parse_sample(R"({"enabled": "yes", "count": 0, "ratio": "x",
                             "delay": "-5ms", "classes": ["nope"], "cls": "x",
                             "extra": 1})",
                          errs);
  CHECK(
    errs.to_string()
    == "/sample/extra: unknown key (allowed: enabled, count, ratio, delay, "
       "classes, cls)\n"
       "/sample/enabled: must be true or false (got: \"yes\")\n"
       "/sample/count: must be between 1 and 10 (got: 0)\n"
       "/sample/ratio: must be a number (got: \"x\")\n"
       "/sample/delay: must not be negative (got: \"-5ms\")\n"
       "/sample/classes/0: must be one of \"transient\", \"timeout\", "
       "\"overloaded\", \"persistent\", \"rejected_locally\", "
       "\"deadline_exceeded\", \"cancelled\" (got: \"nope\")\n"
       "/sample/cls: must be one of \"timeout\", \"transient\" (got: \"x\")\n");
  CHECK(cfg.enabled == false);
  CHECK(cfg.count == 3);
  CHECK(cfg.delay == milliseconds(100));
  CHECK(cfg.classes == failure_class_set{failure_class::transient});
}

TEST_CASE("integers must be whole and durations must carry a unit",
          "[runtime][config]") {
  error_list errs;
  parse_sample(R"({"count": 2.5, "delay": 100})", errs);
  CHECK(errs.to_string()
        == "/sample/count: must be an integer between 1 and 10 (got: 2.5E0)\n"
           "/sample/delay: must be a duration string with a unit such as "
           "\"250ms\" (got: 100)\n");
}

TEST_CASE("a value that is not an object is one error", "[runtime][config]") {
  error_list errs;
  auto doc = boost::json::parse("[1,2]");
  object_reader r{doc, json_path{} / "x", errs, {"a"}};
  CHECK_FALSE(r.valid());
  CHECK(errs.to_string() == "/x: must be an object (got: [1,2])\n");
}

TEST_CASE("json pointers escape tilde and slash", "[runtime][config]") {
  auto p = json_path{} / "a/b" / "c~d" / 3;
  CHECK(p.str() == "/a~1b/c~0d/3");
  CHECK(json_path{}.display() == "(root)");
}

TEST_CASE("invalid JSON text is a document error with line and column",
          "[runtime][config]") {
  error_list errs;
  auto v = parse_json_text("{\n  \"a\": tru\n}", errs);
  CHECK(v.is_null());
  REQUIRE(errs.size() == 1);
  CHECK_THAT(errs.to_string(),
             Catch::StartsWith("(document): invalid JSON at line 2, column"));
}

TEST_CASE("non-UTF-8 bytes and deep nesting are rejected by the parser",
          "[runtime][config]") {
  error_list errs;
  parse_json_text("{\"a\": \"\xff\xfe\"}", errs);
  CHECK(errs.size() == 1);
  error_list deep;
  parse_json_text(std::string(10000, '[') + std::string(10000, ']'), deep);
  CHECK(deep.size() == 1);
}

TEST_CASE(
  "the error list stores a bounded number of errors and counts the rest",
  "[runtime][config]") {
  error_list errs;
  for (int i = 0; i < 1000; ++i)
    errs.add(json_path{} / "k", "bad");
  CHECK(errs.size() == 1000);
  CHECK(errs.errors().size() == error_list::max_stored);
  CHECK_THAT(errs.to_string(), Catch::EndsWith("... and 800 more errors\n"));
}

TEST_CASE("read_key takes visible ASCII ids and refuses a NUL, a CR LF, "
          "non-ASCII and over-long values naming the field",
          "[runtime][config][key]") {
  auto read = [](std::string_view text, std::string& out) {
    error_list errs;
    auto doc = boost::json::parse(text);
    object_reader r{doc, json_path{}, errs, {"order_id"}};
    r.read_key("order_id", out, 8);
    return errs.to_string();
  };
  std::string id = "kept";
  CHECK(read(R"({"order_id": "o-1"})", id).empty());
  CHECK(id == "o-1");
  id = "kept";
  CHECK(read(R"({"order_id": "nul-1\u0000A"})", id)
        == "/order_id: contains a NUL (0x00) at byte 5; allowed: visible ASCII "
           "0x21-0x7E\n");
  CHECK(read(R"({"order_id": "a\r\nPUT"})", id).find("a CR (0x0D) at byte 1")
        != std::string::npos);
  CHECK(read(R"({"order_id": "123456789"})", id)
        == "/order_id: longer than 8 bytes (got 9 bytes)\n");
  CHECK(read(R"({"order_id": ""})", id) == "/order_id: must not be empty\n");
  CHECK(read(R"({"order_id": 7})", id)
        == "/order_id: must be a string (got: 7)\n");
  CHECK(id == "kept");
}

TEST_CASE("a value that is not valid UTF-8 is described as valid UTF-8",
          "[runtime][config][utf8]") {
  error_list errs;
  boost::json::value doc =
    boost::json::object{{"order_id", boost::json::string{"bad\xff\xfe"}}};
  object_reader r{doc, json_path{}, errs, {"order_id"}};
  std::int64_t n = 0;
  r.read("order_id", n, 0, 10);
  // And a hostile key: its pointer is made safe too.
  boost::json::value doc2 = boost::json::object{{"k\r\n\xff", 1}};
  object_reader r2{doc2, json_path{}, errs, {"order_id"}};
  auto text = errs.to_string();
  CHECK(text.find("/k\\x0D\\x0A\\xFF: unknown key") != std::string::npos);
  CHECK(text.find("\\xFF\\xFE") != std::string::npos);
  CHECK(text.find('\xff') == std::string::npos);
}
