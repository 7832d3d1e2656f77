#include "tools/trace/trace_tree.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

namespace bulwark::tools {

namespace {

namespace json = boost::json;

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

std::int64_t num(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_int64())
    return v->as_int64();
  if (auto* v = o.if_contains(key); v && v->is_uint64())
    return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

struct attempt_info {
  std::int64_t number = 0;
  std::string span;
  std::string outcome = "no answer recorded";
  bool hedge = false;
};

struct call_info {
  std::string source;
  std::string dependency;
  std::string span;
  std::string upstream;
  std::int64_t attempts = 0;
  bool retried = false;
  bool hedged = false;
  std::string fallback; // the source of a fallback answer, if any
  std::string result;
  std::vector<attempt_info> tries;
};

call_info read_call(const std::string& source, const json::object& j) {
  call_info c;
  c.source = source;
  c.dependency = str(j, "dependency");
  c.span = str(j, "span_id");
  c.upstream = str(j, "upstream_span_id");
  c.attempts = num(j, "attempts");
  bool failed = false;
  if (auto* f = j.if_contains("failed"); f && f->is_bool())
    failed = f->as_bool();
  c.result = failed ? "failed" : "ok";
  auto* entries = j.if_contains("entries");
  if (!entries || !entries->is_array())
    return c;
  for (auto& v : entries->as_array()) {
    if (!v.is_object())
      continue;
    auto& e = v.as_object();
    auto event = str(e, "event");
    auto n = num(e, "attempt");
    if (event == "attempt_started" || event == "hedge_started") {
      attempt_info a;
      a.number = n;
      a.span = str(e, "span_id");
      a.hedge = event == "hedge_started";
      c.hedged = c.hedged || a.hedge;
      c.tries.push_back(std::move(a));
    } else if (event == "attempt_ended") {
      for (auto& a : c.tries)
        if (a.number == n) {
          bool ok = false;
          if (auto* s = e.if_contains("success"); s && s->is_bool())
            ok = s->as_bool();
          a.outcome = fmt::format("{} after {} us",
                                  ok ? std::string{"ok"} : str(e, "class"),
                                  num(e, "latency_us"));
        }
    } else if (event == "backoff_scheduled") {
      c.retried = true;
    } else if (event == "fallback_used" || event == "cache_hit_stale") {
      c.fallback = str(e, "source");
    } else if (event == "replied") {
      if (!str(e, "class").empty())
        c.result = "failed: " + str(e, "class");
    }
  }
  return c;
}

} // namespace

std::string render_trace_tree(const std::vector<trace_source>& sources) {
  std::vector<call_info> calls;
  std::size_t skipped = 0;
  for (auto& src : sources) {
    auto* obj = src.doc.if_object();
    auto* spans = obj ? obj->if_contains("spans") : nullptr;
    if (!spans || !spans->is_array()) {
      ++skipped;
      continue;
    }
    for (auto& s : spans->as_array()) {
      if (!s.is_object() || str(s.as_object(), "span_id").empty()) {
        ++skipped;
        continue;
      }
      calls.push_back(read_call(src.label, s.as_object()));
    }
  }
  // Attempt span -> the calls made while serving the request it sent.
  std::set<std::string> attempt_spans;
  std::multimap<std::string, std::size_t> children;
  for (auto& c : calls)
    for (auto& a : c.tries)
      attempt_spans.insert(a.span);
  for (std::size_t i = 0; i < calls.size(); ++i)
    if (attempt_spans.count(calls[i].upstream) != 0)
      children.emplace(calls[i].upstream, i);
  std::string out;
  std::set<std::size_t> printed;
  auto print = [&](auto& self, std::size_t i, int depth) -> void {
    if (!printed.insert(i).second || depth > 32)
      return;
    auto& c = calls[i];
    std::string what;
    if (c.retried)
      what += ", retried";
    if (c.hedged)
      what += ", hedged";
    if (!c.fallback.empty())
      what += ", fell back (" + c.fallback + ")";
    out += fmt::format("{:{}}[{}] {} span {}: {} attempt{}{} -> {}\n", "",
                       depth * 4, c.source, c.dependency, c.span, c.attempts,
                       c.attempts == 1 ? "" : "s", what, c.result);
    for (auto& a : c.tries) {
      out +=
        fmt::format("{:{}}  {} {} span {}: {}\n", "", depth * 4,
                    a.hedge ? "hedge" : "attempt", a.number, a.span, a.outcome);
      auto [b, e] = children.equal_range(a.span);
      for (auto k = b; k != e; ++k)
        self(self, k->second, depth + 1);
    }
  };
  for (std::size_t i = 0; i < calls.size(); ++i)
    if (attempt_spans.count(calls[i].upstream) == 0)
      print(print, i, 0);
  for (std::size_t i = 0; i < calls.size(); ++i)
    print(print, i, 0); // anything left (a cycle in hostile input)
  if (calls.empty())
    out += "no spans for this trace\n";
  if (skipped != 0)
    out += fmt::format("({} malformed answers or spans skipped)\n", skipped);
  return out;
}

} // namespace bulwark::tools
