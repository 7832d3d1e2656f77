// The live progress line: while a scenario runs, one `\r`-updated line on
// stderr ("demo  bulwark  42%") so a person at a terminal sees that a long
// run is alive. It is quiet when stderr is not a terminal, so logs, CI and
// pipes get no control characters.
#pragma once

#include <string>
#include <string_view>

namespace bulwark::bench {

class progress {
 public:
  /// `enabled` false makes every call a no-op (e.g. !isatty(stderr)).
  explicit progress(bool enabled) : enabled_(enabled) {
    // nop
  }

  bool enabled() const noexcept {
    return enabled_;
  }

  /// A scenario starts: prints "running NAME".
  void begin(std::string_view scenario);

  /// `mode` of the current scenario is `fraction` (0..1) done; redraws only
  /// when the shown percentage or the mode changes.
  void update(std::string_view mode, double fraction);

  /// The scenario ended: clears the line.
  void end();

 private:
  void draw();

  bool enabled_;
  std::string scenario_;
  std::string mode_;
  int percent_ = -1;
  std::size_t drawn_ = 0;
};

} // namespace bulwark::bench
