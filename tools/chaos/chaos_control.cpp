#include "tools/chaos/chaos_control.hpp"

#include <stdexcept>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "bulwark/runtime/chaos/proxy_fault_table.hpp"
#include "bulwark/runtime/config/object_reader.hpp"
#include "bulwark/runtime/core/utf8.hpp"

namespace bulwark {

namespace {

constexpr std::string_view faults_prefix = "/faults/";

http_response json_ok(http_status status, const boost::json::value& v) {
  return json_response(status, boost::json::serialize(v) + "\n");
}

http_response rejected(const error_list& errors) {
  boost::json::array lines;
  for (auto& line : errors.lines())
    lines.emplace_back(line);
  auto n = errors.size();
  boost::json::object body{{"error", "faults rejected (" + std::to_string(n)
                                       + (n == 1 ? " error" : " errors")
                                       + "); nothing changed"},
                           {"errors", std::move(lines)}};
  return json_ok(http_status::bad_request, body);
}

} // namespace

http_handler chaos_control_handler(chaos_proxy& proxy) {
  return [&proxy](http_request req, http_responder respond) {
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto method = req.method();
    using verb = boost::beast::http::verb;
    if (target == "/health" && method == verb::get) {
      respond.respond(http_status::ok, "text/plain", "ok\n");
      return;
    }
    if (target == "/stats") {
      if (method == verb::get) {
        respond(json_ok(http_status::ok, proxy.stats_json()));
      } else if (method == verb::delete_) {
        proxy.clear_stats();
        respond(
          json_ok(http_status::ok, boost::json::object{{"status", "cleared"}}));
      } else {
        respond(json_error(http_status::method_not_allowed,
                           "/stats takes GET or DELETE"));
      }
      return;
    }
    if (target == "/faults") {
      if (method == verb::get) {
        respond(json_ok(http_status::ok, proxy.faults_json()));
      } else if (method == verb::put) {
        error_list errors;
        auto doc = parse_json_text(req.body(), errors);
        if (errors.empty())
          errors = proxy.replace_faults(doc);
        if (!errors.empty()) {
          respond(rejected(errors));
          return;
        }
        auto out = proxy.faults_json();
        out["status"] = "applied";
        respond(json_ok(http_status::ok, out));
      } else {
        respond(json_error(http_status::method_not_allowed,
                           "/faults takes GET or PUT"));
      }
      return;
    }
    if (target.substr(0, faults_prefix.size()) == faults_prefix) {
      auto name = target.substr(faults_prefix.size());
      if (auto problem = fault_name_problem(name)) {
        respond(json_error(http_status::bad_request, "fault name " + *problem));
        return;
      }
      if (method == verb::put) {
        error_list errors;
        auto doc = parse_json_text(req.body(), errors);
        if (errors.empty())
          errors = proxy.put_fault(name, doc);
        if (!errors.empty()) {
          respond(rejected(errors));
          return;
        }
        auto out = proxy.faults_json();
        out["status"] = "applied";
        respond(json_ok(http_status::ok, out));
      } else if (method == verb::delete_) {
        if (!proxy.remove_fault(name)) {
          // `name` passed fault_name_problem: safe to echo.
          respond(json_error(http_status::not_found,
                             "no fault named " + std::string{name}));
          return;
        }
        auto out = proxy.faults_json();
        out["status"] = "removed";
        respond(json_ok(http_status::ok, out));
      } else {
        respond(json_error(http_status::method_not_allowed,
                           "/faults/<name> takes PUT or DELETE"));
      }
      return;
    }
    respond(json_error(http_status::not_found,
                       "unknown path " + printable_utf8(target, 100)
                         + " (try /faults, /faults/<name>, /stats, "
                           "/health)"));
  };
}

std::unique_ptr<http_server> start_chaos_control(chaos_proxy& proxy,
                                                 const std::string& host,
                                                 std::uint16_t port) {
  if (!is_loopback_host(host))
    throw std::invalid_argument("the control API binds loopback only (it "
                                "changes faults without authentication); "
                                "got '"
                                + printable_utf8(host, 64) + "'");
  http_server_options opts;
  opts.max_body_bytes = 64 * 1024;
  opts.max_connections = 64;
  opts.server_name = "bulwark-chaos";
  auto server =
    std::make_unique<http_server>(chaos_control_handler(proxy), opts);
  server->start(host, port);
  return server;
}

} // namespace bulwark
