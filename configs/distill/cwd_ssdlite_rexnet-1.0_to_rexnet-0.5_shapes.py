# Channel-wise distillation (CWD, Shu et al. 2021) of the demo detector into a
# smaller SSDLite: teacher = the demo's SSDLite + ReXNet-1.0 (what tools/demo.sh
# trains), student = ssdlite_rexnet-0.5_shapes.py (data, schedule, evaluation are the
# student's). On each of the 6 SSD neck outputs, the student's map (through a 1x1 conv
# where its channels differ from the teacher's) learns the teacher's per-channel
# spatial distribution; plus logits KD on the SSD classification scores.
#
#   bash tools/demo.sh                      # the teacher -> work_dirs/demo_ssdlite_rexnet
#   python tools/train.py configs/distill/cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes.py
#   python tools/test.py configs/distill/ssdlite_rexnet-0.5_shapes.py \
#       work_dirs/cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes/epoch_4.pth
#
# docs/distillation.md has the study (3 seeds, with and without the teacher).
_base_ = './ssdlite_rexnet-0.5_shapes.py'

model = dict(
    _delete_=True,
    type='DetDistiller',
    student={{_base_.model}},
    teacher_config='configs/detection/demo/ssdlite_rexnet_shapes.py',
    teacher_checkpoint='work_dirs/demo_ssdlite_rexnet/epoch_4.pth',
    cwd_weight=10.0,  # mmrazor's weight for CWD on RetinaNet's FPN
    tau=1.0,
    logits_weight=1.0,
    temperature=1.0)
# the checkpoints' meta describes the plain student (tools/test.py, tools/deploy.py)
custom_hooks = [dict(type='StudentConfigHook')]
