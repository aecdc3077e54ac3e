"""Study runner pieces: plan expansion, run state, data checks, progress, console tables.

`jaxrobust.study` is the entry point that joins them.
"""
