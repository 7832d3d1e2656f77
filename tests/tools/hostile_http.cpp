// bulwark-hostile: sends the hostile HTTP corpus (tests/actors/http/
// hostile_corpus.hpp) to a server on 127.0.0.1 and judges every answer
// (tests/actors/http/hostile_run.hpp). Exit 0 when nothing was violated,
// 1 when something was (each violation names the seed, the case index, its
// kind and its first 200 bytes), 2 for bad arguments.
//
//   bulwark-hostile --port P --profile plain|admin|keyed|gateway --seed S
//                   --cases N [--concurrency C] [--pid PID] [--json]
//                   [--first I] [--timeout-ms T] [--allow STATUS,...]
//
// With --pid, the process's VmRSS (/proc/PID/status) is read before and
// after the run; the end value must be at most twice the start value.
#include "tests/actors/http/hostile_run.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

using namespace bulwark::testing;

namespace {

void usage(std::FILE* to) {
  std::fprintf(
    to,
    "usage: bulwark-hostile --port P --profile plain|admin|keyed|gateway\n"
    "                       --seed S --cases N [--concurrency C] [--pid PID]\n"
    "                       [--json] [--first I] [--timeout-ms T]\n"
    "                       [--allow STATUS,...]\n"
    "Sends N hostile HTTP/1.1 cases to 127.0.0.1:P and judges the answers.\n"
    "  --concurrency C  connections at a time (default 4)\n"
    "  --pid PID        the server's VmRSS at the end must be <= 2x the start\n"
    "  --json           print one JSON line with the summary as well\n"
    "  --first I        start at case I (replay: --first I --cases 1)\n"
    "  --timeout-ms T   bound of every wait; above the server's read timeout\n"
    "                   (default 15000)\n"
    "  --allow LIST     statuses also acceptable everywhere (e.g. 500 while\n"
    "                   faults are injected)\n"
    "Exit: 0 nothing violated, 1 violations, 2 bad arguments.\n");
}

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19)
    return std::nullopt;
  std::uint64_t v = 0;
  for (auto c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

/// VmRSS of `pid` in kB, if readable.
std::optional<std::uint64_t> vm_rss_kb(std::uint64_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0)
      continue;
    auto digits = line.find_first_of("0123456789");
    auto end = line.find_first_not_of("0123456789", digits);
    if (digits == std::string::npos)
      return std::nullopt;
    return number(std::string_view{line}.substr(digits, end - digits));
  }
  return std::nullopt;
}

int bad_argument(const std::string& what) {
  std::fprintf(stderr, "bulwark-hostile: %s\n", what.c_str());
  usage(stderr);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  hostile_run_options opts;
  std::optional<std::uint64_t> port;
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> cases;
  std::optional<std::uint64_t> pid;
  bool profile_given = false;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (arg == "--json") {
      json = true;
      continue;
    }
    if (i + 1 >= argc)
      return bad_argument("missing value after " + std::string{arg});
    std::string_view value = argv[++i];
    auto num = number(value);
    auto need_number = [&](const char* name) {
      return bad_argument(std::string{name} + " needs a whole number (got: \""
                          + printable(std::string{value}, 40) + "\")");
    };
    if (arg == "--port") {
      if (!num || *num == 0 || *num > 65535)
        return bad_argument("--port needs 1..65535");
      port = num;
    } else if (arg == "--profile") {
      auto p = hostile_profile_from(value);
      if (!p)
        return bad_argument("--profile is plain, admin, keyed or gateway");
      opts.profile = *p;
      profile_given = true;
    } else if (arg == "--seed") {
      if (!num)
        return need_number("--seed");
      seed = num;
    } else if (arg == "--cases") {
      if (!num || *num == 0)
        return need_number("--cases");
      cases = num;
    } else if (arg == "--concurrency") {
      if (!num || *num == 0 || *num > 256)
        return bad_argument("--concurrency needs 1..256");
      opts.concurrency = *num;
    } else if (arg == "--pid") {
      if (!num || *num == 0)
        return need_number("--pid");
      pid = num;
    } else if (arg == "--first") {
      if (!num)
        return need_number("--first");
      opts.first_case = *num;
    } else if (arg == "--timeout-ms") {
      if (!num || *num == 0 || *num > 600'000)
        return bad_argument("--timeout-ms needs 1..600000");
      opts.client_timeout = std::chrono::milliseconds(*num);
    } else if (arg == "--allow") {
      std::string_view list = value;
      while (!list.empty()) {
        auto comma = list.find(',');
        auto status = number(list.substr(0, comma));
        if (!status || *status < 100 || *status > 599)
          return bad_argument("--allow needs statuses like 500,502");
        opts.also_allowed.insert(static_cast<int>(*status));
        list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
      }
    } else {
      return bad_argument("unknown argument \""
                          + printable(std::string{arg}, 40) + "\"");
    }
  }
  if (!port || !profile_given || !seed || !cases)
    return bad_argument("--port, --profile, --seed and --cases are required");
  opts.port = static_cast<std::uint16_t>(*port);
  opts.seed = *seed;
  opts.cases = *cases;

  std::optional<std::uint64_t> rss_start;
  if (pid) {
    rss_start = vm_rss_kb(*pid);
    if (!rss_start)
      return bad_argument("cannot read VmRSS of pid " + std::to_string(*pid));
  }
  std::printf("bulwark-hostile: profile %s, seed %llu, cases %llu..%llu on "
              "127.0.0.1:%u, concurrency %zu\n",
              std::string{to_string(opts.profile)}.c_str(),
              static_cast<unsigned long long>(opts.seed),
              static_cast<unsigned long long>(opts.first_case),
              static_cast<unsigned long long>(opts.first_case + opts.cases - 1),
              static_cast<unsigned>(opts.port), opts.concurrency);
  std::fflush(stdout);
  auto sum = run_hostile(opts);
  hostile_corpus corpus{opts.profile, opts.seed};
  auto final_check =
    hostile_liveness(opts, corpus, opts.first_case + opts.cases + 1);
  bool alive = final_check.empty();
  bool failed = !sum.ok() || !alive;
  std::optional<std::uint64_t> rss_end;
  bool rss_ok = true;
  if (pid) {
    rss_end = vm_rss_kb(*pid);
    rss_ok = rss_end && *rss_end <= 2 * *rss_start;
    failed = failed || !rss_ok;
  }

  std::printf("%s\n", describe(sum).c_str());
  std::printf("final normal requests: %s\n",
              alive ? "answered 2xx" : ("VIOLATION: " + final_check).c_str());
  if (pid) {
    std::printf("VmRSS of pid %llu: %llu kB at the start, %s at the end%s\n",
                static_cast<unsigned long long>(*pid),
                static_cast<unsigned long long>(*rss_start),
                rss_end ? (std::to_string(*rss_end) + " kB").c_str()
                        : "unreadable (the process is gone?)",
                rss_ok ? "" : " (VIOLATION: more than twice the start)");
  }
  for (auto& v : sum.violations)
    std::printf("replay: bulwark-hostile --port %u --profile %s --seed %llu "
                "--first %zu --cases 1\n",
                static_cast<unsigned>(opts.port),
                std::string{to_string(opts.profile)}.c_str(),
                static_cast<unsigned long long>(opts.seed), v.index);
  if (json) {
    auto obj = to_json(sum);
    obj["profile"] = to_string(opts.profile);
    obj["seed"] = opts.seed;
    obj["final_requests_ok"] = alive;
    if (pid) {
      obj["rss_start_kb"] = *rss_start;
      if (rss_end)
        obj["rss_end_kb"] = *rss_end;
      else
        obj["rss_end_kb"] = nullptr;
    }
    obj["ok"] = !failed;
    std::printf("%s\n", boost::json::serialize(obj).c_str());
  }
  std::printf("%s\n",
              failed ? "bulwark-hostile: FAILED" : "bulwark-hostile: ok");
  return failed ? 1 : 0;
}
