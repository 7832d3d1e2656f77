// Assembles the spans that several admin servers report for one trace
// (`GET /traces/<trace id>`, docs/tracing.md) into one tree and prints it:
// each dependency call with its attempts, and under the attempt that reached
// the next process, that process's calls. Pure: JSON documents in, text out;
// bulwark-trace (tools/trace/main.cpp) does the fetching.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <utility>
#include <vector>

namespace bulwark::tools {

/// One admin server's answer: where it came from (a label, e.g. the URL)
/// and the parsed body of `GET /traces/<id>`.
struct trace_source {
  std::string label;
  boost::json::value doc;
};

/// The tree as text, one line per call and per attempt, children indented
/// under the attempt that caused them. A call's line says where it was seen,
/// its dependency, attempts, whether it retried, hedged or fell back and how
/// it ended; an attempt's line its outcome and latency. Calls whose
/// upstream span no source reported are roots. Malformed entries are
/// skipped and counted in a last line.
std::string render_trace_tree(const std::vector<trace_source>& sources);

} // namespace bulwark::tools
