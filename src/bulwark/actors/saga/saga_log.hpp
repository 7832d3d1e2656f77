// The durable log of a saga coordinator: one file for all of its sagas, one
// JSON line per saga event (bulwark/runtime/saga/saga_record.hpp), appended and
// fdatasynced before the coordinator acts on it. The saga id is data in each
// line, never a file name. Lines (docs/saga.md, "The log"):
//   {"saga": ID, "event": "started", "input": BYTES}
//   {"saga": ID, "event": "step_started", "step": NAME, "try": N}
//   {"saga": ID, "event": "step_result", "step": NAME, "try": N,
//    "verdict": "done"|"not_executed"|"unknown", "data": BYTES}
//   {"saga": ID, "event": "compensation_started" | "compensation_result", ...}
//   {"saga": ID, "event": "finished", "outcome": {"status": ..., "steps":
//    [[NAME, BYTES], ...], "compensations": [...], "failure": BYTES,
//    "failed_step": NAME, "failed_compensation": NAME}}
// BYTES is a JSON string when valid UTF-8, else {"base64": "..."}
// (bulwark/actors/storage/json_bytes.hpp), so every line is valid JSON. Steps
// are named, so the log must be read with the configuration that wrote it (a
// step name it does not know is an error naming the line). The file
// mechanics (lock, append + fdatasync, a torn last record dropped, a corrupt
// earlier one an error naming file:line, atomic rewrite) are
// bulwark/actors/storage/append_log; compaction (`rewrite`) is the
// coordinator's call, once the records were checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/actors/storage/append_log.hpp"
#include "bulwark/runtime/saga/saga_config.hpp"
#include "bulwark/runtime/saga/saga_record.hpp"

namespace bulwark {

/// One line of the log.
struct saga_log_entry {
  std::string saga_id;
  saga_record record;
};

/// One line of valid JSON, without the newline. `cfg` names the steps.
std::string encode_saga_log_entry(const saga_config& cfg,
                                  const saga_log_entry& x);

/// Parses one line written by `encode_saga_log_entry`. On failure returns
/// false and sets `error` (what is wrong, without file or line); a step name
/// that is not in `cfg` is such a failure too.
bool decode_saga_log_entry(const saga_config& cfg, std::string_view line,
                           saga_log_entry& out, std::string& error);

/// A log that cannot be opened, read, locked or written, or whose records
/// do not fit the configuration.
using saga_log_error = append_log_error;

/// The records of one saga as the log holds them.
struct saga_log_saga {
  std::string id;
  /// In log order; a compacted finished saga is one `finished` record.
  std::vector<saga_record> records;
  /// The line of each record (1-based), for error messages.
  std::vector<std::size_t> lines;

  bool finished() const noexcept {
    return !records.empty()
           && records.back().kind == saga_record_kind::finished;
  }
};

/// What `saga_log::open` found.
struct saga_log_replay {
  /// Every saga, ordered by the line of its last record (so finished sagas
  /// come in the order they finished). An id whose saga finished and that
  /// started again later (after retention forgot it) is its new run only.
  std::vector<saga_log_saga> sagas;
  /// Lines read.
  std::size_t records = 0;
  /// Bytes of a torn last record that were dropped (0: none).
  std::size_t torn_bytes = 0;
  /// The file's size after open.
  std::uint64_t bytes = 0;
};

/// An open, locked saga log. Not copyable; destroying it releases the lock.
class saga_log {
 public:
  /// Opens (creating) and locks `path`, reads every record. `cfg` must
  /// outlive the log. Throws saga_log_error naming the file (and line) when
  /// the file cannot be used, holds a corrupt record before the last line,
  /// or names a step `cfg` does not have.
  static std::unique_ptr<saga_log>
  open(const std::string& path, const saga_config& cfg, saga_log_replay& out);

  /// Appends `entries` with one write and one fdatasync. Throws
  /// saga_log_error on failure (nothing is known about the entries then).
  void append(const std::vector<saga_log_entry>& entries);

  /// Replaces the whole file with `entries`, atomically (compaction).
  /// Throws saga_log_error on failure (the old file is intact then).
  void rewrite(const std::vector<saga_log_entry>& entries);

  const std::string& path() const noexcept {
    return log_->path();
  }

  /// Records appended since open or the last rewrite.
  std::uint64_t appended_since_rewrite() const noexcept {
    return appended_since_rewrite_;
  }

  /// The file's size in bytes.
  std::uint64_t bytes() const noexcept {
    return log_->bytes();
  }

 private:
  saga_log(const saga_config& cfg, std::unique_ptr<append_log> log);

  const saga_config* cfg_;
  std::unique_ptr<append_log> log_;
  std::uint64_t appended_since_rewrite_ = 0;
};

} // namespace bulwark
