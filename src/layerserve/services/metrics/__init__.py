"""Per-request metric records folded into minute rollups, and the reports read from them.

``aggregation`` folds delivered log events into rollups exactly once (the metrics
function); ``query`` sums rollups over a window (a version's figures, what one alias
route sent to a version); ``report`` answers the registry's metrics route for a version
or for every version an alias routes to.
"""
