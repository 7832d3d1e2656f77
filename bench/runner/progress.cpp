#include "bench/runner/progress.hpp"

#include "bench/runner/scenario.hpp"

#include <algorithm>
#include <cstdio>

namespace bulwark::bench {

void progress::begin(std::string_view scenario) {
  scenario_ = std::string{scenario};
  mode_.clear();
  percent_ = -1;
  if (!enabled_)
    return;
  draw();
}

void progress::update(std::string_view mode, double fraction) {
  if (!enabled_)
    return;
  auto percent = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
  if (percent == percent_ && mode == mode_)
    return;
  percent_ = percent;
  mode_ = std::string{mode};
  draw();
}

void progress::end() {
  if (!enabled_ || drawn_ == 0)
    return;
  // Blank the line and return the cursor, so results start on a clean line.
  std::fprintf(stderr, "\r%*s\r", static_cast<int>(drawn_), "");
  std::fflush(stderr);
  drawn_ = 0;
}

void progress::draw() {
  std::string line = "running " + scenario_;
  if (!mode_.empty())
    line += "  " + mode_;
  if (percent_ >= 0)
    line += "  " + std::to_string(percent_) + "%";
  // Pad over a longer previous line instead of clearing (no flicker).
  auto width = std::max(line.size(), drawn_);
  std::fprintf(stderr, "\r%-*s", static_cast<int>(width), line.c_str());
  std::fflush(stderr);
  drawn_ = width;
}

void report_progress(const scenario_options& opts, const std::string& mode,
                     double fraction) {
  if (opts.live != nullptr)
    opts.live->update(mode, fraction);
}

} // namespace bulwark::bench
