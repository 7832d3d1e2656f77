// The file mechanics of a durable append-only log of text lines, shared by
// the ledger journal (bulwark/actors/http/ledger_journal.hpp) and the saga log
// (bulwark/actors/saga/saga_log.hpp). One record per line; a line never
// contains a raw newline (the caller's encoding guarantees it). The file is
// locked (flock) so two processes never write one log. `append` writes its
// lines with one write(2) and calls fdatasync before returning, so a caller may
// act on a record once `append` returned. `open` replays every line through the
// caller's decoder and tolerates exactly one kind of damage, a torn last
// record (a crash mid-write: no newline, or a last line that does not decode,
// or zeros the file system left): it is dropped and the file truncated to the
// last good record, because it was never synced and so never acted on. Any
// other bad line is an error naming the file and line: starting without it
// would forget what it recorded. `rewrite` replaces the whole content
// atomically (temp file, fsync, rename, directory fsync) for compaction. I/O
// lives here, in bulwark/actors/, never in bulwark/runtime/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

/// A log that cannot be opened, read, locked or written. The message starts
/// with the log's label and file ("saga log /var/x.log: ...") and names the
/// line for a corrupt record.
class append_log_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a log names itself in errors.
struct append_log_options {
  /// First words of every error message, e.g. "ledger journal".
  std::string label = "log";
  /// What a corrupt record would make the owner forget, for the message
  /// "refusing to start rather than forget <forgets>", e.g. "keys".
  std::string forgets = "records";
};

/// What `append_log::open` found.
struct append_log_replay {
  /// Lines handed to the decoder and accepted.
  std::size_t records = 0;
  /// Bytes of a torn last record that were dropped (0: none).
  std::size_t torn_bytes = 0;
  /// Size of the file after open (after truncating a torn record).
  std::uint64_t bytes = 0;
};

/// An open, locked log file. Not copyable; destroying it releases the lock.
class append_log {
 public:
  /// Decodes one line (without its newline). Returns false and sets `error`
  /// (what is wrong, without file or line) for a line that is not a record;
  /// must change nothing then, because the line may be a torn last record.
  using line_decoder =
    std::function<bool(std::string_view line, std::string& error)>;

  /// Opens (creating it and fsyncing its directory when new) and locks
  /// `path`, hands every line to `decode` in file order, drops a torn last
  /// record and truncates the file to the last good one. Throws
  /// append_log_error for a file that cannot be opened or read, is locked by
  /// another process, or holds a bad line that is not the last
  /// ("<label> <path>:<line>: corrupt record: <what> (only the last record
  /// may be torn; refusing to start rather than forget <forgets>)").
  static std::unique_ptr<append_log> open(const std::string& path,
                                          const append_log_options& opts,
                                          const line_decoder& decode,
                                          append_log_replay& out);

  ~append_log();

  append_log(const append_log&) = delete;
  append_log& operator=(const append_log&) = delete;

  /// Appends one record (a newline is added) and fdatasyncs: when this
  /// returns, the record survives a crash. Throws append_log_error when the
  /// write or the sync fails; then nothing is known about the record and the
  /// caller must not act as if it were durable.
  void append(std::string_view line);

  /// Appends several records with one write and one fdatasync (a crash
  /// leaves a prefix of them, the last possibly torn). Nothing to do for an
  /// empty list.
  void append(const std::vector<std::string>& lines);

  /// Replaces the file's content with `lines` atomically: written to
  /// "<path>.tmp", fdatasynced, renamed over `path`, directory fsynced; the
  /// lock moves to the new file. A crash leaves either the old or the new
  /// content. Throws append_log_error on failure (the old file is intact
  /// then, and still locked).
  void rewrite(const std::vector<std::string>& lines);

  const std::string& path() const noexcept {
    return path_;
  }

  /// Records appended since `open` (not counting `rewrite`).
  std::uint64_t appended() const noexcept {
    return appended_;
  }

  /// The file's size in bytes as this object wrote it.
  std::uint64_t bytes() const noexcept {
    return bytes_;
  }

 private:
  append_log(std::string path, append_log_options opts, int fd);

  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  append_log_options opts_;
  int fd_ = -1;
  std::uint64_t appended_ = 0;
  std::uint64_t bytes_ = 0;
};

} // namespace bulwark
