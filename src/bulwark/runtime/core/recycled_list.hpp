// The actions a core appends for one or more events, in order (the
// dependency core, the remote member's, the ledger owner's). It is reused:
// `clear` keeps the elements (and their strings' buffers) for the next
// event, so filling it allocates nothing once warm. Every element handed out
// by `push` has the fields its kind uses set by the core; the others keep
// old values.
#pragma once

#include <cstddef>
#include <vector>

namespace bulwark {

template <class T>
class recycled_list {
 public:
  /// A recycled element to fill; valid until the next `push`.
  T& push() {
    if (size_ == items_.size())
      items_.emplace_back();
    return items_[size_++];
  }

  void clear() noexcept {
    size_ = 0;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  T& operator[](std::size_t i) noexcept {
    return items_[i];
  }

  const T& operator[](std::size_t i) const noexcept {
    return items_[i];
  }

  T* begin() noexcept {
    return items_.data();
  }

  T* end() noexcept {
    return items_.data() + size_;
  }

  const T* begin() const noexcept {
    return items_.data();
  }

  const T* end() const noexcept {
    return items_.data() + size_;
  }

 private:
  std::vector<T> items_;
  std::size_t size_ = 0;
};

} // namespace bulwark
