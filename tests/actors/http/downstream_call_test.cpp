// purity: real time — the three-hop chain runs over real loopback sockets
// (http_service, the HTTP transport, the admin server), whose deadlines are
// steady-clock times; the test compares them with the clock, and it runs the
// real bulwark-trace program against the admin servers. Waits are the test
// client's bounded socket operations and a bounded wait on the child's
// pidfd; nothing sleeps.
#include "bulwark/actors/http/downstream_call.hpp"

#include "bulwark/actors/admin/admin_server.hpp"
#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/http/call_reply_response.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/actors/transport/http_transport.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "tests/support/child_process.hpp"
#include "tests/actors/http/http_test_client.hpp"

#include <boost/json/parse.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace bulwark;
using bulwark::testing::http_test_client;

namespace {

service_request sample_inbound() {
  service_request in;
  in.method = "POST";
  in.path = "/orders";
  in.deadline = time_point{} + seconds(7);
  in.idempotency_key = "order-1";
  in.attempt = 3;
  in.crit = criticality::critical;
  in.trace.trace = trace_id{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
  in.trace.parent_id = 0x1111;
  in.trace.flags = 1;
  in.trace.tracestate = "rojo=1";
  in.span_id = 0x2222;
  return in;
}

} // namespace

TEST_CASE("a downstream call inherits the inbound deadline, criticality, "
          "attempts and trace, and the key only when asked",
          "[actors][http][context]") {
  auto in = sample_inbound();
  auto call = downstream_call(in, "charge", "{}");
  CHECK(call.operation == "charge");
  CHECK(call.payload == "{}");
  CHECK(call.deadline_ns == to_wire_time(in.deadline)); // absolute
  CHECK(call.crit == criticality::critical);
  CHECK(call.upstream_attempts == 2); // attempt 3: two were made before
  CHECK(call.trace.trace == in.trace.trace);
  CHECK(call.trace.parent_id == 0x2222); // the server span is the parent
  CHECK(call.trace.flags == 1);
  CHECK(call.trace.tracestate == "rojo=1");
  CHECK(call.upstream_span == 0x1111);
  CHECK(call.idempotency_key.empty());
  CHECK(
    downstream_call(in, "charge", "{}", downstream_key::inbound).idempotency_key
    == "order-1");
  CHECK(to_string(downstream_key::inbound) == "inbound");
  // A first attempt leaves the whole attempt cap to the dependency.
  in.attempt = 1;
  CHECK(downstream_call(in, "x", "").upstream_attempts == 0);
  // No trace in: none out.
  in.trace = trace_context{};
  auto untraced = downstream_call(in, "x", "");
  CHECK(untraced.trace.empty());
  CHECK(untraced.trace.parent_id == 0);
  CHECK(untraced.upstream_span == 0);
}

// -- three hops over real HTTP ----------------------------------------------------

namespace {

/// What one hop saw of one request.
struct hop_seen {
  trace_id trace;
  std::uint64_t parent = 0; // the sender's span (traceparent parent-id)
  std::uint64_t span = 0; // this hop's server span
  time_point deadline;
  time_point arrived; // when the hop's handler ran
  std::uint32_t attempt = 0;
  criticality crit = criticality::standard;
};

struct recorder {
  std::mutex mtx;
  std::map<char, std::vector<hop_seen>> seen; // by hop: 'A', 'B', 'C'
  rng gen;
  std::uint64_t c_calls = 0;
  std::uint64_t c_failures = 0;

  explicit recorder(std::uint64_t seed) : gen(seed) {}

  void record(char hop, const service_request& req) {
    std::lock_guard<std::mutex> guard{mtx};
    seen[hop].push_back(
      hop_seen{req.trace.trace, req.trace.parent_id, req.span_id, req.deadline,
               std::chrono::steady_clock::now(), req.attempt, req.crit});
  }

  /// C fails one call in five, from the seed.
  bool c_fails() {
    std::lock_guard<std::mutex> guard{mtx};
    ++c_calls;
    bool fail = gen.below(5) == 0;
    c_failures += fail ? 1 : 0;
    return fail;
  }

  std::vector<hop_seen> of(char hop, trace_id t) {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<hop_seen> out;
    for (auto& x : seen[hop])
      if (x.trace == t)
        out.push_back(x);
    return out;
  }
};

using recorder_ptr = std::shared_ptr<recorder>;

/// A and B: record the request, call the next hop through the dependency
/// actor with the inbound context, answer with the reply's mapping.
caf::behavior hop_actor(caf::event_based_actor* self, dependency_actor dep,
                        recorder_ptr rec, char hop) {
  return {[=](service_request& req) -> caf::response_promise {
    rec->record(hop, req);
    auto rp = self->make_response_promise();
    self
      ->request(dep, caf::infinite, call_atom::value,
                downstream_call(req, "work", req.body))
      .then(
        [rp](reply_atom, call_reply& r) mutable {
          rp.deliver(to_service_response(std::move(r)));
        },
        [rp](caf::error& err) mutable {
          rp.deliver(error_reply(500, "dependency failed: " + to_string(err)));
        });
    return rp;
  }};
}

constexpr auto hop_config = R"({"dependencies": {
  "to_b": {"idempotency": "idempotent", "default_timeout": "10s",
           "retry": {"max_attempts": 3, "per_attempt_timeout": "10s",
                     "backoff": {"kind": "constant", "base": "1ms"}},
           "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"}},
  "to_c": {"idempotency": "idempotent", "default_timeout": "10s",
           "retry": {"max_attempts": 3, "per_attempt_timeout": "10s",
                     "backoff": {"kind": "constant", "base": "1ms"}},
           "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"}}
}})";

caf::actor_system_config& hop_system_config(caf::actor_system_config& cfg) {
  add_bulwark_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

std::optional<http_response> http_get(std::uint16_t port,
                                      const std::string& target) {
  http_test_client client{port};
  if (!client.connect())
    return std::nullopt;
  http_request req{boost::beast::http::verb::get, target, 11};
  req.set(boost::beast::http::field::host, "127.0.0.1");
  return client.roundtrip(std::move(req));
}

const boost::json::object* span_of(const boost::json::array& spans,
                                   std::string_view dependency) {
  for (auto& s : spans)
    if (s.is_object() && s.as_object().contains("dependency")
        && s.as_object().at("dependency").as_string() == dependency)
      return &s.as_object();
  return nullptr;
}

bool has_event(const boost::json::object& span, std::string_view event) {
  for (auto& e : span.at("entries").as_array())
    if (e.as_object().at("event").as_string() == event)
      return true;
  return false;
}

std::set<std::string> attempt_spans(const boost::json::object& span) {
  std::set<std::string> out;
  for (auto& e : span.at("entries").as_array())
    if (auto* id = e.as_object().if_contains("span_id"))
      out.insert(std::string{id->as_string()});
  return out;
}

} // namespace

TEST_CASE("three hops over real HTTP carry one trace and a shrinking "
          "deadline, and only the lowest layer retries",
          "[actors][http][context]") {
  const std::uint64_t seed = 20261206;
  INFO("seed " << seed);
  caf::actor_system_config cfg;
  caf::actor_system sys{hop_system_config(cfg)};
  auto rec = std::make_shared<recorder>(seed);
  auto parsed = parse_bulwark_config(hop_config);
  REQUIRE(parsed.ok());
  auto& doc = *parsed.config;

  http_service_options sopts;
  sopts.trace_seed = seed;
  http_service c{sys, sopts};
  c.route("POST", "/op/work", service_function{[rec](const service_request& r) {
            rec->record('C', r);
            if (rec->c_fails())
              return error_reply(500, "injected failure");
            service_response res;
            res.body = "done:" + r.body;
            return res;
          }});
  c.start();

  auto transport_to = [&](std::uint16_t port) {
    http_transport_options t;
    t.port = port;
    return http_transport::spawn(sys, t);
  };
  // Each "process" seeds its own span ids: with one seed A's and B's calls
  // would share span ids and the assembled tree could join by accident.
  std::uint64_t dep_seed = seed;
  auto spawn_dep = [&](const char* name, caf::actor transport) {
    dependency_options o;
    o.config = *doc.find(name);
    o.transport = std::move(transport);
    o.seed = ++dep_seed;
    return spawn_dependency(sys, std::move(o));
  };
  auto t_c = transport_to(c.port());
  auto to_c = spawn_dep("to_c", t_c.handle());
  sopts.trace_seed = seed + 1;
  http_service b{sys, sopts};
  auto b_route = sys.spawn(hop_actor, to_c, rec, 'B');
  b.route("POST", "/op/work", b_route);
  b.start();
  auto t_b = transport_to(b.port());
  auto to_b = spawn_dep("to_b", t_b.handle());
  sopts.trace_seed = seed + 2;
  http_service a{sys, sopts};
  auto a_route = sys.spawn(hop_actor, to_b, rec, 'A');
  a.route("POST", "/op/work", a_route);
  a.start();
  // One admin server per "process": A's sees to_b, B's sees to_c.
  admin_server admin_a{sys, doc, {{"to_b", to_b}}};
  admin_server admin_b{sys, doc, {{"to_c", to_c}}};

  constexpr int requests = 40;
  constexpr std::uint32_t lowest_layer_attempts = 3; // to_c's max_attempts
  const auto client_budget = milliseconds(5000);
  rng ids{seed};
  int ok = 0;
  int retried_requests = 0;
  std::uint64_t most_at_c = 0;
  trace_id retried_trace;
  for (int i = 0; i < requests; ++i) {
    INFO("request " << i);
    trace_context client;
    client.trace = new_trace_id(ids);
    client.flags = trace_flag_sampled;
    auto client_span = new_span_id(ids);
    http_test_client http{a.port()};
    REQUIRE(http.connect());
    http_request req{boost::beast::http::verb::post, "/op/work", 11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    req.set(deadline_ms_header, "5000");
    req.set(criticality_header, "critical");
    req.set(traceparent_header, format_traceparent(client, client_span));
    req.body() = "order-" + std::to_string(i);
    req.prepare_payload();
    auto sent = std::chrono::steady_clock::now();
    auto res = http.roundtrip(std::move(req));
    REQUIRE(res);
    if (res->result_int() == 200) {
      ++ok;
      CHECK(res->body() == "done:order-" + std::to_string(i));
    } else {
      // Only B's retries running out may fail a request, and then A is told
      // not to retry.
      CHECK(res->result_int() == 502);
      CHECK(res->count(service_do_not_retry_header) == 1);
    }
    auto at_a = rec->of('A', client.trace);
    auto at_b = rec->of('B', client.trace);
    auto at_c = rec->of('C', client.trace);
    // One trace id at every hop, parented hop by hop.
    REQUIRE(at_a.size() == 1);
    CHECK(at_a[0].parent == client_span);
    // No multiplication: A never retries (B's failures say do-not-retry),
    // and the attempts reaching C stay within B's dependency's cap.
    REQUIRE(at_b.size() == 1);
    CHECK(at_b[0].attempt == 1);
    REQUIRE_FALSE(at_c.empty());
    CHECK(at_c.size() <= lowest_layer_attempts);
    most_at_c = std::max<std::uint64_t>(most_at_c, at_c.size());
    if (at_c.size() > 1 && retried_trace.empty())
      retried_trace = client.trace;
    retried_requests += at_c.size() > 1 ? 1 : 0;
    // The deadline: A starts the client's 5 s on arrival. Each hop sends
    // what is left when it writes the request, so the next hop's remaining
    // budget is at most the sender's deadline minus the time the sender had
    // spent by then (the network time between hops is not counted, as with
    // gRPC's relative timeouts). The services share this process's steady
    // clock, so the remainders compare exactly.
    CHECK(at_a[0].deadline >= sent + client_budget);
    auto remaining = [](const hop_seen& x) { return x.deadline - x.arrived; };
    for (auto* hop : {&at_a, &at_b, &at_c})
      for (auto& x : *hop) {
        CHECK(remaining(x) > duration{0});
        CHECK(remaining(x) <= client_budget);
        CHECK(x.crit == criticality::critical);
      }
    CHECK(remaining(at_a[0]) <= client_budget);
    CHECK(remaining(at_b[0]) <= at_a[0].deadline - at_a[0].arrived);
    for (std::size_t k = 0; k < at_c.size(); ++k) {
      // A retry is written after the previous attempt's answer: B's budget
      // minus everything spent up to that attempt's arrival at C.
      auto spent_until = k == 0 ? at_b[0].arrived : at_c[k - 1].arrived;
      CHECK(remaining(at_c[k]) <= at_b[0].deadline - spent_until);
      CHECK(remaining(at_c[k]) < client_budget);
    }
    // C's attempts count up across B's retries.
    for (std::size_t k = 0; k < at_c.size(); ++k)
      CHECK(at_c[k].attempt == k + 1);
  }
  INFO("C saw " << rec->c_calls << " calls, " << rec->c_failures << " failed; "
                << retried_requests << " requests retried");
  CHECK(ok >= requests * 9 / 10);
  // The seeded failures did make B retry (else the bounds above say little).
  REQUIRE(retried_requests > 0);
  REQUIRE_FALSE(retried_trace.empty());
  CHECK(most_at_c <= lowest_layer_attempts);

  // The spans: B's admin server names to_c (B's dependency) as the hop that
  // retried; A's shows to_b with one attempt, and the two join up.
  auto id = to_string(retried_trace);
  auto from_a = http_get(admin_a.port(), "/traces/" + id);
  auto from_b = http_get(admin_b.port(), "/traces/" + id);
  REQUIRE(from_a);
  REQUIRE(from_b);
  INFO(from_a->body());
  INFO(from_b->body());
  REQUIRE(from_a->result_int() == 200);
  REQUIRE(from_b->result_int() == 200);
  auto doc_a = boost::json::parse(from_a->body()).as_object();
  auto doc_b = boost::json::parse(from_b->body()).as_object();
  CHECK(doc_a.at("trace_id").as_string() == id);
  auto* span_a = span_of(doc_a.at("spans").as_array(), "to_b");
  auto* span_b = span_of(doc_b.at("spans").as_array(), "to_c");
  REQUIRE(span_a != nullptr);
  REQUIRE(span_b != nullptr);
  CHECK(span_a->at("attempts").as_int64() == 1);
  CHECK_FALSE(has_event(*span_a, "backoff_scheduled"));
  CHECK(span_b->at("attempts").as_int64() >= 2);
  CHECK(has_event(*span_b, "backoff_scheduled"));
  CHECK(span_a->at("trace_id").as_string() == id);
  CHECK(span_b->at("trace_id").as_string() == id);
  // B's call was made while serving the request A's attempt sent: its
  // upstream span is that attempt's span, and its parent B's server span.
  auto a_attempts = attempt_spans(*span_a);
  REQUIRE(a_attempts.size() == 1);
  CHECK(span_b->at("upstream_span_id").as_string() == *a_attempts.begin());
  auto at_b = rec->of('B', retried_trace);
  REQUIRE(at_b.size() == 1);
  CHECK(span_b->at("parent_id").as_string() == span_id_to_string(at_b[0].span));
  // Each request C saw came from one of B's attempt spans.
  auto b_attempts = attempt_spans(*span_b);
  for (auto& x : rec->of('C', retried_trace))
    CHECK(b_attempts.count(span_id_to_string(x.parent)) == 1);

  // The assembling command: the real bulwark-trace against both admin
  // servers prints one tree with one trace id, in which B's call (to_c) is
  // the one that retried, after attempts C failed with HTTP 500, under A's
  // one attempt; A's call shows no retry.
  {
    auto dir = bulwark::testing::artifact_dir("bulwark_trace");
    auto url = [](std::uint16_t port) {
      return "http://127.0.0.1:" + std::to_string(port);
    };
    bulwark::testing::child_process tool{
      {BULWARK_TRACE_TOOL, id, url(admin_a.port()), url(admin_b.port())},
      (dir / "tree.log").string()};
    auto status = tool.wait_for(std::chrono::seconds(30));
    auto tree = bulwark::testing::read_text(dir / "tree.log");
    INFO(tree);
    REQUIRE(status);
    CHECK(*status == 0);
    std::vector<std::string> lines;
    std::istringstream in{tree};
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    REQUIRE(lines.size() >= 5);
    CHECK(lines[0] == "trace " + id);
    CHECK(tree.find("trace ids differ") == std::string::npos);
    auto a_label = "[127.0.0.1:" + std::to_string(admin_a.port()) + "] ";
    auto b_label = "[127.0.0.1:" + std::to_string(admin_b.port()) + "] ";
    // A's call is a root: one attempt, no retry.
    CHECK(lines[1].rfind(a_label + "to_b \"work\" span ", 0) == 0);
    CHECK(lines[1].find(": 1 attempt -> ") != std::string::npos);
    CHECK(lines[1].find("retried") == std::string::npos);
    CHECK(lines[2].rfind("  attempt 1 span ", 0) == 0);
    // B's call under A's attempt: retried, 2+ attempts, failures with 500.
    REQUIRE(lines[3].rfind("    " + b_label + "to_c \"work\" span ", 0) == 0);
    CHECK(lines[3].find(" attempts, retried -> ") != std::string::npos);
    int b_attempts = 0;
    int b_500s = 0;
    for (std::size_t k = 4; k < lines.size(); ++k) {
      if (lines[k].rfind("      attempt ", 0) != 0)
        continue;
      ++b_attempts;
      b_500s +=
        lines[k].find(": transient (HTTP 500) after ") != std::string::npos ? 1
                                                                            : 0;
    }
    CHECK(b_attempts >= 2);
    CHECK(b_500s >= 1);
    // Only B retried.
    std::size_t retried_lines = 0;
    for (auto& line : lines)
      retried_lines += line.find(", retried") != std::string::npos ? 1 : 0;
    CHECK(retried_lines == 1);
  }

  // Hostile ids are refused before anything is asked.
  for (auto bad : {"xyz", "00000000000000000000000000000000",
                   "4BF92F3577B34DA6A3CE929D0E0E4736", "..%2F..%2Fetc"}) {
    auto res = http_get(admin_a.port(), std::string{"/traces/"} + bad);
    REQUIRE(res);
    CHECK(res->result_int() == 400);
    CHECK(res->body().find(bad) == std::string::npos);
  }
  // An unknown trace: nothing seen here.
  auto none = http_get(admin_b.port(), "/traces/" + std::string(31, '0') + "1");
  REQUIRE(none);
  CHECK(none->result_int() == 200);
  CHECK(boost::json::parse(none->body()).at("spans").as_array().empty());

  a.stop();
  b.stop();
  c.stop();
  for (auto& h :
       {caf::actor_cast<caf::actor>(to_b), caf::actor_cast<caf::actor>(to_c),
        a_route, b_route, t_b.handle(), t_c.handle()})
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}
