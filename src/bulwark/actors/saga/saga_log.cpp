#include "bulwark/actors/saga/saga_log.hpp"

#include <algorithm>
#include <unordered_map>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "bulwark/actors/storage/json_bytes.hpp"

namespace bulwark {

namespace json = boost::json;

namespace {

/// Tries are bounded by the configuration (at most 1000); anything far
/// beyond is damage.
constexpr std::int64_t max_try_number = 1'000'000;

json::array encode_step_list(const std::vector<saga_step_data>& xs) {
  json::array out;
  for (auto& x : xs)
    out.push_back(json::array{bytes_to_json(x.step), bytes_to_json(x.data)});
  return out;
}

bool get_bytes(const json::object& o, const char* key, std::string& out,
               std::string& error) {
  auto* v = o.if_contains(key);
  if (v == nullptr) {
    error = std::string{"field \""} + key + "\" missing";
    return false;
  }
  std::string why;
  if (!bytes_from_json(*v, out, why)) {
    error = std::string{"field \""} + key + "\": " + why;
    return false;
  }
  return true;
}

bool decode_step_list(const json::object& o, const char* key,
                      std::vector<saga_step_data>& out, std::string& error) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    error =
      std::string{"field \"outcome\": \""} + key + "\" missing or not an array";
    return false;
  }
  for (auto& x : v->as_array()) {
    auto* pair = x.if_array();
    saga_step_data d;
    std::string why;
    if (pair == nullptr || pair->size() != 2
        || !bytes_from_json((*pair)[0], d.step, why)
        || !bytes_from_json((*pair)[1], d.data, why)) {
      error = std::string{"field \"outcome\": \""} + key
              + "\" has an element that is not [step, data]";
      return false;
    }
    out.push_back(std::move(d));
  }
  return true;
}

/// Decodes a line; a step name that `cfg` does not know is reported in
/// `unknown_step` (the line is well formed, the configuration is not the
/// one that wrote it), not as a decoding failure.
bool decode_line(const saga_config& cfg, std::string_view line,
                 saga_log_entry& out, std::string& error,
                 std::string& unknown_step) {
  json::error_code ec;
  // Strict: lines are written as valid JSON (non-UTF-8 bytes are base64).
  auto v = json::parse(json::string_view{line.data(), line.size()}, ec);
  if (ec) {
    error = "not a JSON record (" + ec.message() + ")";
    return false;
  }
  auto* o = v.if_object();
  if (o == nullptr) {
    error = "not a JSON object";
    return false;
  }
  saga_log_entry e;
  if (!get_bytes(*o, "saga", e.saga_id, error))
    return false;
  if (e.saga_id.empty()) {
    error = "field \"saga\" is empty";
    return false;
  }
  auto* ev = o->if_contains("event");
  if (ev == nullptr || !ev->is_string()
      || !from_string(
        std::string_view{ev->as_string().data(), ev->as_string().size()},
        e.record.kind)) {
    error = "field \"event\" missing or not a saga event";
    return false;
  }
  auto& r = e.record;
  switch (r.kind) {
    case saga_record_kind::started:
      if (!get_bytes(*o, "input", r.data, error))
        return false;
      break;
    case saga_record_kind::step_started:
    case saga_record_kind::step_result:
    case saga_record_kind::compensation_started:
    case saga_record_kind::compensation_result: {
      auto* step = o->if_contains("step");
      if (step == nullptr || !step->is_string()) {
        error = "field \"step\" missing or not a string";
        return false;
      }
      std::string name{step->as_string().data(), step->as_string().size()};
      auto index = cfg.find(name);
      if (index < 0)
        unknown_step = name;
      else
        r.step = static_cast<std::uint32_t>(index);
      auto* attempt = o->if_contains("try");
      if (attempt == nullptr || !attempt->is_int64() || attempt->as_int64() < 1
          || attempt->as_int64() > max_try_number) {
        error = "field \"try\" missing or not a try number";
        return false;
      }
      r.attempt = static_cast<std::uint32_t>(attempt->as_int64());
      if (r.kind == saga_record_kind::step_result
          || r.kind == saga_record_kind::compensation_result) {
        auto* verdict = o->if_contains("verdict");
        if (verdict == nullptr || !verdict->is_string()
            || !from_string(std::string_view{verdict->as_string().data(),
                                             verdict->as_string().size()},
                            r.verdict)) {
          error = "field \"verdict\" missing or not a verdict";
          return false;
        }
        if (!get_bytes(*o, "data", r.data, error))
          return false;
      }
      break;
    }
    case saga_record_kind::finished: {
      auto* oc = o->if_contains("outcome");
      if (oc == nullptr || !oc->is_object()) {
        error = "field \"outcome\" missing or not an object";
        return false;
      }
      auto& x = oc->as_object();
      auto* status = x.if_contains("status");
      if (status == nullptr || !status->is_string()
          || !from_string(std::string_view{status->as_string().data(),
                                           status->as_string().size()},
                          r.outcome.status)
          || r.outcome.status == saga_status::running) {
        error = "field \"outcome\": \"status\" missing or not a final status";
        return false;
      }
      if (!decode_step_list(x, "steps", r.outcome.steps, error)
          || !decode_step_list(x, "compensations", r.outcome.compensations,
                               error))
        return false;
      std::string why;
      if (!get_bytes(x, "failure", r.outcome.failure, why)
          || !get_bytes(x, "failed_step", r.outcome.failed_step, why)
          || !get_bytes(x, "failed_compensation", r.outcome.failed_compensation,
                        why)) {
        error = "field \"outcome\": " + why;
        return false;
      }
      break;
    }
  }
  out = std::move(e);
  return true;
}

} // namespace

std::string encode_saga_log_entry(const saga_config& cfg,
                                  const saga_log_entry& x) {
  json::object o;
  auto& r = x.record;
  o["saga"] = bytes_to_json(x.saga_id);
  o["event"] = to_string(r.kind);
  switch (r.kind) {
    case saga_record_kind::started:
      o["input"] = bytes_to_json(r.data);
      break;
    case saga_record_kind::step_started:
    case saga_record_kind::compensation_started:
      o["step"] = cfg.steps.at(r.step).name;
      o["try"] = r.attempt;
      break;
    case saga_record_kind::step_result:
    case saga_record_kind::compensation_result:
      o["step"] = cfg.steps.at(r.step).name;
      o["try"] = r.attempt;
      o["verdict"] = to_string(r.verdict);
      o["data"] = bytes_to_json(r.data);
      break;
    case saga_record_kind::finished: {
      auto& oc = r.outcome;
      o["outcome"] = json::object{
        {"status", to_string(oc.status)},
        {"steps", encode_step_list(oc.steps)},
        {"compensations", encode_step_list(oc.compensations)},
        {"failure", bytes_to_json(oc.failure)},
        {"failed_step", bytes_to_json(oc.failed_step)},
        {"failed_compensation", bytes_to_json(oc.failed_compensation)}};
      break;
    }
  }
  return json::serialize(o);
}

bool decode_saga_log_entry(const saga_config& cfg, std::string_view line,
                           saga_log_entry& out, std::string& error) {
  std::string unknown;
  saga_log_entry e;
  if (!decode_line(cfg, line, e, error, unknown))
    return false;
  if (!unknown.empty()) {
    error = "step \"" + unknown + "\" is not a step of this saga";
    return false;
  }
  out = std::move(e);
  return true;
}

saga_log::saga_log(const saga_config& cfg, std::unique_ptr<append_log> log)
  : cfg_(&cfg),
    log_(std::move(log)) {}

std::unique_ptr<saga_log> saga_log::open(const std::string& path,
                                         const saga_config& cfg,
                                         saga_log_replay& out) {
  out = saga_log_replay{};
  append_log_options opts;
  opts.label = "saga log";
  opts.forgets = "sagas";
  // Sagas by id; a saga's position is the line of its last record.
  std::unordered_map<std::string, std::size_t> index;
  std::vector<saga_log_saga> sagas;
  std::vector<std::size_t> last_line;
  std::size_t line_no = 0;
  std::size_t bad_line = 0;
  std::string bad_step;
  std::string bad_saga;
  append_log_replay replay;
  auto log = append_log::open(
    path, opts,
    [&](std::string_view line, std::string& error) {
      saga_log_entry e;
      std::string unknown;
      if (!decode_line(cfg, line, e, error, unknown))
        return false;
      ++line_no;
      if (!unknown.empty() && bad_line == 0) {
        bad_line = line_no;
        bad_step = unknown;
        bad_saga = e.saga_id;
      }
      auto [it, fresh] = index.try_emplace(e.saga_id, sagas.size());
      if (fresh) {
        sagas.push_back(saga_log_saga{e.saga_id, {}, {}});
        last_line.push_back(0);
      }
      auto& s = sagas[it->second];
      // An id that finished and was forgotten may run again: the new run
      // replaces the old one.
      if (e.record.kind == saga_record_kind::started && s.finished()) {
        s.records.clear();
        s.lines.clear();
      }
      s.records.push_back(std::move(e.record));
      s.lines.push_back(line_no);
      last_line[it->second] = line_no;
      return true;
    },
    replay);
  if (bad_line != 0)
    throw saga_log_error("saga log " + path + ":" + std::to_string(bad_line)
                         + ": saga \"" + bad_saga + "\": step \"" + bad_step
                         + "\" is not a step of this saga's configuration "
                           "(the log must be read with the configuration "
                           "that wrote it)");
  std::vector<std::size_t> order(sagas.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return last_line[a] < last_line[b];
  });
  out.sagas.reserve(sagas.size());
  for (auto i : order)
    out.sagas.push_back(std::move(sagas[i]));
  out.records = replay.records;
  out.torn_bytes = replay.torn_bytes;
  out.bytes = replay.bytes;
  return std::unique_ptr<saga_log>{new saga_log(cfg, std::move(log))};
}

void saga_log::append(const std::vector<saga_log_entry>& entries) {
  if (entries.empty())
    return;
  std::vector<std::string> lines;
  lines.reserve(entries.size());
  for (auto& e : entries)
    lines.push_back(encode_saga_log_entry(*cfg_, e));
  log_->append(lines);
  appended_since_rewrite_ += entries.size();
}

void saga_log::rewrite(const std::vector<saga_log_entry>& entries) {
  std::vector<std::string> lines;
  lines.reserve(entries.size());
  for (auto& e : entries)
    lines.push_back(encode_saga_log_entry(*cfg_, e));
  log_->rewrite(lines);
  appended_since_rewrite_ = 0;
}

} // namespace bulwark
