#include "bench/runner/load_command.hpp"

#include "bench/runner/report.hpp"
#include "bench/runner/report_folder.hpp"
#include "bench/runner/scenario.hpp"
#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/utf8.hpp"
#include "tools/load/load_client.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace bulwark::bench {

namespace {

constexpr const char* usage = R"(usage:
  bulwark-bench load --target URL [options]
  --target URL              http://HOST:PORT/PATH; HOST an IPv4 address or
                            localhost; PATH may hold {seq}, {uuid}, {run}
  --target-b URL            A/B run: alternate with this target in slices
                            (A B B A ...) and report B/A ratios
  --slice D                 A/B slice length (default 100ms)
  --rate N                  open loop: requests per second (default 100)
  --arrival constant|poisson  open loop: intended send times (default
                            constant)
  --closed                  closed loop: --connections requests always in
                            flight, no rate (saturation throughput)
  --duration D              length of the run (default 10s)
  --connections N           keep-alive connections per target (default 64)
  --method M                default GET, or POST with a body
  --body TEMPLATE           request body; {seq} sequence number, {uuid} a
                            random UUID, {run} the run's id
  --body-file FILE          the body template from a file
  --content-type T          of the body (default application/json)
  --header 'NAME: TEMPLATE' an extra header (repeatable)
  --idempotency-key TEMPLATE  shorthand for --header 'Idempotency-Key: ...'
  --timeout D               per request (default 10s)
  --drain D                 after the run, wait this long for answers
                            (default 10s); later ones count as unfinished
  --seed N                  seeds Poisson times, {uuid} and {run}
                            (default: random, printed)
  --format json|table       JSON lines (one per second and a summary), or
                            a table (default: table on a terminal)
  --report DIR              also write a report folder (CSV, Markdown,
                            latency and throughput charts)
  --help                    this text
Durations have a unit: 500ms, 10s, 2m.
)";

struct usage_error {
  std::string what;
};

std::chrono::nanoseconds parse_duration_flag(const std::string& flag,
                                             const std::string& text,
                                             duration min) {
  duration d{};
  if (parse_duration(text, d) != duration_parse_error::none || d < min)
    throw usage_error{flag + " expects a duration with a unit, at least "
                      + format_duration(min) + " (got: '"
                      + printable_utf8(text, 32) + "')"};
  return d;
}

double parse_positive(const std::string& flag, const std::string& text,
                      double max) {
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(x > 0) || x > max)
    throw usage_error{fmt::format("{} expects a number above 0 and at most "
                                  "{} (got: '{}')",
                                  flag, max, printable_utf8(text, 32))};
  return x;
}

std::uint64_t parse_whole(const std::string& flag, const std::string& text,
                          std::uint64_t min, std::uint64_t max) {
  std::uint64_t x = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok)
      x = x * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || x < min || x > max)
    throw usage_error{fmt::format("{} expects a whole number from {} to {} "
                                  "(got: '{}')",
                                  flag, min, max, printable_utf8(text, 24))};
  return x;
}

request_template parse_template(const std::string& what,
                                const std::string& text) {
  std::string error;
  auto t = request_template::parse(text, error);
  if (!t)
    throw usage_error{what + ": " + error};
  return *t;
}

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9')
         || std::string_view{"!#$%&'*+-.^_`|~"}.find(c)
              != std::string_view::npos;
}

// "Name: value" -> a checked header: a token name, a value without control
// characters, and none of the fields the generator owns.
std::pair<std::string, request_template> parse_header(const std::string& text) {
  auto colon = text.find(':');
  auto name = text.substr(0, colon);
  bool ok = colon != std::string::npos && !name.empty() && name.size() <= 64;
  for (char c : name)
    ok = ok && is_tchar(c);
  if (!ok)
    throw usage_error{"--header expects 'NAME: VALUE' with a token name (got: '"
                      + printable_utf8(text, 64) + "')"};
  auto value = text.substr(colon + 1);
  auto first = value.find_first_not_of(' ');
  value = first == std::string::npos ? std::string{} : value.substr(first);
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto u = static_cast<unsigned char>(value[i]);
    if ((u < 0x20 && u != '\t') || u == 0x7F)
      throw usage_error{fmt::format("--header {}: a control character "
                                    "(0x{:02X}) at byte {} of the value",
                                    name, u, i)};
  }
  std::string lower;
  for (char c : name)
    lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (auto owned :
       {"host", "content-length", "transfer-encoding", "connection"})
    if (lower == owned)
      throw usage_error{"--header " + name + ": set by the generator"};
  auto tmpl = parse_template("--header " + name, value);
  if (lower == "idempotency-key")
    for (auto lit : tmpl.literals())
      if (auto problem = key_problem(lit))
        throw usage_error{"--header Idempotency-Key: the template's text "
                          + *problem};
  return {name, std::move(tmpl)};
}

struct cli {
  load_options opts;
  std::optional<std::string> format;
  std::optional<std::string> report;
  bool seed_given = false;
  bool help = false;
  bool method_given = false;
};

cli parse(int argc, char** argv) {
  cli c;
  auto& o = c.opts;
  std::vector<std::string> urls(2);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string flag = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg[0] == '-') {
      flag = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto value = [&]() -> std::string {
      if (inline_value)
        return *inline_value;
      if (i + 1 < argc)
        return argv[++i];
      throw usage_error{flag + " needs a value"};
    };
    auto no_value = [&] {
      if (inline_value)
        throw usage_error{flag + " takes no value"};
    };
    if (flag == "--help" || flag == "-h") {
      c.help = true;
    } else if (flag == "--target") {
      urls[0] = value();
    } else if (flag == "--target-b") {
      urls[1] = value();
    } else if (flag == "--slice") {
      o.slice = parse_duration_flag(flag, value(), milliseconds(1));
    } else if (flag == "--rate") {
      o.rate_per_s = parse_positive(flag, value(), 10'000'000);
    } else if (flag == "--arrival") {
      auto v = value();
      if (!from_string(v, o.arrival))
        throw usage_error{"--arrival must be constant or poisson (got: '"
                          + printable_utf8(v, 32) + "')"};
    } else if (flag == "--closed") {
      no_value();
      o.closed_loop = true;
    } else if (flag == "--duration") {
      o.duration = parse_duration_flag(flag, value(), milliseconds(1));
    } else if (flag == "--connections") {
      o.connections = parse_whole(flag, value(), 1, 10'000);
    } else if (flag == "--method") {
      auto m = value();
      bool ok = !m.empty() && m.size() <= 16;
      for (char ch : m)
        ok = ok && ch >= 'A' && ch <= 'Z';
      if (!ok)
        throw usage_error{"--method expects 1 to 16 uppercase letters (got: '"
                          + printable_utf8(m, 32) + "')"};
      o.method = m;
      c.method_given = true;
    } else if (flag == "--body") {
      o.body = parse_template("--body", value());
    } else if (flag == "--body-file") {
      auto path = value();
      std::ifstream in{path, std::ios::binary};
      if (!in)
        throw usage_error{"--body-file: cannot read '"
                          + printable_utf8(path, 200) + "'"};
      std::stringstream text;
      text << in.rdbuf();
      o.body = parse_template("--body-file", text.str());
    } else if (flag == "--content-type") {
      auto v = value();
      for (char ch : v)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F)
          throw usage_error{"--content-type has a control character"};
      o.content_type = v;
    } else if (flag == "--header") {
      o.headers.push_back(parse_header(value()));
    } else if (flag == "--idempotency-key") {
      o.headers.push_back(parse_header("Idempotency-Key: " + value()));
    } else if (flag == "--timeout") {
      o.timeout = parse_duration_flag(flag, value(), milliseconds(1));
    } else if (flag == "--drain") {
      o.drain = parse_duration_flag(flag, value(), duration::zero());
    } else if (flag == "--seed") {
      o.seed = parse_whole(flag, value(), 0, ~std::uint64_t{0});
      c.seed_given = true;
    } else if (flag == "--format") {
      auto f = value();
      if (f != "json" && f != "table")
        throw usage_error{"--format must be json or table"};
      c.format = f;
    } else if (flag == "--report") {
      auto dir = value();
      if (dir.empty())
        throw usage_error{"--report needs a folder"};
      c.report = dir;
    } else {
      throw usage_error{"unknown option '" + printable_utf8(arg, 64) + "'"};
    }
  }
  if (c.help)
    return c;
  if (urls[0].empty())
    throw usage_error{"--target is required"};
  for (auto& url : urls) {
    if (url.empty())
      continue;
    std::string error;
    auto t = parse_target_url(url, error);
    if (!t)
      throw usage_error{error};
    std::string path_error;
    if (!request_template::parse(t->path, path_error))
      throw usage_error{"target path: " + path_error};
    o.targets.push_back(*t);
  }
  if (!c.method_given && !o.body.empty())
    o.method = "POST";
  return c;
}

boost::json::object summary_json(const cli& c, const load_result& r) {
  auto& o = c.opts;
  boost::json::object out;
  out["type"] = "summary";
  out["mode"] = o.closed_loop ? "closed" : "open";
  if (!o.closed_loop) {
    out["arrival"] = to_string(o.arrival);
    out["target_rate_per_s"] = o.rate_per_s;
    out["achieved_rate_per_s"] = r.verdict.achieved_per_s;
    out["rate_error"] = r.verdict.rate_error;
    out["rate_held"] = r.verdict.held;
    out["verdict"] = r.verdict.message;
  } else {
    out["connections"] = o.connections;
  }
  out["duration_s"] = to_seconds(o.duration);
  out["seed"] = o.seed;
  out["run_id"] = o.run_id;
  boost::json::object targets;
  for (std::size_t i = 0; i < r.per_target.size(); ++i) {
    auto t = to_json(r.per_target[i], r.active[i]);
    t["url"] = printable_utf8(o.targets[i].url, 200);
    if (!o.closed_loop) {
      t["sent_in_time"] = r.sent_in_time[i];
      t["dropped"] = r.dropped[i];
    }
    targets[i == 0 ? "a" : "b"] = std::move(t);
  }
  out["targets"] = std::move(targets);
  if (r.per_target.size() == 2)
    out["ab"] =
      ab_ratios(r.per_target[0], r.active[0], r.per_target[1], r.active[1]);
  return out;
}

std::string format_summary_table(const boost::json::object& s) {
  std::string out;
  auto num = [](const boost::json::value& v) {
    if (v.is_double())
      return fmt::format("{:.4g}", v.as_double());
    if (v.is_int64())
      return fmt::format("{}", v.as_int64());
    if (v.is_uint64())
      return fmt::format("{}", v.as_uint64());
    if (v.is_bool())
      return std::string{v.as_bool() ? "true" : "false"};
    if (v.is_string())
      return std::string{v.as_string()};
    return std::string{"-"};
  };
  auto& targets = s.at("targets").as_object();
  out +=
    fmt::format("{} loop, {} s", num(s.at("mode")), num(s.at("duration_s")));
  if (auto* v = s.if_contains("verdict"))
    out += ": " + num(*v);
  out += fmt::format(" (seed {})\n", num(s.at("seed")));
  std::vector<std::string> rows{
    "url",          "requests",        "ok",         "client_error",
    "server_error", "transport_error", "unfinished", "rate_per_s",
    "p50_ms",       "p90_ms",          "p99_ms",     "p99_9_ms",
    "p99_99_ms",    "max_ms"};
  out += fmt::format("{:<16}", "");
  for (auto& [name, t] : targets)
    out += fmt::format(" {:>14}", std::string{name});
  out += '\n';
  for (auto& row : rows) {
    out += fmt::format("{:<16}", row);
    for (auto& [name, t] : targets) {
      auto* v = t.as_object().if_contains(row);
      auto text = v ? num(*v) : std::string{"-"};
      out += fmt::format(" {:>14}", row == "url" ? text.substr(0, 40) : text);
    }
    out += '\n';
  }
  if (auto* ab = s.if_contains("ab")) {
    out += "B/A:";
    for (auto& [name, v] : ab->as_object())
      out += fmt::format(" {}={}", std::string{name}, num(v));
    out += '\n';
  }
  return out;
}

// The report folder's view of the run: fields, a mode per target, charts.
scenario_result as_scenario_result(const cli& c, const load_result& r,
                                   const boost::json::object& s) {
  scenario_result out;
  auto& o = c.opts;
  out.fields.add("mode", o.closed_loop ? "closed" : "open");
  out.fields.add("duration_s", to_seconds(o.duration));
  if (!o.closed_loop) {
    out.fields.add("target_rate_per_s", o.rate_per_s);
    out.fields.add("achieved_rate_per_s", r.verdict.achieved_per_s);
    out.fields.add("verdict", r.verdict.message);
  }
  auto& targets = s.at("targets").as_object();
  const char* names[] = {"a", "b"};
  for (std::size_t i = 0; i < r.per_target.size(); ++i) {
    auto& m = out.mode(names[i]);
    for (auto& [key, v] : targets.at(names[i]).as_object()) {
      if (v.is_double())
        m.add(std::string{key}, v.as_double());
      else if (v.is_int64())
        m.add(std::string{key}, v.as_int64());
      else if (v.is_uint64())
        m.add(std::string{key}, static_cast<std::int64_t>(v.as_uint64()));
      else if (v.is_string())
        m.add(std::string{key}, std::string{v.as_string()});
    }
  }
  chart latency{"latency",  "Latency per second (from intended send times)",
                "time (s)", "latency (ms)",
                {},         {},
                true};
  chart rate{
    "throughput", "Answers per second", "time (s)", "requests / s", {}, {},
    false};
  for (std::size_t i = 0; i < r.per_target.size(); ++i) {
    series p50{"p50", names[i], {}};
    series p99{"p99", names[i], {}};
    series rps{"answers", names[i], {}};
    double last = 0.0;
    for (auto& li : r.intervals) {
      auto& x = li.per_target[i];
      auto span = li.at_s - last;
      last = li.at_s;
      if (x.requests > 0) {
        p50.points.emplace_back(li.at_s, x.p50_ms);
        p99.points.emplace_back(li.at_s, x.p99_ms);
      }
      if (span > 0)
        rps.points.emplace_back(li.at_s,
                                static_cast<double>(x.requests) / span);
    }
    latency.lines.push_back(std::move(p50));
    latency.lines.push_back(std::move(p99));
    rate.lines.push_back(std::move(rps));
  }
  out.charts.push_back(std::move(latency));
  out.charts.push_back(std::move(rate));
  return out;
}

} // namespace

int run_load_command(int argc, char** argv) {
  cli c;
  try {
    c = parse(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "bulwark-bench load: " << e.what << " (see load --help)\n";
    return 2;
  }
  if (c.help) {
    std::cout << usage;
    return 0;
  }
  if (!c.seed_given)
    c.opts.seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32)
                  ^ std::random_device{}();
  c.opts.run_id = fmt::format("{:016x}", c.opts.seed);
  auto json = c.format ? *c.format == "json" : !isatty(STDOUT_FILENO);
  const char* names[] = {"a", "b"};
  auto on_interval = [&](const load_interval& li) {
    if (!json)
      return;
    boost::json::object line{{"type", "interval"}, {"t_s", li.at_s}};
    boost::json::object targets;
    for (std::size_t i = 0; i < li.per_target.size(); ++i) {
      auto& x = li.per_target[i];
      targets[names[i]] = boost::json::object{{"requests", x.requests},
                                              {"errors", x.errors},
                                              {"p50_ms", x.p50_ms},
                                              {"p99_ms", x.p99_ms},
                                              {"max_ms", x.max_ms}};
    }
    line["targets"] = std::move(targets);
    std::cout << json_line(line) << '\n' << std::flush;
  };
  auto r = run_load(c.opts, on_interval);
  if (!r.error.empty()) {
    std::cerr << "bulwark-bench load: " << r.error << '\n';
    return 1;
  }
  auto s = summary_json(c, r);
  if (json)
    std::cout << json_line(s) << '\n';
  else
    std::cout << format_summary_table(s);
  std::cout.flush();
  if (!c.opts.closed_loop && !r.verdict.held)
    std::cerr << "bulwark-bench load: " << r.verdict.message << '\n';
  if (c.report) {
    try {
      report_folder folder{*c.report, c.opts.seed, false};
      scenario x{"load",
                 "bulwark-bench load on "
                   + printable_utf8(c.opts.targets[0].url, 100)
                   + (c.opts.targets.size() > 1
                        ? " vs " + printable_utf8(c.opts.targets[1].url, 100)
                        : std::string{}),
                 {}};
      for (auto& w : folder.add(x, as_scenario_result(c, r, s)))
        std::cerr << "bulwark-bench load: warning: " << w << '\n';
      std::cerr << "report: " << folder.finish() << '\n';
    } catch (const std::exception& e) {
      std::cerr << "bulwark-bench load: report: " << e.what() << '\n';
      return 1;
    }
  }
  return 0;
}

} // namespace bulwark::bench
