#include "order.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace json = boost::json;
using namespace bulwark;

namespace checkout {

namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::uint64_t span_from_hex(const std::string& text) {
  std::uint64_t x = 0;
  for (auto c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0 || text.size() != 16)
      return 0;
    x = (x << 4) | static_cast<std::uint64_t>(d);
  }
  return x;
}

} // namespace

std::string to_string(step_kind x) {
  switch (x) {
    case step_kind::forward:
      return "forward";
    case step_kind::pivot:
      return "pivot";
    case step_kind::compensation:
      return "compensation";
  }
  return "invalid";
}

std::optional<order> read_order(const service_request& req,
                                service_response& error) {
  auto body = parse_json_body(req, error);
  if (!body)
    return std::nullopt;
  error_list errs;
  order o;
  object_reader r{*body, json_path{}, errs, {"order_id", "sku", "qty"}};
  if (r.valid() && r.require("order_id"))
    r.read_key("order_id", o.order_id, max_id_bytes);
  if (r.valid() && r.require("sku"))
    r.read_key("sku", o.sku, max_id_bytes);
  r.read("qty", o.qty, 1, 1'000);
  if (!errs.empty()) {
    error = invalid_body_reply(errs);
    return std::nullopt;
  }
  // The service already validated the headers (400 otherwise) and capped
  // the deadline by its request_timeout.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                req.deadline - std::chrono::steady_clock::now())
                .count();
  o.context.deadline_unix_ms = unix_ms_now() + std::max<std::int64_t>(left, 0);
  o.context.crit = req.crit;
  if (!req.trace.empty()) {
    o.context.trace = req.trace;
    o.context.trace.parent_id = req.span_id;
    o.context.upstream_span = req.trace.parent_id;
  }
  return o;
}

std::string to_input(const order& o) {
  json::object ctx{{"deadline_unix_ms", o.context.deadline_unix_ms},
                   {"criticality", to_string(o.context.crit)}};
  auto& t = o.context.trace;
  if (!t.empty() && t.parent_id != 0) {
    ctx["traceparent"] = format_traceparent(t, t.parent_id);
    if (!t.tracestate.empty())
      ctx["tracestate"] = t.tracestate;
    if (o.context.upstream_span != 0)
      ctx["upstream_span"] = span_id_to_string(o.context.upstream_span);
  }
  return json::serialize(json::object{{"order_id", o.order_id},
                                      {"sku", o.sku},
                                      {"qty", o.qty},
                                      {"context", std::move(ctx)}});
}

order from_input(const std::string& text) {
  // Written by to_input and checked before it was logged.
  order o;
  auto v = json::parse(text).as_object();
  o.order_id = v.at("order_id").as_string().c_str();
  o.sku = v.at("sku").as_string().c_str();
  o.qty = v.at("qty").as_int64();
  auto* ctx = v.if_contains("context");
  if (ctx == nullptr || !ctx->is_object())
    return o;
  auto& c = ctx->as_object();
  if (auto* d = c.if_contains("deadline_unix_ms"); d && d->is_int64())
    o.context.deadline_unix_ms = d->as_int64();
  if (auto* k = c.if_contains("criticality"); k && k->is_string())
    from_string(k->as_string().c_str(), o.context.crit);
  if (auto* tp = c.if_contains("traceparent"); tp && tp->is_string()) {
    trace_context t;
    if (!parse_traceparent(tp->as_string().c_str(), t)) {
      if (auto* ts = c.if_contains("tracestate"); ts && ts->is_string())
        parse_tracestate(ts->as_string().c_str(), t.tracestate);
      o.context.trace = std::move(t);
    }
  }
  if (auto* up = c.if_contains("upstream_span"); up && up->is_string())
    o.context.upstream_span = span_from_hex(up->as_string().c_str());
  return o;
}

std::optional<call_request> make_call(std::chrono::steady_clock::time_point now,
                                      const order& o, step_kind kind,
                                      std::string operation,
                                      std::string payload, std::string key,
                                      std::string& why) {
  call_request req; // request form: the id is not needed
  std::chrono::milliseconds budget = call_budget;
  if (kind == step_kind::forward && o.context.deadline_unix_ms != 0) {
    auto left =
      std::chrono::milliseconds{o.context.deadline_unix_ms - unix_ms_now()};
    if (left.count() <= 0) {
      why = "the client's deadline passed before step " + operation;
      return std::nullopt;
    }
    budget = std::min(budget, left);
  }
  req.operation = std::move(operation);
  req.payload = std::move(payload);
  req.idempotency_key = std::move(key);
  req.deadline_ns = to_wire_time(now + budget);
  req.crit =
    kind == step_kind::compensation ? criticality::critical : o.context.crit;
  req.trace = o.context.trace;
  req.upstream_span = o.context.upstream_span;
  return req;
}

} // namespace checkout
