"""PyTorch modules equal to the lab's models, built from the configuration a lab weights file carries.

The lab writes `.safetensors` files whose tensor names and layouts are those of these modules' `state_dict`,
with the lab's model configuration (JSON) in the metadata under `backprop_lab.model`:

    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    from pytorch_models import build

    with safe_open("model.safetensors", "pt") as f:
        config = json.loads(f.metadata()["backprop_lab.model"])
    model = build(config)
    model.load_state_dict(load_file("model.safetensors"))

and `safetensors.torch.save_file(model.state_dict(), "model.safetensors")` writes a file the lab loads into a
model of the same architecture (`lab train --init-from`, or `Load weights` on the page). Inputs are the lab's:
a batch of images as `[N, 3·32·32]` rows (channel-major, as `x.flatten(1)` of an NCHW batch); the modules
reshape them. The loss is the mean softmax cross-entropy (`torch.nn.functional.cross_entropy`).

The ResNet follows torchvision's names (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), so a
`torchvision.models.resnet18/34` state dict loads into the lab's ResNet of the same configuration.
"""
import torch
from torch import nn


class GlobalAvgPool(nn.Module):
    """[N, C, H, W] -> [N, C]: the mean of each channel (the lab's GlobalAvgPool)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class FlatLinear(nn.Linear):
    """A linear layer on the flattened C·H·W features (channel-major, as the lab stores images)."""

    def forward(self, x):
        return super().forward(x.flatten(1))


class PreActBlock(nn.Module):
    """The ConvNet's block: y = x + conv(relu(bn(x))), a same-padding convolution with bias."""

    def __init__(self, channels, kernel):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)

    def forward(self, x):
        return x + self.conv(torch.relu(self.bn(x)))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), where the shortcut is the
    identity or, when the stride or the width changes, a 1×1 strided convolution and BatchNorm (`downsample`)."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


def build_mlp(config):
    layers, width = [], config["input_features"]
    for hidden in config["hidden"]:
        layers.append(nn.Linear(width, hidden))
        norm = config.get("normalization", "none")
        if norm == "batch-norm":
            layers.append(nn.BatchNorm1d(hidden))
        elif norm == "layer-norm":
            layers.append(nn.LayerNorm(hidden))
        layers.append(ACTIVATIONS[config.get("activation", "elu")]())
        width = hidden
    layers.append(nn.Linear(width, config["classes"]))
    if config.get("loss") == "softmax-then-cross-entropy":
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


class Unflatten(nn.Module):
    """[N, C·H·W] rows -> [N, C, H, W] (the lab's images are channel-major rows)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class LabCnn(nn.Module):
    """The lab's CNN: its layer list as an `nn.Sequential` named `0`, `1`, … (or torchvision's names)."""

    def __init__(self, config):
        super().__init__()
        self.input_shape = tuple(config["input"])
        channels, size = self.input_shape[0], self.input_shape[1]
        names, modules = [], []
        for spec in config["layers"]:
            kind = spec["layer"]
            if kind == "conv":
                modules.append(
                    nn.Conv2d(channels, spec["out_channels"], spec["kernel"], spec["stride"], spec["padding"],
                              bias=spec["bias"])
                )
                channels = spec["out_channels"]
                size = (size + 2 * spec["padding"] - spec["kernel"]) // spec["stride"] + 1
            elif kind == "batch-norm":
                modules.append(nn.BatchNorm2d(channels))
            elif kind == "relu":
                modules.append(nn.ReLU())
            elif kind == "elu":
                modules.append(nn.ELU())
            elif kind == "max-pool":
                modules.append(nn.MaxPool2d(spec["kernel"], spec["stride"], spec["padding"]))
                size = (size + 2 * spec["padding"] - spec["kernel"]) // spec["stride"] + 1
            elif kind == "pre-act":
                modules.append(PreActBlock(channels, spec["kernel"]))
            elif kind == "basic-block":
                modules.append(BasicBlock(channels, spec["out_channels"], spec["stride"]))
                channels = spec["out_channels"]
                size = (size + 2 - 3) // spec["stride"] + 1
            elif kind == "global-avg-pool":
                modules.append(GlobalAvgPool())
                size = 1
            elif kind == "linear":
                modules.append(FlatLinear(channels * size * size, spec["out_features"]))
                channels, size = spec["out_features"], 1
            else:
                raise ValueError(f"unknown layer {kind}")
        self.names = module_names(config)
        for name, module in zip(self.names, modules):
            parent = self
            *path, last = name.split(".")
            for part in path:
                if not hasattr(parent, part):
                    parent.add_module(part, nn.Sequential())
                parent = getattr(parent, part)
            parent.add_module(last, module)
        self.order = modules

    def forward(self, x):
        x = x.reshape(x.shape[0], *self.input_shape)
        for module in self.order:
            x = module(x)
        return x


def module_names(config):
    """The state-dict prefix of each layer: its index, or torchvision's ResNet names."""
    layers = config["layers"]
    if config.get("names") != "torchvision":
        return [str(i) for i in range(len(layers))]
    names, stage, block = [], 0, 0
    for spec in layers:
        kind = spec["layer"]
        if kind == "basic-block":
            if stage == 0 or spec["stride"] != 1:
                stage, block = stage + 1, 0
            names.append(f"layer{stage}.{block}")
            block += 1
        else:
            names.append({"conv": "conv1", "batch-norm": "bn1", "relu": "relu", "max-pool": "maxpool",
                          "global-avg-pool": "avgpool", "linear": "fc"}[kind])
    return names


def build(config):
    """The torch.nn module equal to the lab's model configuration (a dict, as in the metadata)."""
    if config["model"] == "mlp":
        return build_mlp(config)
    if config["model"] == "cnn":
        return LabCnn(config)
    raise ValueError(f"unknown model {config['model']}")
