"""The reference detectors rebuilt in PyTorch, with the exact checkpoint key layouts.

- icpr2020dfdc: efficientnet-pytorch's EfficientNet-B4 (the package the reference used),
  plus the reference's attention after block 9 and its heads (plain and siamese "ST").
- DFDC winner: an independent rebuild of timm's ``tf_efficientnet_b7_ns`` (timm needs
  torchvision, a 5.5 GB install here): TF-"same" dynamic padding, BN eps 1e-3, timm's key
  names, plus ``DeepFakeClassifier``'s ``fc``.
- ResNeXt50-LSTM: an independent rebuild of torchvision's ``resnext50_32x4d`` wrapped as the
  reference's ``model`` Sequential, its bias-free, not-batch-first LSTM and 2-class
  ``linear1``; ``forward`` returns what the reference app uses (the last step's logits).
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# --------------------------------------------------------------------------- icpr2020dfdc

# icpr2020dfdc trained its published weights with efficientnet-pytorch 0.6.3; the installed
# package (the [torch] extra) is 0.7.x. .ci/run installs 0.6.3 into this folder; otherwise the
# first parity run does (pip, --no-deps: the package is pure Python).
EFFICIENTNET_063_DIR = Path(
    os.environ.get("EFFICIENTNET_PYTORCH_063_DIR")
    or Path.home() / ".cache" / "tfdeepfake" / "efficientnet-pytorch-0.6.3"
)


def efficientnet_pytorch_063():
    """efficientnet-pytorch 0.6.3 imported as its own module, beside the installed 0.7.x."""
    name = "efficientnet_pytorch_063"
    if name in sys.modules:
        return sys.modules[name]
    init = EFFICIENTNET_063_DIR / "efficientnet_pytorch" / "__init__.py"
    if not init.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
             str(EFFICIENTNET_063_DIR), "efficientnet-pytorch==0.6.3"],
            check=True,
        )
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    assert module.__version__ == "0.6.3", module.__version__
    return module



class IcprEfficientNet(nn.Module):
    """EfficientNetB4 / EfficientNetAutoAttB4 of icpr2020dfdc (keys ``efficientnet.*``,
    ``classifier``); ``attention_block`` 9 = the last block of stage 3. ``package``: the
    efficientnet_pytorch module to build with (default: the installed one); its version
    decides the padding (0.6.x: TF "same" at 224 px; 0.7.x: per stage)."""

    def __init__(self, attention: bool, attention_block: int = 9, package=None):
        super().__init__()
        if package is None:
            import efficientnet_pytorch as package

        self.efficientnet = package.EfficientNet.from_name("efficientnet-b4")
        del self.efficientnet._fc
        self.attention_block = attention_block if attention else None
        if attention:
            self.efficientnet.attconv = nn.Conv2d(56, 1, kernel_size=1)
        self.classifier = nn.Linear(self.efficientnet._conv_head.out_channels, 1)

    def _trunk(self, x: torch.Tensor, stop_at_attention: bool = False):
        net = self.efficientnet
        x = net._swish(net._bn0(net._conv_stem(x)))
        att = None
        for idx, block in enumerate(net._blocks):
            rate = net._global_params.drop_connect_rate * idx / len(net._blocks)
            x = block(x, drop_connect_rate=rate)
            if idx == self.attention_block:
                att = torch.sigmoid(net.attconv(x))
                if stop_at_attention:
                    return x, att
                x = x * att
        return net._swish(net._bn1(net._conv_head(x))), att

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self._trunk(x)
        return self.efficientnet._avg_pooling(x).flatten(1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        return self._trunk(x, stop_at_attention=True)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.efficientnet._dropout(self.features(x)))


class IcprSiamese(nn.Module):
    """EfficientNetB4ST / EfficientNetAutoAttB4ST: ``feat_ext.*`` + BN1d -> Linear head."""

    def __init__(self, attention: bool, package=None):
        super().__init__()
        self.feat_ext = IcprEfficientNet(attention, package=package)
        self.classifier = nn.Sequential(nn.BatchNorm1d(1792), nn.Linear(1792, 1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        return self.feat_ext.attention(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.feat_ext.features(x))


# ------------------------------------------------------------------- DFDC winner (timm B7)


def pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "same" padding computed from the actual input (timm's Conv2dSame)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad takes the last axis first
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class ConvSame(nn.Conv2d):
    """Conv2d with dynamic TF-"same" padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced, 1)
        self.conv_expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.silu(self.conv_reduce(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(self.conv_expand(s))


class DepthwiseSeparable(nn.Module):
    """timm's DepthwiseSeparableConv (expansion 1): conv_dw, bn1, se, conv_pw, bn2."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        self.conv_dw = ConvSame(c_in, c_in, kernel, stride, groups=c_in, bias=False)
        self.bn1 = _bn(c_in)
        self.se = SqueezeExcite(c_in, max(1, int(c_in * 0.25)))
        self.conv_pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv_pw(self.se(F.silu(self.bn1(self.conv_dw(x))))))
        return x + y if self.skip else y


class InvertedResidual(nn.Module):
    """timm's InvertedResidual: conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.conv_pw = nn.Conv2d(c_in, mid, 1, bias=False)
        self.bn1 = _bn(mid)
        self.conv_dw = ConvSame(mid, mid, kernel, stride, groups=mid, bias=False)
        self.bn2 = _bn(mid)
        self.se = SqueezeExcite(mid, max(1, int(c_in * 0.25)))
        self.conv_pwl = nn.Conv2d(mid, c_out, 1, bias=False)
        self.bn3 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.silu(self.bn1(self.conv_pw(x)))
        y = self.se(F.silu(self.bn2(self.conv_dw(y))))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.skip else y


def _round_chs(c: float, width: float, divisor: int = 8) -> int:
    c *= width
    new = max(divisor, int(c + divisor / 2) // divisor * divisor)
    return int(new + divisor if new < 0.9 * c else new)


# (kernel, repeats, out channels, expansion, stride) of EfficientNet's seven stages.
_STAGES = (
    (3, 1, 16, 1, 1),
    (3, 2, 24, 6, 2),
    (5, 2, 40, 6, 2),
    (3, 3, 80, 6, 2),
    (5, 3, 112, 6, 1),
    (5, 4, 192, 6, 2),
    (3, 1, 320, 6, 1),
)


class TfEfficientNet(nn.Module):
    """timm-layout tf_efficientnet (B7: width 2.0, depth 3.1), ImageNet classifier included."""

    def __init__(self, width: float = 2.0, depth: float = 3.1):
        super().__init__()
        stem = _round_chs(32, width)
        self.conv_stem = ConvSame(3, stem, 3, 2, bias=False)
        self.bn1 = _bn(stem)
        stages, c_in = [], stem
        for kernel, repeats, c_out, expand, stride in _STAGES:
            c_out, blocks = _round_chs(c_out, width), []
            for j in range(math.ceil(repeats * depth)):
                s = stride if j == 0 else 1
                if expand == 1:
                    blocks.append(DepthwiseSeparable(c_in, c_out, kernel, s))
                else:
                    blocks.append(InvertedResidual(c_in, c_out, kernel, s, expand))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.num_features = _round_chs(1280, width)
        self.conv_head = nn.Conv2d(c_in, self.num_features, 1, bias=False)
        self.bn2 = _bn(self.num_features)
        self.classifier = nn.Linear(self.num_features, 1000)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.silu(self.bn1(self.conv_stem(x))))
        return F.silu(self.bn2(self.conv_head(x)))


class DeepFakeClassifier(nn.Module):
    """The DFDC winner's classifier: encoder features -> average pool -> (dropout) -> fc."""

    def __init__(self, width: float = 2.0, depth: float = 3.1):
        super().__init__()
        self.encoder = TfEfficientNet(width, depth)
        self.fc = nn.Linear(self.encoder.num_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder.forward_features(x).mean((2, 3)))


# ------------------------------------------------------------------ ResNeXt50_32x4d + LSTM


class Bottleneck(nn.Module):
    """torchvision's ResNeXt bottleneck (stride in the grouped 3x3 conv)."""

    def __init__(self, c_in: int, planes: int, stride: int, groups: int, base: int):
        super().__init__()
        width = int(planes * base / 64) * groups
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or c_in != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


def resnext50_32x4d_trunk(blocks=(3, 4, 6, 3)) -> nn.Sequential:
    """torchvision resnext50_32x4d children minus avgpool/fc, as the reference's Sequential."""
    layers, c_in = [], 64
    for stage, count in enumerate(blocks):
        planes = 64 * 2**stage
        stage_blocks = []
        for b in range(count):
            stride = 2 if (b == 0 and stage > 0) else 1
            stage_blocks.append(Bottleneck(c_in, planes, stride, groups=32, base=4))
            c_in = planes * 4
        layers.append(nn.Sequential(*stage_blocks))
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
        *layers,
    )


class ResNeXtLSTM(nn.Module):
    """The reference ``Model(num_classes=2)``: keys ``model.*``, ``lstm.*``, ``linear1.*``."""

    def __init__(self):
        super().__init__()
        self.model = resnext50_32x4d_trunk()
        # nn.LSTM(latent, hidden, layers, bidirectional) puts False in the *bias* slot.
        self.lstm = nn.LSTM(2048, 2048, 1, False)
        self.dp = nn.Dropout(0.4)
        self.linear1 = nn.Linear(2048, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, c, h, w = x.shape
        fmap = self.model(x.view(batch * seq, c, h, w))
        feats = F.adaptive_avg_pool2d(fmap, 1).view(batch, seq, 2048)
        steps, _ = self.lstm(feats, None)  # not batch_first: runs over the batch axis
        return self.dp(self.linear1(steps[:, -1, :]))


# ---------------------------------------------------------------------------- helpers


def randomise(module: nn.Module, calibration: torch.Tensor, seed: int = 0) -> nn.Module:
    """Random weights and batch-norm statistics that keep the signal alive; eval mode.

    Random deep nets collapse to an input-independent output unless each batch norm sees
    statistics close to those of its input. The running statistics are therefore measured
    on ``calibration`` (one pass with only the norms in train mode): per-channel values far
    from the 0/1 defaults, while gamma/beta are random. (Perturbing the measured statistics
    compounds over B4's ~100 norms into logits of several hundred, where float32 rounding
    alone exceeds the tolerance.)
    """
    gen = torch.Generator().manual_seed(seed)
    norms = [m for m in module.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
            elif isinstance(m, nn.LSTM):
                for p in m.parameters():
                    p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
        for m in norms:
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
            m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one pass sets the batch statistics
        module.eval()
        for m in norms:  # only the norms measure; dropout and drop-connect stay off
            m.train()
        module(calibration)
        for m in norms:
            if isinstance(m, nn.BatchNorm1d):  # a head over a tiny batch: use a sane variance
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
            m.num_batches_tracked.fill_(1234)
            m.momentum = 0.1
    return module.eval()
