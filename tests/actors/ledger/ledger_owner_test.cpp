// The shared ledger's owner actor under CAF's deterministic scheduler and
// virtual time, with its journal in a real file: execute and commit (one
// durable record), duplicates and waiters, an executor that goes down, an
// execution past in_progress_timeout, a restart from the journal (a new
// epoch), bad input, and a journal write that fails.
#include "bulwark/actors/ledger/ledger_owner.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

const std::string route = "POST /orders";

struct fixture : deterministic_fixture {
  temp_dir dir;
  std::string journal = dir.file("orders.journal");
  std::vector<caf::actor> owners;

  ~fixture() override {
    for (auto& x : owners)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor owner(duration in_progress_timeout = seconds(30)) {
    ledger_owner_settings s;
    s.route = route;
    s.ledger.in_progress_timeout = in_progress_timeout;
    s.journal_path = journal;
    auto hdl = spawn_ledger_owner(sys, s);
    owners.push_back(hdl);
    run();
    return hdl;
  }

  /// Stops `hdl` and waits until it is gone (its journal closed).
  void stop(const caf::actor& hdl) {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    run();
  }

  void begin(const probe& p, const caf::actor& hdl, std::uint64_t id,
             const std::string& key, const std::string& to = route) {
    ledger_begin b;
    b.id = id;
    b.route = to;
    b.key = key;
    b.budget_ns = 1'000'000'000;
    p.send(hdl, ledger_atom::value, b);
    run();
  }

  void commit(const probe& p, const caf::actor& hdl, std::uint64_t id,
              const std::string& key, const ledger_reply& execute,
              bool executed = true) {
    ledger_commit c;
    c.id = id;
    c.route = route;
    c.key = key;
    c.epoch = execute.epoch;
    c.ticket = execute.ticket;
    c.executed = executed;
    c.request.method = "POST";
    c.request.path = "/orders";
    c.request.body = "{\"amount\":5," + key + "}";
    c.request.idempotency_key = key;
    c.response = response_for(key);
    p.send(hdl, commit_atom::value, c);
    run();
  }

  static service_response response_for(const std::string& key) {
    service_response r;
    r.status = 201;
    r.content_type = "application/json";
    r.body = "{\"order\":\"" + key + "\"}";
    r.headers = {{"Location", "/orders/" + key}};
    return r;
  }

  /// The journal's records, as the file holds them now.
  std::vector<journal_record> records() {
    std::vector<journal_record> out;
    auto text = read_file(journal);
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      REQUIRE(end != std::string::npos);
      journal_record r;
      std::string error;
      REQUIRE(decode_journal_record(
        std::string_view{text}.substr(pos, end - pos), r, error));
      out.push_back(std::move(r));
      pos = end + 1;
    }
    return out;
  }
};

/// The owner's counters, asked by a probe of their own.
ledger_owner_counters counters_of(fixture& f, const caf::actor& hdl) {
  auto p = f.make_probe();
  p.request<ledger_owner_counters>(hdl, caf::infinite, stats_atom::value);
  f.run();
  REQUIRE(p.size() == 1);
  REQUIRE(p[0].is<ledger_owner_counters>());
  return p[0].get<ledger_owner_counters>(0);
}

/// Every `(ledger_atom, ledger_reply)` the probe received, in order.
std::vector<ledger_reply> replies(const probe& p) {
  std::vector<ledger_reply> out;
  for (auto& [atom, r] : p.collect<ledger_atom, ledger_reply>()) {
    static_cast<void>(atom);
    out.push_back(r);
  }
  return out;
}

/// Lowers this process's file size limit to `bytes` while it lives, with
/// SIGXFSZ ignored, so the next write past `bytes` fails with EFBIG.
struct file_size_limit {
  rlimit old{};
  void (*old_handler)(int) = nullptr;

  explicit file_size_limit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old);
    old_handler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = old;
    lowered.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lowered);
  }

  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old);
    ::signal(SIGXFSZ, old_handler);
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a first begin executes and its commit is journaled once "
                 "before it is answered committed",
                 "[actors][ledger]") {
  auto o = owner();
  auto p = make_probe();
  begin(p, o, 1, "k1");
  auto rs = replies(p);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].id == 1);
  CHECK(rs[0].verdict == owner_verdict::execute);
  CHECK(rs[0].epoch != 0);
  CHECK(rs[0].ticket != 0);
  CHECK(records().empty());
  commit(p, o, 2, "k1", rs[0]);
  rs = replies(p);
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].id == 2);
  CHECK(rs[1].verdict == owner_verdict::committed);
  CHECK(rs[1].epoch == rs[0].epoch);
  CHECK(rs[1].ticket == rs[0].ticket);
  CHECK(rs[1].recorded == response_for("k1"));
  auto recs = records();
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].key == "k1");
  CHECK(recs[0].method == "POST");
  CHECK(recs[0].path == "/orders");
  CHECK(recs[0].request_body == "{\"amount\":5,k1}");
  CHECK(recs[0].status == 201);
  CHECK(recs[0].content_type == "application/json");
  CHECK(recs[0].body == "{\"order\":\"k1\"}");
  CHECK(recs[0].headers == response_for("k1").headers);
  auto n = counters_of(*this, o);
  CHECK(n.begins == 1);
  CHECK(n.executes == 1);
  CHECK(n.appends == 1);
  CHECK(n.committed == 1);
  CHECK(n.stale_commits == 0);
}

TEST_CASE_METHOD(fixture,
                 "a begin of a committed key gets the recorded response and "
                 "executes nothing",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  auto b = make_probe();
  begin(a, o, 1, "k1");
  commit(a, o, 2, "k1", replies(a).at(0));
  begin(b, o, 7, "k1");
  auto rs = replies(b);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].id == 7);
  CHECK(rs[0].verdict == owner_verdict::duplicate_done);
  CHECK(rs[0].recorded == response_for("k1"));
  CHECK(rs[0].ticket == 0);
  CHECK(records().size() == 1);
  // The executor asking again is a duplicate too.
  begin(a, o, 3, "k1");
  CHECK(replies(a).back().verdict == owner_verdict::duplicate_done);
}

TEST_CASE_METHOD(fixture,
                 "a begin while the key executes waits and gets the recorded "
                 "response when the executor commits",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  auto b = make_probe();
  begin(a, o, 1, "k1");
  begin(b, o, 5, "k1");
  CHECK(replies(b).empty());
  // Retry-After and the do-not-retry marker are recorded as headers, so the
  // executor, the waiter and a replay all get the same answer.
  ledger_commit c;
  c.id = 2;
  c.route = route;
  c.key = "k1";
  c.epoch = replies(a).at(0).epoch;
  c.ticket = replies(a).at(0).ticket;
  c.executed = true;
  c.response = response_for("k1");
  c.response.retry_after = milliseconds(1500);
  c.response.do_not_retry = true;
  a.send(o, commit_atom::value, c);
  run();
  auto expected = response_for("k1");
  expected.headers.emplace_back("Retry-After", "2");
  expected.headers.emplace_back("Bulwark-Do-Not-Retry", "1");
  auto ra = replies(a);
  REQUIRE(ra.size() == 2);
  CHECK(ra[1].verdict == owner_verdict::committed);
  CHECK(ra[1].recorded == expected);
  auto rb = replies(b);
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].id == 5);
  CHECK(rb[0].verdict == owner_verdict::duplicate_done);
  CHECK(rb[0].recorded == expected);
  REQUIRE(records().size() == 1);
  CHECK(records()[0].headers == expected.headers);
}

TEST_CASE_METHOD(fixture,
                 "when the executor goes down its key is abandoned, another "
                 "client's waiter is told retry and the next begin executes",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  auto b = make_probe();
  auto c = make_probe();
  begin(a, o, 1, "k1");
  auto exec = replies(a).at(0);
  REQUIRE(exec.verdict == owner_verdict::execute);
  begin(b, o, 5, "k1");
  CHECK(replies(b).empty());
  // A probe traps ordinary exit messages: `kill` cannot be trapped.
  caf::anon_send_exit(a.handle(), caf::exit_reason::kill);
  run();
  auto rb = replies(b);
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].id == 5);
  CHECK(rb[0].verdict == owner_verdict::retry);
  CHECK_FALSE(rb[0].message.empty());
  begin(b, o, 6, "k1");
  rb = replies(b);
  REQUIRE(rb.size() == 2);
  CHECK(rb[1].verdict == owner_verdict::execute);
  CHECK(rb[1].ticket != exec.ticket);
  // The dead executor's ticket, presented by anyone, records nothing.
  commit(c, o, 9, "k1", exec);
  auto rc = replies(c);
  REQUIRE(rc.size() == 1);
  CHECK(rc[0].verdict == owner_verdict::stale);
  CHECK(records().empty());
  commit(b, o, 7, "k1", rb[1]);
  CHECK(replies(b).back().verdict == owner_verdict::committed);
  CHECK(records().size() == 1);
  auto n = counters_of(*this, o);
  CHECK(n.client_downs == 1);
  CHECK(n.abandoned == 1);
  CHECK(n.retries_told == 1);
  CHECK(n.stale_commits == 1);
  CHECK(n.appends == 1);
}

TEST_CASE_METHOD(fixture,
                 "an execution past in_progress_timeout is released in "
                 "virtual time and its late commit is stale and not "
                 "journaled",
                 "[actors][ledger]") {
  auto o = owner(seconds(1));
  auto a = make_probe();
  auto b = make_probe();
  auto t0 = now();
  begin(a, o, 1, "k1");
  auto exec = replies(a).at(0);
  begin(b, o, 5, "k1");
  advance_time(milliseconds(999));
  CHECK(replies(b).empty());
  advance_time(milliseconds(1));
  auto rb = replies(b);
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].verdict == owner_verdict::retry);
  CHECK(b.messages().back().at == t0 + seconds(1));
  commit(a, o, 2, "k1", exec);
  auto ra = replies(a);
  REQUIRE(ra.size() == 2);
  CHECK(ra[1].id == 2);
  CHECK(ra[1].verdict == owner_verdict::stale);
  CHECK(ra[1].recorded == service_response{});
  CHECK(records().empty());
  // Released: the next begin executes.
  begin(b, o, 6, "k1");
  CHECK(replies(b).back().verdict == owner_verdict::execute);
  auto n = counters_of(*this, o);
  CHECK(n.timeouts == 1);
  CHECK(n.stale_commits == 1);
  CHECK(n.appends == 0);
}

TEST_CASE_METHOD(fixture,
                 "an owner restarted on its journal answers a committed key "
                 "as a duplicate and refuses the old epoch's commit",
                 "[actors][ledger]") {
  auto first = owner();
  auto a = make_probe();
  begin(a, first, 1, "k1");
  commit(a, first, 2, "k1", replies(a).at(0));
  begin(a, first, 3, "k2");
  auto old_exec = replies(a).back();
  REQUIRE(old_exec.verdict == owner_verdict::execute);
  stop(first);
  auto second = owner();
  auto b = make_probe();
  begin(b, second, 1, "k1");
  auto rb = replies(b);
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].verdict == owner_verdict::duplicate_done);
  CHECK(rb[0].recorded == response_for("k1"));
  // k2 was executing at the old owner: its commit carries the old epoch.
  a.clear();
  commit(a, second, 4, "k2", old_exec);
  auto ra = replies(a);
  REQUIRE(ra.size() == 1);
  CHECK(ra[0].verdict == owner_verdict::stale);
  CHECK(records().size() == 1);
  begin(b, second, 2, "k2");
  auto exec = replies(b).back();
  CHECK(exec.verdict == owner_verdict::execute);
  CHECK(exec.epoch != old_exec.epoch);
  CHECK(counters_of(*this, second).replayed == 1);
}

TEST_CASE_METHOD(fixture,
                 "a begin or commit for another route, or with a bad key, is "
                 "answered invalid without quoting it and changes nothing",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  begin(a, o, 1, "k1", "GET /evil<script>");
  begin(a, o, 2, "bad key\r\nX-Injected: 1");
  begin(a, o, 3, "");
  auto rs = replies(a);
  REQUIRE(rs.size() == 3);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    CAPTURE(i);
    CHECK(rs[i].id == i + 1);
    CHECK(rs[i].verdict == owner_verdict::invalid);
    CHECK_FALSE(rs[i].message.empty());
    CHECK(rs[i].message.find("evil") == std::string::npos);
    CHECK(rs[i].message.find("Injected") == std::string::npos);
  }
  begin(a, o, 4, "k1");
  auto exec = replies(a).back();
  REQUIRE(exec.verdict == owner_verdict::execute);
  // A commit naming another route is refused and leaves the key executing.
  ledger_commit c;
  c.id = 5;
  c.route = "GET /evil<script>";
  c.key = "k1";
  c.epoch = exec.epoch;
  c.ticket = exec.ticket;
  c.executed = true;
  c.response = response_for("k1");
  a.send(o, commit_atom::value, c);
  run();
  CHECK(replies(a).back().verdict == owner_verdict::invalid);
  CHECK(replies(a).back().message.find("evil") == std::string::npos);
  CHECK(records().empty());
  commit(a, o, 6, "k1", exec);
  CHECK(replies(a).back().verdict == owner_verdict::committed);
  CHECK(records().size() == 1);
}

TEST_CASE_METHOD(fixture,
                 "a cancelled waiter is never answered and the others still "
                 "are",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  auto b = make_probe();
  begin(a, o, 1, "k1");
  begin(b, o, 5, "k1");
  begin(b, o, 6, "k1");
  b.send(o, cancel_atom::value, std::uint64_t{5});
  run();
  commit(a, o, 2, "k1", replies(a).at(0));
  auto rb = replies(b);
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].id == 6);
  CHECK(rb[0].verdict == owner_verdict::duplicate_done);
}

TEST_CASE_METHOD(fixture,
                 "a journal append that fails stops the owner with an error "
                 "and nothing is answered success",
                 "[actors][ledger]") {
  auto o = owner();
  auto a = make_probe();
  auto b = make_probe();
  auto watcher = make_probe();
  watcher.execute([o](caf::event_based_actor* self) { self->monitor(o); });
  run();
  begin(a, o, 1, "k1");
  commit(a, o, 2, "k1", replies(a).at(0));
  REQUIRE(records().size() == 1);
  begin(a, o, 3, "k2");
  auto exec = replies(a).back();
  REQUIRE(exec.verdict == owner_verdict::execute);
  begin(b, o, 5, "k2");
  a.clear();
  {
    // The journal is exactly at the limit: the record cannot be written.
    file_size_limit limit{std::filesystem::file_size(journal)};
    commit(a, o, 4, "k2", exec);
  }
  CHECK(replies(a).empty());
  CHECK(replies(b).empty());
  REQUIRE(watcher.size() == 1);
  REQUIRE(watcher[0].is<caf::down_msg>());
  auto reason = watcher[0].get<caf::down_msg>(0).reason;
  CHECK(reason == caf::sec::runtime_error);
  CHECK(caf::to_string(reason).find("orders.journal") != std::string::npos);
  // Nothing more is answered: the owner is gone.
  begin(b, o, 6, "k1");
  CHECK(replies(b).empty());
  // A restart on the journal knows k1 and not k2, which executes again.
  REQUIRE(records().size() == 1);
  auto second = owner();
  begin(b, second, 7, "k1");
  begin(b, second, 8, "k2");
  auto rb = replies(b);
  REQUIRE(rb.size() == 2);
  CHECK(rb[0].verdict == owner_verdict::duplicate_done);
  CHECK(rb[1].verdict == owner_verdict::execute);
}

TEST_CASE_METHOD(fixture, "an owner needs a route and a usable journal",
                 "[actors][ledger]") {
  ledger_owner_settings s;
  CHECK_THROWS_AS(spawn_ledger_owner(sys, s), std::invalid_argument);
  auto first = owner();
  s.route = route;
  s.journal_path = journal;
  // The file is locked by the running owner.
  CHECK_THROWS_AS(spawn_ledger_owner(sys, s), journal_error);
  write_file(dir.file("bad.journal"), "not json\n{}\n");
  s.journal_path = dir.file("bad.journal");
  CHECK_THROWS_AS(spawn_ledger_owner(sys, s), journal_error);
}
