#include "bulwark/runtime/fallback/fallback_chain.hpp"

namespace bulwark {

fallback_pick next_fallback_step(const fallback_config& cfg, failure_class cls,
                                 criticality crit,
                                 std::size_t cursor) noexcept {
  auto n = cfg.steps.size();
  if (cls == failure_class::cancelled)
    return fallback_pick{n, nullptr};
  for (auto i = cursor; i < n; ++i) {
    auto& step = cfg.steps[i];
    if (!step.on.contains(cls))
      continue;
    if (step.kind == fallback_kind::alternate && crit == criticality::sheddable)
      continue;
    return fallback_pick{i, &step};
  }
  return fallback_pick{n, nullptr};
}

} // namespace bulwark
