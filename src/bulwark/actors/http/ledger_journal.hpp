// A durable journal for one ledger route of an http_service: an append-only
// file with one record per executed idempotency key (the request that ran and
// the answer it got). Exactly-once across a crash needs the side effect and
// the ledger record to commit together; for a service whose business state
// lives in its process, the journal record IS that commit: the service
// appends it and fdatasyncs BEFORE the answer leaves, and on start it replays
// the journal both into the ledger (duplicates get the recorded bytes) and
// into the service's business state (a replay hook). A crash before the
// record is durable loses the in-memory effect with the process, so the key
// simply executes again; a crash after it loses nothing. The file mechanics
// (lock, append + fdatasync, replay, a torn last record dropped, a corrupt
// earlier record an error naming file:line) are
// bulwark/actors/storage/append_log; this header is the record and its
// encoding. I/O lives in bulwark/actors/, never in bulwark/runtime/. See
// docs/http_service.md, "Durable ledger".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/actors/storage/append_log.hpp"

namespace bulwark {

/// One committed execution of a key: what ran and what it answered.
struct journal_record {
  /// The `Idempotency-Key`.
  std::string key;
  /// The request that executed (headers are not kept).
  std::string method;
  std::string path;
  std::string query;
  std::string request_body;
  /// The answer, as every duplicate receives it (`Retry-After` and the
  /// do-not-retry marker already folded into `headers`).
  std::int32_t status = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

bool operator==(const journal_record& x, const journal_record& y);

inline bool operator!=(const journal_record& x, const journal_record& y) {
  return !(x == y);
}

/// One line of valid JSON (what a strict parser accepts), without the
/// trailing newline. Control characters (including newlines) are escaped, so
/// a record never contains a raw '\n'. Every field is bytes: a value that is
/// valid UTF-8 is a JSON string, any other is {"base64": "..."}
/// (bulwark/actors/storage/json_bytes.hpp), so nothing is lost.
std::string encode_journal_record(const journal_record& x);

/// Parses one line written by `encode_journal_record`, and lines written
/// before fields could be base64 (non-UTF-8 bytes raw inside strings). On
/// failure returns false and sets `error` (what is wrong, without file or
/// line).
bool decode_journal_record(std::string_view line, journal_record& out,
                           std::string& error);

/// A journal that cannot be opened, read, locked or written. The message
/// names the file (and the line, for a corrupt record).
using journal_error = append_log_error;

/// What `ledger_journal::open` found in the file.
struct journal_replay {
  /// Every committed record, in file order (a key may appear more than once
  /// when its retention ended and it executed again).
  std::vector<journal_record> records;
  /// Bytes of a torn last record that were dropped (0: none).
  std::size_t torn_bytes = 0;
};

/// An open, locked journal file. Not copyable; closing releases the lock.
class ledger_journal {
 public:
  /// Opens (creating it and fsyncing its directory when new) and locks
  /// `path`, reads every record into `out`, drops a torn last record and
  /// truncates the file to the last good one. Throws journal_error for a
  /// file that cannot be opened or is locked by another process, and for a
  /// corrupt record that is not the last ("<path>:<line>: <what>").
  static std::unique_ptr<ledger_journal> open(const std::string& path,
                                              journal_replay& out);

  ~ledger_journal();

  ledger_journal(const ledger_journal&) = delete;
  ledger_journal& operator=(const ledger_journal&) = delete;

  /// Appends `x` as one line and fdatasyncs: when this returns, the record
  /// survives a crash. Throws journal_error when the write or the sync fails;
  /// then nothing is known about the record and the caller must not answer
  /// success (http_service aborts the process).
  void append(const journal_record& x);

  const std::string& path() const noexcept {
    return log_->path();
  }

  /// Records appended since `open`.
  std::uint64_t appended() const noexcept {
    return log_->appended();
  }

 private:
  explicit ledger_journal(std::unique_ptr<append_log> log);

  std::unique_ptr<append_log> log_;
};

} // namespace bulwark
