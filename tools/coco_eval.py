#!/usr/bin/env python
"""Score COCO-format results (bbox and/or segm) against an annotation file.

The command line lives in the package: ``python -m rexnet_mm.tools.coco_eval --help``.
"""
import sys

from rexnet_mm.tools.coco_eval import cli

if __name__ == '__main__':
    sys.exit(cli())
