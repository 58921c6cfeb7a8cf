# Logits KD (Hinton et al. 2015) across families: a RegNetY-1.6GF teacher, a
# ReXNet-1.0 student, on the embedded synthetic birds (32 classes). Data, schedule
# and evaluation are the student config's (configs/finegrained/
# rexnet-1.0_synthetic-birds.py); the loss adds T^2 * KL(teacher || student) of the
# logits softened by T. Each model normalises the images its own way (RegNet: BGR,
# pycls statistics; ReXNet: RGB).
#
#   python -m rexnet_mm.synthetic.finegrained data/synthetic_birds
#   python tools/train.py configs/finegrained/regnety-1.6gf_synthetic-birds.py   # teacher
#   python tools/train.py configs/distill/kd_regnety-1.6gf_to_rexnet-1.0_synthetic-birds.py
#
# Both models start from the zoo's ImageNet weights (rexnet_mm://...); without them add
#   --cfg-options model.backbone.init_cfg=None            (teacher)
#   --cfg-options model.student.backbone.init_cfg=None    (student)
_base_ = '../finegrained/rexnet-1.0_synthetic-birds.py'

model = dict(
    _delete_=True,
    type='ClsDistiller',
    student={{_base_.model}},
    teacher_config='configs/finegrained/regnety-1.6gf_synthetic-birds.py',
    teacher_checkpoint='work_dirs/regnety-1.6gf_synthetic-birds/epoch_30.pth',
    kd_weight=1.0,
    temperature=4.0)
custom_hooks = [dict(type='StudentConfigHook')]
