// The append log's file mechanics: records in order, batches, torn tails,
// corrupt lines, locks and atomic rewrites.
#include "bulwark/actors/storage/append_log.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

using namespace bulwark;
using namespace bulwark::testing;

namespace {

/// Accepts lines that start with "rec:"; collects them.
struct collector {
  std::vector<std::string> lines;

  append_log::line_decoder decoder() {
    return [this](std::string_view line, std::string& error) {
      if (line.substr(0, 4) != "rec:") {
        error = "does not start with rec:";
        return false;
      }
      lines.emplace_back(line);
      return true;
    };
  }
};

append_log_options test_options() {
  append_log_options opts;
  opts.label = "test log";
  opts.forgets = "things";
  return opts;
}

std::unique_ptr<append_log> open_log(const std::string& path, collector& c,
                                     append_log_replay& replay) {
  return append_log::open(path, test_options(), c.decoder(), replay);
}

std::string open_error(const std::string& path) {
  collector c;
  append_log_replay replay;
  try {
    open_log(path, c, replay);
  } catch (const append_log_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("an append log reopened hands every record to the decoder in order",
          "[actors][storage][append_log]") {
  temp_dir dir;
  auto path = dir.file("a.log");
  {
    collector c;
    append_log_replay replay;
    auto log = open_log(path, c, replay);
    CHECK(c.lines.empty());
    CHECK(replay.records == 0);
    CHECK(replay.bytes == 0);
    log->append("rec:1");
    log->append(std::vector<std::string>{"rec:2", "rec:3"});
    log->append(std::vector<std::string>{});
    CHECK(log->appended() == 3);
    CHECK(log->bytes() == 18);
  }
  CHECK(read_file(path) == "rec:1\nrec:2\nrec:3\n");
  collector c;
  append_log_replay replay;
  auto log = open_log(path, c, replay);
  CHECK(c.lines == std::vector<std::string>{"rec:1", "rec:2", "rec:3"});
  CHECK(replay.records == 3);
  CHECK(replay.torn_bytes == 0);
  CHECK(replay.bytes == 18);
}

TEST_CASE("a torn last record is dropped, the file truncated, and appends go "
          "after the last good record",
          "[actors][storage][append_log]") {
  temp_dir dir;
  auto path = dir.file("a.log");
  std::string good = "rec:a\nrec:b\n";
  std::string tail;
  SECTION("cut before its newline") {
    tail = "rec:c-partial";
  }
  SECTION("a newline-terminated line that does not decode (power loss)") {
    tail = "re\n";
  }
  SECTION("zeros after a crash") {
    tail = std::string(37, '\0');
  }
  write_file(path, good + tail);
  {
    collector c;
    append_log_replay replay;
    auto log = open_log(path, c, replay);
    CHECK(c.lines == std::vector<std::string>{"rec:a", "rec:b"});
    CHECK(replay.torn_bytes == tail.size());
    CHECK(replay.bytes == good.size());
    CHECK(read_file(path) == good);
    log->append("rec:d");
  }
  collector c;
  append_log_replay replay;
  open_log(path, c, replay);
  CHECK(c.lines == std::vector<std::string>{"rec:a", "rec:b", "rec:d"});
  CHECK(replay.torn_bytes == 0);
}

TEST_CASE("a bad record before the last line is an error naming file and "
          "line, and the file is left alone",
          "[actors][storage][append_log]") {
  temp_dir dir;
  auto path = dir.file("a.log");
  std::string data = "rec:1\nbad\nrec:3\n";
  write_file(path, data);
  CHECK(open_error(path)
        == "test log " + path
             + ":2: corrupt record: does not start with rec: (only the last "
               "record may be torn; refusing to start rather than forget "
               "things)");
  CHECK(read_file(path) == data);
}

TEST_CASE("an append log is locked: a second open fails until the first "
          "closes, and a missing directory is named",
          "[actors][storage][append_log]") {
  temp_dir dir;
  auto path = dir.file("a.log");
  collector c;
  append_log_replay replay;
  auto first = open_log(path, c, replay);
  CHECK(open_error(path).rfind(
          "test log " + path + ": locked by another process", 0)
        == 0);
  first.reset();
  CHECK(open_error(path) == "no error");
  auto missing = dir.file("missing/a.log");
  CHECK(open_error(missing).rfind("test log " + missing + ": cannot open: ", 0)
        == 0);
}

TEST_CASE("rewrite replaces the content atomically, keeps the lock and "
          "leaves no temp file",
          "[actors][storage][append_log]") {
  temp_dir dir;
  auto path = dir.file("a.log");
  // A temp file left by a crash during an earlier compaction is replaced.
  write_file(path + ".tmp", "rec:stale\n");
  {
    collector c;
    append_log_replay replay;
    auto log = open_log(path, c, replay);
    log->append(std::vector<std::string>{"rec:1", "rec:2", "rec:3"});
    log->rewrite({"rec:compact"});
    CHECK(log->bytes() == 12);
    CHECK(read_file(path) == "rec:compact\n");
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    // The new file is locked by the same owner.
    CHECK(open_error(path).find("locked by another process")
          != std::string::npos);
    log->append("rec:after");
  }
  collector c;
  append_log_replay replay;
  open_log(path, c, replay);
  CHECK(c.lines == std::vector<std::string>{"rec:compact", "rec:after"});
}
