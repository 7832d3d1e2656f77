// The gateway process: POST /checkout runs a durable saga over the four
// services (bulwark/actors/saga/saga_coordinator.hpp), each called through a
// dependency actor over an HTTP transport:
//
//   recommendations  read; a failure is replaced by a fallback list
//   price            read; no price at all rejects the order (nothing done)
//   reserve          inventory, key <order>-reserve; undone by release
//   charge           payments, key <order>;          undone by refund
//                    (replicas under a supervisor with --payments A,B:
//                    failed over and hedged with the same key, executed
//                    once by their shared ledger)
//   confirm          inventory, key <order>-confirm; the pivot: once it may
//                    have executed the order only goes forward
//
// The saga id is the order id. Every step is logged (append + fdatasync)
// before it runs, so a SIGKILLed gateway resumes its sagas at start, a
// re-sent order id gets its first outcome (joining the saga while it runs),
// and a confirmed order is never compensated. Inputs are bounded and checked
// before anything is logged.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/http/dependency_route.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/saga/saga_coordinator.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/http_transport.hpp"
#include "common.hpp"
#include "order.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace json = boost::json;
using namespace bulwark;

namespace checkout {

namespace {

constexpr auto gateway_config = R"({"dependencies": {
  "inventory": {
    "idempotency": "keyed", "default_timeout": "1s",
    "operations": {"stock": {"idempotency": "idempotent"}},
    "retry": {"max_attempts": 4,
              "backoff": {"kind": "exponential", "jitter": "full", "base": "20ms"}},
    "breaker": {"open_duration": "300ms", "max_open_duration": "1s"}
  },
  "pricing": {
    "idempotency": "idempotent", "default_timeout": "500ms",
    "retry": {"max_attempts": 3,
              "backoff": {"kind": "exponential", "jitter": "full", "base": "10ms"}},
    "breaker": {"open_duration": "1s", "max_open_duration": "2s"},
    "cache": {"enabled": true, "ttl": "1s", "stale_if_error": "1h"},
    "fallback": [{"kind": "stale_cache"}],
    "progressive": {"enabled": true, "soft_deadline": "100ms",
                    "preliminary": ["stale_cache"]}
  },
  "payments": {
    "idempotency": "keyed", "default_timeout": "1s",
    "retry": {"max_attempts": 4,
              "backoff": {"kind": "exponential", "jitter": "full", "base": "20ms"}},
    "breaker": {"open_duration": "300ms", "max_open_duration": "1s"}
  },
  "recommendations": {
    "idempotency": "idempotent", "default_timeout": "200ms",
    "retry": {"max_attempts": 2,
              "backoff": {"kind": "exponential", "jitter": "full", "base": "10ms"}},
    "breaker": {"open_duration": "1s", "max_open_duration": "2s"},
    "fallback": [{"kind": "static",
                  "value": "{\"items\": [\"gift-card\"], \"fallback\": true}"}],
    "progressive": {"enabled": true, "soft_deadline": "50ms",
                    "preliminary": ["static"]}
  }
}})";

/// The checkout saga. Compensations are retried with backoff up to 10 tries
/// (about 15 s: longer than a downstream restart), the pivot up to 20, then
/// the saga is reported (compensation_failed, stuck), never retried forever.
constexpr auto saga_document = R"({
  "steps": [
    {"name": "recommendations"},
    {"name": "price"},
    {"name": "reserve"},
    {"name": "charge"},
    {"name": "confirm", "compensable": false, "max_tries": 20}
  ],
  "step_timeout": "10s",
  "max_compensation_tries": 10,
  "max_running": 1024,
  "max_id_bytes": 64,
  "max_input_bytes": 1024
})";

// -- the product page: progressive answers -------------------------------------

/// The price call of `GET /product/price?sku=...`: `{"sku": ...}`, as the
/// saga's price step sends it (so both share pricing's cache entries). The
/// sku must be 1 to max_id_bytes letters, digits, '-' or '_'; anything else
/// is answered 400 without being echoed.
route_payload product_price_payload(const service_request& req) {
  std::string_view q = req.query, sku;
  int found = 0;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (part.substr(0, 4) == "sku=") {
      sku = part.substr(4);
      ++found;
    }
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
  auto valid = [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_';
  };
  if (found != 1 || sku.empty() || sku.size() > max_id_bytes
      || !std::all_of(sku.begin(), sku.end(), valid))
    return error_reply(400, "query parameter sku is required once: 1 to 64 "
                            "letters, digits, '-' or '_'");
  return json::serialize(json::object{{"sku", sku}});
}

/// GET /product?sku=...: a product page that shows the price and the
/// recommendations as they come (Server-Sent Events from /product/price and
/// /product/recs): a stale price or the fallback list at once when the
/// fresh answer is late, then the final one. Static: the sku is read by the
/// page's script and only ever set as text.
constexpr auto product_page = R"html(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>product</title>
<style>body{font-family:sans-serif;margin:2em}.preliminary{color:#9a6700}
.final{color:#1a7f37}</style></head><body>
<h1>Product <span id="sku"></span></h1>
<p>Price: <span id="price" data-state="loading">loading</span>
<small id="price-note"></small></p>
<p>You may also like: <span id="recs" data-state="loading">loading</span>
<small id="recs-note"></small></p>
<script>
"use strict";
var sku = new URLSearchParams(location.search).get("sku") || "";
document.getElementById("sku").textContent = sku;
function follow(url, id, render) {
  var es = new EventSource(url);
  function show(kind, e) {
    var d = JSON.parse(e.data);
    var el = document.getElementById(id);
    var note = document.getElementById(id + "-note");
    el.setAttribute("data-state", kind);
    el.className = kind;
    if (d.status !== 200) {
      el.textContent = "unavailable";
      note.textContent = "";
      return;
    }
    var body = typeof d.body === "string" ? JSON.parse(d.body) : d.body;
    el.textContent = render(body);
    note.textContent = kind === "preliminary"
      ? " (may be out of date: " + d.reason +
        (d.age_ms !== null ? ", " + Math.round(d.age_ms / 1000) + " s old" : "") +
        "; updating)"
      : "";
  }
  es.addEventListener("preliminary", function (e) { show("preliminary", e); });
  es.addEventListener("final", function (e) { show("final", e); es.close(); });
  es.onerror = function () { es.close(); };
}
follow("/product/price?sku=" + encodeURIComponent(sku), "price",
       function (b) { return String(b.price); });
follow("/product/recs", "recs", function (b) { return (b.items || []).join(", "); });
</script></body></html>
)html";

struct deps {
  caf::actor inventory;
  caf::actor pricing;
  caf::actor payments;
  caf::actor recommendations;
};

/// The call of one try of a step for order `o`, inheriting its context
/// (order.hpp); nullopt when the client's deadline no longer allows a
/// forward step, and then `done` already got `not_executed`.
std::optional<call_request> step_request(saga_coordinator_actor::pointer self,
                                         const order& o, step_kind kind,
                                         const char* op,
                                         const json::object& payload,
                                         std::string key, saga_done& done) {
  std::string why;
  auto req = make_call(self->clock().now(), o, kind, op,
                       json::serialize(payload), std::move(key), why);
  if (!req)
    done(saga_verdict::not_executed, why);
  return req;
}

/// Runs one try of a step as one call to `dep` (see step_request).
void step_call(saga_coordinator_actor::pointer self, const caf::actor& dep,
               const order& o, step_kind kind, const char* op,
               const json::object& payload, std::string key, saga_done done) {
  if (auto req = step_request(self, o, kind, op, payload, std::move(key), done))
    saga_call(self, dep, std::move(*req), std::move(done));
}

/// The price step's data: {"price": N, "source": "..."}.
std::int64_t price_in(const std::string& data) {
  json::error_code ec;
  auto v = json::parse(data, ec);
  if (ec || !v.is_object())
    return 0;
  auto* p = v.as_object().if_contains("price");
  return p != nullptr && p->is_int64() ? p->as_int64() : 0;
}

std::vector<saga_step_functions> steps_of(const deps& d) {
  std::vector<saga_step_functions> s(5);
  // recommendations: sheddable, never fails the checkout.
  s[0].action = [d](auto self, const saga_step_call& c, saga_done done) {
    auto fallback = [] {
      return json::serialize(json::object{{"source", "gateway_fallback"},
                                          {"items", json::array{"gift-card"}}});
    };
    std::string why;
    auto req = make_call(self->clock().now(), from_input(c.input),
                         step_kind::forward, "recs", "{}", "", why);
    if (!req) {
      done(saga_verdict::done, fallback());
      return;
    }
    // Whatever the client asked for, recommendations may be shed first.
    req->crit = criticality::sheddable;
    self
      ->request(d.recommendations, caf::infinite, call_atom::value,
                std::move(*req))
      .then(
        [done, fallback](reply_atom, const call_reply& r) {
          json::error_code ec;
          auto items = json::parse(r.payload, ec);
          if (!r.ok || ec) {
            done(saga_verdict::done, fallback());
            return;
          }
          done(saga_verdict::done,
               json::serialize(json::object{{"source", to_string(r.source)},
                                            {"items", items}}));
        },
        [done, fallback](const caf::error&) {
          done(saga_verdict::done, fallback());
        });
  };
  // price: a read; without one the order is rejected before any effect.
  s[1].action = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    auto req = step_request(self, o, step_kind::forward, "price",
                            {{"sku", o.sku}}, "", done);
    if (!req)
      return;
    self->request(d.pricing, caf::infinite, call_atom::value, std::move(*req))
      .then(
        [done](reply_atom, const call_reply& r) {
          json::error_code ec;
          auto v = json::parse(r.payload, ec);
          auto* p = (!ec && v.is_object()) ? v.as_object().if_contains("price")
                                           : nullptr;
          if (!r.ok || p == nullptr || !p->is_int64()) {
            done(saga_verdict::not_executed,
                 "pricing unavailable and nothing cached: " + r.message);
            return;
          }
          done(saga_verdict::done,
               json::serialize(json::object{{"price", p->as_int64()},
                                            {"source", to_string(r.source)}}));
        },
        [done](const caf::error& err) {
          done(saga_verdict::not_executed,
               "pricing unavailable: " + caf::to_string(err));
        });
  };
  s[2].action = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    step_call(self, d.inventory, o, step_kind::forward, "reserve",
              {{"order_id", o.order_id}, {"sku", o.sku}, {"qty", o.qty}},
              o.order_id + "-reserve", std::move(done));
  };
  s[2].compensation = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    step_call(self, d.inventory, o, step_kind::compensation, "release",
              {{"order_id", o.order_id}}, o.order_id + "-release",
              std::move(done));
  };
  s[3].action = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    auto amount = price_in(c.results.at(1)) * o.qty;
    step_call(self, d.payments, o, step_kind::forward, "charge",
              {{"order_id", o.order_id}, {"amount", amount}}, o.order_id,
              std::move(done));
  };
  s[3].compensation = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    step_call(self, d.payments, o, step_kind::compensation, "refund",
              {{"order_id", o.order_id}}, o.order_id + "-refund",
              std::move(done));
  };
  s[4].action = [d](auto self, const saga_step_call& c, saga_done done) {
    auto o = from_input(c.input);
    step_call(self, d.inventory, o, step_kind::pivot, "confirm",
              {{"order_id", o.order_id}}, o.order_id + "-confirm",
              std::move(done));
  };
  return s;
}

const char* compensation_name(const std::string& step) {
  return step == "reserve" ? "release" : step == "charge" ? "refund" : "";
}

/// The HTTP answer for a saga's outcome; the same outcome always gives the
/// same bytes, so a re-sent order id reads what its first request read.
service_response answer_of(const std::string& order_id,
                           const saga_outcome& oc) {
  json::object out;
  out["order_id"] = order_id;
  json::array steps, comps;
  for (auto& s : oc.steps) {
    steps.emplace_back(json::string{s.step});
    json::error_code ec;
    auto data = json::parse(s.data, ec);
    if (ec || !data.is_object())
      continue;
    auto& d = data.as_object();
    if (s.step == "recommendations") {
      out["recommendations_source"] = d["source"];
      out["recommendations"] = d["items"];
    } else if (s.step == "price") {
      out["price_source"] = d["source"];
    }
  }
  if (!oc.failed_step.empty())
    steps.emplace_back(json::string{oc.failed_step});
  for (auto& c : oc.compensations)
    if (*compensation_name(c.step) != '\0')
      comps.emplace_back(compensation_name(c.step));
  out["steps"] = std::move(steps);
  out["compensations"] = std::move(comps);
  if (!oc.failure.empty())
    out["failure"] = oc.failure;
  std::int32_t status = 200;
  switch (oc.status) {
    case saga_status::completed:
      out["outcome"] = "completed";
      break;
    case saga_status::compensated: {
      bool before_effects =
        oc.failed_step == "recommendations" || oc.failed_step == "price";
      out["outcome"] = before_effects ? "rejected" : "compensated";
      status = before_effects ? 503 : 502;
      break;
    }
    case saga_status::compensation_failed:
      out["outcome"] = "compensation_failed";
      out["compensation_stuck"] = compensation_name(oc.failed_compensation);
      status = 500;
      break;
    case saga_status::stuck:
      out["outcome"] = "stuck";
      status = 500;
      break;
    case saga_status::running:
      out["outcome"] = "running";
      status = 202;
      break;
  }
  return json_reply(out, status);
}

service_response answer_of(const saga_reply& r, const std::string& order_id) {
  switch (r.refused) {
    case saga_refusal::none:
      return answer_of(order_id, r.outcome);
    case saga_refusal::busy:
    case saga_refusal::stopped: {
      // Safe to re-send: the order is either not started or in the log and
      // will be finished by this gateway or the next one.
      auto res = error_reply(503, r.error);
      res.retry_after = std::chrono::seconds(1);
      return res;
    }
    case saga_refusal::invalid_id:
    case saga_refusal::input_too_large:
      return error_reply(400, r.error);
    case saga_refusal::unknown_id:
      return error_reply(404, r.error);
  }
  return error_reply(500, "unexpected saga reply");
}

/// POST /checkout: validate, then start (or join, or read) the order's saga.
caf::behavior checkout_route(caf::event_based_actor* self,
                             saga_coordinator_actor sagas) {
  return {
    [self, sagas](service_request& req) -> caf::result<service_response> {
      service_response error;
      auto o = read_order(req, error);
      if (!o)
        return error;
      auto rp = self->make_response_promise<service_response>();
      auto id = o->order_id;
      self->request(sagas, caf::infinite, saga_atom::value, id, to_input(*o))
        .then([rp, id](
                const saga_reply& r) mutable { rp.deliver(answer_of(r, id)); },
              [rp](const caf::error& err) mutable {
                auto res = error_reply(503, "saga coordinator unavailable: "
                                              + caf::to_string(err));
                res.retry_after = std::chrono::seconds(1);
                rp.deliver(res);
              });
      return rp;
    },
  };
}

} // namespace

int run_gateway(const std::vector<std::string>& args) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // `--NAME PORT[,PORT...]`: every part a port 1..65535; a bad list is
  // refused naming the flag (nullopt, said on stderr).
  auto ports_of =
    [&](const char* name) -> std::optional<std::vector<std::uint16_t>> {
    std::vector<std::uint16_t> out;
    auto v = flag(args, name, "");
    size_t pos = 0;
    while (pos <= v.size()) {
      auto comma = v.find(',', pos);
      auto part =
        v.substr(pos, comma == std::string::npos ? comma : comma - pos);
      auto port =
        port_flag("gateway", {"--" + std::string{name}, part}, name, 0);
      if (!port)
        return std::nullopt;
      out.push_back(*port);
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    return out;
  };
  std::map<std::string, std::vector<std::uint16_t>> ports;
  for (auto* name : {"inventory", "pricing", "payments", "recommendations"}) {
    auto p = ports_of(name);
    if (!p)
      return 2;
    // Pricing and payments may run as replicas (a supervisor over them).
    bool replicas =
      std::string{name} == "pricing" || std::string{name} == "payments";
    if (p->size() > (replicas ? 8u : 1u)) {
      std::fprintf(stderr, "gateway: --%s takes %s (got %zu ports)\n", name,
                   replicas ? "1 to 8 ports" : "one port", p->size());
      return 2;
    }
    ports[name] = std::move(*p);
  }
  auto doc = json::parse(gateway_config).as_object();
  // `--policies off`: the same dependencies without retries or breakers, to
  // measure what the policies buy (docs/benchmarking-your-service.md).
  auto policies = flag(args, "policies", "on");
  if (policies != "on" && policies != "off") {
    std::fprintf(stderr, "gateway: --policies must be on or off\n");
    return 2;
  }
  if (policies == "off")
    for (auto& [name, dep] : doc["dependencies"].as_object()) {
      dep.as_object()["retry"] = json::object{{"enabled", false}};
      dep.as_object()["breaker"] = json::object{{"mode", "disabled"}};
    }
  // Two or more replicas of a service: one dependency per replica (each
  // with the service's policies, named NAME-1, NAME-2, ...) under a
  // supervisor named NAME that routes, fails over and restarts; the saga
  // cannot tell it from a dependency.
  json::object supervisors;
  auto replicate = [&](const std::string& name, json::object sup) {
    auto& dependencies = doc["dependencies"].as_object();
    auto policy = dependencies[name];
    dependencies.erase(name);
    json::array members;
    for (size_t i = 0; i < ports[name].size(); ++i) {
      auto member = name + "-" + std::to_string(i + 1);
      dependencies[member] = policy;
      members.emplace_back(json::string{member});
    }
    sup["members"] = std::move(members);
    supervisors[name] = std::move(sup);
  };
  if (ports["pricing"].size() > 1)
    replicate("pricing", json::object{{"routing", "least_outstanding"},
                                      {"max_failovers", 1},
                                      {"default_timeout", "2s"}});
  // Payments replicas share one ledger (the payments-ledger process), so a
  // charge key executes once whichever replica it reaches: a failed or
  // slow charge goes to the other replica with the same key (the order
  // id), and one still out after 100 ms is hedged there; a duplicate
  // waits at the owner for the first and gets its recorded answer. No
  // outlier ejection: a key's recorded failure (an error after the side
  // effect) is answered by every replica alike, and with the ledger
  // process down both answer 503, so consecutive failures say nothing
  // about one replica, and ejecting it for 30 s would leave one.
  if (ports["payments"].size() > 1)
    replicate(
      "payments",
      json::object{{"routing", "least_outstanding"},
                   {"max_failovers", 1},
                   {"default_timeout", "2s"},
                   {"hedge", json::object{{"enabled", true},
                                          {"delay_kind", "fixed"},
                                          {"delay", "100ms"}}},
                   {"outlier_detection", json::object{{"enabled", false}}}});
  if (!supervisors.empty())
    doc["supervisors"] = std::move(supervisors);
  auto text = json::serialize(doc);
  auto parsed = parse_bulwark_config(text);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s", parsed.errors.to_string().c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  add_bulwark_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  // One host owns every dependency actor and the pricing supervisor, keeps
  // them running across crashes and reloads, and serves the admin server.
  auto transport_for = [](std::uint16_t port) -> transport_factory {
    return [port](caf::actor_system& s) {
      http_transport_options t;
      t.port = port;
      t.path_template = "/{operation}";
      t.content_type = "application/json";
      t.methods = {{"stock", "GET"}, {"price", "GET"}, {"recs", "GET"}};
      t.connect_timeout = milliseconds(200);
      return http_transport::spawn(s, t).handle();
    };
  };
  auto ho = host_options(args);
  for (auto& [name, list] : ports) {
    if (list.size() == 1) {
      ho.transports[name] = transport_for(list.front());
      continue;
    }
    for (size_t i = 0; i < list.size(); ++i)
      ho.transports[name + "-" + std::to_string(i + 1)] =
        transport_for(list[i]);
  }
  auto port_text = flag(args, "port", "0");
  ho.seed = static_cast<std::uint64_t>(std::stoi(port_text));
  std::unique_ptr<service_host> host;
  try {
    auto started = service_host::start(sys, *parsed.config, std::move(ho));
    if (!started.ok()) {
      for (auto& e : started.errors)
        std::fprintf(stderr, "%s\n", e.c_str());
      return 1;
    }
    host = std::move(started.host);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gateway: cannot start the admin server: %s\n",
                 e.what());
    return 1;
  }
  // Live aliases: a step always reaches the incarnation running now.
  deps d;
  d.inventory = host->alias("inventory");
  d.pricing = host->alias("pricing");
  d.payments = host->alias("payments");
  d.recommendations = host->alias("recommendations");
  // The saga log: every order's steps, so a restarted gateway finishes what
  // the last one started and answers re-sent order ids.
  auto data_dir =
    flag(args, "data-dir", "/tmp/bulwark-checkout-gateway-" + port_text);
  saga_coordinator_actor sagas;
  try {
    std::filesystem::create_directories(data_dir);
    auto saga_cfg = parse_saga_config(saga_document);
    if (!saga_cfg.ok())
      throw std::invalid_argument(saga_cfg.errors.to_string());
    saga_coordinator_options so;
    so.config = *saga_cfg.config;
    so.steps = steps_of(d);
    so.log_path = data_dir + "/sagas.log";
    so.seed = static_cast<std::uint64_t>(std::stoi(port_text)) + 1;
    sagas = spawn_saga_coordinator(sys, std::move(so));
  } catch (const std::exception& e) {
    // A corrupt or locked saga log: refuse to start rather than forget orders.
    std::fprintf(stderr, "gateway: cannot start: %s\n", e.what());
    return 1;
  }
  http_service_options opts;
  opts.port = static_cast<std::uint16_t>(std::stoi(port_text));
  opts.max_in_flight = 1024;
  opts.request_timeout = std::chrono::milliseconds(60'000);
  // Stopping: answers still waiting after `grace` get 503 (the order's saga
  // is in the log; the next gateway finishes it and a re-sent id reads its
  // outcome), then at most the server's shutdown_grace to write them.
  opts.grace = std::chrono::milliseconds(2'000);
  opts.server.shutdown_grace = std::chrono::milliseconds(1'000);
  opts.server.max_body_bytes = 16 * 1024; // an order is a few hundred bytes
  auto& svc =
    host->attach("gateway", std::make_unique<http_service>(sys, opts));
  svc.route("POST", "/checkout",
            route_actor_factory{[sagas](caf::actor_system& s) {
              return s.spawn(checkout_route, sagas);
            }});
  // The product page's parts, answered progressively: a stale price or the
  // fallback list at once when the fresh answer is late, then the final one
  // (SSE or NDJSON streams; other clients get the preliminary answer with a
  // link to the final, docs/http_service.md "Progressive answers").
  route_options progressive_route;
  progressive_route.progressive = progressive_mode::stream;
  dependency_route_options price_route;
  price_route.operation = "price";
  price_route.payload = product_price_payload;
  price_route.content_type = "application/json";
  price_route.progressive = true;
  svc.route("GET", "/product/price", dependency_route(d.pricing, price_route),
            progressive_route);
  dependency_route_options recs_route;
  recs_route.operation = "recs";
  recs_route.payload = [](const service_request&) -> route_payload {
    return std::string{"{}"};
  };
  recs_route.content_type = "application/json";
  recs_route.progressive = true;
  svc.route("GET", "/product/recs",
            dependency_route(d.recommendations, recs_route), progressive_route);
  svc.route("GET", "/product", service_function{[](const service_request&) {
              service_response r;
              r.content_type = "text/html; charset=utf-8";
              r.body = product_page;
              return r;
            }});
  svc.route("GET", "/health", service_function{[](const service_request&) {
              service_response r;
              r.content_type = "text/plain";
              r.body = "ok";
              return r;
            }});
  // Every dependency actor's counters (breaker state, retries, fallbacks):
  // what a person watches while breaking things. Blocking a scoped actor is
  // fine for a diagnostic route (it runs in its own actor, never on an io
  // thread).
  svc.route("GET", "/stats",
            service_function{
              [&sys, reg = host->registry(), sagas](const service_request&) {
                json::object out;
                caf::scoped_actor self{sys};
                for (auto& [name, dep] : reg->dependencies())
                  self->request(dep, std::chrono::seconds(2), stats_atom::value)
                    .receive(
                      [&, n = name](stats_atom, const dependency_stats& st) {
                        out[n] = to_json(st);
                      },
                      [&, n = name](const caf::error& err) {
                        out[n] = caf::to_string(err).c_str();
                      });
                for (auto& [name, sup] : reg->supervisors())
                  self->request(sup, std::chrono::seconds(2), stats_atom::value)
                    .receive(
                      [&, n = name](stats_atom, const supervisor_stats& st) {
                        out[n] = to_json(st);
                      },
                      [&, n = name](const caf::error& err) {
                        out[n] = caf::to_string(err).c_str();
                      });
                self->request(sagas, std::chrono::seconds(2), stats_atom::value)
                  .receive(
                    [&](const saga_stats& st) {
                      out["sagas"] = json::object{
                        {"running", st.running},
                        {"started", st.started},
                        {"resumed", st.resumed},
                        {"completed", st.completed},
                        {"compensated", st.compensated},
                        {"compensation_failed", st.compensation_failed},
                        {"stuck", st.stuck},
                        {"joined", st.joined},
                        {"answered_from_log", st.answered_from_log}};
                    },
                    [&](const caf::error& err) {
                      out["sagas"] = caf::to_string(err).c_str();
                    });
                return json_reply(out);
              }});
  svc.start();
  std::fprintf(stderr,
               "gateway listening on 127.0.0.1:%u (saga log in %s; admin "
               "http://127.0.0.1:%u/dashboard)\n",
               static_cast<unsigned>(svc.port()), data_dir.c_str(),
               static_cast<unsigned>(host->admin()->port()));
  int sig = 0;
  sigwait(&sigs, &sig);
  // Within grace + shutdown_grace (3 s) of SIGTERM: stop taking orders,
  // answer what finishes, then end the coordinator, then the admin server
  // and every actor. Sagas still running stay in the log and resume when
  // the gateway starts again.
  host->stop_services();
  caf::anon_send_exit(sagas, caf::exit_reason::user_shutdown);
  host->stop();
  return 0;
}

} // namespace checkout
