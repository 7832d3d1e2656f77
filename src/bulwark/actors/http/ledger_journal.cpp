#include "bulwark/actors/http/ledger_journal.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "bulwark/actors/storage/json_bytes.hpp"

namespace bulwark {

namespace json = boost::json;

namespace {

bool get_bytes(const json::object& o, const char* key, std::string& out,
               std::string& error) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !(v->is_string() || v->is_object())) {
    error = std::string{"field \""} + key + "\" missing or not a string";
    return false;
  }
  std::string why;
  if (!bytes_from_json(*v, out, why)) {
    error = std::string{"field \""} + key + "\": " + why;
    return false;
  }
  return true;
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
  o["key"] = bytes_to_json(x.key);
  o["method"] = bytes_to_json(x.method);
  o["path"] = bytes_to_json(x.path);
  o["query"] = bytes_to_json(x.query);
  o["request"] = bytes_to_json(x.request_body);
  o["status"] = x.status;
  o["content_type"] = bytes_to_json(x.content_type);
  json::array hs;
  for (auto& [name, value] : x.headers)
    hs.push_back(json::array{bytes_to_json(name), bytes_to_json(value)});
  o["headers"] = std::move(hs);
  o["body"] = bytes_to_json(x.body);
  return json::serialize(o);
}

bool decode_journal_record(std::string_view line, journal_record& out,
                           std::string& error) {
  json::parse_options popts;
  // Journals written before the base64 form hold non-UTF-8 bytes raw.
  popts.allow_invalid_utf8 = true;
  json::error_code ec;
  auto v =
    json::parse(json::string_view{line.data(), line.size()}, ec, {}, popts);
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
  if (!get_bytes(*o, "key", r.key, error)
      || !get_bytes(*o, "method", r.method, error)
      || !get_bytes(*o, "path", r.path, error)
      || !get_bytes(*o, "query", r.query, error)
      || !get_bytes(*o, "request", r.request_body, error)
      || !get_bytes(*o, "content_type", r.content_type, error)
      || !get_bytes(*o, "body", r.body, error))
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
    std::string name;
    std::string value;
    std::string why;
    if (pair == nullptr || pair->size() != 2
        || !bytes_from_json((*pair)[0], name, why)
        || !bytes_from_json((*pair)[1], value, why)) {
      error = "field \"headers\" has an element that is not [name, value]";
      return false;
    }
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  out = std::move(r);
  return true;
}

ledger_journal::ledger_journal(std::unique_ptr<append_log> log)
  : log_(std::move(log)) {}

ledger_journal::~ledger_journal() = default;

std::unique_ptr<ledger_journal> ledger_journal::open(const std::string& path,
                                                     journal_replay& out) {
  out = journal_replay{};
  append_log_options opts;
  opts.label = "ledger journal";
  opts.forgets = "keys";
  append_log_replay replay;
  auto log = append_log::open(
    path, opts,
    [&out](std::string_view line, std::string& error) {
      journal_record r;
      if (!decode_journal_record(line, r, error))
        return false;
      out.records.push_back(std::move(r));
      return true;
    },
    replay);
  out.torn_bytes = replay.torn_bytes;
  return std::unique_ptr<ledger_journal>{new ledger_journal(std::move(log))};
}

void ledger_journal::append(const journal_record& x) {
  // One write per record (O_APPEND): a crash leaves at most this record torn.
  log_->append(encode_journal_record(x));
}

} // namespace bulwark
