#include "bulwark/runtime/ledger/ledger_owner_core.hpp"

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

const time_point t0 = time_point{} + hours(1);

ledger_owner_options small_options(std::uint64_t epoch = 7) {
  ledger_owner_options opts;
  opts.epoch = epoch;
  opts.ledger.max_entries = 4;
  opts.ledger.retention = seconds(10);
  opts.ledger.in_progress_timeout = seconds(2);
  opts.ledger.max_waiters_per_key = 2;
  opts.max_response_bytes = 64;
  return opts;
}

using action = ledger_owner_action;
using kind = ledger_owner_action_kind;

/// The answers in `out` (journal appends left out).
std::vector<action> answers(const ledger_owner_action_list& out) {
  std::vector<action> xs;
  for (const auto& a : out)
    if (a.kind == kind::answer)
      xs.push_back(a);
  return xs;
}

std::vector<action> appends(const ledger_owner_action_list& out) {
  std::vector<action> xs;
  for (const auto& a : out)
    if (a.kind == kind::journal_append)
      xs.push_back(a);
  return xs;
}

/// Begins `key` and returns the single answer (fails if there is none).
action begin_one(ledger_owner_core& core, const std::string& key,
                 ledger_client client, std::uint64_t id, time_point now) {
  ledger_owner_action_list out;
  core.begin(key, client, id, now, out);
  auto xs = answers(out);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].client == client);
  CHECK(xs[0].id == id);
  return xs[0];
}

/// Commits and makes the record durable; returns every answer.
std::vector<action> commit_all(ledger_owner_core& core, const std::string& key,
                               owner_ticket ticket, ledger_client client,
                               std::uint64_t commit_id, ledger_result response,
                               time_point now) {
  ledger_owner_action_list out;
  core.commit(key, ticket, client, commit_id, true, response, now, out);
  auto xs = appends(out);
  REQUIRE(xs.size() == 1);
  ledger_owner_action_list done;
  REQUIRE(core.committed(key, ticket, now, done));
  return answers(done);
}

/// Waits are invisible: the begin must produce no action at all.
void begin_waits(ledger_owner_core& core, const std::string& key,
                 ledger_client client, std::uint64_t id, time_point now) {
  ledger_owner_action_list out;
  core.begin(key, client, id, now, out);
  CHECK(out.empty());
}

void check_idle(const ledger_owner_core& core) {
  CHECK(core.in_progress() == 0);
  CHECK(core.committing() == 0);
  CHECK(core.waiting() == 0);
  CHECK(core.clients() == 0);
  CHECK(core.ledger().in_progress() == 0);
  CHECK(core.ledger().waiting() == 0);
}

} // namespace

TEST_CASE("every owner verdict and action kind has a name",
          "[runtime][ledger][owner]") {
  CHECK(to_string(owner_verdict::execute) == "execute");
  CHECK(to_string(owner_verdict::duplicate_done) == "duplicate_done");
  CHECK(to_string(owner_verdict::rejected_full) == "rejected_full");
  CHECK(to_string(owner_verdict::invalid) == "invalid");
  CHECK(to_string(owner_verdict::retry) == "retry");
  CHECK(to_string(owner_verdict::committed) == "committed");
  CHECK(to_string(owner_verdict::stale) == "stale");
  CHECK(to_string(kind::answer) == "answer");
  CHECK(to_string(kind::journal_append) == "journal_append");
}

TEST_CASE("a first begin executes under this epoch, its commit is journaled "
          "before anyone is answered, and a later begin gets the record",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options(7)};
  CHECK(core.epoch() == 7);
  auto ex = begin_one(core, "k", 1, 10, t0);
  CHECK(ex.verdict == owner_verdict::execute);
  CHECK(ex.ticket.epoch == 7);
  CHECK(ex.ticket.counter != 0);
  ledger_owner_action_list out;
  core.commit("k", ex.ticket, 1, 500, true, {201, "charged"}, t0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == kind::journal_append);
  CHECK(out[0].key == "k");
  CHECK(out[0].ticket == ex.ticket);
  CHECK(out[0].response == ledger_result{201, "charged"});
  CHECK(core.committing() == 1);
  // Until the record is durable nobody hears of it: a duplicate waits.
  begin_waits(core, "k", 2, 20, t0);
  ledger_owner_action_list done;
  REQUIRE(core.committed("k", ex.ticket, t0, done));
  auto xs = answers(done);
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].client == 1);
  CHECK(xs[0].id == 500);
  CHECK(xs[0].verdict == owner_verdict::committed);
  CHECK(xs[0].response == ledger_result{201, "charged"});
  CHECK(xs[1].client == 2);
  CHECK(xs[1].id == 20);
  CHECK(xs[1].verdict == owner_verdict::duplicate_done);
  CHECK(xs[1].response == ledger_result{201, "charged"});
  auto dup = begin_one(core, "k", 3, 30, t0 + seconds(1));
  CHECK(dup.verdict == owner_verdict::duplicate_done);
  CHECK(dup.response == ledger_result{201, "charged"});
  check_idle(core);
  CHECK(core.counters().begins == 3);
  CHECK(core.counters().executes == 1);
  CHECK(core.counters().waits == 1);
  CHECK(core.counters().duplicates == 2);
  CHECK(core.counters().appends == 1);
  CHECK(core.counters().committed == 1);
}

TEST_CASE("waiters beyond max_waiters_per_key and new keys on a ledger full "
          "of executions are rejected",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 2, t0);
  begin_waits(core, "k", 3, 3, t0);
  auto full = begin_one(core, "k", 4, 4, t0);
  CHECK(full.verdict == owner_verdict::rejected_full);
  CHECK_FALSE(full.message.empty());
  begin_one(core, "a", 1, 5, t0);
  begin_one(core, "b", 1, 6, t0);
  begin_one(core, "c", 1, 7, t0);
  CHECK(begin_one(core, "d", 1, 8, t0).verdict == owner_verdict::rejected_full);
  CHECK(core.counters().rejections == 2);
  CHECK(core.waiting() == 2);
}

TEST_CASE("a malformed begin is invalid and changes nothing",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  for (std::string key : {std::string{}, std::string{"a b"},
                          std::string{"k\r\nX: y"}, std::string(256, 'k')}) {
    auto a = begin_one(core, key, 1, 1, t0);
    CHECK(a.verdict == owner_verdict::invalid);
    // The text never quotes the key.
    CHECK(a.message.find("X: y") == std::string_view::npos);
  }
  CHECK(core.ledger().size() == 0);
  begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 9, t0);
  SECTION("a waiter id already waiting from the same client") {
    auto again = begin_one(core, "k", 2, 9, t0);
    CHECK(again.verdict == owner_verdict::invalid);
    CHECK(core.waiting() == 1);
  }
  SECTION("the same waiter id from another client is another waiter") {
    begin_waits(core, "k", 3, 9, t0);
    CHECK(core.waiting() == 2);
  }
  CHECK(core.counters().invalid >= 4);
}

TEST_CASE("an executor that did not execute abandons the key: waiters are "
          "told to retry and its ticket is dead",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 2, t0);
  ledger_owner_action_list out;
  core.commit("k", ex.ticket, 1, 100, false, {}, t0, out);
  auto xs = answers(out);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].client == 2);
  CHECK(xs[0].id == 2);
  CHECK(xs[0].verdict == owner_verdict::retry);
  CHECK(appends(out).empty());
  check_idle(core);
  out.clear();
  core.commit("k", ex.ticket, 1, 101, true, {200, "late"}, t0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].verdict == owner_verdict::stale);
  CHECK(out[0].id == 101);
  CHECK(core.counters().stale_commits == 1);
  CHECK(core.counters().abandoned == 1);
  CHECK(core.counters().retries_told == 1);
  // The retry executes under a new ticket.
  auto again = begin_one(core, "k", 2, 3, t0);
  CHECK(again.verdict == owner_verdict::execute);
  CHECK(again.ticket != ex.ticket);
}

TEST_CASE("a client that goes down loses its tickets and its waiters, and "
          "the other clients' waiters of its keys are told to retry",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto k = begin_one(core, "k", 1, 1, t0);
  auto j = begin_one(core, "j", 3, 2, t0);
  begin_waits(core, "k", 2, 3, t0);
  begin_waits(core, "j", 1, 4, t0);
  ledger_owner_action_list out;
  core.client_down(1, t0, out);
  auto xs = answers(out);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].client == 2);
  CHECK(xs[0].id == 3);
  CHECK(xs[0].verdict == owner_verdict::retry);
  CHECK(core.counters().client_downs == 1);
  CHECK(core.counters().dropped_waiters == 1);
  CHECK(core.waiting() == 0);
  // Its late commit (a resumed process, or the index given to a new client)
  // is refused and not journaled.
  out.clear();
  core.commit("k", k.ticket, 1, 100, true, {200, "late"}, t0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].verdict == owner_verdict::stale);
  // Its waiter on j is not answered when j commits.
  auto ys = commit_all(core, "j", j.ticket, 3, 101, {200, "j"}, t0);
  REQUIRE(ys.size() == 1);
  CHECK(ys[0].client == 3);
  CHECK(ys[0].verdict == owner_verdict::committed);
  check_idle(core);
}

TEST_CASE("an executor slower than in_progress_timeout loses its key exactly "
          "at the timeout and its late commit is stale",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 2, t0 + seconds(1));
  CHECK(core.next_expiry() == t0 + seconds(2));
  SECTION("released by advance") {
    ledger_owner_action_list out;
    core.advance(t0 + seconds(2) - nanoseconds(1), out);
    CHECK(out.empty());
    CHECK(core.in_progress() == 1);
    core.advance(t0 + seconds(2), out);
    auto xs = answers(out);
    REQUIRE(xs.size() == 1);
    CHECK(xs[0].id == 2);
    CHECK(xs[0].verdict == owner_verdict::retry);
    check_idle(core);
    out.clear();
    core.commit("k", ex.ticket, 1, 100, true, {200, "slow"}, t0 + seconds(3),
                out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].verdict == owner_verdict::stale);
  }
  SECTION("released by the commit itself when no timer ran") {
    ledger_owner_action_list out;
    core.commit("k", ex.ticket, 1, 100, true, {200, "slow"}, t0 + seconds(2),
                out);
    auto xs = answers(out);
    REQUIRE(xs.size() == 2);
    CHECK(xs[0].verdict == owner_verdict::retry);
    CHECK(xs[1].verdict == owner_verdict::stale);
    CHECK(appends(out).empty());
  }
  CHECK(core.counters().timeouts == 1);
  CHECK(core.counters().abandoned == 1);
  CHECK(core.counters().stale_commits == 1);
}

TEST_CASE("a commit with the key's ticket from another client, or a second "
          "commit while the append is pending, is stale",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  ledger_owner_action_list out;
  core.commit("k", ex.ticket, 2, 100, true, {200, "other"}, t0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].verdict == owner_verdict::stale);
  CHECK(out[0].client == 2);
  out.clear();
  core.commit("k", ex.ticket, 1, 101, true, {200, "mine"}, t0, out);
  REQUIRE(appends(out).size() == 1);
  out.clear();
  core.commit("k", ex.ticket, 1, 102, true, {200, "again"}, t0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].verdict == owner_verdict::stale);
  CHECK(out[0].id == 102);
  CHECK(core.counters().appends == 1);
  CHECK(core.counters().stale_commits == 2);
}

TEST_CASE("a key whose append is pending survives its executor's timeout and "
          "client_down, and completes without answering a downed executor",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  ledger_owner_action_list out;
  core.commit("k", ex.ticket, 1, 100, true, {200, "ok"}, t0, out);
  REQUIRE(appends(out).size() == 1);
  out.clear();
  core.advance(t0 + seconds(5), out);
  CHECK(out.empty());
  begin_waits(core, "k", 2, 2, t0 + seconds(5));
  core.client_down(1, t0 + seconds(5), out);
  CHECK(out.empty());
  CHECK(core.in_progress() == 1);
  REQUIRE(core.committed("k", ex.ticket, t0 + seconds(6), out));
  auto xs = answers(out);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].client == 2);
  CHECK(xs[0].verdict == owner_verdict::duplicate_done);
  CHECK(xs[0].response == ledger_result{200, "ok"});
  check_idle(core);
  out.clear();
  CHECK_FALSE(core.committed("k", ex.ticket, t0 + seconds(6), out));
  CHECK(out.empty());
}

TEST_CASE("a cancelled waiter is never answered and frees its place",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 2, t0);
  begin_waits(core, "k", 3, 3, t0);
  CHECK(core.cancel(2, 2));
  CHECK_FALSE(core.cancel(2, 2));
  CHECK_FALSE(core.cancel(9, 3));
  begin_waits(core, "k", 4, 4, t0);
  auto xs = commit_all(core, "k", ex.ticket, 1, 100, {200, "ok"}, t0);
  REQUIRE(xs.size() == 3);
  for (const auto& a : xs)
    CHECK(a.client != 2);
  CHECK(core.counters().cancels == 1);
  check_idle(core);
}

TEST_CASE("a response over the bounds is invalid, abandons the key and is not "
          "journaled",
          "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  auto ex = begin_one(core, "k", 1, 1, t0);
  begin_waits(core, "k", 2, 2, t0);
  ledger_result bad;
  SECTION("status") {
    bad = {42, "x"};
  }
  SECTION("body") {
    bad = {200, std::string(65, 'b')};
  }
  ledger_owner_action_list out;
  core.commit("k", ex.ticket, 1, 100, true, bad, t0, out);
  CHECK(appends(out).empty());
  auto xs = answers(out);
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].verdict == owner_verdict::invalid);
  CHECK(xs[0].id == 100);
  CHECK(xs[1].verdict == owner_verdict::retry);
  check_idle(core);
}

TEST_CASE("after a restart from the journal with a new epoch, an old ticket "
          "never commits and recorded keys answer with their bytes",
          "[runtime][ledger][owner]") {
  std::vector<std::pair<std::string, ledger_result>> journal;
  owner_ticket old_j;
  {
    ledger_owner_core a{small_options(7)};
    auto k = begin_one(a, "k", 1, 1, t0);
    ledger_owner_action_list out;
    a.commit("k", k.ticket, 1, 100, true, {201, "k-bytes"}, t0, out);
    for (const auto& x : appends(out))
      journal.emplace_back(x.key, x.response);
    old_j = begin_one(a, "j", 1, 2, t0).ticket;
    // The owner dies here: k's record is durable, j never committed.
  }
  ledger_owner_core b{small_options(8)};
  for (const auto& [key, response] : journal)
    CHECK(b.replay(key, response, t0 + seconds(1)));
  CHECK(b.counters().replayed == 1);
  auto dup = begin_one(b, "k", 2, 3, t0 + seconds(1));
  CHECK(dup.verdict == owner_verdict::duplicate_done);
  CHECK(dup.response == ledger_result{201, "k-bytes"});
  auto j = begin_one(b, "j", 1, 4, t0 + seconds(1));
  REQUIRE(j.verdict == owner_verdict::execute);
  CHECK(j.ticket.epoch == 8);
  // The same counter under the old epoch must not match the new execution.
  owner_ticket forged{old_j.epoch, j.ticket.counter};
  ledger_owner_action_list out;
  b.commit("j", forged, 1, 101, true, {200, "old"}, t0 + seconds(1), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].verdict == owner_verdict::stale);
  b.commit("j", old_j, 1, 102, true, {200, "old"}, t0 + seconds(1), out);
  CHECK(appends(out).empty());
  CHECK(b.counters().stale_commits == 2);
  CHECK(b.in_progress() == 1);
}

TEST_CASE("replay keeps the last record of a key", "[runtime][ledger][owner]") {
  ledger_owner_core core{small_options()};
  CHECK(core.replay("k", {200, "first"}, t0));
  CHECK(core.replay("k", {200, "second"}, t0));
  CHECK(begin_one(core, "k", 1, 1, t0).response
        == ledger_result{200, "second"});
}

// -- property test -------------------------------------------------------------

namespace {

/// One seeded schedule against the core, with a model of the clients, the
/// journal (what is durable) and owner restarts. Returns the first broken
/// rule, or an empty string.
struct schedule {
  static constexpr int keys = 6;
  static constexpr ledger_client clients = 4;
  static constexpr std::uint64_t commit_base = std::uint64_t{1} << 40;

  struct begin_rec {
    ledger_client client = 0;
    std::uint64_t incarnation = 0;
    std::string key;
    int answers = 0;
    /// Its client went down, it was cancelled, or its owner died.
    bool excused = false;
  };

  struct commit_rec {
    ledger_client client = 0;
    std::uint64_t incarnation = 0;
    std::string key;
    bool executed = true;
    int answers = 0;
    bool excused = false;
  };

  struct holding {
    ledger_client client = 0;
    std::string key;
    owner_ticket ticket;
  };

  struct append {
    std::string key;
    owner_ticket ticket;
    ledger_result response;
  };

  explicit schedule(std::uint64_t seed) : gen(seed) {
    start_owner();
  }

  rng gen;
  time_point now = t0;
  std::unique_ptr<ledger_owner_core> core;
  ledger_owner_action_list out;
  std::vector<std::pair<std::string, ledger_result>> journal;
  std::map<std::string, int> records;
  std::map<std::uint64_t, begin_rec> begins;
  std::map<std::uint64_t, commit_rec> commits;
  std::vector<holding> held;
  std::vector<append> pending; // appends asked for, not yet written
  std::vector<append> written; // durable, `committed` not yet called
  std::uint64_t incarnation[clients] = {};
  std::uint64_t next_begin = 1;
  std::uint64_t next_commit = commit_base;
  std::string failure;
  ledger_owner_counters totals;
  int restarts = 0;

  void fail(const std::string& what) {
    if (failure.empty())
      failure = what;
  }

  std::size_t pick(std::size_t n) {
    return static_cast<std::size_t>(gen() % n);
  }

  void start_owner() {
    if (core)
      accumulate();
    ledger_owner_options opts;
    opts.epoch = gen() | 1;
    opts.ledger.max_entries = keys;
    opts.ledger.in_progress_timeout = seconds(2);
    opts.ledger.max_waiters_per_key = 2;
    core = std::make_unique<ledger_owner_core>(opts);
    for (const auto& [key, response] : journal)
      if (!core->replay(key, response, now))
        fail("replay refused a record");
  }

  void accumulate() {
    const auto& c = core->counters();
    totals.stale_commits += c.stale_commits;
    totals.timeouts += c.timeouts;
    totals.retries_told += c.retries_told;
    totals.rejections += c.rejections;
    totals.cancels += c.cancels;
    totals.client_downs += c.client_downs;
    totals.committed += c.committed;
    totals.duplicates += c.duplicates;
    totals.dropped_waiters += c.dropped_waiters;
  }

  const ledger_result* record_of(const std::string& key) const {
    for (const auto& r : journal)
      if (r.first == key)
        return &r.second;
    return nullptr;
  }

  void handle() {
    for (const auto& a : out) {
      if (a.kind == kind::journal_append) {
        if (a.ticket.epoch != core->epoch())
          fail("append under another epoch");
        pending.push_back({a.key, a.ticket, a.response});
        continue;
      }
      if (a.id >= commit_base) {
        auto it = commits.find(a.id);
        if (it == commits.end()) {
          fail("answer to an unknown commit");
          continue;
        }
        auto& c = it->second;
        if (c.client != a.client)
          fail("commit answered to another client");
        if (++c.answers > 1)
          fail("commit answered twice");
        if (c.excused)
          fail("commit answered after its client went down");
        if (!c.executed)
          fail("an abandon was answered");
        if (a.verdict == owner_verdict::committed) {
          auto r = record_of(c.key);
          if (r == nullptr || *r != a.response)
            fail("committed without the durable record");
        } else if (a.verdict != owner_verdict::stale
                   && a.verdict != owner_verdict::invalid) {
          fail("commit answered " + to_string(a.verdict));
        }
        continue;
      }
      auto it = begins.find(a.id);
      if (it == begins.end()) {
        fail("answer to an unknown begin");
        continue;
      }
      auto& b = it->second;
      if (b.client != a.client)
        fail("begin answered to another client");
      if (++b.answers > 1)
        fail("begin answered twice");
      if (b.excused)
        fail("begin answered after it was cancelled or its client went "
             "down");
      switch (a.verdict) {
        case owner_verdict::execute:
          if (a.ticket.epoch != core->epoch())
            fail("execute under another epoch");
          held.push_back({b.client, b.key, a.ticket});
          break;
        case owner_verdict::duplicate_done: {
          auto r = record_of(b.key);
          if (r == nullptr || *r != a.response)
            fail("duplicate_done without the durable record's bytes");
          break;
        }
        case owner_verdict::rejected_full:
        case owner_verdict::retry:
          break;
        default:
          fail("begin answered " + to_string(a.verdict));
      }
    }
    out.clear();
  }

  void do_begin() {
    auto client = static_cast<ledger_client>(pick(clients));
    auto key = "k" + std::to_string(pick(keys));
    auto id = next_begin++;
    begins[id] = begin_rec{client, incarnation[client], key, 0, false};
    core->begin(key, client, id, now, out);
    handle();
  }

  void do_commit(bool drain) {
    if (held.empty())
      return;
    auto i = pick(held.size());
    auto h = held[i];
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    bool executed = drain || pick(10) != 0;
    auto id = next_commit++;
    commits[id] =
      commit_rec{h.client, incarnation[h.client], h.key, executed, 0, false};
    ledger_result response{200, h.key + "@" + std::to_string(h.ticket.epoch)
                                  + "." + std::to_string(h.ticket.counter)};
    core->commit(h.key, h.ticket, h.client, id, executed, response, now, out);
    handle();
  }

  void write(append a) {
    if (++records[a.key] > 1)
      fail("a second record for " + a.key);
    journal.emplace_back(a.key, a.response);
    written.push_back(std::move(a));
  }

  void do_write() {
    if (pending.empty())
      return;
    auto i = pick(pending.size());
    auto a = pending[i];
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    write(std::move(a));
    if (pick(4) != 0)
      do_committed(written.size() - 1);
  }

  void do_committed(std::size_t i) {
    if (i >= written.size())
      return;
    auto a = written[i];
    written.erase(written.begin() + static_cast<std::ptrdiff_t>(i));
    if (!core->committed(a.key, a.ticket, now, out))
      fail("committed refused a pending append");
    handle();
  }

  void excuse_client(ledger_client client) {
    for (auto& [id, b] : begins)
      if (b.client == client && b.incarnation == incarnation[client]
          && b.answers == 0)
        b.excused = true;
    for (auto& [id, c] : commits)
      if (c.client == client && c.incarnation == incarnation[client]
          && c.answers == 0)
        c.excused = true;
    ++incarnation[client];
  }

  void do_client_down() {
    auto client = static_cast<ledger_client>(pick(clients));
    excuse_client(client);
    // Its tickets stay in `held`: the index is reused by a new client (or
    // the old process resumes) and may commit them late; they must be stale.
    core->client_down(client, now, out);
    handle();
  }

  void do_cancel() {
    std::vector<std::uint64_t> open;
    for (const auto& [id, b] : begins)
      if (b.answers == 0 && !b.excused)
        open.push_back(id);
    if (open.empty())
      return;
    auto id = open[pick(open.size())];
    auto& b = begins[id];
    if (!core->cancel(b.client, id))
      fail("an unanswered begin was not waiting");
    b.excused = true;
  }

  void do_restart() {
    ++restarts;
    // Each append asked for is durable or lost, at random.
    for (auto& a : pending)
      if (pick(2) == 0)
        write(a);
    pending.clear();
    written.clear();
    for (auto& [id, b] : begins)
      if (b.answers == 0)
        b.excused = true;
    for (auto& [id, c] : commits)
      if (c.answers == 0)
        c.excused = true;
    start_owner();
  }

  void step() {
    auto r = pick(100);
    if (r < 35)
      do_begin();
    else if (r < 55)
      do_commit(false);
    else if (r < 70)
      do_write();
    else if (r < 75)
      do_committed(written.empty() ? 0 : pick(written.size()));
    else if (r < 80)
      do_client_down();
    else if (r < 85)
      do_cancel();
    else if (r < 98) {
      now += milliseconds(static_cast<int>(pick(1500)));
      core->advance(now, out);
      handle();
    } else {
      do_restart();
    }
  }

  void drain() {
    while (!held.empty() || !pending.empty() || !written.empty()) {
      while (!written.empty())
        do_committed(0);
      while (!pending.empty()) {
        auto a = pending.front();
        pending.erase(pending.begin());
        write(std::move(a));
        do_committed(written.size() - 1);
      }
      do_commit(true);
    }
    now += seconds(3);
    core->advance(now, out);
    handle();
    for (const auto& [id, b] : begins)
      if (!b.excused && b.answers != 1)
        fail("begin " + std::to_string(id) + " answered "
             + std::to_string(b.answers) + " times");
    for (const auto& [id, c] : commits)
      if (c.executed && !c.excused && c.answers != 1)
        fail("commit " + std::to_string(id) + " answered "
             + std::to_string(c.answers) + " times");
    if (core->in_progress() != 0 || core->waiting() != 0 || core->clients() != 0
        || core->committing() != 0 || core->ledger().in_progress() != 0
        || core->ledger().waiting() != 0)
      fail("state left after the drain");
    accumulate();
  }
};

std::uint64_t base_seed() {
  if (const char* s = std::getenv("BULWARK_SEED"))
    return std::strtoull(s, nullptr, 10);
  return 20261207;
}

} // namespace

TEST_CASE("over seeded schedules of begins, commits with and without the "
          "journal step, client downs, cancels, timeouts and owner restarts, "
          "each key has at most one record and every begin is answered "
          "exactly once unless excused",
          "[runtime][ledger][owner][random]") {
  auto base = base_seed();
  ledger_owner_counters totals;
  int restarts = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto seed = base + i;
    schedule s{seed};
    for (int n = 0; n < 200 && s.failure.empty(); ++n)
      s.step();
    if (s.failure.empty())
      s.drain();
    if (!s.failure.empty())
      FAIL("seed " << seed << " (rerun: BULWARK_SEED=" << seed
                   << "): " << s.failure);
    totals.stale_commits += s.totals.stale_commits;
    totals.timeouts += s.totals.timeouts;
    totals.retries_told += s.totals.retries_told;
    totals.rejections += s.totals.rejections;
    totals.cancels += s.totals.cancels;
    totals.client_downs += s.totals.client_downs;
    totals.committed += s.totals.committed;
    totals.duplicates += s.totals.duplicates;
    totals.dropped_waiters += s.totals.dropped_waiters;
    restarts += s.restarts;
  }
  INFO("stale " << totals.stale_commits << " timeouts " << totals.timeouts
                << " retries " << totals.retries_told << " rejections "
                << totals.rejections << " cancels " << totals.cancels
                << " downs " << totals.client_downs << " committed "
                << totals.committed << " dups " << totals.duplicates
                << " dropped " << totals.dropped_waiters << " restarts "
                << restarts);
  // The schedules reached every path they are meant to test.
  CHECK(totals.stale_commits > 100);
  CHECK(totals.timeouts > 100);
  CHECK(totals.retries_told > 100);
  CHECK(totals.rejections > 100);
  CHECK(totals.cancels > 100);
  CHECK(totals.client_downs > 100);
  CHECK(totals.committed > 1000);
  CHECK(totals.duplicates > 1000);
  CHECK(totals.dropped_waiters > 10);
  CHECK(restarts > 100);
}
