#include "bulwark/runtime/journey/trace_tree.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>
#include <string_view>

namespace bulwark {

namespace {

namespace json = boost::json;

// Strings from other processes end up on a terminal and in a page: bounded,
// and anything but printable ASCII becomes '?'.
constexpr std::size_t max_field = 128;

std::string clean(std::string_view s) {
  std::string out{s.substr(0, max_field)};
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e)
      c = '?';
  return out;
}

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string())
    return clean(v->as_string());
  return {};
}

std::int64_t num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64())
    return v->as_int64();
  if (v && v->is_uint64() && v->as_uint64() <= INT64_MAX)
    return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

bool flag(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

trace_call read_call(const std::string& process, const json::object& j) {
  trace_call c;
  c.process = clean(process);
  c.dependency = str(j, "dependency");
  c.operation = str(j, "operation");
  c.span = str(j, "span_id");
  c.parent = str(j, "parent_id");
  c.upstream = str(j, "upstream_span_id");
  c.attempts = num(j, "attempts");
  c.result = flag(j, "failed") ? "failed" : "ok";
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
      trace_attempt a;
      a.number = n;
      a.span = str(e, "span_id");
      a.hedge = event == "hedge_started";
      c.hedged = c.hedged || a.hedge;
      c.tries.push_back(std::move(a));
    } else if (event == "attempt_ended") {
      for (auto& a : c.tries)
        if (a.number == n) {
          a.ended = true;
          a.success = flag(e, "success");
          a.cls = a.success ? std::string{} : str(e, "class");
          a.status = num(e, "status");
          a.latency_us = num(e, "latency_us");
        }
    } else if (event == "backoff_scheduled") {
      c.retried = true;
    } else if (event == "fallback_used" || event == "cache_hit_stale") {
      c.fell_back = true;
      c.fallback_source = str(e, "source");
    } else if (event == "replied") {
      if (!str(e, "class").empty())
        c.result = "failed: " + str(e, "class");
    }
  }
  return c;
}

std::string outcome_text(const trace_attempt& a) {
  if (!a.ended)
    return "no answer recorded";
  auto status =
    a.status != 0 ? fmt::format(" (HTTP {})", a.status) : std::string{};
  return fmt::format("{}{} after {} us", a.success ? "ok" : a.cls, status,
                     a.latency_us);
}

// Walks the tree depth first: every call once, roots first, then whatever
// a cycle in hostile input left unreached (as a root).
template <class Visit>
void walk(const trace_tree& t, Visit&& visit) {
  std::vector<bool> seen(t.calls.size(), false);
  auto go = [&](auto& self, std::size_t i, int depth) -> void {
    if (seen[i] || depth > trace_tree_max_depth)
      return;
    seen[i] = true;
    visit(i, depth, [&](const std::string& attempt_span) {
      auto [b, e] = t.children.equal_range(attempt_span);
      for (auto k = b; k != e; ++k)
        self(self, k->second, depth + 1);
    });
  };
  for (auto i : t.roots)
    go(go, i, 0);
  for (std::size_t i = 0; i < t.calls.size(); ++i)
    go(go, i, 0);
}

} // namespace

trace_tree assemble_trace(const std::vector<trace_source>& sources) {
  trace_tree t;
  for (auto& src : sources) {
    auto* obj = src.doc.if_object();
    auto* spans = obj ? obj->if_contains("spans") : nullptr;
    if (!spans || !spans->is_array()) {
      ++t.skipped;
      continue;
    }
    for (auto& s : spans->as_array()) {
      if (!s.is_object() || str(s.as_object(), "span_id").empty()) {
        ++t.skipped;
        continue;
      }
      t.calls.push_back(read_call(src.label, s.as_object()));
      auto id = str(s.as_object(), "trace_id");
      if (!id.empty())
        t.trace_ids.insert(std::move(id));
    }
    auto id = str(*obj, "trace_id");
    if (!id.empty())
      t.trace_ids.insert(std::move(id));
  }
  // Attempt span -> the calls made while serving the request it sent.
  std::set<std::string> attempt_spans;
  for (auto& c : t.calls)
    for (auto& a : c.tries)
      attempt_spans.insert(a.span);
  for (std::size_t i = 0; i < t.calls.size(); ++i) {
    if (attempt_spans.count(t.calls[i].upstream) != 0)
      t.children.emplace(t.calls[i].upstream, i);
    else
      t.roots.push_back(i);
  }
  return t;
}

std::string render_trace_tree(const std::vector<trace_source>& sources) {
  auto t = assemble_trace(sources);
  std::string out;
  if (t.trace_ids.size() == 1)
    out += "trace " + *t.trace_ids.begin() + "\n";
  else if (t.trace_ids.size() > 1)
    out += fmt::format("trace ids differ: {}\n", fmt::join(t.trace_ids, ", "));
  walk(t, [&](std::size_t i, int depth, auto&& descend) {
    auto& c = t.calls[i];
    std::string what;
    if (c.retried)
      what += ", retried";
    if (c.hedged)
      what += ", hedged";
    if (c.fell_back)
      what += ", fell back (" + c.fallback_source + ")";
    auto op = c.operation.empty() ? std::string{} : " \"" + c.operation + "\"";
    out += fmt::format("{:{}}[{}] {}{} span {}: {} attempt{}{} -> {}\n", "",
                       depth * 4, c.process, c.dependency, op, c.span,
                       c.attempts, c.attempts == 1 ? "" : "s", what, c.result);
    for (auto& a : c.tries) {
      out += fmt::format("{:{}}  {} {} span {}: {}\n", "", depth * 4,
                         a.hedge ? "hedge" : "attempt", a.number, a.span,
                         outcome_text(a));
      descend(a.span);
    }
  });
  if (t.calls.empty())
    out += "no spans for this trace\n";
  if (t.skipped != 0)
    out += fmt::format("({} malformed answers or spans skipped)\n", t.skipped);
  return out;
}

boost::json::object trace_tree_json(const std::vector<trace_source>& sources) {
  auto t = assemble_trace(sources);
  // Nodes are built bottom-up after the walk: the walk fixes each call's
  // place (parent attempt), then nodes are moved into their parents.
  std::vector<json::object> nodes(t.calls.size());
  std::vector<std::pair<std::size_t, std::size_t>> under; // (call, attempt)
  under.assign(t.calls.size(), {SIZE_MAX, 0});
  std::vector<std::size_t> order;
  std::vector<std::size_t> top;
  walk(t, [&](std::size_t i, int depth, auto&& descend) {
    order.push_back(i);
    if (depth == 0)
      top.push_back(i);
    auto& c = t.calls[i];
    for (std::size_t k = 0; k < c.tries.size(); ++k) {
      auto [b, e] = t.children.equal_range(c.tries[k].span);
      for (auto it = b; it != e; ++it)
        if (under[it->second].first == SIZE_MAX && it->second != i)
          under[it->second] = {i, k};
      descend(c.tries[k].span);
    }
  });
  for (auto i : order) {
    auto& c = t.calls[i];
    json::object n;
    n["process"] = c.process;
    n["dependency"] = c.dependency;
    n["operation"] = c.operation;
    n["span_id"] = c.span;
    n["parent_id"] = c.parent;
    n["upstream_span_id"] = c.upstream;
    n["attempts"] = c.attempts;
    n["retried"] = c.retried;
    n["hedged"] = c.hedged;
    n["fell_back"] = c.fell_back;
    n["fallback_source"] = c.fallback_source;
    n["result"] = c.result;
    json::array tries;
    for (auto& a : c.tries) {
      json::object x;
      x["attempt"] = a.number;
      x["span_id"] = a.span;
      x["hedge"] = a.hedge;
      x["ended"] = a.ended;
      x["success"] = a.success;
      x["class"] = a.cls;
      x["status"] = a.status;
      x["latency_us"] = a.latency_us;
      x["calls"] = json::array{};
      tries.emplace_back(std::move(x));
    }
    n["tries"] = std::move(tries);
    nodes[i] = std::move(n);
  }
  // Children first (reverse walk order): a node is complete before it moves.
  json::array roots;
  std::vector<bool> is_top(t.calls.size(), false);
  for (auto i : top)
    is_top[i] = true;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    auto i = *it;
    if (is_top[i])
      continue;
    auto [p, k] = under[i];
    auto& calls = nodes[p]["tries"].as_array()[k].as_object()["calls"];
    calls.as_array().insert(calls.as_array().begin(), std::move(nodes[i]));
  }
  for (auto i : top)
    roots.emplace_back(std::move(nodes[i]));
  json::object result;
  json::array ids;
  for (auto& id : t.trace_ids)
    ids.emplace_back(id);
  result["trace_ids"] = std::move(ids);
  result["roots"] = std::move(roots);
  result["skipped"] = t.skipped;
  return result;
}

} // namespace bulwark
