#!/usr/bin/env python
"""Nearest ReXNet / RegNet configurations to a FLOPs (and parameter) budget, or the one
with the most FLOPs within a latency measured on a runtime.

    .venv/bin/python tools/analysis/design.py rexnet --flops 0.6G [--params 6M]
    .venv/bin/python tools/analysis/design.py regnety --flops 1.6G [--samples 20000]
    .venv/bin/python tools/analysis/design.py rexnet --latency-ms 30 --runtime torch|ort|openvino
        [--batch 1] [--threads 2] [--measure 24] [--plot front.png]

The command line lives in the package: ``python -m rexnet_mm.tools.design --help``.
"""
import sys

from rexnet_mm.tools.design import cli

if __name__ == '__main__':
    sys.exit(cli())
