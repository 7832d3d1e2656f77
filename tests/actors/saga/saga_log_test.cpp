// The saga log: every record kind as one line of valid JSON, decoding
// errors, grouping by saga at open, configuration mismatches, torn tails.
#include "bulwark/actors/saga/saga_log.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

using namespace bulwark;
using namespace bulwark::testing;
namespace json = boost::json;

namespace {

saga_config checkout_config() {
  saga_config cfg;
  cfg.steps = {
    {"reserve", true, 1}, {"charge", true, 1}, {"confirm", false, 5}};
  return cfg;
}

saga_log_entry entry(std::string id, saga_record_kind kind,
                     std::uint32_t step = 0, std::uint32_t attempt = 0,
                     saga_verdict v = saga_verdict::done,
                     std::string data = {}) {
  saga_log_entry e;
  e.saga_id = std::move(id);
  e.record.kind = kind;
  e.record.step = step;
  e.record.attempt = attempt;
  e.record.verdict = v;
  e.record.data = std::move(data);
  return e;
}

saga_log_entry finished(std::string id, saga_status status) {
  auto e = entry(std::move(id), saga_record_kind::finished);
  e.record.outcome.status = status;
  e.record.outcome.steps = {{"reserve", "r1"}};
  e.record.outcome.compensations = {{"reserve", std::string{"\xff\x00", 2}}};
  e.record.outcome.failure = "charge try 1: unknown";
  e.record.outcome.failed_step = "charge";
  return e;
}

std::string lines_of(const saga_config& cfg,
                     const std::vector<saga_log_entry>& xs) {
  std::string out;
  for (auto& x : xs)
    out += encode_saga_log_entry(cfg, x) + "\n";
  return out;
}

std::string open_error(const std::string& path, const saga_config& cfg) {
  saga_log_replay replay;
  try {
    saga_log::open(path, cfg, replay);
  } catch (const saga_log_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("every saga record is one line of strictly valid JSON and decodes "
          "back unchanged, binary data included",
          "[actors][saga][log]") {
  auto cfg = checkout_config();
  using k = saga_record_kind;
  std::vector<saga_log_entry> all = {
    entry("o-1", k::started, 0, 0, saga_verdict::done,
          std::string{"{\"sku\":1}\n\x01\xfe", 12}),
    entry("o-1", k::step_started, 1, 1),
    entry("o-1", k::step_result, 1, 1, saga_verdict::unknown, "timeout"),
    entry("o-1", k::compensation_started, 1, 2),
    entry("o-1", k::compensation_result, 1, 2, saga_verdict::not_executed,
          std::string{"\xc3\x28", 2}),
    finished("o-1", saga_status::compensation_failed),
  };
  for (auto& x : all) {
    auto line = encode_saga_log_entry(cfg, x);
    CAPTURE(line);
    CHECK(line.find('\n') == std::string::npos);
    json::error_code ec;
    json::parse(line, ec); // strict: valid UTF-8 only
    CHECK_FALSE(ec);
    saga_log_entry back;
    std::string error;
    REQUIRE(decode_saga_log_entry(cfg, line, back, error));
    CHECK(back.saga_id == x.saga_id);
    CHECK(back.record == x.record);
  }
  CHECK(encode_saga_log_entry(cfg, all[1])
        == R"({"saga":"o-1","event":"step_started","step":"charge","try":1})");
  CHECK(encode_saga_log_entry(cfg, all[2])
        == R"({"saga":"o-1","event":"step_result","step":"charge","try":1,)"
           R"("verdict":"unknown","data":"timeout"})");
}

TEST_CASE("decoding a bad saga log line names what is wrong",
          "[actors][saga][log]") {
  auto cfg = checkout_config();
  std::vector<std::pair<std::string, std::string>> rows = {
    {"{\"saga\":", "not a JSON record (incomplete JSON)"},
    {"[1]", "not a JSON object"},
    {R"({"event":"started"})", "field \"saga\" missing"},
    {R"({"saga":"","event":"started","input":""})", "field \"saga\" is empty"},
    {R"({"saga":"a","event":"begun"})",
     "field \"event\" missing or not a saga event"},
    {R"({"saga":"a","event":"started"})", "field \"input\" missing"},
    {R"({"saga":"a","event":"step_started","try":1})",
     "field \"step\" missing or not a string"},
    {R"({"saga":"a","event":"step_started","step":"reserve","try":0})",
     "field \"try\" missing or not a try number"},
    {R"({"saga":"a","event":"step_result","step":"reserve","try":1,)"
     R"("verdict":"maybe","data":""})",
     "field \"verdict\" missing or not a verdict"},
    {R"({"saga":"a","event":"step_started","step":"ship","try":1})",
     "step \"ship\" is not a step of this saga"},
    {R"({"saga":"a","event":"finished","outcome":{"status":"running"}})",
     "field \"outcome\": \"status\" missing or not a final status"},
    {R"({"saga":"a","event":"finished","outcome":{"status":"stuck",)"
     R"("steps":[["x"]],"compensations":[]}})",
     "field \"outcome\": \"steps\" has an element that is not [step, data]"},
    {R"({"saga":{"base64":"!"},"event":"started","input":""})",
     "field \"saga\": \"base64\" is not padded standard base64"},
  };
  for (auto& [line, message] : rows) {
    CAPTURE(line);
    saga_log_entry out;
    std::string error;
    CHECK_FALSE(decode_saga_log_entry(cfg, line, out, error));
    CHECK(error == message);
  }
}

TEST_CASE("open groups the records by saga, ordered by their last record, and "
          "an id started again after it finished keeps only its new run",
          "[actors][saga][log]") {
  temp_dir dir;
  auto path = dir.file("sagas.log");
  auto cfg = checkout_config();
  using k = saga_record_kind;
  write_file(
    path,
    lines_of(cfg, {entry("a", k::started), entry("b", k::started),
                   entry("a", k::step_started, 0, 1),
                   finished("b", saga_status::completed),
                   entry("c", k::started), finished("c", saga_status::stuck),
                   entry("b", k::started, 0, 0, saga_verdict::done, "again")}));
  saga_log_replay replay;
  auto log = saga_log::open(path, cfg, replay);
  CHECK(replay.records == 7);
  REQUIRE(replay.sagas.size() == 3);
  CHECK(replay.sagas[0].id == "a");
  CHECK(replay.sagas[0].records.size() == 2);
  CHECK(replay.sagas[0].lines == std::vector<std::size_t>{1, 3});
  CHECK_FALSE(replay.sagas[0].finished());
  CHECK(replay.sagas[1].id == "c");
  CHECK(replay.sagas[1].finished());
  CHECK(replay.sagas[2].id == "b");
  REQUIRE(replay.sagas[2].records.size() == 1);
  CHECK(replay.sagas[2].records[0].data == "again");
  CHECK(replay.sagas[2].lines == std::vector<std::size_t>{7});
}

TEST_CASE("a log naming a step the configuration does not have is refused "
          "with its line, even on the last line",
          "[actors][saga][log]") {
  temp_dir dir;
  auto path = dir.file("sagas.log");
  auto cfg = checkout_config();
  write_file(path, lines_of(cfg, {entry("a", saga_record_kind::started)})
                     + R"({"saga":"a","event":"step_started","step":"ship",)"
                       R"("try":1})"
                       "\n");
  CHECK(open_error(path, cfg)
        == "saga log " + path
             + ":2: saga \"a\": step \"ship\" is not a step of this saga's "
               "configuration (the log must be read with the configuration "
               "that wrote it)");
}

TEST_CASE("a torn last saga record is dropped; appends and rewrites go to "
          "the file",
          "[actors][saga][log]") {
  temp_dir dir;
  auto path = dir.file("sagas.log");
  auto cfg = checkout_config();
  using k = saga_record_kind;
  auto good = lines_of(cfg, {entry("a", k::started)});
  auto torn = encode_saga_log_entry(cfg, entry("a", k::step_started, 0, 1));
  write_file(path, good + torn.substr(0, torn.size() / 2));
  {
    saga_log_replay replay;
    auto log = saga_log::open(path, cfg, replay);
    CHECK(replay.torn_bytes == torn.size() / 2);
    REQUIRE(replay.sagas.size() == 1);
    CHECK(replay.sagas[0].records.size() == 1);
    CHECK(read_file(path) == good);
    log->append(
      {entry("a", k::step_started, 0, 1), entry("a", k::step_result, 0, 1)});
    CHECK(log->appended_since_rewrite() == 2);
    CHECK(read_file(path)
          == good
               + lines_of(cfg, {entry("a", k::step_started, 0, 1),
                                entry("a", k::step_result, 0, 1)}));
    log->rewrite({finished("a", saga_status::completed)});
    CHECK(log->appended_since_rewrite() == 0);
    CHECK(log->bytes() == read_file(path).size());
  }
  saga_log_replay replay;
  saga_log::open(path, cfg, replay);
  REQUIRE(replay.sagas.size() == 1);
  CHECK(replay.sagas[0].finished());
  CHECK(replay.sagas[0].records[0].outcome.compensations[0].data
        == std::string{"\xff\x00", 2});
  CHECK(open_error(dir.file("no/such/dir"), cfg).rfind("saga log ", 0) == 0);
}
