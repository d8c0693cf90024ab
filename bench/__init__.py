"""Benchmarks of the toolkit, side by side with its peers (`make bench`, `make bench-smoke`).

Every figure that a goal compares is a ratio measured in one run, in interleaved rounds, and
reported as a median: the machine is shared and noisy, so absolute numbers drift between runs
while ratios taken side by side stay meaningful.
"""
