// bulwark-chaos: a fault-injecting reverse proxy (HTTP/1.1, or plain TCP)
// with a live control API. See docs/chaos.md, "The fault proxy".
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <boost/json/serialize.hpp>

#include "bulwark/runtime/config/object_reader.hpp"
#include "bulwark/runtime/core/utf8.hpp"
#include "tools/chaos/chaos_control.hpp"
#include "tools/chaos/chaos_proxy.hpp"

using namespace bulwark;

namespace {

constexpr const char* usage = R"(usage:
  bulwark-chaos --upstream HOST:PORT [options]
  --upstream HOST:PORT     the service behind the proxy (IP or localhost)
  --listen HOST:PORT       where clients connect (default 127.0.0.1:0, a
                           free port)
  --control HOST:PORT      the control API, loopback only (default
                           127.0.0.1:0)
  --mode http|tcp          HTTP reverse proxy (default) or plain TCP
  --faults FILE            start with the faults of FILE
                           ({"faults": {name: fault}}); a bad file lists
                           every error and exits 2
  --seed N                 seed of every fault decision (default 1)
  --threads N              io threads (default 1)
  --max-connections N      client connections at most (default 1024)
  --key-memory N           idempotency keys remembered (default 1000000)
  --help                   this text
On start it prints one JSON line to stdout: {"listen": PORT, "control":
PORT, ...}. It runs until SIGINT or SIGTERM.
)";

struct usage_error {
  std::string what;
};

std::pair<std::string, std::uint16_t> host_port(const std::string& flag,
                                                const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw usage_error{flag + " expects HOST:PORT (got: '"
                      + printable_utf8(text, 64) + "')"};
  auto port_text = text.substr(colon + 1);
  unsigned long port = 0;
  bool ok = !port_text.empty() && port_text.size() <= 5;
  for (char c : port_text) {
    ok = ok && c >= '0' && c <= '9';
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (!ok || port > 65535)
    throw usage_error{flag + " expects a port 0 to 65535 (got: '"
                      + printable_utf8(port_text, 16) + "')"};
  return {text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

std::uint64_t number(const std::string& flag, const std::string& text,
                     std::uint64_t min, std::uint64_t max) {
  std::uint64_t x = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok)
      x = x * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || x < min || x > max)
    throw usage_error{flag + " expects a whole number from "
                      + std::to_string(min) + " to " + std::to_string(max)
                      + " (got: '" + printable_utf8(text, 24) + "')"};
  return x;
}

} // namespace

int main(int argc, char** argv) {
  chaos_proxy_options opts;
  std::string control_host = "127.0.0.1";
  std::uint16_t control_port = 0;
  std::optional<std::string> faults_file;
  bool have_upstream = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string flag = argv[i];
      std::optional<std::string> inline_value;
      if (auto eq = flag.find('='); eq != std::string::npos) {
        inline_value = flag.substr(eq + 1);
        flag = flag.substr(0, eq);
      }
      auto value = [&]() -> std::string {
        if (inline_value)
          return *inline_value;
        if (i + 1 < argc)
          return argv[++i];
        throw usage_error{flag + " needs a value"};
      };
      if (flag == "--help" || flag == "-h") {
        std::cout << usage;
        return 0;
      } else if (flag == "--upstream") {
        std::tie(opts.upstream_host, opts.upstream_port) =
          host_port(flag, value());
        have_upstream = true;
      } else if (flag == "--listen") {
        std::tie(opts.listen_host, opts.listen_port) = host_port(flag, value());
      } else if (flag == "--control") {
        std::tie(control_host, control_port) = host_port(flag, value());
      } else if (flag == "--mode") {
        auto m = value();
        if (m == "http")
          opts.mode = proxy_mode::http;
        else if (m == "tcp")
          opts.mode = proxy_mode::tcp;
        else
          throw usage_error{"--mode must be http or tcp (got: '"
                            + printable_utf8(m, 16) + "')"};
      } else if (flag == "--faults") {
        faults_file = value();
      } else if (flag == "--seed") {
        opts.seed = number(flag, value(), 0, ~std::uint64_t{0});
      } else if (flag == "--threads") {
        opts.threads = number(flag, value(), 1, 64);
      } else if (flag == "--max-connections") {
        opts.max_connections = number(flag, value(), 1, 1'000'000);
      } else if (flag == "--key-memory") {
        opts.key_memory = number(flag, value(), 1, 100'000'000);
      } else {
        throw usage_error{"unknown option '" + printable_utf8(flag, 64) + "'"};
      }
    }
    if (!have_upstream)
      throw usage_error{"--upstream is required"};
    if (opts.upstream_port == 0)
      throw usage_error{"--upstream needs a port other than 0"};
  } catch (const usage_error& e) {
    std::cerr << "bulwark-chaos: " << e.what << " (see --help)\n";
    return 2;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  chaos_proxy proxy{opts};
  if (faults_file) {
    std::ifstream in{*faults_file, std::ios::binary};
    if (!in) {
      std::cerr << "bulwark-chaos: cannot read '"
                << printable_utf8(*faults_file, 200) << "'\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    error_list errors;
    auto doc = parse_json_text(text.str(), errors);
    if (errors.empty())
      errors = proxy.replace_faults(doc);
    if (!errors.empty()) {
      std::cerr << "bulwark-chaos: invalid faults file '"
                << printable_utf8(*faults_file, 200) << "':\n"
                << errors.to_string();
      return 2;
    }
  }
  std::unique_ptr<http_server> control;
  try {
    proxy.start();
    control = start_chaos_control(proxy, control_host, control_port);
  } catch (const std::exception& e) {
    std::cerr << "bulwark-chaos: cannot start: " << e.what() << '\n';
    return 1;
  }
  boost::json::object hello{
    {"listen", proxy.port()},
    {"control", control->port()},
    {"mode", to_string(opts.mode)},
    {"upstream", opts.upstream_host + ":" + std::to_string(opts.upstream_port)},
    {"seed", opts.seed}};
  std::cout << boost::json::serialize(hello) << std::endl;
  std::cerr << "bulwark-chaos: " << to_string(opts.mode) << " proxy on "
            << opts.listen_host << ':' << proxy.port() << " -> "
            << opts.upstream_host << ':' << opts.upstream_port
            << ", control API on " << control_host << ':' << control->port()
            << '\n';
  int sig = 0;
  sigwait(&sigs, &sig);
  control->stop();
  proxy.stop();
  return 0;
}
