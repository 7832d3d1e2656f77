// The bookkeeping of one logical request whose attempts run at the same time
// (the first attempt plus its hedges): which are outstanding, which one's
// result answers the request, which must be cancelled and which replies
// arrive too late and must be dropped. The rule is "the first final result
// wins" (gRPC hedging, failsafe-go hedgepolicy): a success wins, and so does a
// failure marked final (one another copy would only repeat, like gRPC's
// fatal status codes); any other failure only ends its own attempt, and the
// request fails once every attempt failed and no more will be sent. The set
// has a fixed capacity and never allocates, so it can live inside a request
// table entry.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace bulwark {

/// What became of one attempt.
enum class attempt_status : std::uint8_t {
  /// Sent, no result yet.
  outstanding,
  /// Reported a success.
  succeeded,
  /// Reported a failure.
  failed,
  /// Still outstanding when the request was settled: the caller was told to
  /// cancel it.
  cancelled,
};

/// @relates attempt_status
std::string to_string(attempt_status x);

/// What one event means for the logical request.
enum class settle_kind : std::uint8_t {
  /// This result answers the request (a success, or a final failure); cancel
  /// the attempts listed in the result.
  won,
  /// This attempt failed; the request goes on: other attempts are
  /// outstanding, or the caller may still add one (see `close`).
  failed,
  /// This attempt failed, it was the last outstanding one and the set is
  /// closed: the request failed.
  all_failed,
  /// The caller gave up on the request (`cancel_all`); cancel the listed
  /// attempts.
  cancelled,
  /// The request was already settled: drop this result.
  late,
  /// Not an outstanding attempt of this set (never added, or its result was
  /// already reported): drop it.
  unknown,
};

/// @relates settle_kind
std::string to_string(settle_kind x);

inline constexpr std::uint32_t attempt_set_capacity = 8;

/// The answer to one event: what it means and which attempts to cancel now.
/// Every attempt appears in at most one result's cancel list, once.
struct settle_result {
  settle_kind kind = settle_kind::unknown;
  std::uint32_t cancel_count = 0;
  /// The first `cancel_count` entries are the ids to cancel.
  std::array<std::uint64_t, attempt_set_capacity> cancel{};

  /// This result is the request's reply.
  bool is_winner() const noexcept {
    return kind == settle_kind::won;
  }

  /// Every attempt failed: the request fails (with the reporting attempt's
  /// failure, or whatever the caller kept).
  bool all_failed() const noexcept {
    return kind == settle_kind::all_failed;
  }

  /// The result must be dropped without effect.
  bool drop() const noexcept {
    return kind == settle_kind::late || kind == settle_kind::unknown;
  }
};

class attempt_set {
 public:
  static constexpr std::uint32_t capacity = attempt_set_capacity;
  static constexpr std::uint32_t npos =
    std::numeric_limits<std::uint32_t>::max();

  // -- modifiers --------------------------------------------------------------

  /// Registers a sent attempt; returns its index (0 = the first attempt,
  /// 1.. = hedges or retries in the order added), or npos when the id is
  /// already in the set, the set is full, closed or settled.
  std::uint32_t add(std::uint64_t attempt_id) noexcept;

  /// Reports the result of attempt `attempt_id`. A success wins; a failure
  /// wins only if `final` (ignored for successes). See `settle_kind`.
  settle_result on_result(std::uint64_t attempt_id, bool success,
                          bool final = false) noexcept;

  /// The caller will add no more attempts (hedges exhausted, budget or
  /// deadline). Returns true when this settles the request as failed: nothing
  /// won and nothing is outstanding (every attempt failed already).
  bool close() noexcept;

  /// The caller gives up (deadline passed, request cancelled): settles the
  /// request with kind `cancelled` and lists every outstanding attempt; kind
  /// `late` (and nothing to cancel) when it was already settled.
  settle_result cancel_all() noexcept;

  /// Forgets everything, for reuse by another request.
  void reset() noexcept;

  // -- observers --------------------------------------------------------------

  std::uint32_t size() const noexcept {
    return size_;
  }
  std::uint32_t outstanding() const noexcept {
    return outstanding_;
  }
  bool closed() const noexcept {
    return closed_;
  }

  /// The request has its answer (won, all failed or cancelled).
  bool settled() const noexcept {
    return settled_;
  }

  /// Index of the winning attempt, npos if none.
  std::uint32_t winner() const noexcept {
    return winner_;
  }

  /// The request was won by a success.
  bool succeeded() const noexcept {
    return winner_ != npos && status_[winner_] == attempt_status::succeeded;
  }

  /// Index of `attempt_id`, npos if absent.
  std::uint32_t index_of(std::uint64_t attempt_id) const noexcept;

  std::uint64_t id_at(std::uint32_t index) const noexcept {
    return ids_[index];
  }

  attempt_status status_at(std::uint32_t index) const noexcept {
    return status_[index];
  }

 private:
  /// Marks every outstanding attempt cancelled and lists it in `result`.
  void cancel_outstanding(settle_result& result) noexcept;

  std::array<std::uint64_t, capacity> ids_{};
  std::array<attempt_status, capacity> status_{};
  std::uint32_t size_ = 0;
  std::uint32_t outstanding_ = 0;
  std::uint32_t winner_ = npos;
  bool closed_ = false;
  bool settled_ = false;
};

// Inline: a dependency or supervisor call goes through several of these per
// attempt.

inline std::uint32_t
attempt_set::index_of(std::uint64_t attempt_id) const noexcept {
  for (std::uint32_t i = 0; i < size_; ++i)
    if (ids_[i] == attempt_id)
      return i;
  return npos;
}

inline std::uint32_t attempt_set::add(std::uint64_t attempt_id) noexcept {
  if (settled_ || closed_ || size_ == capacity || index_of(attempt_id) != npos)
    return npos;
  auto index = size_++;
  ids_[index] = attempt_id;
  status_[index] = attempt_status::outstanding;
  ++outstanding_;
  return index;
}

inline void attempt_set::cancel_outstanding(settle_result& result) noexcept {
  for (std::uint32_t i = 0; i < size_; ++i) {
    if (status_[i] == attempt_status::outstanding) {
      status_[i] = attempt_status::cancelled;
      result.cancel[result.cancel_count++] = ids_[i];
    }
  }
  outstanding_ = 0;
}

inline settle_result attempt_set::on_result(std::uint64_t attempt_id,
                                            bool success, bool final) noexcept {
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
    status_[index] =
      success ? attempt_status::succeeded : attempt_status::failed;
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

inline bool attempt_set::close() noexcept {
  closed_ = true;
  if (settled_ || outstanding_ > 0)
    return false;
  settled_ = true;
  return true;
}

inline settle_result attempt_set::cancel_all() noexcept {
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

inline void attempt_set::reset() noexcept {
  size_ = 0;
  outstanding_ = 0;
  winner_ = npos;
  closed_ = false;
  settled_ = false;
}

} // namespace bulwark
