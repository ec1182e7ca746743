"""The registered presets. Full-size ones follow REFERENCES.md; ``*_tiny`` ones are for tests
and the offline quickstart (a few blocks, 32-64 px)."""

from tfdeepfake.models.presets import CLIP_MEAN, CLIP_STD, Preset, register_preset

_B4 = {"width_coefficient": 1.4, "depth_coefficient": 1.8, "input_size": 224}
_B7 = {"width_coefficient": 2.0, "depth_coefficient": 3.1, "input_size": 380}
_TINY_EFFNET = {"width_coefficient": 0.25, "depth_coefficient": 0.1}
_B4_FACES = {"frames": 32, "face_margin": 0.2, "crop_mode": "square", "aggregation": "mean_logit"}
_B7_FACES = {"frames": 32, "face_margin": 1 / 3, "crop_mode": "pad", "aggregation": "confident"}
_LSTM_FACES = {"frames": 20, "sequence": True, "face_margin": 0.2, "crop_mode": "square",
               "aggregation": "sequence"}

register_preset(Preset(
    "autoatt_b4", "autoatt_b4",
    "EfficientNetB4 + 1x1-conv sigmoid attention after block3d (icpr2020dfdc), 224 px",
    {**_B4, "attention": True, "head": "dropout", "dropout": 0.4}, input_size=224, **_B4_FACES))
register_preset(Preset(
    "autoatt_b4_st", "autoatt_b4",
    "AutoAttB4 with the triplet-trained backbone and BN + Dense head (AutoAttB4ST)",
    {**_B4, "attention": True, "head": "bn_dense"}, input_size=224, **_B4_FACES))
register_preset(Preset(
    "efficientnet_b4", "autoatt_b4",
    "Plain EfficientNetB4 detector (icpr2020dfdc EfficientNetB4), 224 px",
    {**_B4, "attention": False, "head": "dropout", "dropout": 0.4}, input_size=224, **_B4_FACES))
register_preset(Preset(
    "efficientnet_b4_st", "autoatt_b4",
    "Plain EfficientNetB4, triplet-trained, BN + Dense head (icpr2020dfdc EfficientNetB4ST)",
    {**_B4, "attention": False, "head": "bn_dense"}, input_size=224, **_B4_FACES))
register_preset(Preset(
    "b7_ssim", "b7_ssim",
    "EfficientNetB7 at 380 px with the in-model SSIM branch (attention + fused SSIM features)",
    {**_B7, "ssim_branch": True}, input_size=380, **_B7_FACES))
register_preset(Preset(
    "efficientnet_b7", "b7_ssim",
    "EfficientNetB7 at 380 px, no SSIM branch: the DFDC winner's architecture",
    {**_B7, "ssim_branch": False}, input_size=380, **_B7_FACES))
register_preset(Preset(
    "resnet_lstm", "resnet_lstm",
    "ResNeXt50_32x4d per frame + LSTM over time (batch first), 112 px, 20 frames",
    {"backbone": "resnext50_32x4d", "input_size": 112, "lstm_units": 2048, "dropout": 0.4},
    input_size=112, **_LSTM_FACES))
register_preset(Preset(
    "resnet50_lstm", "resnet_lstm",
    "ResNet50 per frame + LSTM over time (batch first), 112 px, 20 frames",
    {"backbone": "resnet50", "input_size": 112, "lstm_units": 2048, "dropout": 0.4},
    input_size=112, **_LSTM_FACES))
register_preset(Preset(
    "ensemble", "ensemble",
    "Average of the video probabilities of resnet_lstm, autoatt_b4 and b7_ssim",
    {"members": ("resnet_lstm", "autoatt_b4", "b7_ssim"), "threshold": 0.5},
    input_size=224, frames=32, aggregation="ensemble_mean"))

# Tiny configurations: same code paths, seconds to build; never trained to a verdict.
register_preset(Preset(
    "autoatt_b4_tiny", "autoatt_b4", "Tiny AutoAttB4 for tests and the quickstart, 32 px",
    {**_TINY_EFFNET, "input_size": 32, "attention": True, "head": "dropout", "dropout": 0.4},
    input_size=32, **_B4_FACES))
register_preset(Preset(
    "b7_ssim_tiny", "b7_ssim", "Tiny B7-SSIM for tests and the quickstart, 48 px",
    {**_TINY_EFFNET, "input_size": 48, "ssim_branch": True},
    input_size=48, **_B7_FACES))
register_preset(Preset(
    "resnet_lstm_tiny", "resnet_lstm", "Tiny ResNeXt-LSTM for tests and the quickstart, 32 px",
    {"backbone": "resnext50_32x4d", "input_size": 32, "block_counts": (1, 1, 1, 1),
     "base_width": 8, "lstm_units": 16, "dropout": 0.4},
    input_size=32, **{**_LSTM_FACES, "frames": 8}))
register_preset(Preset(
    "ensemble_tiny", "ensemble", "The ensemble of the three tiny models",
    {"members": ("resnet_lstm_tiny", "autoatt_b4_tiny", "b7_ssim_tiny"), "threshold": 0.5},
    input_size=48, frames=8, aggregation="ensemble_mean"))

# GenD (yermandy/GenD): CLIP ViT-L/14 vision tower + L2-normalised linear head, aligned faces.
_GEND_FACES = {"frames": 32, "mean": CLIP_MEAN, "std": CLIP_STD, "crop_mode": "aligned",
               "face_margin": 0.5, "aggregation": "mean_prob"}
register_preset(Preset(
    "gend_clip_l14", "gend",
    "GenD: CLIP ViT-L/14 vision tower (LayerNorm-tuned) + L2-normalised linear head, 224 px",
    {"input_size": 224, "patch_size": 14, "width": 1024, "depth": 24, "heads": 16,
     "mlp_dim": 4096}, input_size=224, **_GEND_FACES))
register_preset(Preset(
    "gend_clip_tiny", "gend", "Tiny GenD (CLIP ViT: patch 8, 2 blocks, width 32) for tests, 32 px",
    {"input_size": 32, "patch_size": 8, "width": 32, "depth": 2, "heads": 4, "mlp_dim": 64},
    input_size=32, **_GEND_FACES))
