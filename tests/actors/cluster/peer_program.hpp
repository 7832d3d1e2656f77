// What the cluster tests' peer programs (bulwark-basp-peer,
// bulwark-cluster-peer, bulwark-ledger-peer) share: lines on stdout the test
// waits for, errors on stderr, the node's document, and SIGTERM as the way
// to stop. Header-only: each program is one translation unit.
#pragma once

#include "bulwark/runtime/config/bulwark_config.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace bulwark::testing {

/// One line on stdout, written at once (the test reads a pipe).
inline void announce(const std::string& line) {
  auto text = line + "\n";
  auto rc = ::write(1, text.data(), text.size());
  (void)rc;
}

/// Prints `program: what` on stderr and returns `code` (for main's return).
inline int fail(const char* program, int code, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  return code;
}

/// Reads and parses the bulwark document at `path`, which must have a
/// `/cluster` section; on failure sets `error` and returns nothing.
inline std::optional<bulwark_config> read_node_document(const std::string& path,
                                                        std::string& error) {
  std::ifstream in{path};
  if (path.empty() || !in) {
    error = "cannot read the document (--document FILE)";
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto parsed = parse_bulwark_config(text);
  if (!parsed.ok()) {
    error = parsed.errors.to_string();
    return std::nullopt;
  }
  if (!parsed.config->cluster) {
    error = "the document has no /cluster section";
    return std::nullopt;
  }
  return std::move(*parsed.config);
}

/// SIGTERM and SIGINT, blocked in the calling thread: call it before CAF
/// starts its threads, so that they inherit the mask and none of them takes
/// the signal; `wait_for_stop` then receives it.
inline sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

/// Blocks until one of `stop_signals` arrives.
inline void wait_for_stop(const sigset_t& stop_signals) {
  int sig = 0;
  sigwait(&stop_signals, &sig);
}

} // namespace bulwark::testing
