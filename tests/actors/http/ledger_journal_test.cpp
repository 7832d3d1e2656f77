// The ledger journal: records, torn tails, corrupt lines, locks, and a
// service restarted on its journal answering duplicates without executing.
// purity: real time — only the hidden "[.bench]" case, which measures what a
// journal costs per execution (run by hand, never by ctest).
#include "bulwark/actors/http/ledger_journal.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/http/http_service.hpp"
#include "tests/actors/http/http_test_client.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed with its contents.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl =
      (fs::temp_directory_path() / "bulwark-journal-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const char* name) const {
    return (path / name).string();
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << data;
}

journal_record sample(std::string key, std::string body = "{\"ok\":true}") {
  journal_record r;
  r.key = std::move(key);
  r.method = "POST";
  r.path = "/charge";
  r.query = "currency=EUR";
  r.request_body = "{\"amount\":10}";
  r.status = 200;
  r.content_type = "application/json";
  r.headers = {{"X-Call", "1"}, {"Retry-After", "2"}};
  r.body = std::move(body);
  return r;
}

std::string line_of(const journal_record& r) {
  return encode_journal_record(r) + "\n";
}

std::string open_error(const std::string& path) {
  journal_replay replay;
  try {
    ledger_journal::open(path, replay);
  } catch (const journal_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

// -- the file -----------------------------------------------------------------------

TEST_CASE("a journal record survives encoding byte for byte, binary bodies "
          "included, on one line",
          "[actors][http][journal]") {
  auto r = sample("k-1");
  r.body = std::string{"line1\nline2\r\n\0\xff\xfe tail", 20};
  r.request_body = "\"quoted\" \\ \t";
  auto line = encode_journal_record(r);
  CHECK(line.find('\n') == std::string::npos);
  journal_record back;
  std::string error;
  REQUIRE(decode_journal_record(line, back, error));
  CHECK(back == r);
  CHECK(back.body.size() == 20);
}

TEST_CASE("every journal line is valid JSON: fields that are not UTF-8 are "
          "written as base64 objects and read back unchanged",
          "[actors][http][journal]") {
  auto r = sample(std::string{"k-\xff", 3});
  r.body = std::string{"\x00\xff\xfe\xc3\x28 binary", 12};
  r.headers.emplace_back("X-Raw", "\xe2\x82");
  r.query = "caf\xc3\xa9"; // valid UTF-8 stays a readable string
  auto line = encode_journal_record(r);
  json::error_code ec;
  auto v = json::parse(line, ec); // strict: rejects invalid UTF-8
  REQUIRE_FALSE(ec);
  auto& o = v.as_object();
  CHECK(o.at("key") == json::object{{"base64", "ay3/"}});
  CHECK(o.at("body").is_object());
  CHECK(o.at("query") == json::value("caf\xc3\xa9"));
  CHECK(o.at("method") == json::value("POST"));
  journal_record back;
  std::string error;
  REQUIRE(decode_journal_record(line, back, error));
  CHECK(back == r);
}

TEST_CASE("a journal line written before the base64 form, with raw non-UTF-8 "
          "bytes inside strings, is still read",
          "[actors][http][journal]") {
  std::string old_line =
    "{\"key\":\"k\",\"method\":\"POST\",\"path\":\"/charge\",\"query\":\"\","
    "\"request\":\"\xff\",\"status\":200,\"content_type\":\"x\","
    "\"headers\":[[\"X\",\"\xfe\"]],\"body\":\"a\xff\\n\"}";
  journal_record back;
  std::string error;
  REQUIRE(decode_journal_record(old_line, back, error));
  CHECK(back.request_body == "\xff");
  CHECK(back.body == "a\xff\n");
  CHECK(back.headers
        == std::vector<std::pair<std::string, std::string>>{{"X", "\xfe"}});
  // A base64 field that is not base64 names the field.
  auto bad = encode_journal_record(sample("k"));
  auto at = bad.find("\"body\":");
  bad = bad.substr(0, at) + "\"body\":{\"base64\":\"!!\"}}";
  CHECK_FALSE(decode_journal_record(bad, back, error));
  CHECK(error == "field \"body\": \"base64\" is not padded standard base64");
}

TEST_CASE("decoding a bad journal line names what is wrong",
          "[actors][http][journal]") {
  struct row {
    std::string line;
    std::string error;
  };
  auto good = encode_journal_record(sample("k"));
  std::vector<row> rows = {
    {"{\"key\":", "not a JSON record (incomplete JSON)"},
    {"[1,2]", "not a JSON object"},
    {"{}", "field \"key\" missing or not a string"},
    {R"({"key":"","method":"","path":"","query":"","request":"",)"
     R"("content_type":"","body":"","status":200,"headers":[]})",
     "field \"key\" is empty"},
    {R"({"key":"k","method":"","path":"","query":"","request":"",)"
     R"("content_type":"","body":"","status":42,"headers":[]})",
     "field \"status\" missing or not in 100..999"},
    {R"({"key":"k","method":"","path":"","query":"","request":"",)"
     R"("content_type":"","body":"","status":200,"headers":[["a"]]})",
     "field \"headers\" has an element that is not [name, value]"},
    {R"({"key":"k","method":"","path":"","query":"","request":"",)"
     R"("content_type":"","body":"","status":200})",
     "field \"headers\" missing or not an array"},
  };
  for (auto& r : rows) {
    CAPTURE(r.line);
    journal_record out;
    std::string error;
    CHECK_FALSE(decode_journal_record(r.line, out, error));
    CHECK(error == r.error);
  }
  journal_record out;
  std::string error;
  CHECK(decode_journal_record(good, out, error));
}

TEST_CASE("a journal reopened returns every appended record in order",
          "[actors][http][journal]") {
  temp_dir dir;
  auto path = dir.file("charge.journal");
  {
    journal_replay replay;
    auto j = ledger_journal::open(path, replay);
    CHECK(replay.records.empty());
    CHECK(replay.torn_bytes == 0);
    j->append(sample("a"));
    j->append(sample("b", "second"));
    j->append(sample("a", "again"));
    CHECK(j->appended() == 3);
  }
  CHECK(read_file(path)
        == line_of(sample("a")) + line_of(sample("b", "second"))
             + line_of(sample("a", "again")));
  journal_replay replay;
  auto j = ledger_journal::open(path, replay);
  REQUIRE(replay.records.size() == 3);
  CHECK(replay.records[0] == sample("a"));
  CHECK(replay.records[1] == sample("b", "second"));
  CHECK(replay.records[2] == sample("a", "again"));
}

TEST_CASE("a torn last record is dropped and the file truncated to the last "
          "good one",
          "[actors][http][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  auto good = line_of(sample("a")) + line_of(sample("b"));
  auto whole = line_of(sample("c"));
  SECTION("cut before its newline") {
    write_file(path, good + whole.substr(0, whole.size() / 2));
  }
  SECTION("complete record without its newline") {
    write_file(path, good + whole.substr(0, whole.size() - 1));
  }
  SECTION("newline-terminated but bytes missing (power loss)") {
    write_file(path, good + whole.substr(0, 10) + "\n");
  }
  SECTION("zeros after a crash") {
    write_file(path, good + std::string(37, '\0'));
  }
  auto before = read_file(path).size();
  {
    journal_replay replay;
    auto j = ledger_journal::open(path, replay);
    REQUIRE(replay.records.size() == 2);
    CHECK(replay.records[1] == sample("b"));
    CHECK(replay.torn_bytes == before - good.size());
    CHECK(read_file(path) == good);
    // Appends go after the last good record.
    j->append(sample("d"));
  }
  journal_replay replay;
  ledger_journal::open(path, replay);
  REQUIRE(replay.records.size() == 3);
  CHECK(replay.records[2] == sample("d"));
  CHECK(replay.torn_bytes == 0);
}

TEST_CASE("a corrupt record before the last line is an error naming file and "
          "line, and the file is left alone",
          "[actors][http][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  auto data = line_of(sample("a")) + "{\"key\": 1}\n" + line_of(sample("b"));
  write_file(path, data);
  CHECK(open_error(path)
        == "ledger journal " + path
             + ":2: corrupt record: field \"key\" missing or not a string "
               "(only the last record may be torn; refusing to start rather "
               "than forget keys)");
  CHECK(read_file(path) == data);
  write_file(path, "\n" + line_of(sample("a")));
  CHECK(open_error(path)
        == "ledger journal " + path
             + ":1: corrupt record: not a JSON record (incomplete JSON) (only "
               "the last record may be torn; refusing to start rather than "
               "forget keys)");
}

TEST_CASE("a journal is locked: a second open fails until the first closes",
          "[actors][http][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  journal_replay replay;
  auto first = ledger_journal::open(path, replay);
  auto error = open_error(path);
  CHECK(error.rfind("ledger journal " + path + ": locked by another process", 0)
        == 0);
  first.reset();
  CHECK(open_error(path) == "no error");
  CHECK(
    open_error(dir.file("missing-dir/j"))
      .rfind("ledger journal " + dir.file("missing-dir/j") + ": cannot open: ",
             0)
    == 0);
}

// -- the service --------------------------------------------------------------------

namespace {

caf::actor_system_config& init_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

struct replay_log {
  std::vector<std::pair<service_request, service_response>> seen;
};

/// A service with one journaled ledger route POST /charge whose handler
/// counts executions; `on_replay` appends to `log`.
struct charge_service {
  std::atomic<int> executions{0};
  replay_log log;
  std::unique_ptr<http_service> svc;

  charge_service(caf::actor_system& sys, const std::string& journal,
                 bool fail_first = false) {
    svc = std::make_unique<http_service>(sys);
    route_options ropts;
    ropts.ledger = ledger_config{};
    ropts.journal_path = journal;
    ropts.on_replay = [this](const service_request& req,
                             const service_response& res) {
      log.seen.emplace_back(req, res);
    };
    svc->route("POST", "/charge",
               service_function{[this, fail_first](const service_request& req) {
                 auto n = ++executions;
                 if (fail_first && req.idempotency_key == "shed") {
                   auto res = error_reply(503, "shed");
                   res.not_executed = true;
                   return res;
                 }
                 service_response res;
                 res.content_type = "text/plain";
                 res.body = "charged " + req.body + " #" + std::to_string(n);
                 res.headers.emplace_back("X-Execution", std::to_string(n));
                 res.retry_after = std::chrono::seconds(3);
                 return res;
               }},
               ropts);
    svc->start();
  }

  /// The raw bytes of POST /charge?q=1 with `key` and `body`.
  std::string charge(const std::string& key, const std::string& body) {
    auto req = make_request(http::verb::post, "/charge?q=1", body);
    req.set(std::string{idempotency_key_header}, key);
    req.set(http::field::connection, "close");
    req.prepare_payload();
    http_test_client client{svc->port()};
    if (!client.connect() || !client.send(std::move(req)))
      return {};
    return client.read_all();
  }
};

} // namespace

TEST_CASE("a key executed before a restart is answered with the recorded "
          "bytes by a new service on the same journal, without executing",
          "[actors][http][journal][service]") {
  temp_dir dir;
  auto path = dir.file("charge.journal");
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  std::string first_a;
  std::string first_b;
  {
    charge_service one{sys, path};
    first_a = one.charge("order-a", "10");
    first_b = one.charge("order-b", "20");
    REQUIRE(first_a.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(first_a.find("X-Execution: 1\r\n") != std::string::npos);
    CHECK(first_a.find("Retry-After: 3\r\n") != std::string::npos);
    CHECK(one.charge("order-a", "10") == first_a);
    CHECK(one.executions == 2);
    CHECK(one.svc->stats().ledger_journaled == 2);
    CHECK(one.log.seen.empty());
    one.svc->stop();
  }
  charge_service two{sys, path};
  // The replay hook saw each record once, in order, before any request.
  REQUIRE(two.log.seen.size() == 2);
  auto& [req_a, res_a] = two.log.seen[0];
  CHECK(req_a.idempotency_key == "order-a");
  CHECK(req_a.method == "POST");
  CHECK(req_a.path == "/charge");
  CHECK(req_a.query == "q=1");
  CHECK(req_a.body == "10");
  CHECK(req_a.headers.empty());
  CHECK(res_a.status == 200);
  CHECK(res_a.content_type == "text/plain");
  CHECK(res_a.body == "charged 10 #1");
  CHECK(res_a.headers
        == std::vector<std::pair<std::string, std::string>>{
          {"X-Execution", "1"}, {"Retry-After", "3"}});
  CHECK(two.log.seen[1].first.idempotency_key == "order-b");
  CHECK(two.svc->stats().ledger_replayed == 2);

  CHECK(two.charge("order-a", "10") == first_a);
  CHECK(two.charge("order-b", "20") == first_b);
  CHECK(two.executions == 0);
  CHECK(two.svc->stats().ledger_duplicates == 2);
  // A new key executes and is journaled after the replayed ones.
  auto c = two.charge("order-c", "30");
  CHECK(c.find("charged 30 #1") != std::string::npos);
  CHECK(two.executions == 1);
  two.svc->stop();
  journal_replay replay;
  ledger_journal::open(path, replay);
  REQUIRE(replay.records.size() == 3);
  CHECK(replay.records[2].key == "order-c");
  CHECK(replay.records[2].body == "charged 30 #1");
}

TEST_CASE("an answer marked not_executed is not journaled, so after a restart "
          "its key executes",
          "[actors][http][journal][service]") {
  temp_dir dir;
  auto path = dir.file("charge.journal");
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  {
    charge_service one{sys, path, true};
    CHECK(one.charge("shed", "1").rfind("HTTP/1.1 503", 0) == 0);
    CHECK(one.svc->stats().ledger_journaled == 0);
    one.svc->stop();
  }
  CHECK(read_file(path).empty());
  charge_service two{sys, path};
  CHECK(two.log.seen.empty());
  CHECK(two.charge("shed", "1").find("charged 1 #1") != std::string::npos);
  CHECK(two.executions == 1);
}

TEST_CASE("a service refuses a corrupt journal, a locked journal and a "
          "journal without a ledger",
          "[actors][http][journal][service]") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  auto path = dir.file("charge.journal");
  write_file(path, "garbage\n" + line_of(sample("a")));
  CHECK_THROWS_WITH(charge_service(sys, path),
                    "ledger journal " + path
                      + ":1: corrupt record: not a JSON record (syntax error) "
                        "(only the last record may be torn; refusing to start "
                        "rather than forget keys)");
  write_file(path, "");
  {
    charge_service one{sys, path};
    CHECK_THROWS_AS(charge_service(sys, path), journal_error);
  }
  http_service svc{sys};
  route_options ropts;
  ropts.journal_path = path;
  CHECK_THROWS_WITH(
    svc.route("POST", "/x", service_function{[](const service_request&) {
                return service_response{};
              }},
              ropts),
    "http_service: route POST /x has a journal_path but no ledger");
}

TEST_CASE("a torn last record is dropped at start and its key executes again",
          "[actors][http][journal][service]") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  auto path = dir.file("charge.journal");
  auto torn = line_of(sample("torn"));
  write_file(path, line_of(sample("kept")) + torn.substr(0, 30));
  charge_service svc{sys, path};
  REQUIRE(svc.log.seen.size() == 1);
  CHECK(svc.log.seen[0].first.idempotency_key == "kept");
  CHECK(svc.charge("kept", "x").find("{\"ok\":true}") != std::string::npos);
  CHECK(svc.charge("torn", "5").find("charged 5 #1") != std::string::npos);
  CHECK(svc.executions == 1);
}

TEST_CASE("without a journal a ledger route forgets its keys with the service",
          "[actors][http][journal][service]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  charge_service one{sys, ""};
  CHECK(one.charge("k", "1").find("charged 1 #1") != std::string::npos);
  CHECK(one.charge("k", "1").find("charged 1 #1") != std::string::npos);
  CHECK(one.svc->stats().ledger_journaled == 0);
  one.svc->stop();
  charge_service two{sys, ""};
  CHECK(two.charge("k", "1").find("charged 1 #1") != std::string::npos);
  CHECK(two.executions == 1);
}

// Not a test: the cost of durability on this machine (one fdatasync per
// executed key). Run by hand: `actors_http_ledger_journal_test "[.bench]"`.
TEST_CASE("journal cost: executions per second with and without a journal",
          "[.bench][actors][http][journal]") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{init_config(cfg)};
  constexpr int n = 300;
  auto rate = [&](const std::string& path) {
    charge_service svc{sys, path};
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
      svc.charge("k" + std::to_string(i), "1");
    auto secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
        .count();
    return n / secs;
  };
  auto mem = rate("");
  auto durable = rate(dir.file("bench.journal"));
  std::printf("journal cost (%d sequential keyed requests, one connection "
              "each, journal in %s): in memory %.0f/s, journaled %.0f/s\n",
              n, dir.path.c_str(), mem, durable);
  CHECK(durable > 0);
}
