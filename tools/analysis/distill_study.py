#!/usr/bin/env python
"""Knowledge distillation study: student alone vs. distilled, three seeds (docs/distillation.md).

    .venv/bin/python tools/analysis/distill_study.py --setting cls|det [--seeds 0 1 2]
"""
import sys

from rexnet_mm.tools.distill_study import cli

if __name__ == '__main__':
    sys.exit(cli())
