#include "actors/http/ledger_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace bulwark {

namespace json = boost::json;

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

bool get_string(const json::object& o, const char* key, std::string& out,
                std::string& error) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    error = std::string{"field \""} + key + "\" missing or not a string";
    return false;
  }
  out.assign(v->as_string().data(), v->as_string().size());
  return true;
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

/// Makes a newly created file's directory entry durable too.
void sync_directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  ::fsync(dfd);
  ::close(dfd);
}

} // namespace

bool operator==(const journal_record& x, const journal_record& y) {
  return x.key == y.key && x.method == y.method && x.path == y.path
         && x.query == y.query && x.request_body == y.request_body
         && x.status == y.status && x.content_type == y.content_type
         && x.headers == y.headers && x.body == y.body;
}

std::string encode_journal_record(const journal_record& x) {
  json::object o;
  o["key"] = x.key;
  o["method"] = x.method;
  o["path"] = x.path;
  o["query"] = x.query;
  o["request"] = x.request_body;
  o["status"] = x.status;
  o["content_type"] = x.content_type;
  json::array hs;
  for (auto& [name, value] : x.headers)
    hs.push_back(json::array{json::string_view{name},
                             json::string_view{value}});
  o["headers"] = std::move(hs);
  o["body"] = x.body;
  return json::serialize(o);
}

bool decode_journal_record(std::string_view line, journal_record& out,
                           std::string& error) {
  json::parse_options popts;
  // Bodies are bytes: the encoder writes non-UTF-8 bytes as they are.
  popts.allow_invalid_utf8 = true;
  json::error_code ec;
  auto v = json::parse(json::string_view{line.data(), line.size()}, ec, {},
                       popts);
  if (ec) {
    error = "not a JSON record (" + ec.message() + ")";
    return false;
  }
  auto* o = v.if_object();
  if (o == nullptr) {
    error = "not a JSON object";
    return false;
  }
  journal_record r;
  if (!get_string(*o, "key", r.key, error)
      || !get_string(*o, "method", r.method, error)
      || !get_string(*o, "path", r.path, error)
      || !get_string(*o, "query", r.query, error)
      || !get_string(*o, "request", r.request_body, error)
      || !get_string(*o, "content_type", r.content_type, error)
      || !get_string(*o, "body", r.body, error))
    return false;
  if (r.key.empty()) {
    error = "field \"key\" is empty";
    return false;
  }
  auto* st = o->if_contains("status");
  if (st == nullptr || !st->is_int64() || st->as_int64() < 100
      || st->as_int64() > 999) {
    error = "field \"status\" missing or not in 100..999";
    return false;
  }
  r.status = static_cast<std::int32_t>(st->as_int64());
  auto* hs = o->if_contains("headers");
  if (hs == nullptr || !hs->is_array()) {
    error = "field \"headers\" missing or not an array";
    return false;
  }
  for (auto& h : hs->as_array()) {
    auto* pair = h.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string()
        || !(*pair)[1].is_string()) {
      error = "field \"headers\" has an element that is not [name, value]";
      return false;
    }
    auto& n = (*pair)[0].as_string();
    auto& val = (*pair)[1].as_string();
    r.headers.emplace_back(std::string{n.data(), n.size()},
                           std::string{val.data(), val.size()});
  }
  out = std::move(r);
  return true;
}

ledger_journal::ledger_journal(std::string path, int fd)
  : path_(std::move(path)), fd_(fd) {
}

ledger_journal::~ledger_journal() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::unique_ptr<ledger_journal> ledger_journal::open(const std::string& path,
                                                     journal_replay& out) {
  out = journal_replay{};
  struct stat before {};
  bool existed = ::stat(path.c_str(), &before) == 0;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw journal_error("ledger journal " + path + ": cannot open: "
                        + errno_text());
  // From here on the object owns fd (and closes it when we throw).
  std::unique_ptr<ledger_journal> j{new ledger_journal(path, fd)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw journal_error("ledger journal " + path
                        + ": locked by another process (" + errno_text()
                        + "); two writers would corrupt it");
  if (!existed)
    sync_directory_of(path);
  // Read it whole: journals are read once, at start.
  std::string data;
  char buf[65536];
  for (;;) {
    auto n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(data.size()));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw journal_error("ledger journal " + path + ": cannot read: "
                          + errno_text());
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
      // was never synced, so never acknowledged.
      out.torn_bytes = data.size() - pos;
      break;
    }
    std::string_view line{data.data() + pos, nl - pos};
    journal_record r;
    std::string error;
    if (!decode_journal_record(line, r, error)) {
      if (nl + 1 == data.size()) {
        // The last line: a write cut short by a power loss can leave a
        // newline-terminated line with missing bytes. It was the record being
        // written, so never acknowledged.
        out.torn_bytes = data.size() - pos;
        break;
      }
      throw journal_error("ledger journal " + path + ":"
                          + std::to_string(line_no) + ": corrupt record: "
                          + error
                          + " (only the last record may be torn; refusing "
                            "to start rather than forget keys)");
    }
    out.records.push_back(std::move(r));
    pos = nl + 1;
    good_end = pos;
  }
  if (out.torn_bytes > 0) {
    if (::ftruncate(fd, static_cast<off_t>(good_end)) != 0
        || ::fdatasync(fd) != 0)
      throw journal_error("ledger journal " + path
                          + ": cannot truncate the torn last record: "
                          + errno_text());
  }
  return j;
}

void ledger_journal::append(const journal_record& x) {
  auto line = encode_journal_record(x);
  line += '\n';
  // One write per record (O_APPEND): a crash leaves at most this record torn.
  if (!write_all(fd_, line.data(), line.size()))
    throw journal_error("ledger journal " + path_ + ": write failed: "
                        + errno_text());
  if (::fdatasync(fd_) != 0)
    throw journal_error("ledger journal " + path_ + ": fdatasync failed: "
                        + errno_text());
  ++appended_;
}

} // namespace bulwark
