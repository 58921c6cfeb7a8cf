#!/usr/bin/env python
"""Train a model from an mmdet, mmseg or mmpretrain config with rexnet_mm's backbones.

The command line lives in the package: ``python -m rexnet_mm.tools.train --help``.
"""
from rexnet_mm.tools.train import main

if __name__ == '__main__':
    main()
