# The distillation demo's student as a plain config: the demo detector
# (configs/detection/demo/ssdlite_rexnet_shapes.py) with a ReXNet-0.5 backbone
# (taps of 72 and 640 channels) and an SSD neck / head half as wide on the extra
# levels: 1.41 M parameters against the demo's 4.37 M (the metafiles' counts). Trains
# alone like any config; configs/distill/cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes.py
# trains it against the demo detector; either checkpoint loads here (tools/test.py,
# tools/deploy.py).
_base_ = '../detection/demo/ssdlite_rexnet_shapes.py'

channels = (72, 640, 256, 128, 128, 64)
model = dict(
    backbone=dict(widen_factor=0.5),
    neck=dict(in_channels=channels[:2], out_channels=channels),
    bbox_head=dict(in_channels=channels))
