"""Benchmarks, side by side with the incumbents (not part of the default test run).

    pytest bench/                         # every benchmark, every implementation that is installed
    pytest bench/ --benchmark-disable -q  # smoke mode (CI): each body once
    python -m bench.report [--quick]      # runs the suite, writes bench/REPORT.md and the ratio chart
    python -m bench.gate                  # callgrind instruction counts of the C core vs the baseline
    python -m bench.load_scenarios steady|spike|endurance|connection-failure
"""
