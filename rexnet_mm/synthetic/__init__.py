"""Embedded, deterministic datasets: COCO shapes and fine-grained birds."""
