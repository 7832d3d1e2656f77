#include "bench/runner/report_folder.hpp"

#include "bench/runner/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bulwark::bench {

namespace {

void make_dirs(const std::string& dir) {
  std::string path;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty())
      continue;
    if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create report folder '" + path
                               + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("report folder '" + dir + "' is not a directory");
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error("cannot write '" + path + "'");
}

std::string csv_cell(const std::string& x) {
  if (x.find_first_of(",\"\n") == std::string::npos)
    return x;
  std::string out = "\"";
  for (char c : x)
    out += c == '"' ? std::string{"\"\""} : std::string(1, c);
  return out + '"';
}

// CSV keeps full precision (it is for scripts), unlike the tables.
std::string csv_value(const field_value& v) {
  if (auto* d = std::get_if<double>(&v))
    return std::isfinite(*d) ? fmt::format("{}", *d) : std::string{};
  if (std::holds_alternative<std::nullptr_t>(v))
    return std::string{};
  return csv_cell(format_value(v));
}

std::string quote(const std::string& x) {
  std::string out = "\"";
  for (char c : x) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + '"';
}

std::string shell_quote(const std::string& x) {
  std::string out = "'";
  for (char c : x)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

bool have_program(const char* name) {
  auto* path = std::getenv("PATH");
  if (path == nullptr)
    return false;
  std::stringstream dirs{path};
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    auto full = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(full.c_str(), X_OK) == 0)
      return true;
  }
  return false;
}

std::string first_line_of(const char* cmd) {
  std::string out;
  if (auto* p = ::popen(cmd, "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, p) != nullptr)
      out = buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos)
        return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

std::string utc_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Colours by mode, so a mode looks the same in every chart.
const char* mode_colour(const std::string& mode, std::size_t index) {
  if (mode == "bulwark")
    return "#1a9850";
  if (mode == "naive")
    return "#f46d43";
  if (mode == "none")
    return "#7b3294";
  // The metastable scenario's client-only modes.
  if (mode == "backoff")
    return "#4d4d4d";
  if (mode == "token_bucket")
    return "#e08214";
  if (mode == "budget20")
    return "#2166ac";
  if (mode.empty()) // a line shared by all modes (e.g. first tries)
    return "#000000";
  static const char* others[] = {"#2166ac", "#b2182b", "#4d4d4d", "#e08214"};
  return others[index % 4];
}

} // namespace

namespace {

using mode_list = std::vector<std::pair<std::string, field_list>>;

void add_columns(std::vector<std::string>& columns, const field_list& xs) {
  for (auto& [key, val] : xs.items())
    if (std::find(columns.begin(), columns.end(), key) == columns.end())
      columns.push_back(key);
}

std::string csv_cells(const std::vector<std::string>& columns,
                      const field_list& xs) {
  std::string out;
  for (auto& key : columns) {
    auto* v = xs.find(key);
    out += "," + (v ? csv_value(*v) : std::string{});
  }
  return out;
}

// The scenario's fields, then (when there are modes) one table with one
// column per mode.
std::string markdown_tables(const field_list& top, const mode_list& modes) {
  std::string out;
  if (modes.empty() || !top.empty()) {
    out += "| field | value |\n|---|---:|\n";
    for (auto& [key, val] : top.items())
      out += fmt::format("| `{}` | {} |\n", key, format_value(val));
  }
  if (modes.empty())
    return out;
  if (!out.empty())
    out += '\n';
  std::vector<std::string> rows;
  for (auto& [mode, fields] : modes)
    add_columns(rows, fields);
  out += "| field |";
  for (auto& [mode, fields] : modes)
    out += " " + mode + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < modes.size(); ++i)
    out += "---:|";
  out += '\n';
  for (auto& key : rows) {
    out += "| `" + key + "` |";
    for (auto& [mode, fields] : modes) {
      auto* v = fields.find(key);
      out += " " + (v ? format_value(*v) : std::string{"-"}) + " |";
    }
    out += '\n';
  }
  return out;
}

} // namespace

std::string format_csv(const std::string& name, std::uint64_t seed,
                       const scenario_result& result) {
  std::vector<std::string> columns;
  for (auto& [mode, fields] : result.modes)
    add_columns(columns, fields);
  std::string out = "scenario,seed";
  if (!result.setups.empty())
    out += ",setup";
  if (!result.modes.empty() || !result.setups.empty())
    out += ",mode";
  for (auto& [key, val] : result.fields.items())
    out += "," + csv_cell(key);
  auto common = csv_cell(name) + "," + std::to_string(seed);
  std::string top;
  for (auto& [key, val] : result.fields.items())
    top += "," + csv_value(val);
  if (!result.setups.empty()) {
    // One row per set-up and mode: the set-up's fields, then the mode's.
    std::vector<std::string> setup_columns;
    for (auto& x : result.setups) {
      add_columns(setup_columns, x.fields);
      for (auto& [mode, fields] : x.modes)
        add_columns(columns, fields);
    }
    for (auto& key : setup_columns)
      out += "," + csv_cell(key);
    for (auto& key : columns)
      out += "," + csv_cell(key);
    out += '\n';
    for (auto& x : result.setups)
      for (auto& [mode, fields] : x.modes)
        out += common + "," + csv_cell(x.name) + "," + csv_cell(mode) + top
               + csv_cells(setup_columns, x.fields) + csv_cells(columns, fields)
               + '\n';
    return out;
  }
  for (auto& key : columns)
    out += "," + csv_cell(key);
  out += '\n';
  if (result.modes.empty())
    return out + common + top + "\n";
  for (auto& [mode, fields] : result.modes)
    out +=
      common + "," + csv_cell(mode) + top + csv_cells(columns, fields) + '\n';
  return out;
}

std::string format_markdown_table(const scenario_result& result) {
  std::string out;
  if (!result.fields.empty() || !result.modes.empty() || result.setups.empty())
    out += markdown_tables(result.fields, result.modes);
  for (auto& x : result.setups) {
    if (!out.empty())
      out += '\n';
    out += "Set-up " + x.name + ":\n\n" + markdown_tables(x.fields, x.modes);
  }
  return out;
}

std::string gnuplot_script(const chart& c, const std::string& png_path) {
  std::string s;
  s += "set terminal pngcairo size 1100,520 font \"sans,10\"\n";
  s += "set output " + quote(png_path) + "\n";
  // noenhanced: names like token_bucket stay as written (no subscripts).
  s += "set title " + quote(c.title) + " noenhanced\n";
  s += "set xlabel " + quote(c.x_label) + " noenhanced\n";
  s += "set ylabel " + quote(c.y_label) + " noenhanced\n";
  s += "set grid\nset key outside right top\n";
  if (c.log_y)
    s += "set logscale y\n";
  else // from zero, with headroom so a line at the maximum stays visible
    s += "set yrange [0:*]\nset offsets 0, 0, graph 0.1, 0\n";
  // Fault windows: a translucent band each, labelled at the top, labels
  // stepped down so overlapping windows stay readable.
  static const char* fills[] = {"#fdd0a2", "#c6dbef", "#d9d9d9", "#fcbba1"};
  for (std::size_t i = 0; i < c.windows.size(); ++i) {
    auto& w = c.windows[i];
    s += fmt::format("set object {} rect from {}, graph 0 to {}, graph 1 "
                     "fc rgb \"{}\" fs transparent solid 0.5 noborder "
                     "behind\n",
                     i + 1, w.start, w.end, fills[i % 4]);
    s += fmt::format("set label {} {} at {}, graph {} left front "
                     "font \",9\" noenhanced\n",
                     i + 1, quote(" " + w.label), w.start,
                     0.96 - 0.05 * static_cast<double>(i));
  }
  std::vector<std::string> modes;
  for (auto& l : c.lines)
    if (std::find(modes.begin(), modes.end(), l.mode) == modes.end())
      modes.push_back(l.mode);
  std::vector<std::string> names;
  for (auto& l : c.lines)
    if (std::find(names.begin(), names.end(), l.name) == names.end())
      names.push_back(l.name);
  std::string plot;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    auto& l = c.lines[i];
    std::string block;
    for (auto& [x, y] : l.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_y && y <= 0))
        continue;
      block += fmt::format("{} {}\n", x, y);
    }
    if (block.empty()) // gnuplot refuses an empty datablock in a plot
      continue;
    s += fmt::format("$d{} << EOD\n{}EOD\n", i, block);
    auto m = static_cast<std::size_t>(
      std::find(modes.begin(), modes.end(), l.mode) - modes.begin());
    auto n = static_cast<std::size_t>(
      std::find(names.begin(), names.end(), l.name) - names.begin());
    auto title = l.mode.empty()     ? l.name
                 : names.size() > 1 ? l.mode + " " + l.name
                                    : l.mode;
    plot += fmt::format("{}$d{} using 1:2 with lines lw {} dt {} lc rgb \"{}\" "
                        "title {} noenhanced",
                        plot.empty() ? "plot " : ", ", i, n == 0 ? 2 : 1.5,
                        n + 1, mode_colour(l.mode, m), quote(title));
  }
  if (plot.empty())
    return {};
  return s + plot + "\n";
}

report_folder::report_folder(std::string dir, std::uint64_t seed, bool quick)
  : dir_(std::move(dir)),
    seed_(seed),
    quick_(quick) {
  if (dir_.empty())
    dir_ = ".";
  while (dir_.size() > 1 && dir_.back() == '/')
    dir_.pop_back();
  make_dirs(dir_);
}

std::vector<std::string> report_folder::add(const scenario& x,
                                            const scenario_result& result) {
  std::vector<std::string> warnings;
  entry e{x.name, x.description, format_markdown_table(result), {}};
  write_file(dir_ + "/" + x.name + ".csv", format_csv(x.name, seed_, result));
  write_file(dir_ + "/" + x.name + ".md",
             fmt::format("# {}\n\n{}\n\nSeed {}{}.\n\n{}", x.name,
                         x.description, seed_, quick_ ? ", --quick" : "",
                         e.table));
  if (!result.charts.empty() && !have_program("gnuplot")) {
    warnings.push_back(
      fmt::format("gnuplot not found: skipped the {} chart(s) of '{}' (install "
                  "gnuplot-nox)",
                  result.charts.size(), x.name));
  } else {
    for (auto& c : result.charts) {
      auto png_name = x.name + "-" + c.name + ".png";
      auto png = dir_ + "/" + png_name;
      auto script = gnuplot_script(c, png);
      if (script.empty()) {
        warnings.push_back("chart '" + png_name + "' has no data: skipped");
        continue;
      }
      auto script_path = dir_ + "/." + x.name + "-" + c.name + ".gp";
      write_file(script_path, script);
      auto cmd = "gnuplot " + shell_quote(script_path) + " 2>&1";
      std::string output;
      int status = -1;
      if (auto* p = ::popen(cmd.c_str(), "r")) {
        char buf[512];
        while (std::fgets(buf, sizeof buf, p) != nullptr)
          output += buf;
        status = ::pclose(p);
      }
      if (status == 0) {
        ::unlink(script_path.c_str());
        e.pngs.push_back(png_name);
      } else {
        warnings.push_back("gnuplot failed on " + script_path
                           + " (kept for inspection): " + output);
      }
    }
  }
  entries_.push_back(std::move(e));
  warnings_.insert(warnings_.end(), warnings.begin(), warnings.end());
  return warnings;
}

std::string report_folder::finish() {
  std::string md = "# bulwark-bench report\n\n";
  md += "| | |\n|---|---|\n";
  md += fmt::format("| date | {} |\n", utc_now());
  md += fmt::format("| seed | {}{} |\n", seed_, quick_ ? " (--quick)" : "");
  md += fmt::format("| machine | {} CPUs (nproc), {} |\n",
                    ::sysconf(_SC_NPROCESSORS_ONLN), cpu_model());
  auto kernel = first_line_of("uname -sr 2>/dev/null");
  if (!kernel.empty())
    md += fmt::format("| kernel | {} |\n", kernel);
  for (auto& e : entries_) {
    md += fmt::format("\n## {}\n\n{}\n\n{}\nFiles: [{}.csv]({}.csv), "
                      "[{}.md]({}.md)",
                      e.name, e.description, e.table, e.name, e.name, e.name,
                      e.name);
    for (auto& png : e.pngs)
      md += fmt::format(", [{}]({})", png, png);
    md += "\n";
    for (auto& png : e.pngs)
      md += fmt::format("\n![{}]({})\n", png, png);
  }
  if (!warnings_.empty()) {
    md += "\n## Warnings\n\n";
    for (auto& w : warnings_)
      md += "- " + w + "\n";
  }
  write_file(dir_ + "/README.md", md);
  char buf[PATH_MAX];
  if (::realpath(dir_.c_str(), buf) != nullptr)
    return buf;
  return dir_;
}

} // namespace bulwark::bench
