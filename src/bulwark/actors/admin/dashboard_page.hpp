// The page `GET /dashboard` serves: one self-contained HTML document (inline
// CSS, inline JS, SVG charts drawn by the script, no external fetch of any
// kind) that polls `/metrics` on its own origin every 1.5 s, parses the
// Prometheus text in the browser and shows, per dependency and supervisor,
// breaker state (or member health), request rate, success ratio, retry /
// hedge / fallback rates and latency p50/p99 interpolated from the histogram
// buckets, with small time-series charts of the last 120 scrapes. It is the
// live view for an incident when no Prometheus/Grafana is set up; everything
// it shows is derived from `/metrics`, so it never disagrees with a scrape.
// Each component's card carries data attributes with its raw totals
// (`data-requests-total`, ...), which tests compare with `/metrics`.
#pragma once

#include <string_view>

namespace bulwark {

/// The Content-Type of the dashboard page.
inline constexpr std::string_view dashboard_content_type =
  "text/html; charset=utf-8";

/// The whole page (built once, then shared).
std::string_view dashboard_page();

} // namespace bulwark
