"""Console rendering (rich) of what engine.analysis and engine.jobs compute: the one place rich is imported
outside the dashboard."""
