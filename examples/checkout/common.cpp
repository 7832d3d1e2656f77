// The shared pieces common.hpp declares: flags and ports, the admin host
// every process starts from, free ports, and the small blocking HTTP client
// the driver (and the readiness wait) use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common.hpp"

using namespace bulwark;

namespace checkout {

std::string flag(const std::vector<std::string>& args, const std::string& name,
                 const std::string& fallback) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--" + name)
      return args[i + 1];
  return fallback;
}

bool has_flag(const std::vector<std::string>& args, const std::string& name) {
  return std::find(args.begin(), args.end(), "--" + name) != args.end();
}

std::optional<std::uint16_t>
port_flag(const std::string& who, const std::vector<std::string>& args,
          const std::string& name, std::uint16_t fallback, bool allow_zero) {
  if (!has_flag(args, name))
    return fallback;
  auto text = flag(args, name, "");
  bool digits = !text.empty() && text.size() <= 5
                && std::all_of(text.begin(), text.end(), [](unsigned char c) {
                     return std::isdigit(c) != 0;
                   });
  auto value = digits ? std::stoul(text) : 0;
  if (digits && value <= 65'535 && (value > 0 || allow_zero))
    return static_cast<std::uint16_t>(value);
  std::fprintf(stderr, "%s: --%s must be a port %s..65535 (got: %s)\n",
               who.c_str(), name.c_str(), allow_zero ? "0" : "1",
               text.empty() ? "nothing" : text.c_str());
  return std::nullopt;
}

std::string published_ledger_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1) + "-ledger";
}

service_host_options host_options(const std::vector<std::string>& args) {
  admin_options admin;
  admin.port =
    static_cast<std::uint16_t>(std::stoi(flag(args, "admin-port", "0")));
  service_host_options o;
  o.admin = std::move(admin);
  return o;
}

std::unique_ptr<service_host>
start_admin_host(caf::actor_system& sys, const std::vector<std::string>& args,
                 const std::string& who) {
  try {
    auto started =
      service_host::start(sys, R"({"dependencies": {}})", host_options(args));
    if (!started.ok()) {
      for (auto& e : started.errors)
        std::fprintf(stderr, "%s: %s\n", who.c_str(), e.c_str());
      return nullptr;
    }
    return std::move(started.host);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot start the admin server: %s\n", who.c_str(),
                 e.what());
    return nullptr;
  }
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

http_answer http_call(std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body,
                      int timeout_ms, const std::string& extra_headers) {
  http_answer out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    out.error = "socket failed";
    return out;
  }
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    out.error = "connect failed";
    return out;
  }
  std::string req = method + " " + target
                    + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port)
                    + "\r\nConnection: close\r\nContent-Type: application/json"
                    + "\r\nContent-Length: " + std::to_string(body.size())
                    + "\r\n" + extra_headers + "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      out.error = "send failed";
      return out;
    }
    sent += static_cast<size_t>(n);
  }
  std::string buf;
  char chunk[4096];
  auto deadline =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t header_end = std::string::npos;
  size_t content_length = std::string::npos;
  for (;;) {
    if (header_end != std::string::npos && content_length != std::string::npos
        && buf.size() >= header_end + 4 + content_length)
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      out.error = "timed out";
      break;
    }
    auto n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      out.error = "recv failed or timed out";
      break;
    }
    if (n == 0)
      break;
    buf.append(chunk, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        auto head = buf.substr(0, header_end);
        for (auto& c : head)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto p = head.find("content-length:");
        if (p != std::string::npos)
          content_length = std::stoul(head.substr(p + 15));
      }
    }
  }
  ::close(fd);
  if (header_end == std::string::npos || buf.compare(0, 9, "HTTP/1.1 ") != 0) {
    if (out.error.empty())
      out.error = "no complete answer";
    return out;
  }
  if (content_length != std::string::npos
      && buf.size() < header_end + 4 + content_length) {
    if (out.error.empty())
      out.error = "truncated body";
    return out;
  }
  out.error.clear();
  out.status = std::stoi(buf.substr(9, 3));
  out.body = buf.substr(header_end + 4);
  return out;
}

bool wait_ready(std::uint16_t port, int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (http_call(port, "GET", "/health", "", 500).status == 200)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

} // namespace checkout
