// The replica side of the shared ledger (route_options::shared_ledger): two
// http_service instances in one process, the "replicas", share one real
// ledger_owner (spawn_ledger_owner) and are called over loopback sockets in
// a real (threaded) actor system.
// purity: real time — the service turns a relative deadline header into an
// absolute time with the real clock and the owner's timers run on the
// actor system's clock; waits poll with a bound and never sleep.
#include "bulwark/actors/http/http_service.hpp"

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/ledger/ledger_owner.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "tests/actors/http/http_test_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

// Generous: a wait that is not over by then is a failure, not a delay.
constexpr auto bound = std::chrono::seconds(10);

using release_atom = caf::atom_constant<caf::atom("release")>;

/// Counts calls of a test route actor and lets the test wait for them.
struct probe {
  std::mutex mtx;
  std::condition_variable cv;
  int calls = 0;

  void called() {
    std::lock_guard<std::mutex> guard{mtx};
    ++calls;
    cv.notify_all();
  }

  int count() {
    std::lock_guard<std::mutex> guard{mtx};
    return calls;
  }

  bool wait_calls(int n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, bound, [&] { return calls >= n; });
  }
};

using probe_ptr = std::shared_ptr<probe>;

/// Answers at once: 200, body "<tag> <n>" (n: this probe's call count).
caf::behavior counting_actor(caf::event_based_actor*, probe_ptr p,
                             std::string tag) {
  return {[p, tag](service_request&) -> service_response {
    p->called();
    service_response res;
    res.content_type = "text/plain";
    res.body = tag + " " + std::to_string(p->count());
    res.headers.emplace_back("X-Replica", tag);
    return res;
  }};
}

struct held_state {
  std::vector<caf::response_promise> held;
};

/// Holds every request until `(release_atom, body)` answers them all 200.
caf::behavior held_actor(caf::stateful_actor<held_state>* self, probe_ptr p) {
  return {
    [self, p](service_request&) -> caf::response_promise {
      self->state.held.push_back(self->make_response_promise());
      p->called();
      return self->state.held.back();
    },
    [self](release_atom, const std::string& body) {
      for (auto& rp : self->state.held) {
        service_response res;
        res.content_type = "text/plain";
        res.body = body;
        rp.deliver(res);
      }
      self->state.held.clear();
    },
  };
}

caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

constexpr const char* route_name = "POST /pay";

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  std::vector<caf::actor> spawned;
  caf::actor owner;
  std::unique_ptr<http_service> a;
  std::unique_ptr<http_service> b;

  explicit fixture(ledger_config ledger = {}) {
    ledger_owner_settings s;
    s.route = route_name;
    s.ledger = ledger;
    owner = spawn_ledger_owner(sys, s);
    spawned.push_back(owner);
  }

  ~fixture() {
    a.reset();
    b.reset();
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  route_options shared() const {
    route_options ropts;
    ropts.shared_ledger = shared_ledger_options{};
    ropts.shared_ledger->owner = owner;
    ropts.shared_ledger->route = route_name;
    return ropts;
  }

  /// A started replica routing POST /pay to `target` through the owner.
  std::unique_ptr<http_service> replica(caf::actor target) {
    auto svc = std::make_unique<http_service>(sys);
    svc->route("POST", "/pay", std::move(target), shared());
    svc->start();
    return svc;
  }

  caf::actor counting(probe_ptr p, std::string tag) {
    spawned.push_back(sys.spawn(counting_actor, std::move(p), std::move(tag)));
    return spawned.back();
  }

  caf::actor held(probe_ptr p) {
    spawned.push_back(sys.spawn(held_actor, std::move(p)));
    return spawned.back();
  }

  ledger_owner_counters counters() {
    ledger_owner_counters out;
    caf::scoped_actor self{sys};
    self->request(owner, bound, stats_atom::value)
      .receive([&](const ledger_owner_counters& c) { out = c; },
               [&](caf::error&) { FAIL("the owner did not answer stats"); });
    return out;
  }
};

http_request pay_request(const std::string& key,
                         std::optional<int> deadline_ms = std::nullopt) {
  auto req = make_request(http::verb::post, "/pay", "10 EUR");
  req.set(std::string{idempotency_key_header}, key);
  if (deadline_ms)
    req.set(std::string{deadline_ms_header}, std::to_string(*deadline_ms));
  req.set(http::field::connection, "close");
  req.prepare_payload();
  return req;
}

/// The raw bytes of the answer (so two replicas' answers compare exactly).
std::future<std::string>
pay_async(const http_service& svc, const std::string& key,
          std::optional<int> deadline_ms = std::nullopt) {
  return std::async(std::launch::async,
                    [port = svc.port(), req = pay_request(key, deadline_ms)] {
                      http_test_client client{port};
                      if (!client.connect() || !client.send(req))
                        return std::string{};
                      return client.read_all();
                    });
}

std::string pay(const http_service& svc, const std::string& key,
                std::optional<int> deadline_ms = std::nullopt) {
  auto f = pay_async(svc, key, deadline_ms);
  if (f.wait_for(bound) != std::future_status::ready)
    return {};
  return f.get();
}

/// Empty when the answer did not come within `bound`.
std::string result_of(std::future<std::string>& f) {
  if (f.wait_for(bound) != std::future_status::ready)
    return {};
  return f.get();
}

/// Polls `pred` without sleeping; false when `bound` passes first.
bool eventually(const std::function<bool()>& pred) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::yield();
  }
  return true;
}

bool starts_with(const std::string& x, std::string_view prefix) {
  return x.rfind(prefix, 0) == 0;
}

bool contains(const std::string& x, std::string_view part) {
  return x.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("two replicas sharing one owner execute a key once, one after the "
          "other, and both answer the recorded bytes",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto pa = std::make_shared<probe>();
  auto pb = std::make_shared<probe>();
  f.a = f.replica(f.counting(pa, "a"));
  f.b = f.replica(f.counting(pb, "b"));

  auto first = pay(*f.a, "order-1");
  auto again_b = pay(*f.b, "order-1");
  auto again_a = pay(*f.a, "order-1");
  REQUIRE(starts_with(first, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(first, "a 1"));
  CHECK(again_b == first);
  CHECK(again_a == first);
  CHECK(pa->count() == 1);
  CHECK(pb->count() == 0);

  // Another key may run on the other replica.
  auto other = pay(*f.b, "order-2");
  CHECK(contains(other, "b 1"));
  CHECK(pb->count() == 1);

  CHECK(f.a->stats().ledger_executed == 1);
  CHECK(f.a->stats().ledger_duplicates == 1);
  CHECK(f.b->stats().ledger_executed == 1);
  CHECK(f.b->stats().ledger_duplicates == 1);
  auto c = f.counters();
  CHECK(c.executes == 2);
  CHECK(c.committed == 2);
  CHECK(c.duplicates == 2);
}

TEST_CASE("concurrent requests for a key on two replicas execute it once and "
          "both get the executor's answer",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto pa = std::make_shared<probe>();
  auto pb = std::make_shared<probe>();
  auto slow = f.held(pa);
  f.a = f.replica(slow);
  f.b = f.replica(f.counting(pb, "b"));

  auto ra = pay_async(*f.a, "k-7");
  REQUIRE(pa->wait_calls(1));
  auto rb = pay_async(*f.b, "k-7");
  auto ra2 = pay_async(*f.a, "k-7");
  REQUIRE(eventually([&] { return f.counters().waits == 2; }));
  caf::anon_send(slow, release_atom::value, std::string{"paid once"});
  auto a = result_of(ra);
  auto b = result_of(rb);
  auto a2 = result_of(ra2);
  REQUIRE(starts_with(a, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(a, "paid once"));
  CHECK(b == a);
  CHECK(a2 == a);
  CHECK(pa->count() == 1);
  CHECK(pb->count() == 0);
  CHECK(f.a->stats().ledger_executed == 1);
  CHECK(f.b->stats().ledger_duplicates == 1);
}

TEST_CASE("when the owner dies, waiting requests are answered 503 at once and "
          "never executed, an executing one 503 after it ran, later ones 503",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto pa = std::make_shared<probe>();
  auto pb = std::make_shared<probe>();
  auto slow = f.held(pa);
  f.a = f.replica(slow);
  f.b = f.replica(f.counting(pb, "b"));

  auto executing = pay_async(*f.a, "k-1");
  REQUIRE(pa->wait_calls(1));
  auto waiting = pay_async(*f.b, "k-1");
  REQUIRE(eventually([&] { return f.counters().waits == 1; }));
  caf::anon_send_exit(f.owner, caf::exit_reason::kill);

  // The waiter is answered while the execution still runs.
  auto w = result_of(waiting);
  REQUIRE(starts_with(w, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(w, "idempotency ledger unreachable"));
  CHECK(contains(w, "Retry-After: 1\r\n"));
  CHECK(executing.wait_for(std::chrono::seconds(0))
        != std::future_status::ready);

  // The execution ends after its owner: its record could not be made
  // durable, so it is not a success.
  caf::anon_send(slow, release_atom::value, std::string{"paid"});
  auto e = result_of(executing);
  REQUIRE(starts_with(e, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(e, "idempotency ledger unreachable"));
  CHECK_FALSE(contains(e, "paid"));

  auto later_b = pay(*f.b, "k-2");
  auto later_a = pay(*f.a, "k-1");
  CHECK(starts_with(later_b, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(later_b, "idempotency ledger unreachable"));
  CHECK(starts_with(later_a, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(pa->count() == 1);
  CHECK(pb->count() == 0);
  CHECK(f.a->stats().ledger_executed == 0);
  CHECK(f.b->stats().ledger_executed == 0);
}

TEST_CASE("when the executing replica's route actor dies, the waiter on the "
          "other replica is told to retry and the key executes once there",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto pa = std::make_shared<probe>();
  auto pb = std::make_shared<probe>();
  auto doomed = f.held(pa);
  f.a = f.replica(doomed);
  f.b = f.replica(f.counting(pb, "b"));

  auto ra = pay_async(*f.a, "k-9");
  REQUIRE(pa->wait_calls(1));
  auto rb = pay_async(*f.b, "k-9");
  REQUIRE(eventually([&] { return f.counters().waits == 1; }));
  caf::anon_send_exit(doomed, caf::exit_reason::kill);

  auto a = result_of(ra);
  auto b = result_of(rb);
  CHECK(starts_with(a, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(a, "route actor is not running"));
  REQUIRE(starts_with(b, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(b, "b 1"));
  CHECK(pb->count() == 1);

  // The key is done now: replica A answers B's recorded bytes.
  auto again = pay(*f.a, "k-9");
  CHECK(again == b);
  auto c = f.counters();
  CHECK(c.executes == 2);
  CHECK(c.retries_told == 1);
  CHECK(c.committed == 1);
}

TEST_CASE("a caller whose deadline passes is answered 504, a waiter's begin "
          "is cancelled at the owner, and the execution is still recorded",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto pa = std::make_shared<probe>();
  auto pb = std::make_shared<probe>();
  auto slow = f.held(pa);
  f.a = f.replica(slow);
  f.b = f.replica(f.counting(pb, "b"));

  auto ra = pay_async(*f.a, "k-5", 300);
  REQUIRE(pa->wait_calls(1));
  auto rb = pay_async(*f.b, "k-5", 300);
  auto a = result_of(ra);
  auto b = result_of(rb);
  CHECK(starts_with(a, "HTTP/1.1 504 Gateway Timeout\r\n"));
  CHECK(starts_with(b, "HTTP/1.1 504 Gateway Timeout\r\n"));
  REQUIRE(eventually([&] { return f.counters().cancels == 1; }));

  // The execution ran on past its caller; its answer is the key's.
  caf::anon_send(slow, release_atom::value, std::string{"paid late"});
  REQUIRE(eventually([&] { return f.counters().committed == 1; }));
  auto again = pay(*f.b, "k-5");
  CHECK(starts_with(again, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(again, "paid late"));
  CHECK(pa->count() == 1);
  CHECK(pb->count() == 0);
  CHECK(f.a->stats().timed_out == 1);
  CHECK(f.b->stats().timed_out == 1);
}

TEST_CASE("a commit the owner refuses as stale is answered 503 retry, not "
          "success",
          "[actors][http][service][shared_ledger]") {
  ledger_config ledger;
  ledger.in_progress_timeout = std::chrono::milliseconds(100);
  fixture f{ledger};
  auto pa = std::make_shared<probe>();
  auto slow = f.held(pa);
  f.a = f.replica(slow);

  auto ra = pay_async(*f.a, "k-3");
  REQUIRE(pa->wait_calls(1));
  REQUIRE(eventually([&] { return f.counters().timeouts == 1; }));
  caf::anon_send(slow, release_atom::value, std::string{"paid"});
  auto a = result_of(ra);
  REQUIRE(starts_with(a, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(a, "retry"));
  CHECK_FALSE(contains(a, "paid"));
  CHECK(f.counters().stale_commits == 1);
  CHECK(f.a->stats().ledger_executed == 0);
}

TEST_CASE("a route with a locator uses no owner until one is found, refuses "
          "a lost owner the locator still returns, and answers from its "
          "successor on the same journal",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  temp_dir dir;
  auto journal = dir.file("pay.journal");
  auto owner_at = [&] {
    ledger_owner_settings s;
    s.route = route_name;
    s.journal_path = journal;
    return s;
  };
  std::mutex mtx;
  caf::actor current;
  auto located = [&](caf::actor x) {
    std::lock_guard<std::mutex> guard{mtx};
    current = std::move(x);
  };
  auto p = std::make_shared<probe>();
  route_options ropts;
  ropts.shared_ledger = shared_ledger_options{};
  ropts.shared_ledger->route = route_name;
  ropts.shared_ledger->locate = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    return current;
  };
  auto svc = std::make_unique<http_service>(f.sys);
  svc->route("POST", "/pay", f.counting(p, "a"), ropts);
  svc->start();

  // Nothing to locate: unreachable, nothing runs.
  auto none = pay(*svc, "k-1");
  CHECK(starts_with(none, "HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(contains(none, "idempotency ledger unreachable"));

  auto first_owner = spawn_ledger_owner(f.sys, owner_at());
  located(first_owner);
  auto first = pay(*svc, "k-1");
  REQUIRE(starts_with(first, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(first, "a 1"));

  // The locator still returns the owner that went down (a node whose link
  // is not down yet): it is not believed.
  caf::anon_send_exit(first_owner, caf::exit_reason::kill);
  CHECK(eventually([&] {
    return contains(pay(*svc, "k-2"), "idempotency ledger unreachable");
  }));
  CHECK(p->count() == 1);

  // Its successor replays the journal (once the first has let go of it).
  caf::actor second_owner;
  REQUIRE(eventually([&] {
    try {
      second_owner = spawn_ledger_owner(f.sys, owner_at());
      return true;
    } catch (const journal_error&) {
      return false;
    }
  }));
  f.spawned.push_back(second_owner);
  located(second_owner);
  CHECK(pay(*svc, "k-1") == first);
  auto second = pay(*svc, "k-2");
  CHECK(starts_with(second, "HTTP/1.1 200 OK\r\n"));
  CHECK(contains(second, "a 2"));
  CHECK(p->count() == 2);
  CHECK(svc->stats().ledger_executed == 2);
  CHECK(svc->stats().ledger_duplicates == 1);
  svc.reset();
}

TEST_CASE("a shared ledger route refuses a local ledger, a journal, "
          "progressive answers, and a missing owner (without a locator) or "
          "route name",
          "[actors][http][service][shared_ledger]") {
  fixture f;
  auto p = std::make_shared<probe>();
  auto target = f.counting(p, "a");
  http_service svc{f.sys};
  auto refused = [&](route_options ropts) {
    CHECK_THROWS_AS(svc.route("POST", "/pay", target, ropts),
                    std::invalid_argument);
  };
  auto with_ledger = f.shared();
  with_ledger.ledger = ledger_config{};
  refused(with_ledger);
  auto with_journal = f.shared();
  with_journal.journal_path = "/nonexistent/journal";
  refused(with_journal);
  auto progressive = f.shared();
  progressive.progressive = progressive_mode::stream;
  refused(progressive);
  auto no_owner = f.shared();
  no_owner.shared_ledger->owner = caf::actor{};
  refused(no_owner);
  // A locator stands in for the owner.
  auto located = no_owner;
  located.shared_ledger->locate = [] { return caf::actor{}; };
  CHECK_NOTHROW(svc.route("POST", "/located", target, located));
  auto no_route = f.shared();
  no_route.shared_ledger->route.clear();
  refused(no_route);
  auto no_time = f.shared();
  no_time.shared_ledger->execution_timeout = std::chrono::milliseconds(0);
  refused(no_time);
  CHECK_NOTHROW(svc.route("POST", "/pay", target, f.shared()));
  // A refused route changes nothing: its path is not served (404, where a
  // path left without methods would answer 405).
  CHECK_THROWS_AS(svc.route("POST", "/other", target, with_ledger),
                  std::invalid_argument);
  svc.start();
  http_test_client client{svc.port()};
  REQUIRE(client.connect());
  auto res = client.roundtrip(make_request(http::verb::get, "/other"));
  REQUIRE(res);
  CHECK(res->result_int() == 404);
}
