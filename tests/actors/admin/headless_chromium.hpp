// Headless Chromium (Debian package `chromium`) for the tests that load a
// page bulwark serves (the dashboard, a progressive route's page) the way a
// user's browser does: run it on a URL, let its scripts run, and read the
// DOM it dumps or the screenshot it takes. It runs as a child_process, so
// every helper it forks is killed when the test ends, whatever happens.
// purity: real time — waiting on a real browser process (bounded).
#pragma once

#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::testing {

inline const std::string chromium_binary = "/usr/bin/chromium";

/// Fails the test when Chromium is not installed (./bulwark installs it).
inline void require_chromium() {
  if (!std::filesystem::exists(chromium_binary))
    FAIL(chromium_binary
         << " is missing: install the Debian package 'chromium' "
            "(apt-get install chromium; ./bulwark installs it on CI)");
}

/// Runs headless Chromium on `url` with `extra` flags; its stdout goes to
/// `out`. Requires it to exit 0 within 45 s. Virtual time (5 s budget)
/// stands still while a fetch is pending, so a page's scripts see every
/// response, streamed ones included, before the DOM is dumped.
inline void run_chromium(const std::filesystem::path& dir,
                         const std::string& url, std::vector<std::string> extra,
                         const std::filesystem::path& out) {
  std::vector<std::string> argv{chromium_binary,
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-dev-shm-usage",
                                "--no-first-run",
                                "--user-data-dir=" + (dir / "profile").string(),
                                "--window-size=1280,900",
                                "--virtual-time-budget=5000"};
  for (auto& x : extra)
    argv.push_back(std::move(x));
  argv.push_back(url);
  child_process chromium{argv, out.string()};
  auto status = chromium.wait_for(std::chrono::seconds(45));
  INFO("chromium output: " << out.string());
  REQUIRE(status);
  REQUIRE(*status == 0);
}

} // namespace bulwark::testing
