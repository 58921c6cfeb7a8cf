"""Distillation losses, written on ``torch.nn.functional`` (mmdet's
``KnowledgeDistillationKLDivLoss`` averages the divergence over the classes, 1/C of
Hinton's loss; neither mmdet 3.3 nor mmpretrain 1.2 has a channel-wise loss)."""
import torch.nn.functional as F


def logits_kd(student, teacher, temperature=1.0):
    """Hinton's KD: ``T**2 * KL(softmax(teacher / T) || softmax(student / T))``, summed
    over the last dimension (the classes) and averaged over every other position.

    Args:
        student, teacher (Tensor): logits of the same shape ``(..., C)``; the teacher's
            carry no gradient.
        temperature (float): ``T``; ``T**2`` keeps the gradient's scale independent of T.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'student logits {tuple(student.shape)} and teacher logits '
                         f'{tuple(teacher.shape)} differ in shape')
    t = float(temperature)
    s_log = F.log_softmax(student.flatten(0, -2).float() / t, dim=-1)
    t_log = F.log_softmax(teacher.detach().flatten(0, -2).float() / t, dim=-1)
    return F.kl_div(s_log, t_log, reduction='batchmean', log_target=True) * t * t


def channel_wise_divergence(student, teacher, temperature=1.0):
    """Channel-wise distillation (Shu et al. 2021, "Channel-wise Knowledge Distillation
    for Dense Prediction"): each channel's activation map becomes a distribution over
    its ``H*W`` positions, ``softmax(x / T)``; the loss is ``T**2 * KL(teacher ||
    student)`` summed over positions and averaged over channels and images (mmrazor's
    ``ChannelWiseDivergence`` normalisation).

    Args:
        student, teacher (Tensor): ``(N, C, H, W)`` feature maps of the same shape.
        temperature (float): ``T`` of the spatial softmax.
    """
    if student.shape != teacher.shape or student.dim() != 4:
        raise ValueError(f'channel-wise distillation needs two (N, C, H, W) maps of one '
                         f'shape, got {tuple(student.shape)} and {tuple(teacher.shape)}')
    n, c = student.shape[:2]
    t = float(temperature)
    s_log = F.log_softmax(student.reshape(n * c, -1).float() / t, dim=1)
    t_log = F.log_softmax(teacher.detach().reshape(n * c, -1).float() / t, dim=1)
    return F.kl_div(s_log, t_log, reduction='sum', log_target=True) * t * t / (n * c)
