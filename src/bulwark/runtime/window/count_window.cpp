#include "bulwark/runtime/window/count_window.hpp"

#include <algorithm>

namespace bulwark {

count_window::count_window(std::uint32_t size)
  : ring_(new std::uint8_t[std::max<std::uint32_t>(size, 1)]()),
    size_(std::max<std::uint32_t>(size, 1)) {
  // nop
}

} // namespace bulwark
