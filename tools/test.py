#!/usr/bin/env python
"""Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain config.

The command line lives in the package: ``python -m rexnet_mm.tools.test --help``.
"""
import sys

from rexnet_mm.tools.test import cli

if __name__ == '__main__':
    sys.exit(cli())
