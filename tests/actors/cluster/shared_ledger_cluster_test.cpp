// A shared ledger across real processes (bulwark-ledger-peer,
// tests/actors/cluster/ledger_peer.cpp): one owner node with the journal and
// two replica nodes serving HTTP through it, found with `ledger_locator`.
// Clients pay every key until it is answered 200, re-sending on any other
// answer or a lost connection, to either replica, while a replica or the
// owner is SIGKILLed mid-run (the owner then restarted on its journal).
// Checked: every key is answered, every 200 of a key carries the same body,
// a replica that lives answers every request it takes, and the journal holds
// exactly one record per key (the record is the side effect).
// purity: real time — real processes on loopback; waits are bounded.
#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/transport/http_transport.hpp"

#include "tests/actors/http/http_test_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;

namespace {

using namespace std::chrono_literals;

constexpr auto bound = std::chrono::seconds(20);

std::string connect_section() {
  return R"("connect": {"min_backoff": "20ms", "max_backoff": "200ms"})";
}

std::string owner_document(std::uint16_t port) {
  return R"({"dependencies": {}, "cluster": {"node": "ledger",
    "listen": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + "}, " + connect_section() + "}}";
}

std::string replica_document(const std::string& node, std::uint16_t port) {
  return R"({"dependencies": {}, "cluster": {"node": ")" + node
         + R"(", "peers": {"ledger": {"host": "127.0.0.1", "port": )"
         + std::to_string(port) + "}}, " + connect_section() + "}}";
}

/// One bulwark-ledger-peer process; its artifacts (document, log) stay in
/// artifacts/shared_ledger_cluster/<pid>/<name>.*.
struct ledger_node {
  std::unique_ptr<child_process> child;
  std::uint16_t port = 0;

  ledger_node(const std::filesystem::path& dir, const std::string& name,
              const std::string& document, std::vector<std::string> extra,
              const std::string& port_prefix) {
    auto doc = (dir / (name + ".json")).string();
    auto log = (dir / (name + ".log")).string();
    write_file(doc, document);
    std::vector<std::string> argv{BULWARK_LEDGER_PEER, "--document", doc};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = std::make_unique<child_process>(argv, log, child_stdout::pipe);
    auto line = child->read_line_starting(port_prefix, 10s);
    INFO(read_text(log));
    REQUIRE(line);
    port = static_cast<std::uint16_t>(std::stoi(*line));
    REQUIRE(child->read_line_starting("ready", 10s));
  }
};

std::unique_ptr<ledger_node> start_owner(const std::filesystem::path& dir,
                                         const std::string& name,
                                         std::uint16_t port,
                                         const std::string& journal) {
  return std::make_unique<ledger_node>(
    dir, name, owner_document(port),
    std::vector<std::string>{"--role", "owner", "--journal", journal}, "port ");
}

/// A replica of the owner at `owner_port`; its route answers `work_ms`
/// after it starts.
std::unique_ptr<ledger_node> start_replica(const std::filesystem::path& dir,
                                           const std::string& name,
                                           std::uint16_t owner_port,
                                           int work_ms) {
  return std::make_unique<ledger_node>(
    dir, name, replica_document(name, owner_port),
    std::vector<std::string>{"--role", "replica", "--owner-node", "ledger",
                             "--work-ms", std::to_string(work_ms)},
    "http ");
}

/// What one HTTP exchange gave: nothing (connection lost or refused), or
/// the status and body.
struct answer {
  int status = 0;
  std::string body;
};

std::optional<answer> pay_once(std::uint16_t port, const std::string& key) {
  http_test_client client{port, 5s};
  if (!client.connect())
    return std::nullopt;
  auto req = make_request(http::verb::post, "/pay", "10 EUR");
  req.set(std::string{idempotency_key_header}, key);
  req.set(std::string{deadline_ms_header}, "2000");
  req.set(http::field::connection, "close");
  req.prepare_payload();
  if (!client.send(std::move(req)))
    return std::nullopt;
  auto res = client.read_response();
  if (!res)
    return std::nullopt;
  return answer{static_cast<int>(res->result_int()), res->body()};
}

/// The load: `keys` keys paid by `threads` clients, each key re-sent
/// (alternating replicas) until a 200, then once more at the other replica
/// as a duplicate. Records every answer per key and per replica.
struct load {
  std::vector<std::uint16_t> replicas;
  std::mutex mtx;
  std::map<std::string, std::vector<answer>> answers;
  /// Exchanges that gave nothing, per replica index.
  std::vector<int> lost;
  /// Statuses other than 200, 503 and 504.
  std::vector<std::string> unexpected;
  std::map<std::string, bool> done;
  std::atomic<int> completed{0};

  explicit load(std::vector<std::uint16_t> ports)
    : replicas(std::move(ports)),
      lost(replicas.size(), 0) {}

  void run_key(const std::string& key, std::size_t first) {
    auto until = std::chrono::steady_clock::now() + bound;
    for (std::size_t attempt = 0; std::chrono::steady_clock::now() < until;
         ++attempt) {
      auto at = (first + attempt) % replicas.size();
      auto a = pay_once(replicas[at], key);
      std::lock_guard<std::mutex> guard{mtx};
      if (!a) {
        ++lost[at];
        continue;
      }
      answers[key].push_back(*a);
      if (a->status != 200 && a->status != 503 && a->status != 504)
        unexpected.push_back(key + ": " + std::to_string(a->status) + " "
                             + a->body);
      if (a->status == 200) {
        done[key] = true;
        ++completed;
        return;
      }
    }
  }

  void duplicate(const std::string& key, std::size_t at) {
    auto a = pay_once(replicas[at % replicas.size()], key);
    std::lock_guard<std::mutex> guard{mtx};
    if (!a)
      ++lost[at % replicas.size()];
    else
      answers[key].push_back(*a);
  }

  /// Starts the clients; join the returned threads.
  std::vector<std::thread> start(int keys, int threads,
                                 const std::string& prefix) {
    std::vector<std::thread> result;
    for (int t = 0; t < threads; ++t)
      result.emplace_back([this, t, keys, threads, prefix] {
        for (int k = t; k < keys; k += threads) {
          auto key = prefix + std::to_string(k);
          run_key(key, static_cast<std::size_t>(k));
          duplicate(key, static_cast<std::size_t>(k) + 1);
        }
      });
    return result;
  }

  int count_status(int status) {
    std::lock_guard<std::mutex> guard{mtx};
    int n = 0;
    for (auto& [key, list] : answers)
      for (auto& a : list)
        n += a.status == status ? 1 : 0;
    return n;
  }

  bool wait_completed(int n) {
    auto until = std::chrono::steady_clock::now() + bound;
    while (completed.load() < n) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::yield();
    }
    return true;
  }
};

/// Records per key in the owner's journal (read after the owner stopped).
std::map<std::string, int> journal_counts(const std::string& path) {
  journal_replay replayed;
  auto journal = ledger_journal::open(path, replayed);
  std::map<std::string, int> counts;
  for (auto& r : replayed.records)
    ++counts[r.key];
  return counts;
}

/// The checks every run shares.
void check_outcome(load& l, const std::map<std::string, int>& journal, int keys,
                   const std::string& prefix) {
  INFO("unexpected answers: " << l.unexpected.size());
  CHECK(l.unexpected.empty());
  for (int k = 0; k < keys; ++k) {
    auto key = prefix + std::to_string(k);
    INFO("key " << key);
    CHECK(l.done[key]);
    auto i = journal.find(key);
    CHECK((i != journal.end() ? i->second : 0) == 1);
    std::string body;
    for (auto& a : l.answers[key]) {
      if (a.status != 200)
        continue;
      if (body.empty())
        body = a.body;
      CHECK(a.body == body);
    }
  }
  CHECK(journal.size() == static_cast<std::size_t>(keys));
}

} // namespace

TEST_CASE("a replica SIGKILLed mid-run: its keys run once on the other, and "
          "every key has exactly one journal record",
          "[actors][cluster][shared_ledger][processes]") {
  auto dir = artifact_dir("shared_ledger_cluster");
  auto journal = (dir / "pay.journal").string();
  auto owner = start_owner(dir, "owner", 0, journal);
  auto r1 = start_replica(dir, "r1", owner->port, 20);
  auto r2 = start_replica(dir, "r2", owner->port, 20);

  constexpr int keys = 120;
  load l{{r1->port, r2->port}};
  auto clients = l.start(keys, 6, "order-");
  REQUIRE(l.wait_completed(30));
  REQUIRE(r1->child->signal(SIGKILL));
  for (auto& t : clients)
    t.join();
  owner->child->stop();
  r2->child->stop();

  // The kill landed while clients used the replica; the survivor answered
  // every request it took.
  CHECK(l.lost[0] > 0);
  CHECK(l.lost[1] == 0);
  check_outcome(l, journal_counts(journal), keys, "order-");
}

TEST_CASE("the owner SIGKILLed mid-run and restarted on its journal: nothing "
          "executes while it is gone, recorded keys are answered their "
          "record, and every key has exactly one journal record",
          "[actors][cluster][shared_ledger][processes]") {
  auto dir = artifact_dir("shared_ledger_cluster");
  auto journal = (dir / "pay.journal").string();
  auto owner = start_owner(dir, "owner", 0, journal);
  auto port = owner->port;
  auto r1 = start_replica(dir, "r1", port, 20);
  auto r2 = start_replica(dir, "r2", port, 20);

  constexpr int keys = 120;
  load l{{r1->port, r2->port}};
  auto clients = l.start(keys, 6, "order-");
  REQUIRE(l.wait_completed(30));
  REQUIRE(owner->child->signal(SIGKILL));
  REQUIRE(owner->child->wait_for(5s));
  // Same port (the gate reuses the address) and the same journal.
  owner = start_owner(dir, "owner-2", port, journal);
  for (auto& t : clients)
    t.join();
  owner->child->stop();
  r1->child->stop();
  r2->child->stop();

  // Neither replica died: each answered every request it took, and the
  // owner's absence was seen as 503s.
  CHECK(l.lost[0] == 0);
  CHECK(l.lost[1] == 0);
  CHECK(l.count_status(503) > 0);
  check_outcome(l, journal_counts(journal), keys, "order-");
}

TEST_CASE("the owner's process paused past the failure detector, then "
          "resumed: the replica uses the same owner again once the link "
          "is back, and every key has exactly one journal record",
          "[actors][cluster][shared_ledger][processes]") {
  auto dir = artifact_dir("shared_ledger_cluster");
  auto journal = (dir / "pay.journal").string();
  auto owner = start_owner(dir, "owner", 0, journal);
  auto r1 = start_replica(dir, "r1", owner->port, 0);
  auto before = pay_once(r1->port, "before");
  REQUIRE(before);
  CHECK(before->status == 200);

  // Stopped longer than the connection timeout (500 ms): the replica's
  // link goes down and its route loses the owner, answering 503.
  REQUIRE(owner->child->signal(SIGSTOP));
  bool refused = false;
  auto until = std::chrono::steady_clock::now() + bound;
  while (!refused && std::chrono::steady_clock::now() < until) {
    auto a = pay_once(r1->port, "paused");
    refused = a && a->status == 503;
  }
  REQUIRE(owner->child->signal(SIGCONT));
  REQUIRE(refused);

  // The same owner process, a new link: its proxy has the lost one's
  // address (same node, same actor id) and must be used again, not
  // refused as the owner that went down.
  std::optional<answer> after;
  until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    // Each try is a round trip: a 503 at once while the link is down.
    after = pay_once(r1->port, "after");
    if (after && after->status == 200)
      break;
  }
  REQUIRE(after);
  CHECK(after->status == 200);
  auto again = pay_once(r1->port, "before");
  REQUIRE(again);
  CHECK(again->body == before->body);
  owner->child->stop();
  r1->child->stop();

  auto counts = journal_counts(journal);
  CHECK(counts["before"] == 1);
  CHECK(counts["after"] == 1);
  CHECK(counts.count("paused") == 0);
}
