#include "bulwark/runtime/probe/probe_config.hpp"

#include <string>

#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

using namespace bulwark;

namespace {

std::string errors_of(const boost::json::value& v) {
  error_list errors;
  parse_probe_config(v, json_path{} / "dependencies" / "db" / "probe", errors);
  return errors.to_string();
}

} // namespace

TEST_CASE("probe config: defaults are off and round trip, and a configured "
          "probe round trips",
          "[runtime][probe][config]") {
  probe_config defaults;
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.interval == seconds(10));
  CHECK(defaults.timeout == seconds(1));
  CHECK(defaults.unhealthy_threshold == 3);
  CHECK(defaults.healthy_threshold == 2);
  CHECK(defaults.failure_on.contains(failure_class::timeout));
  CHECK_FALSE(defaults.failure_on.contains(failure_class::rejected_locally));
  error_list errors;
  CHECK(parse_probe_config(to_json(defaults), json_path{}, errors) == defaults);
  CHECK(errors.empty());
  probe_config x;
  x.enabled = true;
  x.http_path = "/healthz?deep=1";
  x.interval = milliseconds(500);
  x.timeout = milliseconds(200);
  x.unhealthy_threshold = 5;
  x.healthy_threshold = 1;
  x.failure_on = {failure_class::timeout, failure_class::overloaded};
  CHECK(parse_probe_config(to_json(x), json_path{}, errors) == x);
  x.http_path.clear();
  x.operation = "ping";
  CHECK(parse_probe_config(to_json(x), json_path{}, errors) == x);
  INFO(errors.to_string());
  CHECK(errors.empty());
}

TEST_CASE("probe config: bad values are reported with their JSON path",
          "[runtime][probe][config]") {
  auto text = errors_of(boost::json::object{{"interval", "10ms"},
                                            {"unhealthy_threshold", 0},
                                            {"healthy_threshold", 101},
                                            {"failure_on", {"cancelled"}},
                                            {"operation", "a b"},
                                            {"other", 1}});
  INFO(text);
  CHECK(text.find("/dependencies/db/probe/interval: must be between")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/probe/unhealthy_threshold: must be between "
                  "1 and 100")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/probe/healthy_threshold:")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/probe/failure_on: \"cancelled\"")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/probe/operation: must be an operation name")
        != std::string::npos);
  CHECK(text.find("/dependencies/db/probe/other: unknown key")
        != std::string::npos);
}

TEST_CASE("probe config: an enabled probe needs exactly one of operation and "
          "http_path, and its timeout fits in its interval",
          "[runtime][probe][config]") {
  auto none = errors_of(boost::json::object{{"enabled", true}});
  CHECK(none.find("/dependencies/db/probe/enabled: a probe needs what to send")
        != std::string::npos);
  auto both = errors_of(boost::json::object{
    {"enabled", true}, {"operation", "ping"}, {"http_path", "/health"}});
  CHECK(both.find("/dependencies/db/probe/http_path: set either")
        != std::string::npos);
  auto slow = errors_of(boost::json::object{
    {"operation", "ping"}, {"interval", "1s"}, {"timeout", "2s"}});
  CHECK(slow.find("/dependencies/db/probe/timeout: must not be longer than "
                  "interval (1s)")
        != std::string::npos);
  CHECK(errors_of(boost::json::object{{"enabled", true}, {"operation", "ping"}})
          .empty());
}

TEST_CASE("probe config: an HTTP path must be absolute, bounded, and carry no "
          "CR, LF, space, dot-dot segment, scheme or host",
          "[runtime][probe][config]") {
  CHECK(http_path_problem("/healthz").empty());
  CHECK(http_path_problem("/a/b.c/..d?x=1").empty());
  CHECK(http_path_problem("/").empty());
  CHECK_FALSE(http_path_problem("").empty());
  CHECK_FALSE(http_path_problem("healthz").empty());
  CHECK_FALSE(http_path_problem("http://evil/x").empty());
  CHECK_FALSE(http_path_problem("//evil/x").empty());
  CHECK_FALSE(http_path_problem("/a\r\nHost: evil").empty());
  CHECK_FALSE(http_path_problem("/a\nb").empty());
  CHECK_FALSE(http_path_problem("/a b").empty());
  CHECK_FALSE(http_path_problem("/a/../admin").empty());
  CHECK_FALSE(http_path_problem("/..").empty());
  CHECK_FALSE(http_path_problem("/a/%2E%2e/admin").empty());
  CHECK_FALSE(http_path_problem("/a\\b").empty());
  CHECK_FALSE(http_path_problem("/a#frag").empty());
  CHECK_FALSE(http_path_problem(std::string{"/a\0b", 4}).empty());
  CHECK_FALSE(http_path_problem("/\xc3\xa9").empty());
  CHECK(http_path_problem("/" + std::string(255, 'a')).empty());
  CHECK_FALSE(http_path_problem("/" + std::string(256, 'a')).empty());
  // The error names the position, never the value (it may hold CR/LF).
  auto text =
    errors_of(boost::json::object{{"http_path", "/x\r\nInjected: 1"}});
  INFO(text);
  CHECK(text.find("/dependencies/db/probe/http_path: must not contain CR or LF "
                  "(at byte 2)")
        != std::string::npos);
  CHECK(text.find("Injected") == std::string::npos);
  CHECK(
    errors_of(boost::json::object{{"http_path", 7}}).find("must be a string")
    != std::string::npos);
}
