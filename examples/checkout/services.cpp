// The four downstream services (inventory, pricing, payments,
// recommendations) as http_service processes with injectable faults (the
// flag, port and HTTP helpers they share with the driver are common.cpp).
// Payments with `--ledger-port P` is one replica of several: a cluster node
// whose keyed routes use the shared ledgers of the payments-ledger process
// (payments_ledger.cpp) instead of journals of its own.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/cluster/cluster_node.hpp"
#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/host/service_host.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "common.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/object_reader.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace json = boost::json;
using namespace bulwark;

namespace checkout {

namespace {

// -- faults -------------------------------------------------------------------

/// Injected faults, read by every route on each request and changed by flags
/// at start or `PUT /faults` at run time.
struct fault_state {
  std::atomic<double> error_rate{0}; // 500 before the side effect
  std::atomic<double> error_after_rate{0}; // 500 after the side effect
  std::atomic<int> latency_ms{0}; // delay of every answer
  std::atomic<std::int64_t> outage_until_ns{0};
  // The next side effect (not a compensation) is followed by SIGKILL of
  // this process: it ran in memory, its ledger record was never written.
  std::atomic<bool> crash_after_effect{false};
};

fault_state g_faults;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

void start_outage(double secs) {
  g_faults.outage_until_ns = now_ns() + static_cast<std::int64_t>(secs * 1e9);
}

json::object faults_json() {
  json::object o;
  o["error_rate"] = g_faults.error_rate.load();
  o["error_after_rate"] = g_faults.error_after_rate.load();
  o["latency_ms"] = g_faults.latency_ms.load();
  auto left = g_faults.outage_until_ns.load() - now_ns();
  o["outage_s_left"] = left > 0 ? static_cast<double>(left) / 1e9 : 0.0;
  o["crash_after_effect"] = g_faults.crash_after_effect.load();
  return o;
}

/// Validated whole: a bad value answers 400 naming it and changes nothing.
service_response put_faults(const json::value& body, const service_request&) {
  error_list errs;
  object_reader r{body,
                  json_path{},
                  errs,
                  {"error_rate", "error_after_rate", "latency_ms", "outage_s",
                   "crash_after_effect"}};
  double error_rate = g_faults.error_rate, after = g_faults.error_after_rate;
  std::int64_t latency = g_faults.latency_ms;
  double outage = -1;
  bool crash = g_faults.crash_after_effect;
  r.read("error_rate", error_rate, 0.0, 1.0);
  r.read("error_after_rate", after, 0.0, 1.0);
  r.read("latency_ms", latency, 0, 60'000);
  r.read("outage_s", outage, 0.0, 3'600.0);
  r.read("crash_after_effect", crash);
  if (!errs.empty())
    return invalid_body_reply(errs);
  g_faults.error_rate = error_rate;
  g_faults.error_after_rate = after;
  g_faults.latency_ms = static_cast<int>(latency);
  if (outage >= 0)
    start_outage(outage);
  g_faults.crash_after_effect = crash;
  return json_reply(faults_json());
}

// -- route actor with faults --------------------------------------------------

/// Runs the side effect of one request and returns its answer.
using handler_fn = std::function<service_response(const service_request&)>;

using wake_atom = caf::atom_constant<caf::atom("wake")>;

struct route_state {
  rng gen{1};
  std::uint64_t next_id = 0;
  std::map<
    std::uint64_t,
    std::pair<caf::typed_response_promise<service_response>, service_response>>
    delayed;
};

/// A route actor: outage and error-before checks (answered `not_executed`, so
/// a ledger forgets the key), the handler (the side effect), the
/// error-after check, then the injected latency through a timer (no thread
/// ever sleeps). Compensations (refund, release) skip the error-after fault:
/// the ledger would record that failure for the key, so every retry of the
/// compensation would get it back and it could never succeed; a saga's
/// compensations must be able to succeed eventually.
caf::behavior fault_route(caf::stateful_actor<route_state>* self, handler_fn fn,
                          std::uint64_t seed, bool compensation) {
  self->state.gen = rng{seed};
  return {
    [=](service_request& req) -> caf::result<service_response> {
      auto& st = self->state;
      if (now_ns() < g_faults.outage_until_ns.load()) {
        auto r = error_reply(503, "outage (injected)");
        r.not_executed = true;
        return r;
      }
      if (st.gen.uniform() < g_faults.error_rate.load()) {
        auto r = error_reply(500, "error before the side effect (injected)");
        r.not_executed = true;
        return r;
      }
      auto res = fn(req);
      if (!compensation && g_faults.crash_after_effect.exchange(false)) {
        // A crash between the side effect and its commit: the one case a
        // durable ledger must get right (the retry executes it once).
        std::fprintf(stderr,
                     "crashing (injected) after the side effect of key %s, "
                     "before its ledger record\n",
                     req.idempotency_key.c_str());
        std::fflush(stderr);
        ::raise(SIGKILL);
      }
      if (!compensation && res.status < 300
          && st.gen.uniform() < g_faults.error_after_rate.load())
        res = error_reply(500, "error after the side effect (injected)");
      auto lat = g_faults.latency_ms.load();
      if (lat <= 0)
        return res;
      auto rp = self->make_response_promise<service_response>();
      auto id = st.next_id++;
      st.delayed.emplace(id, std::make_pair(rp, std::move(res)));
      self->delayed_send(self, std::chrono::milliseconds(lat), wake_atom::value,
                         id);
      return rp;
    },
    [=](wake_atom, std::uint64_t id) {
      auto i = self->state.delayed.find(id);
      if (i == self->state.delayed.end())
        return;
      i->second.first.deliver(std::move(i->second.second));
      self->state.delayed.erase(i);
    },
  };
}

// -- business state -----------------------------------------------------------

std::mutex g_mtx;
/// Executions of each side effect per key: "charge", "refund", "reserve",
/// "release", "confirm" -> key -> count, served by GET /ledger. In a
/// process with its own journals it is the book (rebuilt by replay); in a
/// payments replica it is only what this process ran since it started, and
/// the book is the owner's journal (payments_ledger.cpp).
std::map<std::string, std::map<std::string, int>> g_counts;
std::map<std::string, long> g_stock;
std::map<std::string, std::pair<std::string, long>>
  g_reserved; // order -> sku, qty

/// The context each keyed request arrived with, per kind and key, first
/// try only (GET /context): what the gateway forwarded from its client —
/// criticality, the deadline left on arrival, the trace — so the demo can
/// check it end to end. In memory: a restarted process starts empty.
std::map<std::string, std::map<std::string, json::object>> g_context;

/// Keys recorded per kind at most (a bound: the demo sends a few hundred).
constexpr std::size_t max_context_keys = 10'000;

void record_context(const char* kind, const service_request& req) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                req.deadline - std::chrono::steady_clock::now())
                .count();
  json::object o{{"criticality", to_string(req.crit)},
                 {"deadline_left_ms", left},
                 {"trace_id", to_string(req.trace.trace)},
                 {"attempt", req.attempt}};
  auto& m = g_context[kind];
  if (m.size() < max_context_keys)
    m.emplace(req.idempotency_key, std::move(o));
}

/// What a keyed route reads from its body: only the fields its kind needs,
/// each validated (ids are keys: visible ASCII, bounded; numbers exact
/// integers in range), so bad input is a 400 before anything happens.
struct order_input {
  std::string order_id;
  std::string sku;
  std::int64_t qty = 1;
  std::int64_t amount = 0;
};

/// The longest order id or sku a service accepts (the gateway's keys add a
/// suffix such as "-release" to an order id).
constexpr std::size_t max_id_bytes = 64;

/// Reads `req`'s JSON body for `kind` ("reserve", "release", "confirm",
/// "charge", "refund"); on bad input returns nullopt and sets `error` to a
/// 400 naming every problem with its JSON Pointer, marked not executed so a
/// ledger forgets the key.
std::optional<order_input> read_input(std::string_view kind,
                                      const service_request& req,
                                      service_response& error) {
  auto body = parse_json_body(req, error);
  if (!body) {
    error.not_executed = true;
    return std::nullopt;
  }
  error_list errs;
  order_input in;
  bool reserve = kind == "reserve", charge = kind == "charge";
  std::initializer_list<std::string_view> reserve_keys{"order_id", "sku",
                                                       "qty"};
  std::initializer_list<std::string_view> charge_keys{"order_id", "amount"};
  std::initializer_list<std::string_view> order_keys{"order_id"};
  object_reader r{*body, json_path{}, errs,
                  reserve  ? reserve_keys
                  : charge ? charge_keys
                           : order_keys};
  if (r.valid() && r.require("order_id"))
    r.read_key("order_id", in.order_id, max_id_bytes);
  if (reserve && r.valid() && r.require("sku"))
    r.read_key("sku", in.sku, max_id_bytes);
  if (reserve)
    r.read("qty", in.qty, 1, 1'000);
  if (charge && r.valid() && r.require("amount"))
    r.read("amount", in.amount, 0, 1'000'000'000'000);
  if (!errs.empty()) {
    error = invalid_body_reply(errs);
    error.not_executed = true;
    return std::nullopt;
  }
  return in;
}

/// The sku of a read route (`?sku=...`, or `{"sku": ...}` in the body),
/// validated like an id.
std::optional<std::string> sku_of(const service_request& req,
                                  service_response& error) {
  std::string_view q{req.query};
  std::string_view sku;
  for (std::size_t pos = 0; pos <= q.size();) {
    auto amp = q.find('&', pos);
    auto part = q.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (part.substr(0, 4) == "sku=")
      sku = part.substr(4);
    if (amp == std::string_view::npos)
      break;
    pos = amp + 1;
  }
  if (sku.empty() && !req.body.empty()) {
    // The gateway's transport sends the payload as the body: {"sku": ...}.
    auto body = parse_json_body(req, error);
    if (!body)
      return std::nullopt;
    error_list errs;
    object_reader r{*body, json_path{}, errs, {"sku"}};
    std::string from_body;
    if (r.valid() && r.require("sku"))
      r.read_key("sku", from_body, max_id_bytes);
    if (!errs.empty()) {
      error = invalid_body_reply(errs);
      return std::nullopt;
    }
    return from_body;
  }
  if (sku.empty()) {
    error = error_reply(400, "sku is required (query parameter or body)");
    return std::nullopt;
  }
  if (auto problem = key_problem(sku, max_id_bytes)) {
    error = error_reply(400, "query parameter sku " + *problem);
    return std::nullopt;
  }
  return std::string{sku};
}

long price_of(const std::string& sku) {
  return 100 + static_cast<long>(std::hash<std::string>{}(sku) % 9900);
}

service_response context_json(std::initializer_list<const char*> kinds) {
  std::lock_guard<std::mutex> guard{g_mtx};
  json::object out;
  for (auto* k : kinds) {
    json::object m;
    for (auto& [key, ctx] : g_context[k])
      m[key] = ctx;
    out[k] = std::move(m);
  }
  return json_reply(out);
}

service_response ledger_json(std::initializer_list<const char*> kinds) {
  std::lock_guard<std::mutex> guard{g_mtx};
  json::object out;
  for (auto* k : kinds) {
    json::object m;
    for (auto& [key, n] : g_counts[k])
      m[key] = n;
    out[k] = std::move(m);
  }
  return json_reply(out);
}

/// The business effect of a keyed route, run under g_mtx on validated input.
using effect_fn = std::function<json::object(const order_input&)>;

/// A keyed side effect: validate (400, nothing done), then count it and run
/// `effect` under the lock, answer JSON. Nothing here throws after the
/// count: the input was checked first.
handler_fn keyed(const char* kind, effect_fn effect) {
  return [kind, effect](const service_request& req) {
    service_response error;
    auto in = read_input(kind, req, error);
    if (!in)
      return error;
    std::lock_guard<std::mutex> guard{g_mtx};
    record_context(kind, req);
    auto out = effect(*in);
    ++g_counts[kind][req.idempotency_key];
    out["key"] = req.idempotency_key;
    out["done"] = kind;
    return json_reply(out);
  };
}

/// Rebuilds the business state from one journal record of a keyed route:
/// every record is an execution that committed (answers marked not_executed
/// are never journaled), so it is counted and its effect re-applied, even
/// when the answer was the injected error after the side effect. `replay`
/// re-applies the effect from the request and the recorded answer; it runs
/// in route order at start, before the service accepts connections.
using replay_fn =
  std::function<void(const order_input& request, const json::object& answer)>;

std::function<void(const service_request&, const service_response&)>
replay_keyed(const char* kind, replay_fn replay) {
  return
    [kind, replay](const service_request& req, const service_response& res) {
      service_response error;
      auto in = read_input(kind, req, error);
      if (!in) // journaled after validation: cannot happen with our journals
        return;
      json::error_code ec;
      auto answer = json::parse(res.body, ec);
      std::lock_guard<std::mutex> guard{g_mtx};
      ++g_counts[kind][req.idempotency_key];
      replay(*in,
             !ec && answer.is_object() ? answer.as_object() : json::object{});
    };
}

json::object reserve_effect(const order_input& in) {
  if (g_stock.count(in.sku) == 0)
    g_stock[in.sku] = 1'000'000;
  g_stock[in.sku] -= in.qty;
  g_reserved[in.order_id] = {in.sku, in.qty};
  return json::object{
    {"order_id", in.order_id}, {"sku", in.sku}, {"reserved", in.qty}};
}

/// Gives back what the order reserved, if anything; `only_qty` >= 0 replays
/// a recorded release (it released that much: 0 means the reservation did
/// not exist yet when the release ran, which the per-route journals, read
/// reserve-first, cannot otherwise tell).
json::object release_effect(const order_input& in, long only_qty = -1) {
  auto i = g_reserved.find(in.order_id);
  long qty = 0;
  if (i != g_reserved.end() && only_qty != 0) {
    qty = i->second.second;
    g_stock[i->second.first] += qty;
    g_reserved.erase(i);
  }
  return json::object{{"order_id", in.order_id}, {"released", qty}};
}

long released_of(const json::object& answer) {
  if (auto* v = answer.if_contains("released"); v && v->is_int64())
    return static_cast<long>(v->as_int64());
  return -1;
}

} // namespace

// -- service process ----------------------------------------------------------

int run_service(const std::string& kind, const std::vector<std::string>& args) {
  // Block SIGTERM/SIGINT in every thread (CAF's and Beast's inherit the
  // mask), then wait for them here and stop gracefully.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  auto port_arg = port_flag(kind, args, "port", 0, true);
  if (!port_arg)
    return 2;
  auto port = *port_arg;
  g_faults.error_rate = std::stod(flag(args, "error-rate", "0"));
  g_faults.error_after_rate = std::stod(flag(args, "error-after-rate", "0"));
  g_faults.latency_ms = std::stoi(flag(args, "latency-ms", "0"));
  auto outage = std::stod(flag(args, "outage-s", "0"));
  if (outage > 0)
    start_outage(outage);
  // `--ledger-port P`: payments as one replica of several, its keyed routes
  // on the ledger the payments-ledger process owns (its cluster gate at
  // 127.0.0.1:P) instead of journals of its own.
  auto ledger_port = port_flag(kind, args, "ledger-port", 0);
  if (!ledger_port)
    return 2;
  bool shared = *ledger_port != 0;
  if (shared && kind != "payments") {
    std::fprintf(stderr,
                 "%s: --ledger-port is for payments only (its replicas "
                 "share the payments-ledger process's ledgers)\n",
                 kind.c_str());
    return 2;
  }
  if (shared && has_flag(args, "data-dir")) {
    std::fprintf(stderr, "payments: --data-dir has no use with --ledger-port "
                         "(the journals are the payments-ledger process's)\n");
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  std::optional<cluster_config> cluster;
  if (shared) {
    // A node of its own (named by its port, so a restarted replica is the
    // same node again) with the ledger node as its only peer; short
    // reconnect backoff, so a restarted ledger process is found again
    // within 200 ms.
    auto name = "payments-"
                + std::to_string(port != 0 ? static_cast<long>(port)
                                           : static_cast<long>(::getpid()));
    auto doc = R"({"dependencies": {}, "cluster": {"node": ")" + name
               + R"(", "peers": {")" + payments_ledger_node
               + R"(": {"host": "127.0.0.1", "port": )"
               + std::to_string(*ledger_port)
               + R"(}}, "connect": {"min_backoff": "20ms",)"
               + R"( "max_backoff": "200ms"}}})";
    auto parsed = parse_bulwark_config(doc);
    if (!parsed.ok()) {
      std::fprintf(stderr, "payments: %s", parsed.errors.to_string().c_str());
      return 2;
    }
    cluster = parsed.config->cluster;
    if (auto errors = configure_cluster(cfg, *cluster); !errors.empty()) {
      std::fprintf(stderr, "payments: %s\n", errors.front().c_str());
      return 2;
    }
  } else {
    add_bulwark_types(cfg);
  }
  // Ledger journals: one file per keyed route, so the ledger and the
  // business state survive a crash (default: a directory named by port).
  auto data_dir =
    flag(args, "data-dir",
         "/tmp/bulwark-checkout-" + kind + "-" + std::to_string(port));
  caf::actor_system sys{cfg};
  // A service with no dependency of its own still runs on a host: the
  // host's admin server exports the service's counters (requests, ledger
  // verdicts, journal records) and serves the dashboard.
  auto host = start_admin_host(sys, args, kind);
  if (!host)
    return 1;
  std::unique_ptr<cluster_node> node;
  if (cluster) {
    cluster_node_options node_opts;
    node_opts.config = *cluster;
    auto started = cluster_node::start(sys, std::move(node_opts));
    if (!started.node) {
      std::fprintf(stderr, "payments: cannot start its cluster node: %s\n",
                   started.errors.front().c_str());
      host->stop();
      return 1;
    }
    node = std::move(started.node);
  }
  http_service_options opts;
  opts.port = port;
  opts.max_in_flight = 512;
  opts.grace = std::chrono::milliseconds(1000);
  auto& svc = host->attach(kind, std::make_unique<http_service>(sys, opts));
  route_options ledger_route;
  ledger_route.ledger = ledger_config{};
  ledger_route.ledger->in_progress_timeout = seconds(10);
  auto seed = std::make_shared<std::atomic<std::uint64_t>>(
    static_cast<std::uint64_t>(port) * 7919 + 1);
  bool dir_made = false;
  auto add =
    [&](const char* method, const char* path, handler_fn fn, bool with_ledger,
        std::function<void(const service_request&, const service_response&)>
          on_replay = {}) {
      std::string p = path;
      bool compensation = p == "/refund" || p == "/release";
      // A factory route: should a handler ever throw, the service answers
      // that request 500 and starts a new route actor; nothing else is lost.
      route_actor_factory make = [fn = std::move(fn), seed,
                                  compensation](caf::actor_system& sys) {
        return sys.spawn(fault_route, fn, (*seed)++, compensation);
      };
      auto ropts = with_ledger && !node ? ledger_route : route_options{};
      if (with_ledger && node) {
        // A replica: the owner at the ledger node decides whether a key
        // executes and keeps its record; nothing is journaled or replayed
        // here. Executions may run 5 s, below the owner's 10 s
        // in-progress timeout, so a late commit is never refused for age.
        ropts.shared_ledger = shared_ledger_options{};
        ropts.shared_ledger->route = std::string{method} + " " + p;
        ropts.shared_ledger->execution_timeout = seconds(5);
        ropts.shared_ledger->locate = ledger_locator(
          node->directory(), payments_ledger_node, published_ledger_name(p));
      } else if (with_ledger) {
        if (!dir_made) {
          std::filesystem::create_directories(data_dir);
          dir_made = true;
        }
        ropts.journal_path = data_dir + "/" + p.substr(1) + ".journal";
        ropts.on_replay = std::move(on_replay);
      }
      svc.route(method, path, std::move(make), ropts);
    };
  svc.route("GET", "/health", service_function{[](const service_request&) {
              service_response r;
              r.content_type = "text/plain";
              r.body = "ok";
              return r;
            }});
  svc.json_route("PUT", "/faults", put_faults);
  svc.route("GET", "/faults", service_function{[](const service_request&) {
              return json_reply(faults_json());
            }});
  try {
    if (kind == "inventory") {
      add(
        "GET", "/stock",
        [](const service_request& req) {
          service_response error;
          auto sku = sku_of(req, error);
          if (!sku)
            return error;
          std::lock_guard<std::mutex> guard{g_mtx};
          auto i = g_stock.find(*sku);
          json::object o;
          o["sku"] = *sku;
          o["available"] = i == g_stock.end() ? 1'000'000 : i->second;
          return json_reply(o);
        },
        false);
      using obj = json::object;
      using in_t = order_input;
      add("POST", "/reserve", keyed("reserve", reserve_effect), true,
          replay_keyed("reserve",
                       [](const in_t& in, const obj&) { reserve_effect(in); }));
      add("POST", "/release",
          keyed("release", [](const in_t& in) { return release_effect(in); }),
          true, replay_keyed("release", [](const in_t& in, const obj& answer) {
            release_effect(in, released_of(answer));
          }));
      add("POST", "/confirm",
          keyed("confirm",
                [](const in_t& in) {
                  return obj{{"order_id", in.order_id}};
                }),
          true, replay_keyed("confirm", [](const in_t&, const obj&) {}));
      svc.route("GET", "/ledger", service_function{[](const service_request&) {
                  return ledger_json({"reserve", "release", "confirm"});
                }});
      svc.route("GET", "/context", service_function{[](const service_request&) {
                  return context_json({"reserve", "release", "confirm"});
                }});
    } else if (kind == "pricing") {
      add(
        "GET", "/price",
        [](const service_request& req) {
          service_response error;
          auto sku = sku_of(req, error);
          if (!sku)
            return error;
          json::object o;
          o["sku"] = *sku;
          o["price"] = price_of(*sku);
          return json_reply(o);
        },
        false);
    } else if (kind == "payments") {
      // The payments book is the per-key count of charges and refunds: a
      // replayed record counts once, nothing else to rebuild. A replica
      // replays nothing: its GET /ledger counts what this process executed
      // since it started, including executions whose record was never
      // written (the ledger process died first); the book of record is the
      // owner's journal, served by the payments-ledger process's GET
      // /ledger.
      auto nothing = [](const order_input&, const json::object&) {};
      add("POST", "/charge",
          keyed("charge",
                [](const order_input& in) {
                  return json::object{{"order_id", in.order_id},
                                      {"charged", in.amount}};
                }),
          true, replay_keyed("charge", nothing));
      add("POST", "/refund",
          keyed("refund",
                [](const order_input& in) {
                  return json::object{{"order_id", in.order_id}};
                }),
          true, replay_keyed("refund", nothing));
      svc.route("GET", "/ledger", service_function{[](const service_request&) {
                  return ledger_json({"charge", "refund"});
                }});
      svc.route("GET", "/context", service_function{[](const service_request&) {
                  return context_json({"charge", "refund"});
                }});
    } else { // recommendations
      add(
        "GET", "/recs",
        [](const service_request&) {
          json::object o;
          o["items"] = json::array{"sku-1", "sku-2", "sku-3"};
          o["fallback"] = false;
          return json_reply(o);
        },
        false);
    }
  } catch (const std::exception& e) {
    // A corrupt or locked journal: refuse to start rather than forget keys.
    std::fprintf(stderr, "%s: cannot start: %s\n", kind.c_str(), e.what());
    host->stop();
    return 1;
  }
  auto st = svc.stats();
  // A replica that starts while the ledger node is up serves keyed calls
  // at once; one that starts without it still serves, answering them 503
  // "idempotency ledger unreachable" until the link is up.
  bool ledger_up = !node
                   || node->directory()->wait_up(payments_ledger_node,
                                                 std::chrono::seconds(5));
  svc.start();
  std::fprintf(
    stderr,
    "%s listening on 127.0.0.1:%u (admin http://127.0.0.1:%u/dashboard)",
    kind.c_str(), static_cast<unsigned>(svc.port()),
    static_cast<unsigned>(host->admin()->port()));
  if (dir_made)
    std::fprintf(stderr, " (ledger journals in %s, %llu records replayed)",
                 data_dir.c_str(),
                 static_cast<unsigned long long>(st.ledger_replayed));
  if (node)
    std::fprintf(stderr, " (shared ledgers at %s, 127.0.0.1:%u: %s)",
                 payments_ledger_node, static_cast<unsigned>(*ledger_port),
                 ledger_up ? "up" : "not up yet, keyed calls answered 503");
  std::fprintf(stderr, "\n");
  int sig = 0;
  sigwait(&sigs, &sig);
  host->stop(); // the service first (it ends the route actors it started)
  if (node)
    node->stop();
  return 0;
}

} // namespace checkout
