#include "bulwark/runtime/config/object_reader.hpp"

#include <cmath>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/utf8.hpp"

namespace bulwark {

std::string describe_json(const boost::json::value& v) {
  // Boost.JSON writes a string's bytes as they are: invalid UTF-8 in the
  // input would make every message that quotes it invalid JSON.
  constexpr size_t max_len = 60;
  return printable_utf8(boost::json::serialize(v), max_len);
}

std::vector<std::string>*& schema_sink() noexcept {
  static std::vector<std::string>* sink = nullptr;
  return sink;
}

object_reader::object_reader(const boost::json::value& v, json_path at,
                             error_list& errors,
                             std::initializer_list<std::string_view> known_keys)
  : at_(std::move(at)),
    errors_(errors) {
  if (auto* sink = schema_sink())
    for (auto key : known_keys)
      sink->push_back((at_ / key).str());
  obj_ = v.if_object();
  if (obj_ == nullptr) {
    errors_.add(at_,
                fmt::format("must be an object (got: {})", describe_json(v)));
    return;
  }
  for (auto& member : *obj_) {
    bool known = false;
    for (auto key : known_keys)
      if (member.key() == key) {
        known = true;
        break;
      }
    if (!known) {
      std::string allowed;
      for (auto key : known_keys) {
        if (!allowed.empty())
          allowed += ", ";
        allowed += key;
      }
      errors_.add(at_ / member.key(),
                  fmt::format("unknown key (allowed: {})", allowed));
    }
  }
}

const boost::json::value* object_reader::find(std::string_view key) const {
  return obj_ == nullptr ? nullptr : obj_->if_contains(key);
}

bool object_reader::require(std::string_view key) {
  if (!valid())
    return false;
  if (find(key) != nullptr)
    return true;
  errors_.add(path(key), "is required");
  return false;
}

void object_reader::read(std::string_view key, bool& out) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  if (auto* b = v->if_bool()) {
    out = *b;
    return;
  }
  errors_.add(path(key), fmt::format("must be true or false (got: {})",
                                     describe_json(*v)));
}

void object_reader::read(std::string_view key, std::string& out,
                         bool allow_empty) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  if (auto* s = v->if_string()) {
    if (s->empty() && !allow_empty) {
      errors_.add(path(key), "must not be empty");
      return;
    }
    out.assign(s->data(), s->size());
    return;
  }
  errors_.add(path(key),
              fmt::format("must be a string (got: {})", describe_json(*v)));
}

void object_reader::read_key(std::string_view key, std::string& out,
                             std::size_t max_bytes) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  auto* s = v->if_string();
  if (s == nullptr) {
    errors_.add(path(key),
                fmt::format("must be a string (got: {})", describe_json(*v)));
    return;
  }
  std::string_view text{s->data(), s->size()};
  if (text.empty()) {
    errors_.add(path(key), "must not be empty");
    return;
  }
  if (auto problem = key_problem(text, max_bytes)) {
    errors_.add(path(key), *problem);
    return;
  }
  out.assign(text.data(), text.size());
}

namespace {

// Integers may be written as 3 or 3.0, never as 3.5.
bool as_int64(const boost::json::value& v, std::int64_t& out) {
  if (auto* i = v.if_int64()) {
    out = *i;
    return true;
  }
  if (auto* u = v.if_uint64()) {
    if (*u
        > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return false;
    out = static_cast<std::int64_t>(*u);
    return true;
  }
  if (auto* d = v.if_double()) {
    if (std::isfinite(*d) && std::floor(*d) == *d && std::fabs(*d) < 9.0e15) {
      out = static_cast<std::int64_t>(*d);
      return true;
    }
  }
  return false;
}

} // namespace

void object_reader::read(std::string_view key, std::int64_t& out,
                         std::int64_t min, std::int64_t max) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  std::int64_t x = 0;
  if (!as_int64(*v, x)) {
    if (v->is_number())
      errors_.add(path(key),
                  fmt::format("must be an integer between {} and {} (got: {})",
                              min, max, describe_json(*v)));
    else
      errors_.add(path(key), fmt::format("must be an integer (got: {})",
                                         describe_json(*v)));
    return;
  }
  if (x < min || x > max) {
    errors_.add(path(key), fmt::format("must be between {} and {} (got: {})",
                                       min, max, describe_json(*v)));
    return;
  }
  out = x;
}

void object_reader::read(std::string_view key, std::uint32_t& out,
                         std::uint32_t min, std::uint32_t max) {
  std::int64_t x = out;
  read(key, x, min, max);
  out = static_cast<std::uint32_t>(x);
}

void object_reader::read(std::string_view key, double& out, double min,
                         double max) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  if (!v->is_number()) {
    errors_.add(path(key),
                fmt::format("must be a number (got: {})", describe_json(*v)));
    return;
  }
  auto x = v->to_number<double>();
  if (!(x >= min && x <= max)) {
    errors_.add(path(key), fmt::format("must be between {} and {} (got: {})",
                                       min, max, describe_json(*v)));
    return;
  }
  out = x;
}

void object_reader::read_percent(std::string_view key, double& out) {
  double pct = out * 100.0;
  auto before = errors_.size();
  read(key, pct, 0.0, 100.0);
  if (errors_.size() == before)
    out = pct / 100.0;
}

void object_reader::read(std::string_view key, duration& out, duration min,
                         duration max) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  auto* s = v->if_string();
  if (s == nullptr) {
    errors_.add(path(key),
                fmt::format("must be a duration string with a unit such as "
                            "\"250ms\" (got: {})",
                            describe_json(*v)));
    return;
  }
  duration d{0};
  switch (parse_duration(std::string_view{s->data(), s->size()}, d)) {
    case duration_parse_error::none:
      break;
    case duration_parse_error::negative:
      errors_.add(path(key), fmt::format("must not be negative (got: {})",
                                         describe_json(*v)));
      return;
    case duration_parse_error::too_large:
      errors_.add(path(key),
                  fmt::format("is too large (got: {})", describe_json(*v)));
      return;
    case duration_parse_error::syntax:
      errors_.add(path(key),
                  fmt::format("must be a duration with a unit (ns, us, ms, s, "
                              "m, h) such as \"250ms\" (got: {})",
                              describe_json(*v)));
      return;
  }
  if (d < min || d > max) {
    errors_.add(path(key),
                fmt::format("must be between {} and {} (got: {})",
                            format_duration(min), format_duration(max),
                            describe_json(*v)));
    return;
  }
  out = d;
}

void object_reader::read(std::string_view key, failure_class_set& out) {
  auto* v = find(key);
  if (v == nullptr)
    return;
  auto* arr = v->if_array();
  if (arr == nullptr) {
    errors_.add(path(key),
                fmt::format("must be an array of failure classes (got: {})",
                            describe_json(*v)));
    return;
  }
  failure_class_set result;
  bool ok = true;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto& item = (*arr)[i];
    failure_class cls;
    if (auto* s = item.if_string();
        s != nullptr
        && from_string(std::string_view{s->data(), s->size()}, cls)) {
      result.insert(cls);
      continue;
    }
    std::string names;
    for (auto candidate : all_failure_classes) {
      if (!names.empty())
        names += ", ";
      names += '"' + to_string(candidate) + '"';
    }
    errors_.add(path(key) / i, fmt::format("must be one of {} (got: {})", names,
                                           describe_json(item)));
    ok = false;
  }
  if (ok)
    out = result;
}

boost::json::value parse_json_text(std::string_view text, error_list& errors) {
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  auto result = boost::json::parse(text, ec, {}, opts);
  if (!ec)
    return result;
  // Find line and column of the failure by re-running the parser by hand is
  // overkill; the stream parser reports how many bytes it consumed.
  boost::json::stream_parser p({}, opts);
  boost::system::error_code ec2;
  auto consumed = p.write_some(text.data(), text.size(), ec2);
  if (!ec2)
    p.finish(ec2), consumed = text.size();
  size_t line = 1, column = 1;
  for (size_t i = 0; i < consumed && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  errors.add_document(fmt::format("invalid JSON at line {}, column {}: {}",
                                  line, column, ec.message()));
  return nullptr;
}

} // namespace bulwark
