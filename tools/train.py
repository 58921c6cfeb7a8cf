#!/usr/bin/env python
"""Train a model from an mmdet, mmseg or mmpretrain config with rexnet_mm's backbones.

The command line lives in the package: ``python -m rexnet_mm.tools.train --help``.
"""
import sys

from rexnet_mm.tools.train import cli

if __name__ == '__main__':
    sys.exit(cli())
