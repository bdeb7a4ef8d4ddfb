"""Input/output: the run directory and atomic writes, input readers, prediction writers, plots."""
