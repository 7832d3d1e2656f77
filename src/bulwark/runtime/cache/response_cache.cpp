#include "bulwark/runtime/cache/response_cache.hpp"

#include <algorithm>
#include <utility>

namespace bulwark {

std::string to_string(cache_freshness x) {
  switch (x) {
    case cache_freshness::miss:
      return "miss";
    case cache_freshness::fresh:
      return "fresh";
    case cache_freshness::stale_revalidate:
      return "stale_revalidate";
    case cache_freshness::stale_if_error_only:
      return "stale_if_error_only";
  }
  return "invalid";
}

// -- constructors, destructors, and assignment operators ----------------------

response_cache::response_cache(const cache_config& cfg) : cfg_(cfg) {
  // nop
}

response_cache::response_cache(response_cache&& other) noexcept
  : cfg_(other.cfg_),
    entries_(std::move(other.entries_)),
    head_(std::exchange(other.head_, nullptr)),
    tail_(std::exchange(other.tail_, nullptr)),
    removals_(other.removals_ + 1),
    counters_(other.counters_) {
  // Moving a node-based map keeps its nodes, so the links stay valid here;
  // the source must forget them. Hints of either cache are void now.
  other.entries_.clear();
  ++other.removals_;
}

response_cache& response_cache::operator=(response_cache&& other) noexcept {
  if (this != &other) {
    cfg_ = other.cfg_;
    entries_ = std::move(other.entries_);
    head_ = std::exchange(other.head_, nullptr);
    tail_ = std::exchange(other.tail_, nullptr);
    removals_ = std::max(removals_, other.removals_) + 1;
    counters_ = other.counters_;
    other.entries_.clear();
    ++other.removals_;
  }
  return *this;
}

// -- hot path -----------------------------------------------------------------

cache_freshness response_cache::classify(duration age,
                                         const cache_config& cfg) noexcept {
  if (age < cfg.ttl)
    return cache_freshness::fresh;
  auto stale_for = age - cfg.ttl;
  if (stale_for < cfg.stale_while_revalidate)
    return cache_freshness::stale_revalidate;
  if (stale_for < cfg.stale_if_error)
    return cache_freshness::stale_if_error_only;
  return cache_freshness::miss;
}

cache_hit response_cache::lookup(const std::string& key,
                                 time_point now) noexcept {
  cache_hit result;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++counters_.misses;
    return result;
  }
  auto* s = &it->second;
  result.freshness = classify(now - s->stored_at, cfg_);
  switch (result.freshness) {
    case cache_freshness::miss:
      // Past every window: nothing will ever use this entry again.
      remove(it);
      ++counters_.expirations;
      ++counters_.misses;
      return result;
    case cache_freshness::fresh:
      ++counters_.hits;
      result.value = &s->value;
      break;
    case cache_freshness::stale_revalidate:
      ++counters_.stale_hits;
      result.value = &s->value;
      if (s->refresh_pending) {
        result.refresh_pending = true;
      } else {
        s->refresh_pending = true;
        result.start_refresh = true;
        ++counters_.refreshes_started;
      }
      break;
    case cache_freshness::stale_if_error_only:
      // Still worth keeping near the front: the live call may fail and come
      // back for it through stale_for_error.
      ++counters_.misses;
      result.value = &s->value;
      break;
  }
  touch(s);
  result.hint = cache_hint{s, removals_};
  return result;
}

const std::string* response_cache::stale_for_error(const std::string& key,
                                                   time_point now,
                                                   duration* age_out) noexcept {
  auto it = entries_.find(key);
  if (it == entries_.end())
    return nullptr;
  auto* s = &it->second;
  auto age = now - s->stored_at;
  if (age >= cfg_.ttl + cfg_.stale_if_error) {
    if (classify(age, cfg_) == cache_freshness::miss) {
      remove(it);
      ++counters_.expirations;
    }
    return nullptr;
  }
  ++counters_.stale_if_error_hits;
  touch(s);
  if (age_out != nullptr)
    *age_out = age;
  return &s->value;
}

// -- modifiers ----------------------------------------------------------------

void response_cache::store(const std::string& key, std::string value,
                           time_point now) {
  if (!cfg_.enabled)
    return;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    // Make room first so the new entry is never its own victim.
    evict_to(cfg_.max_entries > 0 ? cfg_.max_entries - 1u : 0u);
    it = entries_.try_emplace(key).first;
    it->second.key = &it->first;
    push_front(&it->second);
  } else {
    touch(&it->second);
  }
  auto& s = it->second;
  s.value = std::move(value);
  s.stored_at = now;
  s.refresh_pending = false;
}

void response_cache::store(const cache_hint& hint, const std::string& key,
                           const std::string& value, time_point now) {
  if (!cfg_.enabled)
    return;
  if (hint.entry == nullptr || hint.removals != removals_) {
    store(key, value, now);
    return;
  }
  // No entry was removed since the lookup: the node is the key's still.
  auto* s = static_cast<slot*>(const_cast<void*>(hint.entry));
  touch(s);
  s->value = value;
  s->stored_at = now;
  s->refresh_pending = false;
}

void response_cache::refresh_failed(const std::string& key) noexcept {
  auto it = entries_.find(key);
  if (it != entries_.end())
    it->second.refresh_pending = false;
}

bool response_cache::erase(const std::string& key) noexcept {
  auto it = entries_.find(key);
  if (it == entries_.end())
    return false;
  remove(it);
  return true;
}

void response_cache::clear() noexcept {
  removals_ += entries_.size();
  entries_.clear();
  head_ = nullptr;
  tail_ = nullptr;
}

void response_cache::reconfigure(const cache_config& cfg) {
  cfg_ = cfg;
  if (!cfg_.enabled) {
    clear();
    return;
  }
  evict_to(cfg_.max_entries);
}

// -- private helpers ----------------------------------------------------------

void response_cache::unlink(slot* s) noexcept {
  if (s->prev != nullptr)
    s->prev->next = s->next;
  else
    head_ = s->next;
  if (s->next != nullptr)
    s->next->prev = s->prev;
  else
    tail_ = s->prev;
  s->prev = nullptr;
  s->next = nullptr;
}

void response_cache::push_front(slot* s) noexcept {
  s->prev = nullptr;
  s->next = head_;
  if (head_ != nullptr)
    head_->prev = s;
  head_ = s;
  if (tail_ == nullptr)
    tail_ = s;
}

void response_cache::touch(slot* s) noexcept {
  if (s == head_)
    return;
  unlink(s);
  push_front(s);
}

void response_cache::remove(map_type::iterator it) noexcept {
  unlink(&it->second);
  entries_.erase(it);
  ++removals_;
}

void response_cache::evict_to(std::size_t n) noexcept {
  while (entries_.size() > n && tail_ != nullptr) {
    // Erase by iterator: the key we look up by lives in the node we erase.
    remove(entries_.find(*tail_->key));
    ++counters_.evictions;
  }
}

} // namespace bulwark
