// The server side of overload control, as pure code: a queue of admitted but
// not yet started work items (arrival time, caller's deadline, criticality)
// that decides which item starts next, which are dropped because their
// caller's deadline passed, and which are shed. Overload is detected
// CoDel-style, by queueing delay: an interval counts as overloaded when the
// wait of the oldest queued item stayed above `target` at every event in it
// (the queue never went empty and never got below the target: a standing
// queue). In FIFO order this is CoDel's minimum sojourn; measuring at the
// head keeps serving newest first from hiding the backlog. While overloaded,
// the newest item starts first (adaptive LIFO, as Facebook's server framework
// does: the work most likely to still have a waiting caller), and a shed
// level moves DAGOR-style (up a step per overloaded interval, down a smaller
// step per calm one) to refuse sheddable work first, then standard work;
// critical work is never shed by the level. Items whose deadline passed are
// dropped at once, overloaded or not (their caller has given up). Every
// item pushed gets exactly one outcome: started, dropped_expired or shed.
// No clock: every call takes `now`; the owner (http_service's route queue
// actor, the metastable model's servers) calls `pop` whenever a worker is
// free and wakes up at `next_wakeup()`. See docs/http_service.md.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/runtime/core/criticality.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct server_queue_config {
  /// Queueing delay above which an interval counts as overloaded. DAGOR
  /// declares overload at 20 ms of average queueing time; CoDel's target is
  /// 5 ms for packets. Pick a few times the usual service time or more.
  duration target = milliseconds(20);
  /// Width of the measuring interval (CoDel's 100 ms).
  duration interval = milliseconds(100);
  /// Items waiting at most; 0 = unbounded. A push into a full queue sheds
  /// one item: the most sheddable class present loses its oldest item (or
  /// the arrival, when it is of that class and the queue is not
  /// overloaded, i.e. serves FIFO).
  std::size_t max_queue = 1024;
  /// Serve newest first while overloaded (off: always FIFO).
  bool adaptive_lifo = true;
  /// Shed-level change per overloaded / calm interval. The level runs from
  /// 0 (admit all) over 1 (shed every sheddable item) to 2 (shed every
  /// standard item too); between whole steps a fraction of the class at
  /// the boundary is shed, deterministically (every n-th arrival).
  double shed_step_up = 0.1;
  double shed_step_down = 0.02;
  /// Whether the level may go past 1 (shed standard work).
  bool shed_standard = true;
};

/// What became of a queued item.
enum class queue_outcome : std::uint8_t {
  /// Handed to a worker by `pop`.
  started,
  /// Its caller's deadline passed while it waited (answer 504).
  dropped_expired,
  /// Refused because of overload (answer 503 + Retry-After + do-not-retry).
  shed,
};

/// @relates queue_outcome
std::string to_string(queue_outcome x);

struct queue_item {
  /// The owner's id for the item (unique among items in the queue).
  std::uint64_t id = 0;
  time_point arrival{};
  /// When its caller gives up; no_deadline for none.
  time_point deadline = no_deadline;
  criticality crit = criticality::standard;
};

/// An outcome other than `started` decided during a call (pushed onto the
/// caller's vector).
struct queue_verdict {
  std::uint64_t id = 0;
  queue_outcome outcome = queue_outcome::shed;
  criticality crit = criticality::standard;
};

struct server_queue_stats {
  std::uint64_t pushed = 0;
  std::uint64_t started = 0;
  std::uint64_t dropped_expired = 0;
  /// Shed items by criticality (index: criticality value).
  std::array<std::uint64_t, 3> shed{};
  /// Started while overloaded, i.e. newest first when adaptive_lifo is on.
  std::uint64_t started_lifo = 0;
  /// Intervals that ended overloaded.
  std::uint64_t overloaded_intervals = 0;
  /// Sum of the queueing delays of started items.
  duration started_wait_total{0};

  std::uint64_t shed_total() const noexcept {
    return shed[0] + shed[1] + shed[2];
  }
};

class server_queue {
 public:
  /// Throws std::invalid_argument for an interval <= 0, a negative target
  /// or a negative or non-finite step.
  explicit server_queue(server_queue_config cfg = {});

  /// Offers an arriving item (its `arrival` should be `now`). Appends to
  /// `out` whatever is decided now: the item itself when it is shed, a
  /// queued item it displaced, items that expired or were shed meanwhile.
  void push(const queue_item& item, time_point now,
            std::vector<queue_verdict>& out);

  /// A worker is free: the item to start now (newest first while
  /// overloaded, else oldest), or nullopt when none waits. Drops expired
  /// items and closes elapsed intervals first (into `out`).
  std::optional<queue_item> pop(time_point now,
                                std::vector<queue_verdict>& out);

  /// Closes elapsed intervals and drops expired items; call at
  /// `next_wakeup()`.
  void tick(time_point now, std::vector<queue_verdict>& out);

  /// When `tick` has something to do: the earliest queued deadline or the
  /// end of the current interval; for an empty queue the interval's end
  /// while it still counts as overloaded, else no_deadline.
  time_point next_wakeup() const noexcept;

  /// Whether the last closed interval was overloaded.
  bool overloaded() const noexcept {
    return overloaded_;
  }

  /// The shed level in [0, 2] (see server_queue_config).
  double shed_level() const noexcept {
    return level_;
  }

  std::size_t size() const noexcept {
    return items_.size();
  }

  const server_queue_stats& stats() const noexcept {
    return stats_;
  }

  const server_queue_config& config() const noexcept {
    return cfg_;
  }

 private:
  struct entry {
    queue_item item;
    std::uint64_t seq = 0;
  };

  void advance(time_point now, std::vector<queue_verdict>& out);
  void close_interval(time_point end, std::vector<queue_verdict>& out);
  void observe(time_point now) noexcept;
  void drop_expired(time_point now, std::vector<queue_verdict>& out);
  void shed_queued_class(criticality c, std::vector<queue_verdict>& out);
  bool shed_on_arrival(criticality c);
  void remove_at(std::size_t i);
  void shed(const queue_item& x, std::vector<queue_verdict>& out);

  server_queue_config cfg_;
  /// In arrival order.
  std::deque<entry> items_;
  /// (deadline, seq) of every queued item, earliest first.
  std::set<std::pair<time_point, std::uint64_t>> deadlines_;
  std::uint64_t next_seq_ = 0;
  time_point interval_start_{};
  bool interval_started_ = false;
  /// The smallest wait of the oldest queued item seen in the current
  /// interval (0 once the queue was seen empty): CoDel's standing delay,
  /// measured at the head so that serving newest first cannot hide it.
  duration min_head_ = duration{0};
  bool overloaded_ = false;
  double level_ = 0;
  /// Shedding credit per class for fractional levels.
  std::array<double, 3> credit_{};
  server_queue_stats stats_;
};

} // namespace bulwark
