// The gateway process: POST /checkout runs a saga over the four services,
// each called through a dependency actor over an HTTP transport.
//
//   recommendations (static fallback: never fails checkout)
//   -> price (cache; a stale price is fine when pricing fails)
//   -> reserve inventory (keyed: order-reserve)
//   -> charge payment (keyed: the order id)
//   -> confirm (keyed: order-confirm)
//
// A failure at reserve runs release; a failure at or after the charge runs
// refund and release. Compensations are keyed too (order-refund,
// order-release) and are retried until they succeed (bounded), so each runs
// exactly once downstream whatever the failures in between.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "actors/dependency/dependency_actor.hpp"
#include "actors/http/http_service.hpp"
#include "actors/supervise/supervisor_actor.hpp"
#include "actors/system_setup.hpp"
#include "actors/transport/http_transport.hpp"
#include "common.hpp"
#include "runtime/config/bulwark_config.hpp"

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
    "fallback": [{"kind": "stale_cache"}]
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
                  "value": "{\"items\": [\"gift-card\"], \"fallback\": true}"}]
  }
}})";

struct deps {
  caf::actor inventory;
  caf::actor pricing;
  caf::actor payments;
  caf::actor recommendations;
};

using retry_atom = caf::atom_constant<caf::atom("retrycomp")>;

/// Compensation retries: every `comp_delay`, at most `comp_tries` times
/// (about 30 s, longer than a downstream restart).
constexpr int comp_tries = 150;
constexpr auto comp_delay = std::chrono::milliseconds(200);

struct saga_state {
  caf::typed_response_promise<service_response> rp;
  deps d;
  std::string order, sku;
  long qty = 1;
  long price = 0;
  json::object out;
  json::array steps;
  json::array comps;
  std::vector<std::string> todo; // compensations still to run
  int tries = 0;
  std::string failure;
  std::uint64_t next_id = 1;
};

using saga_actor = caf::stateful_actor<saga_state>;

std::string dump(const json::object& o) {
  return json::serialize(o);
}

void call(saga_actor* self, const caf::actor& dep, const char* op,
          const json::object& payload, std::string key,
          std::function<void(const call_reply&)> then) {
  call_request req;
  req.id = self->state.next_id++;
  req.operation = op;
  req.payload = dump(payload);
  req.idempotency_key = std::move(key);
  req.deadline_ns = to_wire_time(std::chrono::steady_clock::now() + seconds(5));
  self->request(dep, caf::infinite, call_atom::value, std::move(req))
    .then([then](reply_atom, const call_reply& r) { then(r); },
          [then](const caf::error& err) {
            call_reply r;
            r.ok = false;
            r.message = "dependency actor error: " + caf::to_string(err);
            then(r);
          });
}

void finish(saga_actor* self, const std::string& outcome, int status) {
  auto& st = self->state;
  st.out["order_id"] = st.order;
  st.out["outcome"] = outcome;
  st.out["steps"] = st.steps;
  st.out["compensations"] = st.comps;
  if (!st.failure.empty())
    st.out["failure"] = st.failure;
  st.rp.deliver(json_reply(st.out, status));
  self->quit();
}

void run_compensations(saga_actor* self) {
  auto& st = self->state;
  if (st.todo.empty()) {
    finish(self, "compensated", 502);
    return;
  }
  if (st.tries >= comp_tries) {
    st.out["compensation_stuck"] = st.todo.front();
    finish(self, "compensation_failed", 500);
    return;
  }
  auto what = st.todo.front();
  ++st.tries;
  auto& dep = what == "refund" ? st.d.payments : st.d.inventory;
  json::object payload{{"order_id", st.order}};
  call(self, dep, what.c_str(), payload, st.order + "-" + what,
       [self, what](const call_reply& r) {
         auto& st = self->state;
         if (r.ok) {
           st.comps.emplace_back(json::string{what});
           st.todo.erase(st.todo.begin());
           st.tries = 0;
           run_compensations(self);
         } else {
           self->delayed_send(self, comp_delay, retry_atom::value);
         }
       });
}

void fail(saga_actor* self, const std::string& why,
          std::vector<std::string> compensations) {
  self->state.failure = why;
  self->state.todo = std::move(compensations);
  run_compensations(self);
}

void confirm(saga_actor* self) {
  auto& st = self->state;
  st.steps.emplace_back("confirm");
  call(self, st.d.inventory, "confirm", {{"order_id", st.order}},
       st.order + "-confirm", [self](const call_reply& r) {
         if (!r.ok)
           return fail(self, "confirm: " + r.message, {"refund", "release"});
         finish(self, "completed", 200);
       });
}

void charge(saga_actor* self) {
  auto& st = self->state;
  st.steps.emplace_back("charge");
  call(self, st.d.payments, "charge",
       {{"order_id", st.order}, {"amount", st.price * st.qty}}, st.order,
       [self](const call_reply& r) {
         if (!r.ok)
           return fail(self, "charge: " + r.message, {"refund", "release"});
         confirm(self);
       });
}

void reserve(saga_actor* self) {
  auto& st = self->state;
  st.steps.emplace_back("reserve");
  call(self, st.d.inventory, "reserve",
       {{"order_id", st.order}, {"sku", st.sku}, {"qty", st.qty}},
       st.order + "-reserve", [self](const call_reply& r) {
         if (!r.ok)
           return fail(self, "reserve: " + r.message, {"release"});
         charge(self);
       });
}

void price(saga_actor* self) {
  auto& st = self->state;
  st.steps.emplace_back("price");
  call(self, st.d.pricing, "price", {{"sku", st.sku}}, "",
       [self](const call_reply& r) {
         auto& st = self->state;
         if (!r.ok) {
           st.failure = "pricing unavailable and nothing cached: " + r.message;
           return finish(self, "rejected", 503);
         }
         st.out["price_source"] = to_string(r.source);
         json::error_code ec;
         auto v = json::parse(r.payload, ec);
         if (!ec && v.is_object())
           if (auto* p = v.as_object().if_contains("price"))
             if (p->is_number())
               st.price = p->to_number<long>();
         reserve(self);
       });
}

caf::behavior saga(saga_actor* self, deps d) {
  self->state.d = d;
  return {
    [=](service_request& req) -> caf::result<service_response> {
      auto& st = self->state;
      json::error_code ec;
      auto v = json::parse(req.body, ec);
      if (ec || !v.is_object()) {
        self->quit();
        return error_reply(400, "expected {\"sku\":..,\"qty\":..,\"order_id\":..}");
      }
      auto& o = v.as_object();
      auto* order = o.if_contains("order_id");
      auto* sku = o.if_contains("sku");
      if (order == nullptr || !order->is_string() || sku == nullptr
          || !sku->is_string()) {
        self->quit();
        return error_reply(400, "order_id and sku must be strings");
      }
      st.order = order->as_string().c_str();
      st.sku = sku->as_string().c_str();
      if (auto* q = o.if_contains("qty"); q != nullptr && q->is_number())
        st.qty = q->to_number<long>();
      st.rp = self->make_response_promise<service_response>();
      st.steps.emplace_back("recommendations");
      call(self, st.d.recommendations, "recs", {}, "",
           [self](const call_reply& r) {
             auto& st = self->state;
             // Sheddable: a failure here never fails the checkout.
             st.out["recommendations_source"] =
               r.ok ? to_string(r.source) : std::string{"gateway_fallback"};
             json::error_code ec;
             auto v = json::parse(r.payload, ec);
             st.out["recommendations"] =
               (r.ok && !ec) ? v : json::value(json::array{"gift-card"});
             price(self);
           });
      return st.rp;
    },
    [=](retry_atom) { run_compensations(self); },
  };
}

/// Spawns one saga per request and hands it the request (its answer goes
/// straight back to the service's bridge).
caf::behavior checkout_route(caf::event_based_actor* self, deps d) {
  return {
    [=](service_request& req) {
      auto s = self->spawn(saga, d);
      return self->delegate(s, std::move(req));
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
  auto ports_of = [&](const char* name) {
    std::vector<std::uint16_t> out;
    auto v = flag(args, name, "0");
    size_t pos = 0;
    while (pos <= v.size()) {
      auto comma = v.find(',', pos);
      auto part = v.substr(pos, comma == std::string::npos ? comma : comma - pos);
      out.push_back(static_cast<std::uint16_t>(std::stoi(part)));
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    return out;
  };
  // `--payments A,B`: one payments process is used (see README).
  auto port_of = [&](const char* name) { return ports_of(name).front(); };
  auto pricing_ports = ports_of("pricing");
  // Two or more pricing replicas: one dependency per replica (each with
  // the pricing policies) under a supervisor named "pricing" that routes,
  // fails over and restarts; the saga cannot tell it from a dependency.
  auto doc = json::parse(gateway_config).as_object();
  if (pricing_ports.size() > 1) {
    auto& dependencies = doc["dependencies"].as_object();
    auto policy = dependencies["pricing"];
    dependencies.erase("pricing");
    json::array members;
    for (size_t i = 0; i < pricing_ports.size(); ++i) {
      auto name = "pricing-" + std::to_string(i + 1);
      dependencies[name] = policy;
      members.emplace_back(json::string{name});
    }
    doc["supervisors"] = json::object{
      {"pricing", json::object{{"members", members},
                               {"routing", "least_outstanding"},
                               {"max_failovers", 1},
                               {"default_timeout", "2s"}}}};
  }
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
  std::vector<caf::actor> owned;
  auto make_transport = [&](std::uint16_t port) {
    http_transport_options t;
    t.port = port;
    t.path_template = "/{operation}";
    t.content_type = "application/json";
    t.methods = {{"stock", "GET"}, {"price", "GET"}, {"recs", "GET"}};
    t.connect_timeout = milliseconds(200);
    auto transport = http_transport::spawn(sys, t);
    owned.push_back(transport.handle());
    return transport.handle();
  };
  auto make_dep = [&](const char* name, std::uint16_t port) {
    dependency_options opts;
    opts.config = *parsed.config->find(name);
    opts.transport = make_transport(port);
    opts.seed = port;
    auto dep = caf::actor_cast<caf::actor>(spawn_dependency(sys, std::move(opts)));
    owned.push_back(dep);
    return dep;
  };
  deps d;
  d.inventory = make_dep("inventory", port_of("inventory"));
  if (pricing_ports.size() > 1) {
    auto tree = spawn_supervisor_tree(
      sys, text, "pricing", [&](const std::string& name) {
        auto i = std::stoul(name.substr(name.find('-') + 1)) - 1;
        return make_transport(pricing_ports.at(i));
      });
    if (!tree.errors.empty()) {
      for (auto& e : tree.errors)
        std::fprintf(stderr, "%s\n", e.c_str());
      return 1;
    }
    d.pricing = caf::actor_cast<caf::actor>(tree.root);
    owned.push_back(d.pricing);
  } else {
    d.pricing = make_dep("pricing", pricing_ports.front());
  }
  d.payments = make_dep("payments", port_of("payments"));
  d.recommendations = make_dep("recommendations", port_of("recommendations"));
  http_service_options opts;
  opts.port = static_cast<std::uint16_t>(std::stoi(flag(args, "port", "0")));
  opts.max_in_flight = 1024;
  opts.request_timeout = std::chrono::milliseconds(60'000);
  opts.grace = std::chrono::milliseconds(2'000);
  http_service svc{sys, opts};
  auto route = sys.spawn(checkout_route, d);
  svc.route("POST", "/checkout", route);
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
  svc.route("GET", "/stats", service_function{[&sys, d](const service_request&) {
              json::object out;
              caf::scoped_actor self{sys};
              auto ask = [&](const char* name, const caf::actor& dep) {
                self->request(dep, std::chrono::seconds(2), stats_atom::value)
                  .receive(
                    [&](stats_atom, const std::string& text) {
                      json::error_code ec;
                      auto v = json::parse(text, ec);
                      out[name] = ec ? json::value(text.c_str()) : v;
                    },
                    [&](const caf::error& err) {
                      out[name] = caf::to_string(err).c_str();
                    });
              };
              ask("inventory", d.inventory);
              ask("pricing", d.pricing);
              ask("payments", d.payments);
              ask("recommendations", d.recommendations);
              return json_reply(out);
            }});
  svc.start();
  std::fprintf(stderr, "gateway listening on 127.0.0.1:%u\n",
               static_cast<unsigned>(svc.port()));
  int sig = 0;
  sigwait(&sigs, &sig);
  svc.stop();
  caf::anon_send_exit(route, caf::exit_reason::user_shutdown);
  for (auto& a : owned)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace checkout
