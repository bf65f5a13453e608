"""The analytic NB201 workload as built before issue 15's fast builder (commit 05c5412 of
python/codesign/space/nb201_net.py, kept verbatim as the reference): the fx graph of the model replayed node by
node and captured with from_torch's rules, one validated-prototype clone per layer. tests/test_nb201_builder.py
checks that :func:`codesign.space.nb201_net.nb201_workload` builds the same workloads."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from codesign.space.nb201 import STAGE_CHANNELS
from codesign.space.nb201_net import cell_layout, incoming

_CONV_K = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


# =====================================================================================================
# analytic workload: the traced graph, replayed
# =====================================================================================================
class _Graph:
    """The fx graph of the model in execution order: nodes ``(kind, inputs, layer or None)``; a ``relu`` node's
    layer is the stand-alone activation pass it becomes when it cannot be fused."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, tuple[int, ...], Any]] = []

    def add(self, kind: str, inputs: Sequence[int], layer: Any = None) -> int:
        self.nodes.append((kind, tuple(inputs), layer))
        return len(self.nodes) - 1

    def capture(self) -> list[Any]:
        """from_torch's rules: layers in order, a BN folded into the conv before it (else a ``bn`` pass), ReLU
        fusion for single-user inputs."""
        users = [0] * len(self.nodes)
        for _, inputs, _ in self.nodes:
            for i in inputs:
                users[i] += 1
        layers: list[Any] = []
        acts: list[str] = []
        producer: dict[int, int] = {}
        for n, (kind, inputs, layer) in enumerate(self.nodes):
            fallback = layer if kind == "relu" else None
            if layer is not None and kind not in ("relu", "bn"):
                producer[n] = len(layers)
                layers.append(layer)
                acts.append("none")
            elif kind == "bn":  # folded into a conv / fc whose output feeds nothing else, else a "bn" pass
                x = inputs[0]
                if x in producer and users[x] == 1 and layers[producer[x]].kind in ("conv", "fc") \
                        and acts[producer[x]] == "none":
                    producer[n] = producer[x]
                else:
                    producer[n] = len(layers)
                    layers.append(layer)
                    acts.append("none")
            elif kind == "flatten":
                x = inputs[0]
                if x in producer and users[x] == 1:
                    producer[n] = producer[x]
            elif kind == "relu":  # fused into the layer its input carries, else a stand-alone act pass
                x = inputs[0]
                if x in producer and users[x] == 1 and acts[producer[x]] == "none":
                    acts[producer[x]] = "relu"
                    producer[n] = producer[x]
                else:
                    producer[n] = len(layers)
                    layers.append(fallback)
                    acts.append("relu")
        return [lay if a == "none" else _with_act(lay, a) for lay, a in zip(layers, acts)]


def _with_act(layer: Any, act: str) -> Any:
    return _clone(layer, act=act)


@lru_cache(maxsize=4096)
def _proto(ctor: str, dims: tuple[tuple[str, int], ...]) -> Any:
    from codesign.workload import Layer

    return getattr(Layer, ctor)("proto", **dict(dims))


@lru_cache(maxsize=1)
def _layer_fields() -> tuple[str, ...]:
    import dataclasses

    from codesign.workload import Layer

    return tuple(f.name for f in dataclasses.fields(Layer))


def _clone(layer: Any, **changes: Any) -> Any:
    """A copy of a valid layer with other ``name`` / ``act`` (which keep it valid), without re-validating."""
    out = object.__new__(type(layer))
    for f in _layer_fields():
        object.__setattr__(out, f, changes[f] if f in changes else getattr(layer, f))
    return out


@lru_cache(maxsize=1024)
def _elementwise_proto(kind: str, dims: tuple[tuple[str, int], ...]) -> Any:
    from codesign.workload import Layer

    return Layer.elementwise(kind, "proto", **dict(dims))


class _Layers:
    """Layer constructors with memory: a layer of the same constructor and sizes is validated once and copied with
    its new name (about 20x faster than validating each; the true front builds all 15,625 networks)."""

    @staticmethod
    def _make(ctor: str, name: str, **dims: int) -> Any:
        return _clone(_proto(ctor, tuple(sorted(dims.items()))), name=name)

    def conv(self, name: str, **dims: int) -> Any:
        return self._make("conv", name, **dims)

    def pool(self, name: str, **dims: int) -> Any:
        return self._make("pool", name, **dims)

    def add(self, name: str, **dims: int) -> Any:
        return self._make("add", name, **dims)

    def elementwise(self, kind: str, name: str, **dims: int) -> Any:
        return _clone(_elementwise_proto(kind, tuple(sorted(dims.items()))), name=name)

    def global_pool(self, name: str, **dims: int) -> Any:
        return self._make("global_pool", name, **dims)

    def fc(self, name: str, **dims: int) -> Any:
        return self._make("fc", name, **dims)


def reference_nb201_workload(ops: Sequence[str], input_shape: tuple[int, ...], num_classes: int, name: str, *,
                   pruned: bool = True) -> Any:
    """The :class:`~codesign.workload.Workload` of the network of cell ``ops`` on ``input_shape`` (N, C, H, W);
    ``pruned``: only the edges that run (:func:`live_edges`)."""
    from codesign.workload import Workload

    Layer = _Layers()

    n, cin, h, w = (int(v) for v in input_shape)
    ops = tuple(ops)
    g = _Graph()
    params = 0

    def conv(path: str, x: int, c: int, k: int, kernel: int, stride: int, hw: tuple[int, int]) -> tuple[int, tuple[int, int]]:
        nonlocal params
        layer = Layer.conv(path, c=c, k=k, h=hw[0], w=hw[1], r=kernel, stride=stride, padding=kernel // 2, n=n)
        params += k * c * kernel * kernel
        return g.add("conv", [x], layer), (layer.p, layer.q)

    def bn(name: str, x: int, c: int, hw: tuple[int, int]) -> int:
        nonlocal params
        params += 2 * c
        return g.add("bn", [x], Layer.elementwise("bn", name, c=c, h=hw[0], w=hw[1], n=n))

    def relu(name: str, x: int, c: int, hw: tuple[int, int]) -> int:
        return g.add("relu", [x], Layer.elementwise("act", name, c=c, h=hw[0], w=hw[1], n=n))

    def relu_conv_bn(path: str, x: int, c: int, k: int, kernel: int, stride: int,
                     hw: tuple[int, int]) -> tuple[int, tuple[int, int]]:
        r = relu(f"{path}.0", x, c, hw)
        y, hw2 = conv(f"{path}.1", r, c, k, kernel, stride, hw)
        return bn(f"{path}.2", y, k, hw2), hw2

    def add(path: str, a: int, b: int, c: int, hw: tuple[int, int]) -> int:
        return g.add("add", [a, b], Layer.add(f"{path}.add", c=c, h=hw[0], w=hw[1], n=n))

    c0 = STAGE_CHANNELS[0]
    x, hw = conv("stem.0", g.add("input", []), cin, c0, 3, 1, (h, w))
    x = bn("stem.1", x, c0, hw)
    prev = c0
    for idx, (kind, c) in enumerate(cell_layout()):
        path = f"cells.{idx}"
        if kind == "reduction":
            a, hw2 = relu_conv_bn(f"{path}.conv_a", x, prev, c, 3, 2, hw)
            b, hw2 = relu_conv_bn(f"{path}.conv_b", a, c, c, 3, 1, hw2)
            pool = Layer.pool(f"{path}.downsample.0", c=prev, h=hw[0], w=hw[1], r=2, stride=2, n=n)
            p = g.add("pool", [x], pool)
            s, _ = conv(f"{path}.downsample.1", p, prev, c, 1, 1, (pool.p, pool.q))
            x, hw = add(path, s, b, c, hw2), hw2
        else:
            nodes = [x]
            for j in (1, 2, 3):
                total = None
                for i, op in incoming(ops, j, pruned=pruned):
                    edge = f"{path}.edges.e{j}{i}"
                    if op == "skip_connect":
                        term = nodes[i]
                    elif op == "avg_pool_3x3":
                        term = g.add("pool", [nodes[i]],
                                     Layer.pool(edge, c=c, h=hw[0], w=hw[1], r=3, stride=1, padding=1, n=n))
                    else:
                        term, _ = relu_conv_bn(edge, nodes[i], c, c, _CONV_K[op], 1, hw)
                    total = term if total is None else add(path, total, term, c, hw)
                nodes.append(g.add("mul0", [x]) if total is None else total)
            x = nodes[3]
        prev = c
    x = relu("lastact.1", bn("lastact.0", x, prev, hw), prev, hw)
    gp = g.add("gpool", [x], Layer.global_pool("global_pooling", c=prev, h=hw[0], w=hw[1], n=n))
    fl = g.add("flatten", [gp])
    g.add("fc", [fl], Layer.fc("classifier", in_features=prev, out_features=num_classes, n=n))
    params += prev * num_classes + num_classes
    layers = g.capture()
    return Workload(name, _uniquely_named(layers), params=params, source="nb201")


def _uniquely_named(layers: list[Any]) -> list[Any]:
    """Repeated names get ``#2``, ``#3``, ... as :func:`codesign.workload.from_torch` names them."""
    from codesign.workload import _unique_names

    names = _unique_names(lay.name for lay in layers)
    for lay, nm in zip(layers, names):
        if lay.name != nm:
            object.__setattr__(lay, "name", nm)  # layers of this build are private copies
    return layers
