#!/usr/bin/env python
"""Nearest ReXNet / RegNet configurations to a FLOPs (and parameter) budget.

    .venv/bin/python tools/analysis/design.py rexnet --flops 0.6G [--params 6M]
    .venv/bin/python tools/analysis/design.py regnety --flops 1.6G [--samples 20000]
"""
import sys

from rexnet_mm.analysis.design import main

if __name__ == '__main__':
    sys.exit(main())
