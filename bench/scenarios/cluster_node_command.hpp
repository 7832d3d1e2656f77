// `bulwark-bench cluster-node`: one member node of the `cluster` scenario
// (bench/scenarios/cluster.cpp) in its own process, which the scenario
// starts from its own binary, SIGKILLs, SIGSTOPs and restarts. Not for
// direct use; its arguments are the scenario's business.
#pragma once

namespace bulwark::bench {

/// `argv[0]` is "cluster-node". Returns the process's exit status.
int run_cluster_node_command(int argc, char** argv);

} // namespace bulwark::bench
