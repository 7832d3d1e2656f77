#include "client.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace json = boost::json;

namespace checkout {

std::string order_state::request() const {
  return json::serialize(
    json::object{{"sku", sku}, {"qty", qty}, {"order_id", order}});
}

std::string order_state::headers() const {
  std::string h =
    "Bulwark-Deadline-Ms: " + std::to_string(deadline_ms) + "\r\n";
  if (!criticality.empty())
    h += "Bulwark-Criticality: " + criticality + "\r\n";
  if (!trace_id.empty())
    h += "traceparent: 00-" + trace_id + "-00f067aa0ba902b7-01\r\n";
  return h;
}

order_state make_order(int i) {
  order_state o;
  o.order = "order-" + std::to_string(i);
  o.sku = "sku-" + std::to_string(i % 5);
  o.qty = 1 + i % 3;
  // A third of the clients are in a hurry (less than the gateway's own
  // 5 s per call), half of them say their order is critical.
  o.deadline_ms = i % 3 == 0 ? 3'000 : 20'000;
  o.criticality = i % 2 == 0 ? "critical" : "";
  o.trace_id = fmt::format("4bf92f3577b34da6a3ce929d{:08x}", i + 1);
  return o;
}

/// An answer that names the order's outcome (anything else — no answer, a
/// 503 without an outcome while the gateway restarts — is re-sent).
bool has_outcome(const http_answer& a, json::object& body) {
  if (a.status == 0)
    return false;
  json::error_code ec;
  auto v = json::parse(a.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("outcome"))
    return false;
  body = v.as_object();
  return true;
}

/// Sends the order until an answer names its outcome (at most `ms`).
bool send_until_outcome(std::uint16_t port, const std::string& request,
                        const std::string& headers, json::object& body,
                        int& sends, std::string& error, int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    ++sends;
    auto a = http_call(port, "POST", "/checkout", request, 30'000, headers);
    if (has_outcome(a, body))
      return true;
    error = a.status == 0 ? a.error : std::to_string(a.status) + " " + a.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// The parts of an answer that must not change between sends of one order.
std::string outcome_key(const json::object& body) {
  json::object k;
  for (auto* name : {"outcome", "steps", "compensations", "failure"})
    if (auto* v = body.if_contains(name))
      k[name] = *v;
  return json::serialize(k);
}

bool in_array(const json::object& body, const char* field, const char* x) {
  auto* s = body.if_contains(field);
  if (s == nullptr || !s->is_array())
    return false;
  for (auto& v : s->as_array())
    if (v.is_string() && v.as_string() == x)
      return true;
  return false;
}

/// Inventory's stock of `sku`; -1 when it cannot be read. Read a few times:
/// the route has inventory's injected errors too.
std::int64_t stock_of(std::uint16_t port, const std::string& sku) {
  for (int tries = 0; tries < 20; ++tries) {
    auto a = http_call(port, "GET", "/stock?sku=" + sku, "", 5000);
    json::error_code ec;
    auto v = json::parse(a.body, ec);
    if (a.status != 200 || ec || !v.is_object())
      continue;
    auto* n = v.as_object().if_contains("available");
    return n != nullptr && n->is_int64() ? n->as_int64() : -1;
  }
  return -1;
}

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string{v->as_string().c_str()}
                                        : std::string{};
}

int ledger_count(const json::object& ledger, const char* kind,
                 const std::string& key) {
  auto* m = ledger.if_contains(kind);
  if (m == nullptr || !m->is_object())
    return 0;
  auto* v = m->as_object().if_contains(key);
  return v != nullptr && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
}

json::object get_json(std::uint16_t port, const std::string& target) {
  auto a = http_call(port, "GET", target, "", 5000);
  json::error_code ec;
  auto v = json::parse(a.body, ec);
  return (a.status == 200 && !ec && v.is_object()) ? v.as_object()
                                                   : json::object{};
}

std::string get_text(std::uint16_t port, const std::string& target) {
  auto a = http_call(port, "GET", target, "", 5000);
  return a.status == 200 ? a.body : std::string{};
}

void put_faults(std::uint16_t port, const std::string& body) {
  auto a = http_call(port, "PUT", "/faults", body, 5000);
  if (a.status != 200)
    std::fprintf(stderr, "PUT /faults on %u failed: %d %s\n",
                 static_cast<unsigned>(port), a.status, a.error.c_str());
}

} // namespace checkout
