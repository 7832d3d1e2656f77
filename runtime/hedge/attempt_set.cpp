#include "runtime/hedge/attempt_set.hpp"

namespace bulwark {

std::string to_string(attempt_status x) {
  switch (x) {
    case attempt_status::outstanding:
      return "outstanding";
    case attempt_status::succeeded:
      return "succeeded";
    case attempt_status::failed:
      return "failed";
    case attempt_status::cancelled:
      return "cancelled";
  }
  return "invalid";
}

std::string to_string(settle_kind x) {
  switch (x) {
    case settle_kind::won:
      return "won";
    case settle_kind::failed:
      return "failed";
    case settle_kind::all_failed:
      return "all_failed";
    case settle_kind::cancelled:
      return "cancelled";
    case settle_kind::late:
      return "late";
    case settle_kind::unknown:
      return "unknown";
  }
  return "invalid";
}

std::uint32_t attempt_set::index_of(std::uint64_t attempt_id) const noexcept {
  for (std::uint32_t i = 0; i < size_; ++i)
    if (ids_[i] == attempt_id)
      return i;
  return npos;
}

std::uint32_t attempt_set::add(std::uint64_t attempt_id) noexcept {
  if (settled_ || closed_ || size_ == capacity || index_of(attempt_id) != npos)
    return npos;
  auto index = size_++;
  ids_[index] = attempt_id;
  status_[index] = attempt_status::outstanding;
  ++outstanding_;
  return index;
}

void attempt_set::cancel_outstanding(settle_result& result) noexcept {
  for (std::uint32_t i = 0; i < size_; ++i) {
    if (status_[i] == attempt_status::outstanding) {
      status_[i] = attempt_status::cancelled;
      result.cancel[result.cancel_count++] = ids_[i];
    }
  }
  outstanding_ = 0;
}

settle_result attempt_set::on_result(std::uint64_t attempt_id, bool success,
                                     bool final) noexcept {
  settle_result result;
  auto index = index_of(attempt_id);
  if (index == npos) {
    result.kind = settle_kind::unknown;
    return result;
  }
  if (settled_) {
    result.kind = settle_kind::late;
    return result;
  }
  if (status_[index] != attempt_status::outstanding) {
    // A second reply for an attempt that already reported.
    result.kind = settle_kind::unknown;
    return result;
  }
  --outstanding_;
  if (success || final) {
    status_[index] = success ? attempt_status::succeeded : attempt_status::failed;
    winner_ = index;
    settled_ = true;
    result.kind = settle_kind::won;
    cancel_outstanding(result);
    return result;
  }
  status_[index] = attempt_status::failed;
  if (closed_ && outstanding_ == 0) {
    settled_ = true;
    result.kind = settle_kind::all_failed;
    return result;
  }
  result.kind = settle_kind::failed;
  return result;
}

bool attempt_set::close() noexcept {
  closed_ = true;
  if (settled_ || outstanding_ > 0)
    return false;
  settled_ = true;
  return true;
}

settle_result attempt_set::cancel_all() noexcept {
  settle_result result;
  if (settled_) {
    result.kind = settle_kind::late;
    return result;
  }
  settled_ = true;
  closed_ = true;
  result.kind = settle_kind::cancelled;
  cancel_outstanding(result);
  return result;
}

void attempt_set::reset() noexcept {
  size_ = 0;
  outstanding_ = 0;
  winner_ = npos;
  closed_ = false;
  settled_ = false;
}

} // namespace bulwark
