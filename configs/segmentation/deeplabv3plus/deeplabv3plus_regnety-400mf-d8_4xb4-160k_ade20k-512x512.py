# DeepLabV3+, ade20k-512x512, RegNetY-400MF at output stride 8 (the RegNet of ReXNet-1.0's
# cost). Stages 3-4 dilated (strides (2, 2, 1, 1), dilations (1, 1, 2, 4),
# contract_dilation); stages 0 (48 ch, the decoder's low-level input), 2 (208 ch, the
# auxiliary head) and 3 (440 ch, ASPP). pycls weights take BGR input with pycls statistics.
_base_ = './deeplabv3plus_rexnet-1.0-d8_4xb4-160k_ade20k-512x512.py'

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='PyclsRegNet',
        arch='regnety_400mf',
        strides=(2, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://regnety-400mf')),
    decode_head=dict(in_channels=440, c1_in_channels=48),
    auxiliary_head=dict(in_channels=208))
