// A bounded memory of finished request journeys for one dependency: the last
// `recent` journeys in one ring and, separately, the last `failed` failed ones
// in another, so failures stay inspectable for longer than a burst of
// successes lasts. Memory is bounded by configuration (each kept journey is
// about 2 KiB: 64 entries of 32 bytes); a ring grows to its bound once and
// then overwrites in place, so adding a journey is a copy of its used entries
// and never allocates after warm-up. Lookup by id is a linear scan: it serves
// the admin endpoint, not the request path. Configured by `journey_config`,
// mounted at `/dependencies/<name>/journeys`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/journey/journey.hpp"

namespace bulwark {

struct journey_config {
  /// Upper bound for both rings (about 128 MiB at 2 KiB per journey).
  static constexpr std::uint32_t max_kept = 65536;

  /// How many of the most recent finished journeys to keep; 0 keeps none.
  std::uint32_t recent = 256;
  /// How many of the most recent failed journeys to keep, in addition; 0
  /// keeps none.
  std::uint32_t failed = 256;
  /// When false nothing is recorded or kept.
  bool enabled = true;

  friend bool operator==(const journey_config& a, const journey_config& b) {
    return a.recent == b.recent && a.failed == b.failed
           && a.enabled == b.enabled;
  }
};

journey_config parse_journey_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

boost::json::object to_json(const journey_config& cfg);

class journey_log {
 public:
  explicit journey_log(const journey_config& cfg = journey_config{});

  /// Keeps a copy of `j` (normally a finished one) among the recent journeys
  /// and, if it failed, among the failed ones, overwriting the oldest in each
  /// ring when full. Does nothing when disabled.
  void add(const journey& j);

  /// The kept journey with this id (the newest if kept twice), or nullptr.
  const journey* find(std::uint64_t id) const noexcept;

  /// Appends to `out` the kept journeys of trace `trace` (each once, newest
  /// first), at most `max` of them; returns how many there are. A linear
  /// scan of both rings: it serves the admin endpoint, not calls.
  std::size_t find_trace(trace_id trace, std::size_t max,
                         std::vector<const journey*>& out) const;

  /// Kept journeys, newest first.
  std::vector<const journey*> recent() const;
  std::vector<const journey*> failed() const;

  std::size_t recent_size() const noexcept {
    return recent_.size();
  }
  std::size_t failed_size() const noexcept {
    return failed_.size();
  }

  /// Journeys added since construction, and failed ones among them.
  std::uint64_t added() const noexcept {
    return added_;
  }
  std::uint64_t added_failed() const noexcept {
    return added_failed_;
  }

  const journey_config& config() const noexcept {
    return cfg_;
  }

 private:
  // A ring that grows to `bound` and then overwrites its oldest slot.
  class ring {
   public:
    explicit ring(std::size_t bound) : bound_(bound) {}
    void push(const journey& j);
    const journey* find(std::uint64_t id) const noexcept;
    void newest_first(std::vector<const journey*>& out) const;
    std::size_t size() const noexcept {
      return slots_.size();
    }

   private:
    std::size_t bound_;
    std::size_t next_ = 0; // the slot to overwrite next once full
    std::vector<journey> slots_;
  };

  journey_config cfg_;
  ring recent_;
  ring failed_;
  std::uint64_t added_ = 0;
  std::uint64_t added_failed_ = 0;
};

} // namespace bulwark
