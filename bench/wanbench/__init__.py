"""bench/wan_run: the WAN lab benchmark (lab, servers, tools, runs, report)."""
