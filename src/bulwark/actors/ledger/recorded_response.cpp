#include "bulwark/actors/ledger/recorded_response.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string_view>

#include "bulwark/actors/http/http_service.hpp"

namespace bulwark {

namespace {

void put_field(std::string& out, std::string_view x) {
  out += std::to_string(x.size());
  out += ':';
  out.append(x.data(), x.size());
}

bool get_field(std::string_view& in, std::string& out) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos)
    return false;
  std::size_t len = 0;
  auto [ptr, ec] = std::from_chars(in.data(), in.data() + colon, len);
  if (ec != std::errc{} || ptr != in.data() + colon
      || in.size() - colon - 1 < len)
    return false;
  out.assign(in.data() + colon + 1, len);
  in.remove_prefix(colon + 1 + len);
  return true;
}

} // namespace

std::string retry_after_text(duration d) {
  auto secs = std::chrono::ceil<std::chrono::seconds>(d).count();
  return std::to_string(std::max<std::int64_t>(0, secs));
}

recorded_response record_of(const service_response& x) {
  recorded_response r;
  r.status = x.status;
  r.content_type = x.content_type;
  r.headers = x.headers;
  if (x.retry_after.count() >= 0)
    r.headers.emplace_back(std::string{retry_after_header},
                           retry_after_text(x.retry_after));
  if (x.do_not_retry)
    r.headers.emplace_back(std::string{service_do_not_retry_header}, "1");
  r.body = x.body;
  return r;
}

service_response to_service_response(const recorded_response& r) {
  service_response x;
  x.status = r.status;
  x.content_type = r.content_type;
  x.headers = r.headers;
  x.body = r.body;
  return x;
}

recorded_response recorded_of(const journal_record& r) {
  recorded_response rec;
  rec.status = r.status;
  rec.content_type = r.content_type;
  rec.headers = r.headers;
  rec.body = r.body;
  return rec;
}

void set_answer(journal_record& r, const recorded_response& rec) {
  r.status = rec.status;
  r.content_type = rec.content_type;
  r.headers = rec.headers;
  r.body = rec.body;
}

ledger_result to_ledger(const recorded_response& r) {
  ledger_result out;
  out.status = r.status;
  put_field(out.body, r.content_type);
  put_field(out.body, std::to_string(r.headers.size()));
  for (auto& [name, value] : r.headers) {
    put_field(out.body, name);
    put_field(out.body, value);
  }
  put_field(out.body, r.body);
  return out;
}

recorded_response from_ledger(const ledger_result& x) {
  recorded_response r;
  r.status = x.status;
  std::string_view in{x.body};
  std::string count_text;
  std::size_t count = 0;
  if (!get_field(in, r.content_type) || !get_field(in, count_text)) {
    r.status = 500;
    return r;
  }
  std::from_chars(count_text.data(), count_text.data() + count_text.size(),
                  count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string name;
    std::string value;
    if (!get_field(in, name) || !get_field(in, value))
      break;
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  get_field(in, r.body);
  return r;
}

} // namespace bulwark
