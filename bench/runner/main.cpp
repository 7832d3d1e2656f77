// bulwark-bench: runs registered scenarios and prints one JSON line or one
// table per scenario. See --help.
#include "bench/runner/load_command.hpp"
#include "bench/runner/progress.hpp"
#include "bench/runner/report.hpp"
#include "bench/runner/report_folder.hpp"
#include "bench/runner/scenario.hpp"
#include "bench/runner/scenario_file.hpp"
#include "bench/scenarios/cluster_node_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace bulwark::bench;

namespace {

constexpr const char* usage = R"(usage: bulwark-bench [options]
       bulwark-bench load --target URL [options]   (see load --help)
  --scenario=NAME[,NAME...]  run these scenarios (repeatable; default: all)
  --scenario-file=PATH       run the scenario described by a JSON file
                             (docs/benchmarks.md, "Scenario files"); alone
                             unless --scenario is given too; a bad file
                             lists every error and exits 2
  --format=json|table        one JSON object per line, or tables
                             (default: table on a terminal, json otherwise)
  --list                     list the scenarios and exit
  --seed=N                   seed for every random choice (default 1)
  --runs=N                   repeat and report medians where supported
                             (default 1; `cluster`: 50)
  --run-ms=N                 load per run in ms, where supported
                             (`cluster`: default 3000)
  --quick                    smaller sizes, for CI smoke tests
  --report=DIR               also write a report folder: per scenario a CSV,
                             a Markdown table and PNG charts (gnuplot), plus
                             README.md (default: report/ when the demo
                             scenario runs, none otherwise)
  --help                     this text
A scenario that checks bars (`cluster`) prints each failed bar to stderr
and makes the exit status 1. `bulwark-bench cluster-node ...` is a member
or the ledger node process the `cluster` scenario starts (not for direct
use).
)";

struct usage_error {
  std::string what;
};

struct cli {
  std::vector<std::string> scenarios;
  std::optional<std::string> scenario_file;
  bool seed_given = false;
  std::optional<std::string> format;
  bool list = false;
  bool help = false;
  std::optional<std::string> report;
  scenario_options opts;
};

std::uint64_t parse_number(std::string_view flag, const std::string& text,
                           std::uint64_t min, std::uint64_t max) {
  std::size_t used = 0;
  unsigned long long x = 0;
  try {
    if (text.empty() || text[0] == '-' || text[0] == '+')
      throw std::invalid_argument{"sign"};
    x = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || x < min || x > max)
    throw usage_error{std::string{flag} + " expects a whole number from "
                      + std::to_string(min) + " to " + std::to_string(max)
                      + " (got: '" + text + "')"};
  return x;
}

cli parse(int argc, char** argv) {
  cli result;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string flag = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto needs_value = [&]() -> std::string {
      if (value)
        return *value;
      if (i + 1 < argc)
        return argv[++i];
      throw usage_error{flag + " needs a value"};
    };
    auto no_value = [&] {
      if (value)
        throw usage_error{flag + " takes no value"};
    };
    if (flag == "--scenario") {
      auto names = needs_value();
      std::size_t start = 0;
      for (;;) {
        auto comma = names.find(',', start);
        auto name = names.substr(start, comma - start);
        if (name.empty())
          throw usage_error{"--scenario: empty scenario name in '" + names
                            + "'"};
        result.scenarios.push_back(name);
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
    } else if (flag == "--scenario-file") {
      auto path = needs_value();
      if (path.empty())
        throw usage_error{"--scenario-file needs a file"};
      result.scenario_file = path;
    } else if (flag == "--format") {
      auto fmt = needs_value();
      if (fmt != "json" && fmt != "table")
        throw usage_error{"--format must be json or table (got: '" + fmt
                          + "')"};
      result.format = fmt;
    } else if (flag == "--list") {
      no_value();
      result.list = true;
    } else if (flag == "--seed") {
      result.opts.seed = parse_number(
        flag, needs_value(), 0, std::numeric_limits<std::uint64_t>::max());
      result.seed_given = true;
    } else if (flag == "--runs") {
      result.opts.runs =
        static_cast<int>(parse_number(flag, needs_value(), 1, 1000));
      result.opts.runs_given = true;
    } else if (flag == "--run-ms") {
      result.opts.run_ms = static_cast<std::int64_t>(
        parse_number(flag, needs_value(), 1500, 600000));
    } else if (flag == "--quick") {
      no_value();
      result.opts.quick = true;
    } else if (flag == "--report") {
      auto dir = needs_value();
      if (dir.empty())
        throw usage_error{"--report needs a folder"};
      result.report = dir;
    } else if (flag == "--help" || flag == "-h") {
      result.help = true;
    } else {
      throw usage_error{"unknown option '" + arg + "'"};
    }
  }
  return result;
}

} // namespace

int main(int argc, char** argv) {
  // Load on a team's own service: a subcommand with its own options.
  if (argc > 1 && std::string_view{argv[1]} == "load")
    return run_load_command(argc - 1, argv + 1);
  // A member node of the `cluster` scenario (it starts this binary).
  if (argc > 1 && std::string_view{argv[1]} == "cluster-node")
    return run_cluster_node_command(argc - 1, argv + 1);
  cli args;
  try {
    args = parse(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "bulwark-bench: " << e.what << " (see --help)\n";
    return 2;
  }
  if (args.help) {
    std::cout << usage;
    return 0;
  }
  auto json = args.format ? *args.format == "json" : !isatty(STDOUT_FILENO);
  auto& registry = scenario_registry::instance();
  if (args.list) {
    for (auto* x : registry.all()) {
      if (json) {
        boost::json::object obj;
        obj["scenario"] = x->name;
        obj["description"] = x->description;
        std::cout << json_line(obj) << '\n';
      } else {
        std::cout << x->name << "  " << x->description << '\n';
      }
    }
    return 0;
  }
  // A scenario file is checked completely before anything runs.
  std::optional<scenario> from_file;
  if (args.scenario_file) {
    bulwark::error_list errors;
    auto cfg = read_scenario_file(*args.scenario_file, errors);
    if (!errors.empty()) {
      std::cerr << "bulwark-bench: invalid scenario file '"
                << *args.scenario_file << "':\n"
                << errors.to_string();
      return 2;
    }
    if (cfg.seed && !args.seed_given)
      args.opts.seed = *cfg.seed;
    auto name = cfg.name;
    auto description = cfg.description;
    from_file =
      scenario{name, description, [cfg](const scenario_options& opts) {
                 return run_scenario_file(cfg, opts);
               }};
  }
  std::vector<const scenario*> selected;
  if (from_file && args.scenarios.empty()) {
    selected.push_back(&*from_file);
  } else if (args.scenarios.empty()) {
    selected = registry.all();
  } else {
    for (auto& name : args.scenarios) {
      auto* x = registry.find(name);
      if (x == nullptr) {
        std::string known;
        for (auto* y : registry.all())
          known += (known.empty() ? "" : ", ") + y->name;
        std::cerr << "bulwark-bench: unknown scenario '" << name
                  << "' (known: " << known << ")\n";
        return 2;
      }
      selected.push_back(x);
    }
    if (from_file)
      selected.push_back(&*from_file);
  }
  // The demo is what a newcomer runs first: it leaves a report by default.
  auto report_dir = args.report;
  if (!report_dir)
    for (auto* x : selected)
      if (x->name == "demo")
        report_dir = "report";
  std::optional<report_folder> folder;
  if (report_dir) {
    try {
      folder.emplace(*report_dir, args.opts.seed, args.opts.quick);
    } catch (const std::exception& e) {
      std::cerr << "bulwark-bench: " << e.what() << '\n';
      return 1;
    }
  }
  progress live{isatty(STDERR_FILENO) != 0};
  args.opts.live = &live;
  bool first = true;
  bool bars_failed = false;
  for (auto* x : selected) {
    scenario_result result;
    live.begin(x->name);
    try {
      result = x->run(args.opts);
    } catch (const std::exception& e) {
      live.end();
      std::cerr << "bulwark-bench: scenario '" << x->name
                << "' failed: " << e.what() << '\n';
      return 1;
    }
    live.end();
    if (json) {
      std::cout << json_line(to_json(x->name, args.opts.seed, result)) << '\n';
    } else {
      if (!first)
        std::cout << '\n';
      std::cout << format_table(*x, args.opts.seed, result);
    }
    std::cout.flush();
    for (auto& bar : result.failed_bars) {
      std::cerr << "bulwark-bench: " << x->name << ": bar failed: " << bar
                << '\n';
      bars_failed = true;
    }
    if (folder) {
      try {
        for (auto& w : folder->add(*x, result))
          std::cerr << "bulwark-bench: warning: " << w << '\n';
      } catch (const std::exception& e) {
        std::cerr << "bulwark-bench: report: " << e.what() << '\n';
        return 1;
      }
    }
    first = false;
  }
  if (folder) {
    try {
      std::cerr << "report: " << folder->finish() << '\n';
    } catch (const std::exception& e) {
      std::cerr << "bulwark-bench: report: " << e.what() << '\n';
      return 1;
    }
  }
  return bars_failed ? 1 : 0;
}
