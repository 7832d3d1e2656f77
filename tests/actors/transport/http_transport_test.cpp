#include "bulwark/actors/transport/http_transport.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"

using namespace bulwark;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

/// How long any wait of these tests may take before it counts as a failure.
constexpr auto patience = std::chrono::seconds(10);

// -- a tiny blocking HTTP/1.1 test server -------------------------------------------

/// One request as the test server read it; header names in lower case.
struct raw_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string header(const std::string& name) const {
    auto i = headers.find(name);
    return i != headers.end() ? i->second : std::string{};
  }

  bool has_header(const std::string& name) const {
    return headers.count(name) > 0;
  }
};

std::string lower(std::string x) {
  for (auto& c : x)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return x;
}

class test_server;

/// One accepted connection, served by its own thread.
class server_conn {
 public:
  server_conn(test_server& srv, tcp::socket sock, std::size_t index)
    : srv_(srv),
      sock_(std::move(sock)),
      index_(index) {
    // nop
  }

  /// Which connection this is, counting from 0 in accept order.
  std::size_t index() const {
    return index_;
  }

  /// The next request, or nullopt once the peer closed (or the server stops).
  std::optional<raw_request> read_request();

  /// False when the peer is gone.
  bool write(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(sock_, asio::buffer(bytes), ec);
    return !ec;
  }

  /// Blocks until the peer closes the connection (or the server stops).
  void wait_peer_close() {
    while (read_request()) {
      // Requests after the first are not answered either.
    }
  }

  /// Waits up to `d` for the server to stop; true if it is stopping.
  bool wait_stop_for(std::chrono::milliseconds d);

  void shutdown() {
    boost::system::error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
  }

 private:
  bool fill() {
    char chunk[4096];
    boost::system::error_code ec;
    auto n = sock_.read_some(asio::buffer(chunk), ec);
    if (ec || n == 0)
      return false;
    buf_.append(chunk, n);
    return true;
  }

  test_server& srv_;
  tcp::socket sock_;
  std::size_t index_;
  std::string buf_;
};

/// Accepts on 127.0.0.1 (ephemeral port) and runs `handler` for every
/// connection on a thread of its own; counts connections and records
/// requests. Stopping shuts every socket down, so blocked reads return.
class test_server {
 public:
  using handler = std::function<void(server_conn&)>;

  explicit test_server(handler h)
    : handler_(std::move(h)),
      acceptor_(io_, tcp::endpoint{asio::ip::address_v4::loopback(), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread{[this] { accept_loop(); }};
  }

  ~test_server() {
    stop();
  }

  std::uint16_t port() const {
    return port_;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      stopping_ = true;
      for (auto& c : conns_)
        c->shutdown();
    }
    cv_.notify_all();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      threads.swap(threads_);
    }
    for (auto& t : threads)
      t.join();
  }

  std::size_t accepted() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return accepted_;
  }

  std::vector<raw_request> requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

  /// Waits until `n` requests arrived; false after `patience`.
  bool wait_requests(std::size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, patience, [&] { return requests_.size() >= n; });
  }

  /// Waits until `n` connection handlers returned; false after `patience`.
  bool wait_closed(std::size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, patience, [&] { return closed_ >= n; });
  }

  /// Lets every `hold()` return.
  void release() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      released_ = true;
    }
    cv_.notify_all();
  }

  /// Blocks a handler until `release()` or stop.
  void hold() {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait(guard, [&] { return released_ || stopping_; });
  }

  // -- used by server_conn ---------------------------------------------------------

  void record(const raw_request& req) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      requests_.push_back(req);
    }
    cv_.notify_all();
  }

  bool wait_stop_for(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, d, [&] { return stopping_; });
  }

 private:
  void accept_loop() {
    for (;;) {
      tcp::socket sock{io_};
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      std::lock_guard<std::mutex> guard{mtx_};
      if (ec || stopping_)
        return;
      auto conn =
        std::make_shared<server_conn>(*this, std::move(sock), accepted_++);
      conns_.push_back(conn);
      threads_.emplace_back([this, conn] {
        handler_(*conn);
        conn->shutdown();
        {
          std::lock_guard<std::mutex> guard{mtx_};
          ++closed_;
        }
        cv_.notify_all();
      });
    }
  }

  handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool released_ = false;
  std::size_t accepted_ = 0;
  std::size_t closed_ = 0;
  std::vector<std::shared_ptr<server_conn>> conns_;
  std::vector<std::thread> threads_;
  std::vector<raw_request> requests_;
};

std::optional<raw_request> server_conn::read_request() {
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill())
      return std::nullopt;
  raw_request req;
  auto head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  auto line_end = head.find("\r\n");
  auto first = head.substr(0, line_end);
  auto sp1 = first.find(' ');
  auto sp2 = first.find(' ', sp1 + 1);
  req.method = first.substr(0, sp1);
  req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  auto pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos)
      next = head.size();
    auto line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    req.headers[lower(line.substr(0, colon))] = value;
    pos = next + 2;
  }
  auto len =
    std::stoul(req.has_header("content-length") ? req.header("content-length")
                                                : std::string{"0"});
  while (buf_.size() < len)
    if (!fill())
      return std::nullopt;
  req.body = buf_.substr(0, len);
  buf_.erase(0, len);
  srv_.record(req);
  return req;
}

bool server_conn::wait_stop_for(std::chrono::milliseconds d) {
  return srv_.wait_stop_for(d);
}

std::string response(int status, const std::string& body,
                     const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

/// A handler answering every request of a connection with `respond(req)`.
test_server::handler
answer_with(std::function<std::string(const raw_request&)> respond) {
  return [respond](server_conn& c) {
    while (auto req = c.read_request())
      if (!c.write(respond(*req)))
        return;
  };
}

/// A port nothing listens on (bound once, then closed).
std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor a{io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
  auto port = a.local_endpoint().port();
  a.close();
  return port;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// -- the actor side ------------------------------------------------------------------

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  std::vector<caf::actor> spawned;

  fixture() : sys(init_config(cfg)), self(sys) {
    // nop
  }

  ~fixture() {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  static caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    add_bulwark_types(cfg);
    return cfg;
  }

  http_transport spawn(std::uint16_t port, http_transport_options opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = port;
    auto t = http_transport::spawn(sys, std::move(opts));
    spawned.push_back(t.handle());
    return t;
  }

  /// The message `http_transport::spawn` throws for `opts`; empty if none.
  std::string spawn_error(http_transport_options opts) {
    try {
      auto t = http_transport::spawn(sys, std::move(opts));
      spawned.push_back(t.handle());
      return {};
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  }

  static attempt_request attempt(std::uint64_t id, std::string op = "get",
                                 std::string payload = "p") {
    attempt_request req;
    req.attempt_id = id;
    req.operation = std::move(op);
    req.payload = std::move(payload);
    req.idempotency_key = "key-" + std::to_string(id);
    return req;
  }

  static std::int64_t deadline_in(std::chrono::milliseconds d) {
    return to_wire_time(steady::now() + d);
  }

  void send(const http_transport& t, attempt_request req) {
    self->send(t.handle(), attempt_atom::value, std::move(req));
  }

  /// The next result; nullopt (and a failed check) after `patience`.
  std::optional<attempt_result> await() {
    std::optional<attempt_result> out;
    self->receive([&](result_atom, attempt_result& r) { out = std::move(r); },
                  caf::after(patience) >> [] {});
    CHECK(out.has_value());
    return out;
  }

  attempt_result call(const http_transport& t, attempt_request req) {
    send(t, std::move(req));
    auto r = await();
    REQUIRE(r);
    return *r;
  }
};

transport_error error_of(const attempt_result& r) {
  return static_cast<transport_error>(r.error);
}

outcome classify_default(const attempt_result& r) {
  return classify(classifier_config{}, to_observation(r));
}

} // namespace

// -- pure helpers -------------------------------------------------------------------

TEST_CASE("Retry-After is read as delta-seconds or as an HTTP-date",
          "[actors][transport][http]") {
  // Sun, 06 Nov 1994 08:49:37 GMT
  auto now = std::chrono::system_clock::time_point{seconds{784111777}};
  CHECK(parse_retry_after("120", now) == std::optional<duration>{seconds(120)});
  CHECK(parse_retry_after(" 0 ", now) == std::optional<duration>{seconds(0)});
  CHECK(parse_retry_after("99999999999999999999", now)
        == std::optional<duration>{seconds(86400)});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now)
        == std::optional<duration>{seconds(30)});
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now)
        == std::optional<duration>{seconds(60)});
  CHECK(parse_retry_after("Sun Nov  6 08:51:37 1994", now)
        == std::optional<duration>{seconds(120)});
  // A date in the past: retry whenever.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now)
        == std::optional<duration>{seconds(0)});
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("-5", now));
  CHECK_FALSE(parse_retry_after("1.5", now));
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT trailing", now));
}

TEST_CASE("the path template puts the percent-encoded operation in place",
          "[actors][transport][http]") {
  CHECK(expand_path("/op/{operation}", "get_stock") == "/op/get_stock");
  CHECK(expand_path("/v1/{operation}/x/{operation}", "a.b-c~d")
        == "/v1/a.b-c~d/x/a.b-c~d");
  CHECK(expand_path("/op/{operation}", "a b/c?") == "/op/a%20b%2Fc%3F");
  CHECK(expand_path("/fixed", "ignored") == "/fixed");
}

// -- responses ----------------------------------------------------------------------

TEST_CASE_METHOD(fixture, "a 2xx response is a success carrying the body",
                 "[actors][transport][http]") {
  test_server srv{answer_with([](const raw_request& req) {
    return response(req.target == "/op/create" ? 201 : 200, "echo:" + req.body);
  })};
  auto t = spawn(srv.port());
  auto r = call(t, attempt(7, "get", "hello"));
  CHECK(r.attempt_id == 7);
  CHECK(r.ok);
  CHECK(r.status == 200);
  CHECK(r.error == 0);
  CHECK(r.payload == "echo:hello");
  CHECK(r.latency_ns > 0);
  CHECK(r.retry_after_ns == no_retry_after_ns);
  CHECK_FALSE(r.do_not_retry);
  CHECK(classify_default(r).success);
  auto created = call(t, attempt(8, "create", "x"));
  CHECK(created.ok);
  CHECK(created.status == 201);
  CHECK(t.stats().answered == 2);
}

TEST_CASE_METHOD(fixture, "other statuses come back as status results",
                 "[actors][transport][http]") {
  test_server srv{answer_with([](const raw_request& req) {
    auto status = std::stoi(req.target.substr(std::string{"/op/s"}.size()));
    return response(status, "body of " + std::to_string(status));
  })};
  auto t = spawn(srv.port());
  struct row {
    int status;
    failure_class cls;
  };
  for (auto [status, cls] :
       {row{503, failure_class::overloaded},
        row{429, failure_class::overloaded}, row{500, failure_class::transient},
        row{502, failure_class::transient}, row{404, failure_class::persistent},
        row{400, failure_class::persistent},
        row{408, failure_class::timeout}}) {
    INFO("status " << status);
    auto r = call(t, attempt(static_cast<std::uint64_t>(status),
                             "s" + std::to_string(status)));
    CHECK_FALSE(r.ok);
    CHECK(r.status == status);
    CHECK(r.error == 0);
    CHECK(r.payload == "body of " + std::to_string(status));
    auto o = classify_default(r);
    CHECK_FALSE(o.success);
    CHECK(o.cls == cls);
  }
  // A 3xx is not a 2xx: a status result, which the default table calls success.
  auto r = call(t, attempt(304, "s304"));
  CHECK_FALSE(r.ok);
  CHECK(r.status == 304);
  // Failures with a status keep the connection: one connection served all.
  CHECK(srv.accepted() == 1);
}

TEST_CASE_METHOD(fixture,
                 "Retry-After in seconds or as an HTTP-date and the "
                 "do-not-retry header reach the result",
                 "[actors][transport][http]") {
  auto in_two_minutes = std::time(nullptr) + 120;
  test_server srv{answer_with([&](const raw_request& req) {
    if (req.target == "/op/seconds")
      return response(503, "", "Retry-After: 7\r\n");
    if (req.target == "/op/date")
      return response(503, "",
                      "Retry-After: " + http_date(in_two_minutes) + "\r\n");
    if (req.target == "/op/garbage")
      return response(503, "", "Retry-After: later\r\n");
    if (req.target == "/op/dnr")
      return response(500, "", "Bulwark-Do-Not-Retry: 1\r\n");
    if (req.target == "/op/dnr_true")
      return response(500, "", "bulwark-do-not-retry: TRUE\r\n");
    return response(500, "", "Bulwark-Do-Not-Retry: 0\r\n");
  })};
  auto t = spawn(srv.port());
  auto secs = call(t, attempt(1, "seconds"));
  CHECK(secs.status == 503);
  CHECK(secs.retry_after_ns == to_wire_duration(seconds(7)));
  auto date = call(t, attempt(2, "date"));
  CHECK(date.retry_after_ns > to_wire_duration(seconds(110)));
  CHECK(date.retry_after_ns <= to_wire_duration(seconds(121)));
  auto o = classify_default(date);
  CHECK(o.cls == failure_class::overloaded);
  CHECK(o.retry_after == from_wire_duration(date.retry_after_ns));
  CHECK(call(t, attempt(3, "garbage")).retry_after_ns == no_retry_after_ns);
  CHECK(call(t, attempt(4, "dnr")).do_not_retry);
  CHECK(call(t, attempt(5, "dnr_true")).do_not_retry);
  CHECK_FALSE(call(t, attempt(6, "dnr_zero")).do_not_retry);
}

// -- requests -----------------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "requests carry the idempotency key, the remaining deadline "
                 "and the attempt number",
                 "[actors][transport][http]") {
  test_server srv{
    answer_with([](const raw_request&) { return response(200, ""); })};
  http_transport_options opts;
  opts.methods["lookup"] = "GET";
  opts.content_type = "application/json";
  auto t = spawn(srv.port(), opts);
  auto req = attempt(11, "charge", R"({"amount": 5})");
  req.idempotency_key = "order-42";
  req.attempt_number = 3;
  req.deadline_ns = deadline_in(std::chrono::milliseconds(2000));
  CHECK(call(t, req).ok);
  auto plain = attempt(12, "lookup", "");
  plain.idempotency_key.clear();
  CHECK(call(t, plain).ok);
  auto seen = srv.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/op/charge");
  CHECK(seen[0].body == R"({"amount": 5})");
  CHECK(seen[0].header("idempotency-key") == "order-42");
  CHECK(seen[0].header("bulwark-attempt") == "3");
  CHECK(seen[0].header("host") == "127.0.0.1:" + std::to_string(srv.port()));
  CHECK(seen[0].header("content-type") == "application/json");
  REQUIRE(seen[0].has_header("bulwark-deadline-ms"));
  auto left = std::stol(seen[0].header("bulwark-deadline-ms"));
  CHECK(left > 1000);
  CHECK(left <= 2000);
  CHECK(seen[1].method == "GET");
  CHECK(seen[1].target == "/op/lookup");
  CHECK(seen[1].header("bulwark-attempt") == "1");
  // No deadline, no key: the headers are left out rather than invented.
  CHECK_FALSE(seen[1].has_header("bulwark-deadline-ms"));
  CHECK_FALSE(seen[1].has_header("idempotency-key"));
}

TEST_CASE_METHOD(fixture,
                 "requests carry the criticality and the trace context with "
                 "the attempt's span as parent, and no invalid tracestate",
                 "[actors][transport][http][context]") {
  test_server srv{
    answer_with([](const raw_request&) { return response(200, ""); })};
  auto t = spawn(srv.port());
  auto traced = attempt(21, "charge", "");
  traced.crit = criticality::critical;
  traced.trace.trace = trace_id{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
  traced.trace.parent_id = 0x00f067aa0ba902b7ULL;
  traced.trace.flags = 1;
  traced.trace.tracestate = "rojo=1,congo=2";
  CHECK(call(t, traced).ok);
  auto injected = traced;
  injected.attempt_id = 22;
  injected.trace.tracestate = "a=1\r\nX-Evil: 1";
  CHECK(call(t, injected).ok);
  auto plain = attempt(23, "charge", "");
  CHECK(call(t, plain).ok);
  auto seen = srv.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].header("bulwark-criticality") == "critical");
  CHECK(seen[0].header("traceparent")
        == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(seen[0].header("tracestate") == "rojo=1,congo=2");
  CHECK(seen[1].has_header("traceparent"));
  CHECK_FALSE(seen[1].has_header("tracestate"));
  CHECK_FALSE(seen[1].has_header("x-evil"));
  CHECK(seen[2].header("bulwark-criticality") == "standard");
  CHECK_FALSE(seen[2].has_header("traceparent"));
  CHECK_FALSE(seen[2].has_header("tracestate"));
}

// -- the pool -----------------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "keep-alive reuses one connection for sequential attempts",
                 "[actors][transport][http]") {
  SECTION("the server keeps the connection") {
    test_server srv{
      answer_with([](const raw_request&) { return response(200, "x"); })};
    auto t = spawn(srv.port());
    for (std::uint64_t i = 1; i <= 5; ++i)
      CHECK(call(t, attempt(i)).ok);
    CHECK(srv.accepted() == 1);
    CHECK(t.stats().connections_opened == 1);
    CHECK(t.stats().reused == 4);
  }
  SECTION("the server says Connection: close") {
    test_server srv{answer_with([](const raw_request&) {
      return response(200, "x", "Connection: close\r\n");
    })};
    auto t = spawn(srv.port());
    for (std::uint64_t i = 1; i <= 3; ++i)
      CHECK(call(t, attempt(i)).ok);
    CHECK(srv.accepted() == 3);
    CHECK(t.stats().reused == 0);
  }
}

TEST_CASE_METHOD(fixture,
                 "a kept-alive connection the server closed is resent once on "
                 "a new one",
                 "[actors][transport][http]") {
  // Every connection serves one request, then closes without saying so.
  test_server srv{[](server_conn& c) {
    if (auto req = c.read_request())
      c.write(response(200, "served"));
  }};
  auto t = spawn(srv.port());
  CHECK(call(t, attempt(1)).ok);
  REQUIRE(srv.wait_closed(1));
  auto r = call(t, attempt(2));
  CHECK(r.ok);
  CHECK(r.payload == "served");
  CHECK(t.stats().stale_resends == 1);
  CHECK(srv.accepted() == 2);
  // Without an idempotency key a resend is not safe: the failure is reported.
  REQUIRE(srv.wait_closed(2));
  auto unkeyed = attempt(3);
  unkeyed.idempotency_key.clear();
  auto failed = call(t, unkeyed);
  CHECK_FALSE(failed.ok);
  CHECK(error_of(failed) == transport_error::connection_reset);
  CHECK(t.stats().stale_resends == 1);
}

TEST_CASE_METHOD(fixture,
                 "the pool bound holds: extra attempts wait in a bounded "
                 "queue, the rest are rejected locally",
                 "[actors][transport][http]") {
  test_server srv{[&](server_conn& c) {
    while (auto req = c.read_request()) {
      srv.hold();
      if (!c.write(response(200, req->target)))
        return;
    }
  }};
  http_transport_options opts;
  opts.max_connections = 2;
  opts.max_queued = 1;
  auto t = spawn(srv.port(), opts);
  for (std::uint64_t i = 1; i <= 4; ++i)
    send(t, attempt(i, "op" + std::to_string(i)));
  // Two connections busy, one attempt queued: the fourth is rejected at once.
  auto rejected = await();
  REQUIRE(rejected);
  CHECK(rejected->attempt_id == 4);
  CHECK_FALSE(rejected->ok);
  CHECK(rejected->status == 0);
  CHECK(rejected->error == 0);
  CHECK(rejected->reported_class
        == static_cast<std::uint8_t>(failure_class::rejected_locally));
  CHECK(classify_default(*rejected).never_executed);
  REQUIRE(srv.wait_requests(2));
  CHECK(srv.accepted() == 2);
  srv.release();
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i)
    if (auto r = await()) {
      CHECK(r->ok);
      ids.push_back(r->attempt_id);
    }
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3});
  // The queued attempt went out on a freed connection, not a third one.
  CHECK(srv.accepted() == 2);
  CHECK(t.stats().queued == 1);
  CHECK(t.stats().pool_rejections == 1);
}

// -- timeouts and cancellation ------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a silent server times the attempt out at its deadline and "
                 "the connection is never reused",
                 "[actors][transport][http]") {
  test_server srv{[](server_conn& c) {
    if (c.index() == 0) {
      c.wait_peer_close();
      return;
    }
    while (auto req = c.read_request())
      c.write(response(200, "late but fine"));
  }};
  auto t = spawn(srv.port());
  auto req = attempt(1);
  req.deadline_ns = deadline_in(std::chrono::milliseconds(200));
  auto started = steady::now();
  auto r = call(t, req);
  auto took = steady::now() - started;
  CHECK_FALSE(r.ok);
  CHECK(error_of(r) == transport_error::timed_out);
  CHECK(classify_default(r).cls == failure_class::timeout);
  CHECK(took >= std::chrono::milliseconds(190));
  CHECK(took < std::chrono::seconds(3));
  // The transport closed the socket: the server sees the connection end.
  CHECK(srv.wait_closed(1));
  CHECK(call(t, attempt(2)).ok);
  CHECK(srv.accepted() == 2);
  CHECK(t.stats().timeouts == 1);
}

TEST_CASE_METHOD(fixture,
                 "an attempt whose deadline already passed is not sent",
                 "[actors][transport][http]") {
  test_server srv{
    answer_with([](const raw_request&) { return response(200, ""); })};
  auto t = spawn(srv.port());
  auto req = attempt(1);
  req.deadline_ns = deadline_in(std::chrono::milliseconds(-5));
  auto r = call(t, req);
  CHECK(error_of(r) == transport_error::timed_out);
  CHECK(t.stats().requests_sent == 0);
  CHECK(srv.accepted() == 0);
}

TEST_CASE_METHOD(fixture,
                 "a cancel hint closes the attempt's connection and sends no "
                 "result",
                 "[actors][transport][http]") {
  test_server srv{[](server_conn& c) {
    if (c.index() == 0) {
      c.wait_peer_close();
      return;
    }
    while (auto req = c.read_request())
      c.write(response(200, "second"));
  }};
  auto t = spawn(srv.port());
  send(t, attempt(1));
  REQUIRE(srv.wait_requests(1));
  self->send(t.handle(), cancel_atom::value, std::uint64_t{1});
  CHECK(srv.wait_closed(1));
  // A cancel for an unknown attempt is ignored.
  self->send(t.handle(), cancel_atom::value, std::uint64_t{99});
  send(t, attempt(2));
  // Results come from one I/O thread in order: had attempt 1 been answered,
  // its result would arrive first.
  auto r = await();
  REQUIRE(r);
  CHECK(r->attempt_id == 2);
  CHECK(r->payload == "second");
  CHECK(t.stats().cancels == 1);
  CHECK(t.stats().answered == 1);
}

// -- header injection ----------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a key with CR LF, LF or NUL is refused before a byte is "
                 "written and the connection stays in step for the next "
                 "attempt",
                 "[actors][transport][http][hostile]") {
  std::vector<std::string> keys;
  test_server srv{[&](server_conn& c) {
    while (auto req = c.read_request()) {
      keys.push_back(req->header("idempotency-key") + " " + req->target);
      c.write(response(200, "ok"));
    }
  }};
  auto t = spawn(srv.port());
  CHECK(call(t, attempt(1)).ok);
  for (auto bad :
       {std::string{"o-1\r\nPUT /faults HTTP/1.1\r\nX: y"},
        std::string{"o-1\nX-Injected: 1"}, std::string{"nul-1\0A", 7},
        std::string{"sp ace"}, std::string(max_key_bytes + 1, 'k')}) {
    auto req = attempt(2);
    req.idempotency_key = bad;
    auto r = call(t, req);
    CHECK_FALSE(r.ok);
    CHECK(r.status == 0);
    auto o = classify_default(r);
    CHECK(o.cls == failure_class::persistent);
  }
  CHECK(call(t, attempt(3)).ok);
  // Exactly the two good requests reached the server, on one connection.
  CHECK(keys == std::vector<std::string>{"key-1 /op/get", "key-3 /op/get"});
  CHECK(srv.accepted() == 1);
  CHECK(t.stats().refused_headers == 5);
  CHECK(t.stats().requests_sent == 2);
}

TEST_CASE_METHOD(fixture,
                 "options written into every request are checked when the "
                 "transport is spawned",
                 "[actors][transport][http][hostile]") {
  auto bad = [&](auto change) {
    http_transport_options o;
    change(o);
    return spawn_error(o);
  };
  CHECK(bad([](auto& o) { o.content_type = "text/plain\r\nX: y"; })
        == "http_transport_options::content_type contains a character HTTP "
           "does not allow there");
  CHECK(bad([](auto& o) { o.default_method = "PO ST"; })
        == "http_transport_options::default_method contains a character "
           "HTTP does not allow there");
  CHECK(bad([](auto& o) { o.methods["x"] = ""; })
        == "http_transport_options::methods must not be empty");
  CHECK(bad([](auto& o) {
          o.path_template = "/a b/{operation}";
        }).find("path_template")
        != std::string::npos);
  CHECK(bad([](auto& o) { o.host = "h\nx"; }).find("host")
        != std::string::npos);
  CHECK(bad([](auto&) {}).empty());
}

// -- transport errors ---------------------------------------------------------------

TEST_CASE_METHOD(fixture, "a refused connection is reported as never executed",
                 "[actors][transport][http]") {
  auto t = spawn(closed_port());
  auto r = call(t, attempt(1));
  CHECK_FALSE(r.ok);
  CHECK(r.status == 0);
  CHECK(error_of(r) == transport_error::connection_refused);
  auto o = classify_default(r);
  CHECK(o.cls == failure_class::transient);
  CHECK(o.never_executed);
}

TEST_CASE_METHOD(fixture, "a connection closed before any response is a reset",
                 "[actors][transport][http]") {
  test_server srv{[](server_conn& c) { c.read_request(); }};
  auto t = spawn(srv.port());
  auto r = call(t, attempt(1));
  CHECK(error_of(r) == transport_error::connection_reset);
  CHECK_FALSE(classify_default(r).never_executed);
}

TEST_CASE_METHOD(fixture,
                 "malformed responses are protocol errors and their "
                 "connection is discarded",
                 "[actors][transport][http]") {
  struct row {
    const char* name;
    std::string bytes;
  };
  std::string big_header = "X-Padding: " + std::string(4096, 'a') + "\r\n";
  std::vector<row> rows{
    {"bad status line", "HTTP/1.1 OK fine\r\nContent-Length: 0\r\n\r\n"},
    {"not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n\r\n"},
    {"truncated body",
     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much"},
    {"oversized headers",
     "HTTP/1.1 200 OK\r\n" + big_header + "Content-Length: 0\r\n\r\n"},
    {"oversized body", response(200, std::string(2048, 'b'))},
    {"bad content length", "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"},
  };
  for (auto& x : rows) {
    INFO(x.name);
    auto bytes = x.bytes;
    test_server srv{[bytes](server_conn& c) {
      if (c.index() == 0) {
        if (c.read_request())
          c.write(bytes);
        return; // closes: a truncated body ends here
      }
      while (auto req = c.read_request())
        c.write(response(200, "fine"));
    }};
    http_transport_options opts;
    opts.max_header_bytes = 1024;
    opts.max_body_bytes = 1024;
    auto t = spawn(srv.port(), opts);
    auto r = call(t, attempt(1));
    CHECK_FALSE(r.ok);
    CHECK(r.status == 0);
    CHECK(error_of(r) == transport_error::protocol_error);
    CHECK(classify_default(r).cls == failure_class::transient);
    CHECK(t.stats().protocol_errors == 1);
    // The broken connection is gone; the next attempt gets a new one.
    auto next = call(t, attempt(2));
    CHECK(next.ok);
    CHECK(next.payload == "fine");
    CHECK(srv.accepted() == 2);
  }
}

TEST_CASE_METHOD(fixture, "a slowloris response times out at the deadline",
                 "[actors][transport][http]") {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    // One byte of the status line at a time, forever.
    std::string bytes = "HTTP/1.1 200 OK\r\nX-Slow: ";
    for (std::size_t i = 0;; ++i) {
      if (!c.write(std::string(1, i < bytes.size() ? bytes[i] : 'z')))
        return;
      if (c.wait_stop_for(std::chrono::milliseconds(50)))
        return;
    }
  }};
  auto t = spawn(srv.port());
  auto req = attempt(1);
  req.deadline_ns = deadline_in(std::chrono::milliseconds(400));
  auto started = steady::now();
  auto r = call(t, req);
  CHECK(error_of(r) == transport_error::timed_out);
  CHECK(steady::now() - started < std::chrono::seconds(3));
  CHECK(srv.wait_closed(1));
}

// -- through a dependency actor -----------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a dependency actor retries through the HTTP transport to "
                 "success after two 503s",
                 "[actors][transport][http]") {
  std::atomic<int> served{0};
  test_server srv{answer_with([&](const raw_request&) {
    if (++served <= 2)
      return response(503, "busy", "Retry-After: 0\r\n");
    return response(200, "stocked");
  })};
  auto t = spawn(srv.port());
  auto parsed = parse_bulwark_config(R"({"dependencies": {"inventory": {
    "idempotency": "idempotent",
    "retry": {"max_attempts": 3, "per_attempt_timeout": "2s",
              "backoff": {"kind": "constant", "jitter": "none", "base": "5ms"}}
  }}})");
  INFO(parsed.errors.to_string());
  REQUIRE(parsed.ok());
  dependency_options opts;
  opts.config = parsed.config->dependencies.at(0);
  opts.transport = t.handle();
  auto dep = spawn_dependency(sys, std::move(opts));
  spawned.push_back(caf::actor_cast<caf::actor>(dep));
  call_request req;
  req.id = 1;
  req.operation = "get_stock";
  req.payload = "sku-1";
  req.idempotency_key = "checkout-1";
  self->send(dep, call_atom::value, req);
  std::optional<call_reply> reply;
  self->receive([&](reply_atom, call_reply& x) { reply = std::move(x); },
                caf::after(patience) >> [] {});
  REQUIRE(reply);
  CHECK(reply->ok);
  CHECK(reply->payload == "stocked");
  CHECK(reply->attempts == 3);
  auto seen = srv.requests();
  REQUIRE(seen.size() == 3);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].target == "/op/get_stock");
    CHECK(seen[i].header("idempotency-key") == "checkout-1");
    CHECK(seen[i].header("bulwark-attempt") == std::to_string(i + 1));
    // The per-attempt timeout bounds what each attempt announces.
    auto left = std::stol(seen[i].header("bulwark-deadline-ms"));
    CHECK(left > 0);
    CHECK(left <= 2000);
  }
  // All three went over one kept-alive connection.
  CHECK(srv.accepted() == 1);
}

// -- active health probes -------------------------------------------------------------
// purity: real time -- these drive a real socket; every wait is bounded by
// `patience` on the test server's condition variable (each probe that
// arrives wakes it), never a sleep.

TEST_CASE_METHOD(fixture,
                 "a probe is a GET of its path without body or key, and a bad "
                 "path is refused before any byte is written",
                 "[actors][transport][http][probe]") {
  test_server srv{answer_with([](const raw_request& req) {
    return response(req.target == "/healthz?deep=1" ? 200 : 404, "fine");
  })};
  auto t = spawn(srv.port());
  attempt_request probe;
  probe.attempt_id = 5;
  probe.operation = "/healthz?deep=1";
  probe.deadline_ns = deadline_in(std::chrono::milliseconds(2000));
  self->send(t.handle(), probe_atom::value, probe);
  auto r = await();
  REQUIRE(r);
  CHECK(r->attempt_id == 5);
  CHECK(r->ok);
  CHECK(r->status == 200);
  auto seen = srv.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/healthz?deep=1");
  CHECK(seen[0].body.empty());
  CHECK_FALSE(seen[0].has_header("idempotency-key"));
  CHECK_FALSE(seen[0].has_header("content-type"));
  for (std::string bad : {"/a/../admin", "http://evil/", "/x\r\nHost: evil"}) {
    probe.attempt_id += 1;
    probe.operation = bad;
    self->send(t.handle(), probe_atom::value, probe);
    auto refused = await();
    REQUIRE(refused);
    CHECK_FALSE(refused->ok);
    CHECK(classify_default(*refused).cls == failure_class::persistent);
  }
  CHECK(srv.requests().size() == 1);
}

TEST_CASE_METHOD(fixture,
                 "a probe over HTTP pauses a path answering 503 and resumes "
                 "it once the path answers 200",
                 "[actors][transport][http][probe]") {
  std::atomic<bool> healthy{false};
  test_server srv{answer_with([&](const raw_request& req) {
    if (req.target == "/healthz")
      return healthy ? response(200, "ok") : response(503, "down");
    return response(200, "stocked");
  })};
  auto t = spawn(srv.port());
  auto parsed = parse_bulwark_config(R"({"dependencies": {"inventory": {
    "idempotency": "idempotent",
    "retry": {"enabled": false},
    "probe": {"enabled": true, "http_path": "/healthz", "interval": "100ms",
              "timeout": "100ms", "unhealthy_threshold": 2,
              "healthy_threshold": 2}
  }}})");
  INFO(parsed.errors.to_string());
  REQUIRE(parsed.ok());
  dependency_options opts;
  opts.config = parsed.config->dependencies.at(0);
  opts.transport = t.handle();
  auto dep = spawn_dependency(sys, std::move(opts));
  spawned.push_back(caf::actor_cast<caf::actor>(dep));
  auto stats = [&] {
    dependency_stats out;
    self->request(dep, patience, stats_atom::value)
      .receive([&](stats_atom, const dependency_stats& x) { out = x; },
               [](caf::error&) { FAIL("no stats"); });
    return out;
  };
  // Waits, probe by probe, until the path is (not) paused.
  auto wait_paused = [&](bool paused) {
    for (std::size_t n = srv.requests().size() + 1; n < 100; ++n) {
      if ((stats().probe_paused == 1) == paused)
        return true;
      if (!srv.wait_requests(n))
        return false;
    }
    return false;
  };
  auto call = [&](std::uint64_t id) {
    call_request req;
    req.id = id;
    req.operation = "get_stock";
    req.payload = "sku-1";
    req.idempotency_key = "k-" + std::to_string(id);
    self->send(dep, call_atom::value, req);
    std::optional<call_reply> reply;
    self->receive([&](reply_atom, call_reply& x) { reply = std::move(x); },
                  caf::after(patience) >> [] {});
    REQUIRE(reply);
    return *reply;
  };
  REQUIRE(wait_paused(true));
  auto paused = stats();
  CHECK(paused.breaker == breaker_state::forced_open);
  CHECK(paused.probes_failure >= 2);
  auto rejected = call(1);
  CHECK_FALSE(rejected.ok);
  CHECK(rejected.cls == failure_class::rejected_locally);
  CHECK(rejected.message.find("health probe") != std::string::npos);
  healthy = true;
  REQUIRE(wait_paused(false));
  CHECK(stats().breaker == breaker_state::closed);
  auto served = call(2);
  CHECK(served.ok);
  CHECK(served.payload == "stocked");
  // Every request the server saw was a probe, except the one call served.
  auto seen = srv.requests();
  auto calls = std::count_if(seen.begin(), seen.end(), [](const auto& x) {
    return x.target != "/healthz";
  });
  CHECK(calls == 1);
  CHECK(stats().attempts == 1);
}

// -- load, senders and shutdown ------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "hundreds of concurrent attempts are each answered once over "
                 "the bounded pool",
                 "[actors][transport][http]") {
  test_server srv{answer_with(
    [](const raw_request& req) { return response(200, req.body); })};
  http_transport_options opts;
  opts.max_connections = 4;
  opts.max_queued = 1000;
  auto t = spawn(srv.port(), opts);
  constexpr std::uint64_t n = 300;
  for (std::uint64_t i = 1; i <= n; ++i)
    send(t, attempt(i, "get", std::to_string(i)));
  std::vector<int> seen(n + 1, 0);
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto r = await();
    REQUIRE(r);
    REQUIRE(r->attempt_id >= 1);
    REQUIRE(r->attempt_id <= n);
    CHECK(r->ok);
    CHECK(r->payload == std::to_string(r->attempt_id));
    ++seen[r->attempt_id];
  }
  CHECK(std::count(seen.begin() + 1, seen.end(), 1) == static_cast<long>(n));
  CHECK(srv.accepted() <= 4);
  CHECK(t.stats().requests_sent == n);
}

TEST_CASE_METHOD(fixture,
                 "the same attempt id from two senders is two attempts",
                 "[actors][transport][http]") {
  test_server srv{answer_with(
    [](const raw_request& req) { return response(200, req.body); })};
  auto t = spawn(srv.port());
  caf::scoped_actor other{sys};
  other->send(t.handle(), attempt_atom::value, attempt(1, "get", "other"));
  send(t, attempt(1, "get", "mine"));
  auto mine = await();
  REQUIRE(mine);
  CHECK(mine->payload == "mine");
  std::optional<attempt_result> theirs;
  other->receive([&](result_atom, attempt_result& r) { theirs = std::move(r); },
                 caf::after(patience) >> [] {});
  REQUIRE(theirs);
  CHECK(theirs->attempt_id == 1);
  CHECK(theirs->payload == "other");
}

TEST_CASE_METHOD(fixture,
                 "stopping the transport closes its connections and joins its "
                 "I/O thread",
                 "[actors][transport][http]") {
  test_server srv{[](server_conn& c) { c.wait_peer_close(); }};
  auto t = spawn(srv.port());
  for (std::uint64_t i = 1; i <= 3; ++i)
    send(t, attempt(i));
  REQUIRE(srv.wait_requests(3));
  self->send_exit(t.handle(), caf::exit_reason::user_shutdown);
  self->wait_for(t.handle());
  CHECK(srv.wait_closed(3));
  CHECK(t.stats().answered == 0);
}

TEST_CASE_METHOD(fixture,
                 "a handshake longer than connect_timeout is reported as never "
                 "executed",
                 "[actors][transport][http]") {
  // A listener that never accepts, with a full accept queue: Linux drops
  // further SYNs, so connecting hangs.
  asio::io_context io;
  tcp::acceptor full{io};
  full.open(tcp::v4());
  full.bind(tcp::endpoint{asio::ip::address_v4::loopback(), 0});
  full.listen(0);
  auto port = full.local_endpoint().port();
  // Raw non-blocking connects: Asio's synchronous connect would wait for
  // the handshakes the full queue never completes.
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  http_transport_options opts;
  opts.connect_timeout = std::chrono::milliseconds(200);
  auto t = spawn(port, opts);
  auto req = attempt(1);
  req.deadline_ns = deadline_in(std::chrono::seconds(8));
  auto started = steady::now();
  auto r = call(t, req);
  auto took = steady::now() - started;
  CHECK(error_of(r) == transport_error::connection_refused);
  CHECK(classify_default(r).never_executed);
  CHECK(took >= std::chrono::milliseconds(190));
  CHECK(took < std::chrono::seconds(4));
  CHECK(t.stats().timeouts == 0);
  for (auto fd : fillers)
    ::close(fd);
}
