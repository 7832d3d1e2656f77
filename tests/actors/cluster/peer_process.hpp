// A bulwark node in its own process (bulwark-cluster-peer,
// tests/actors/cluster/cluster_peer.cpp) for the cluster tests, which
// SIGKILL, SIGSTOP and restart it: it writes the document to a temporary
// directory, starts the peer with its stdout on a pipe and waits, bounded,
// for the gate's port and "ready". Destroying it stops the process.
// purity: real time — waits on a real process (bounded).
#pragma once

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bulwark::testing {

struct peer_process {
  temp_dir dir;
  std::unique_ptr<child_process> child;
  std::uint16_t port = 0;

  /// Starts a node from `document`, with `extra` arguments (e.g. "--hold",
  /// "pay").
  explicit peer_process(const std::string& document,
                        std::vector<std::string> extra = {}) {
    using namespace std::chrono_literals;
    write_file(dir.file("doc.json"), document);
    std::vector<std::string> argv{BULWARK_CLUSTER_PEER, "--document",
                                  dir.file("doc.json")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = std::make_unique<child_process>(argv, dir.file("log"),
                                            child_stdout::pipe);
    auto line = child->read_line_starting("port ", 10s);
    INFO(read_file(dir.file("log")));
    REQUIRE(line);
    port = static_cast<std::uint16_t>(std::stoi(*line));
    REQUIRE(child->read_line_starting("ready", 10s));
  }
};

} // namespace bulwark::testing
