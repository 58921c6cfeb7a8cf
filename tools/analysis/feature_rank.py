#!/usr/bin/env python
"""Feature rank of backbones (any mmdet/mmseg/mmpretrain config) on a folder of images.

    .venv/bin/python tools/analysis/feature_rank.py CONFIG [CONFIG ...] --images DIR \
        [--checkpoints CKPT|- ...] [--out-indices 0 1 2 3] [--out-dir work_dirs/feature_rank]
"""
import sys

from rexnet_mm.analysis.rank import feature_rank_main

if __name__ == '__main__':
    sys.exit(feature_rank_main())
