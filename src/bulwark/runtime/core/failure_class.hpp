// The classes every failure is sorted into. Policies decide on the class, never
// on raw status codes or error strings: retry policies list retryable classes,
// breakers count some classes as failures, fallbacks trigger on classes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark {

enum class failure_class : std::uint8_t {
  /// A passing fault (5xx, reset, a crashed transport): worth another attempt.
  transient,
  /// The attempt took longer than its per-attempt timeout.
  timeout,
  /// The downstream said it is overloaded (429/503), possibly with retry-after.
  overloaded,
  /// Retrying will not help (4xx, bad request, not found).
  persistent,
  /// Refused here before reaching the downstream: breaker open, shed, budget.
  rejected_locally,
  /// The caller's deadline passed.
  deadline_exceeded,
  /// The caller or a winning hedge cancelled the attempt.
  cancelled,
};

inline constexpr failure_class all_failure_classes[] = {
  failure_class::transient,        failure_class::timeout,
  failure_class::overloaded,       failure_class::persistent,
  failure_class::rejected_locally, failure_class::deadline_exceeded,
  failure_class::cancelled,
};

inline constexpr std::size_t failure_class_count = 7;

/// @relates failure_class
std::string to_string(failure_class x);

/// @relates failure_class
bool from_string(std::string_view str, failure_class& x);

/// A set of failure classes as a bit mask (cheap to copy and to test).
class failure_class_set {
 public:
  constexpr failure_class_set() noexcept = default;

  constexpr failure_class_set(
    std::initializer_list<failure_class> xs) noexcept {
    for (auto x : xs)
      insert(x);
  }

  constexpr void insert(failure_class x) noexcept {
    bits_ |= bit(x);
  }
  constexpr void erase(failure_class x) noexcept {
    bits_ &= ~bit(x);
  }
  constexpr bool contains(failure_class x) const noexcept {
    return (bits_ & bit(x)) != 0;
  }
  constexpr bool empty() const noexcept {
    return bits_ == 0;
  }
  constexpr std::uint16_t bits() const noexcept {
    return bits_;
  }

  friend constexpr bool operator==(failure_class_set a, failure_class_set b) {
    return a.bits_ == b.bits_;
  }
  friend constexpr bool operator!=(failure_class_set a, failure_class_set b) {
    return a.bits_ != b.bits_;
  }

 private:
  static constexpr std::uint16_t bit(failure_class x) noexcept {
    return static_cast<std::uint16_t>(1u << static_cast<unsigned>(x));
  }

  std::uint16_t bits_ = 0;
};

} // namespace bulwark
