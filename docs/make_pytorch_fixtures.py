"""Writes the PyTorch reference fixtures under tests/fixtures/pytorch/ (run by hand where PyTorch is installed:
`pip install torch torchvision safetensors`, then `python docs/make_pytorch_fixtures.py` from the repository root).

For each model: `<name>.safetensors` holds its weights as the lab reads them (the lab's configuration in the
metadata) and `<name>.expected.safetensors` a batch (`input`, `targets`) with what PyTorch computes from it in
float64: `logits_eval` (running statistics), then in training mode `logits_train`, `loss` (mean softmax cross
entropy) and the gradient of every parameter (`grad.<state-dict name>`), all stored as float32. The tests
(`tests/pytorch_equivalence.rs`) reproduce them without PyTorch.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from pytorch_models import build  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pytorch")
PYTORCH_INIT = {"kind": "py-torch"}


def conv(out_channels, kernel, stride=1, padding=0, bias=True):
    return {"layer": "conv", "out_channels": out_channels, "kernel": kernel, "stride": stride,
            "padding": padding, "bias": bias}


def max_pool(kernel, stride, padding=0):
    return {"layer": "max-pool", "kernel": kernel, "stride": stride, "padding": padding}


def small_cnn(widths, size):
    layers = []
    for i, width in enumerate(widths):
        layers += [conv(width, 3, 1, 1, False), {"layer": "batch-norm"}, {"layer": "relu"}]
        if i < len(widths) - 1:
            layers.append(max_pool(2, 2))
    layers += [{"layer": "global-avg-pool"}, {"layer": "linear", "out_features": 10}]
    return {"model": "cnn", "name": "small-cnn", "input": [3, size, size], "layers": layers, "init": PYTORCH_INIT}


def convnet(widths):
    """The course's ConvNet with reduced widths (64, 128, 256, 512 there)."""
    a, b, c, d = widths
    pre, pool = {"layer": "pre-act", "kernel": 3}, max_pool(3, 2, 1)
    layers = [conv(a, 3, 1, 1), pre, conv(b, 1), pool, pre, pre, conv(c, 1), pool, pre, pre, conv(d, 1), pool,
              pre, pre, pool, pre, pre, pool, {"layer": "batch-norm"}, {"layer": "relu"},
              {"layer": "linear", "out_features": 10}]
    return {"model": "cnn", "name": "convnet", "input": [3, 32, 32], "layers": layers, "init": PYTORCH_INIT}


def resnet(widths, blocks, classes, cifar_stem=False):
    """torchvision's ResNet structure (BasicBlock) with the given stage widths and block counts."""
    if cifar_stem:
        layers = [conv(widths[0], 3, 1, 1, False), {"layer": "batch-norm"}, {"layer": "relu"}]
    else:
        layers = [conv(widths[0], 7, 2, 3, False), {"layer": "batch-norm"}, {"layer": "relu"}, max_pool(3, 2, 1)]
    for stage, (width, count) in enumerate(zip(widths, blocks)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append({"layer": "basic-block", "out_channels": width, "stride": stride})
    layers += [{"layer": "global-avg-pool"}, {"layer": "linear", "out_features": classes}]
    return {"model": "cnn", "name": "resnet", "input": [3, 32, 32], "layers": layers, "init": PYTORCH_INIT,
            "names": "torchvision"}


FIXTURES = {
    "mlp_batchnorm_elu": ({"model": "mlp", "input_features": 24, "hidden": [16, 12], "classes": 5,
                           "activation": "elu", "normalization": "batch-norm", "init": PYTORCH_INIT}, 24),
    "mlp_layernorm_tanh": ({"model": "mlp", "input_features": 24, "hidden": [10], "classes": 5,
                            "activation": "tanh", "normalization": "layer-norm", "init": PYTORCH_INIT}, 24),
    "small_cnn": (small_cnn([6, 8, 12, 16], 16), 3 * 16 * 16),
    "convnet": (convnet([6, 8, 8, 12]), 3 * 32 * 32),
    "resnet_torchvision": (resnet([4, 8, 8, 16], [2, 2, 2, 2], 20), 3 * 32 * 32),
}


def randomise_normalisation(model, generator):
    """BatchNorm/LayerNorm parameters and statistics away from their initial 1 and 0, so the test sees them."""
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
            shape = module.weight.shape
            module.weight.data = 1 + 0.3 * torch.randn(shape, generator=generator)
            module.bias.data = 0.2 * torch.randn(shape, generator=generator)
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.data = 0.1 * torch.randn(shape, generator=generator)
            module.running_var.data = 0.5 + torch.rand(shape, generator=generator)
            module.num_batches_tracked.fill_(3)


def check_torchvision_names():
    """The lab's ResNet-18/34 have exactly torchvision's state-dict names and shapes."""
    import torchvision

    for make, blocks in ((torchvision.models.resnet18, [2, 2, 2, 2]), (torchvision.models.resnet34, [3, 4, 6, 3])):
        ours = build(resnet([64, 128, 256, 512], blocks, 1000)).state_dict()
        theirs = make().state_dict()
        assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}, make.__name__
    params = sum(p.numel() for p in build(resnet([64, 128, 256, 512], [3, 4, 6, 3], 10)).parameters())
    assert params == 21_289_802, params
    print("torchvision ResNet-18/34 names and shapes match; ResNet-34 with 10 classes:", params, "parameters")


def main():
    os.makedirs(OUT, exist_ok=True)
    check_torchvision_names()
    for index, (name, (config, features)) in enumerate(FIXTURES.items()):
        torch.manual_seed(index)
        generator = torch.Generator().manual_seed(100 + index)
        model = build(config)
        randomise_normalisation(model, generator)
        state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        metadata = {"format": "pt", "backprop_lab.model": json.dumps(config),
                    "backprop_lab.input": "course-mean-image"}
        save_file(state, os.path.join(OUT, f"{name}.safetensors"), metadata=metadata)

        batch = 6 if config["model"] == "mlp" else 3
        x = torch.randn(batch, features, generator=generator, dtype=torch.float32)
        classes = config.get("classes") or config["layers"][-1]["out_features"]
        targets = torch.randint(0, classes, (batch,), generator=generator)
        model = model.double()
        model.eval()
        with torch.no_grad():
            logits_eval = model(x.double())
        model.train()
        logits_train = model(x.double())
        loss = torch.nn.functional.cross_entropy(logits_train, targets)
        loss.backward()
        expected = {"input": x, "targets": targets.to(torch.int64), "logits_eval": logits_eval.float(),
                    "logits_train": logits_train.detach().float(), "loss": loss.detach().reshape(1).float()}
        for param_name, param in model.named_parameters():
            expected[f"grad.{param_name}"] = param.grad.float().contiguous()
        save_file(expected, os.path.join(OUT, f"{name}.expected.safetensors"),
                  metadata={"torch": torch.__version__})
        print(name, sum(v.numel() for v in state.values()), "state values, loss", float(loss.detach()))


if __name__ == "__main__":
    main()
