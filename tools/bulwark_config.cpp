// bulwark-config: check a configuration file the way `nginx -t` or
// `promtool check config` do, or print the complete default configuration.
//
//   bulwark-config check FILE   prints "ok" (exit 0) or every error as
//                               "PATH: message" (exit 1); unreadable file: exit
//                               2
//   bulwark-config defaults     prints the default configuration as JSON
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "bulwark/runtime/config/bulwark_config.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"

namespace {

constexpr std::string_view usage =
  "usage: bulwark-config check FILE   validate a configuration file\n"
  "       bulwark-config defaults     print the complete default "
  "configuration\n";

// Configuration files larger than this are refused before parsing.
constexpr std::size_t max_file_size = 64 * 1024 * 1024;

int check(const char* file) {
  std::string text;
  if (std::string_view{file} == "-") {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    text = buf.str();
  } else {
    std::ifstream in{file, std::ios::binary};
    if (!in) {
      std::cerr << "bulwark-config: cannot read " << file << ": "
                << std::strerror(errno) << '\n';
      return 2;
    }
    in.seekg(0, std::ios::end);
    auto size = in.tellg();
    if (size < 0) {
      std::cerr << "bulwark-config: cannot read " << file << '\n';
      return 2;
    }
    if (static_cast<std::size_t>(size) > max_file_size) {
      std::cerr << "bulwark-config: " << file << " is larger than "
                << max_file_size / (1024 * 1024) << " MiB\n";
      return 2;
    }
    in.seekg(0);
    text.resize(static_cast<std::size_t>(size));
    if (!in.read(text.data(), size)) {
      std::cerr << "bulwark-config: cannot read " << file << '\n';
      return 2;
    }
  }
  auto result = bulwark::parse_bulwark_config(text);
  if (result.ok()) {
    std::cout << "ok\n";
    return 0;
  }
  std::cout << result.errors.to_string();
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  std::string_view cmd = argc > 1 ? argv[1] : "";
  if (cmd == "check" && argc == 3)
    return check(argv[2]);
  if (cmd == "defaults" && argc == 2) {
    std::cout << bulwark::pretty_json(
      bulwark::to_json(bulwark::default_bulwark_config()));
    return 0;
  }
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << usage;
    return 0;
  }
  std::cerr << usage;
  return 2;
}
