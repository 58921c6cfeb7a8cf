#!/usr/bin/env python
"""(Re)write configs/<folder>/metafile.yml and configs/model-index.yml from the configs,
measuring parameters and FLOPs (``--check``: exit 1 if any is out of date).

    .venv/bin/python tools/analysis/metafiles.py [--check] [--folders detection ...]
"""
import os.path as osp
import sys

from rexnet_mm.analysis.metafiles import main

if __name__ == '__main__':
    sys.exit(main(root=osp.normpath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs'))))
