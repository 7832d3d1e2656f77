#include "bulwark/actors/storage/append_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bulwark {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

/// Writes all of `data` (write may be partial; EINTR is retried).
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return dir.empty() ? "/" : dir;
}

/// Makes a created or renamed file's directory entry durable too.
bool sync_directory_of(const std::string& path) {
  int dfd =
    ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return false;
  bool ok = ::fsync(dfd) == 0;
  ::close(dfd);
  return ok;
}

/// Closes `fd` on scope exit unless released.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() {
    auto x = fd;
    fd = -1;
    return x;
  }
};

} // namespace

append_log::append_log(std::string path, append_log_options opts, int fd)
  : path_(std::move(path)),
    opts_(std::move(opts)),
    fd_(fd) {}

append_log::~append_log() {
  if (fd_ >= 0)
    ::close(fd_);
}

void append_log::fail(const std::string& what) const {
  throw append_log_error(opts_.label + " " + path_ + ": " + what);
}

std::unique_ptr<append_log> append_log::open(const std::string& path,
                                             const append_log_options& opts,
                                             const line_decoder& decode,
                                             append_log_replay& out) {
  out = append_log_replay{};
  auto prefix = opts.label + " " + path;
  int fd = -1;
  bool created = false;
  // A compaction in another process renames a new file over `path` while
  // holding the old one's lock: a lock taken on a file that is no longer at
  // `path` protects nothing, so check and retry (bounded: each retry means
  // another process won a race and holds the lock now).
  for (int round = 0;; ++round) {
    struct stat before {};
    bool existed = ::stat(path.c_str(), &before) == 0;
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
      throw append_log_error(prefix + ": cannot open: " + errno_text());
    fd_guard guard{fd};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
      throw append_log_error(prefix + ": locked by another process ("
                             + errno_text()
                             + "); two writers would corrupt it");
    struct stat mine {};
    struct stat now {};
    if (::fstat(fd, &mine) == 0 && ::stat(path.c_str(), &now) == 0
        && mine.st_dev == now.st_dev && mine.st_ino == now.st_ino) {
      created = !existed;
      guard.release();
      break;
    }
    if (round == 3)
      throw append_log_error(prefix
                             + ": replaced by another process while "
                               "opening; two writers would corrupt it");
  }
  std::unique_ptr<append_log> log{new append_log(path, opts, fd)};
  if (created && !sync_directory_of(path))
    log->fail("cannot sync its directory: " + errno_text());
  // Read it whole: logs are read once, at start.
  std::string data;
  char buf[65536];
  for (;;) {
    auto n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(data.size()));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      log->fail("cannot read: " + errno_text());
    }
    if (n == 0)
      break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t pos = 0;
  std::size_t line_no = 0;
  std::size_t good_end = 0;
  while (pos < data.size()) {
    ++line_no;
    auto nl = data.find('\n', pos);
    if (nl == std::string::npos) {
      // No newline: the record was being written when the process died. It
      // was never synced, so never acted on.
      out.torn_bytes = data.size() - pos;
      break;
    }
    std::string_view line{data.data() + pos, nl - pos};
    std::string error;
    if (!decode(line, error)) {
      if (nl + 1 == data.size()) {
        // The last line: a write cut short by a power loss can leave a
        // newline-terminated line with missing bytes. It was the record
        // being written, so never acted on.
        out.torn_bytes = data.size() - pos;
        break;
      }
      throw append_log_error(prefix + ":" + std::to_string(line_no)
                             + ": corrupt record: " + error
                             + " (only the last record may be torn; refusing "
                               "to start rather than forget "
                             + opts.forgets + ")");
    }
    ++out.records;
    pos = nl + 1;
    good_end = pos;
  }
  if (out.torn_bytes > 0) {
    if (::ftruncate(fd, static_cast<off_t>(good_end)) != 0
        || ::fdatasync(fd) != 0)
      log->fail("cannot truncate the torn last record: " + errno_text());
  }
  out.bytes = good_end;
  log->bytes_ = good_end;
  return log;
}

void append_log::append(std::string_view line) {
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line.data(), line.size());
  buf += '\n';
  // One write per call (O_APPEND): a crash leaves at most this record torn.
  if (!write_all(fd_, buf.data(), buf.size()))
    fail("write failed: " + errno_text());
  if (::fdatasync(fd_) != 0)
    fail("fdatasync failed: " + errno_text());
  ++appended_;
  bytes_ += buf.size();
}

void append_log::append(const std::vector<std::string>& lines) {
  if (lines.empty())
    return;
  std::size_t size = 0;
  for (auto& l : lines)
    size += l.size() + 1;
  std::string buf;
  buf.reserve(size);
  for (auto& l : lines) {
    buf += l;
    buf += '\n';
  }
  if (!write_all(fd_, buf.data(), buf.size()))
    fail("write failed: " + errno_text());
  if (::fdatasync(fd_) != 0)
    fail("fdatasync failed: " + errno_text());
  appended_ += lines.size();
  bytes_ += buf.size();
}

void append_log::rewrite(const std::vector<std::string>& lines) {
  auto tmp = path_ + ".tmp";
  // A temp file left by a crash during an earlier rewrite is ours to
  // replace: we hold the log's lock.
  int fd = ::open(tmp.c_str(),
                  O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    fail("cannot create " + tmp + ": " + errno_text());
  fd_guard guard{fd};
  // Lock the new file before it becomes visible under `path`, so no other
  // process can lock it in between.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    fail("cannot lock " + tmp + ": " + errno_text());
  std::string buf;
  for (auto& l : lines) {
    buf += l;
    buf += '\n';
  }
  if (!write_all(fd, buf.data(), buf.size()) || ::fdatasync(fd) != 0) {
    auto why = errno_text();
    ::unlink(tmp.c_str());
    fail("cannot write " + tmp + ": " + why);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    auto why = errno_text();
    ::unlink(tmp.c_str());
    fail("cannot rename " + tmp + ": " + why);
  }
  // From here the new file is the log, whatever happens to the directory
  // sync: switch to it first.
  ::close(fd_);
  fd_ = guard.release();
  bytes_ = buf.size();
  if (!sync_directory_of(path_))
    fail("cannot sync its directory after compaction: " + errno_text());
}

} // namespace bulwark
