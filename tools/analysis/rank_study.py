#!/usr/bin/env python
"""The ReXNet paper's rank study: rank ratio vs dimension ratio per nonlinearity.

    .venv/bin/python tools/analysis/rank_study.py --out-dir work_dirs/rank_study [--networks 10]
"""
import sys

from rexnet_mm.analysis.rank import study_main

if __name__ == '__main__':
    sys.exit(study_main())
