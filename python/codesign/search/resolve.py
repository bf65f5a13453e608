"""From :func:`~codesign.search.runner.run_search`'s arguments to the pieces of a search: the joint space and any
fixed accelerator (:func:`resolve_spaces`), the multi-model networks (:func:`fixed_networks`), the accuracy
evaluator (:func:`resolve_accuracy`), the phases of a strategy (:func:`phases`) and the controller
(:func:`make_controller`)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from codesign.space._base import CategoricalSpace
from codesign.space.joint import JointSpace
from codesign.space.nas import NetworkSpaceBase

from .evaluator import FixedNetworks, SurrogateAccuracy
from .evolution import RandomSearch, RegularizedEvolution
from .optuna_sampler import OptunaSampler
from .policy import PPO, Reinforce

__all__ = ["CONTROLLERS", "ACCURACY_SIGNALS", "make_controller", "resolve_spaces", "fixed_networks",
           "resolve_accuracy", "accuracy_label", "phases", "positive_int"]

#: Controller names of :func:`make_controller`.
CONTROLLERS: tuple[str, ...] = ("evolution", "random", "reinforce", "ppo", "tpe", "nsga2")

def make_controller(name: str, space: CategoricalSpace, *, seed: int = 0, population: int = 8, sample_size: int = 3,
                    options: Mapping[str, Any] | None = None) -> Any:
    """A controller by name (:data:`CONTROLLERS`) over ``space``; ``options`` are extra keyword arguments
    (e.g. ``{"lr": 0.1}`` for reinforce / ppo, ``{"clip": 0.1}`` for ppo, ``{"n_startup_trials": 5}`` for tpe).

    ``tpe`` / ``nsga2`` are :class:`~codesign.search.optuna_sampler.OptunaSampler` (need optuna); nsga2's
    ``population_size`` is ``population`` unless ``options`` sets it."""
    opts = dict(options or {})
    if name == "evolution":
        return RegularizedEvolution(space, population_size=population, sample_size=min(sample_size, population),
                                    seed=seed, **opts)
    if name == "random":
        return RandomSearch(space, seed=seed, **opts)
    if name == "reinforce":
        return Reinforce(space, seed=seed, **opts)
    if name == "ppo":
        return PPO(space, seed=seed, **opts)
    if name == "tpe":
        return OptunaSampler(space, sampler="tpe", seed=seed, **opts)
    if name == "nsga2":
        opts.setdefault("population_size", population)
        return OptunaSampler(space, sampler="nsga2", seed=seed, **opts)
    raise ValueError(f"controller must be one of {', '.join(CONTROLLERS)}, got controller={name!r}")



def positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
    return v


def resolve_spaces(space: Any = None, hw: Any = None, *,
                   hw_mutation_prob: float | None = None) -> tuple[JointSpace, Any]:
    """(joint space, fixed hardware or None) from :func:`run_search`'s ``space`` and ``hw`` arguments.

    ``space``: None (``NetworkSpace()``, the first search's), a name (``mobilenetv2``, ``mobilenetv2-base``,
    ``edgetpu``, ``edgetpu-gc``, ``fbnet``), a ``.toml``/``.yaml`` space file (with ``[network]``, or both
    ``[network]`` and ``[hardware]``), a network space or a :class:`JointSpace`.
    ``hw``: None (``HardwareSpace()``, systolic arrays), a hardware-space name (``edgetpu-space``,
    ``systolic-space``), a space file with only ``[hardware]``, a hardware space, or a fixed accelerator: a
    preset name (``edgetpu``, ``edgetpu-baseline``, ``systolic``, ...) or a configuration, returned as the second
    element (its space is the default space of its kind).
    ``hw_mutation_prob``: None takes a joint space's (or a joint space file's) own value, else 0.5.
    """
    from codesign.hardware import EdgeTpuConfig, SystolicArray, preset
    from codesign.space.hw import EdgeTpuHardwareSpace, HardwareSpace
    from codesign.space.registry import HARDWARE_SPACES, load_space_file, network_space

    def is_file(x: Any) -> bool:
        return isinstance(x, (str, os.PathLike)) and str(x).lower().endswith((".toml", ".yaml", ".yml"))

    fixed = None
    net: Any = space
    if is_file(space):
        net = load_space_file(space)
        if isinstance(net, CategoricalSpace) and not isinstance(net, (NetworkSpaceBase, JointSpace)):
            raise ValueError(f"space file {str(space)!r} defines only [hardware]: give it as hw (--hw {space}) and "
                             f"the network space as space (--space)")
    elif isinstance(space, str):
        net = network_space(space)
    if isinstance(net, JointSpace):
        if hw is not None:
            raise ValueError("space is already a joint space (it defines its hardware); leave hw unset")
        prob = net.hw_mutation_prob if hw_mutation_prob is None else hw_mutation_prob
        return JointSpace(net.network, net.hardware, hw_mutation_prob=prob), None
    if hw_mutation_prob is None:
        hw_mutation_prob = 0.5
    if is_file(hw):
        hws_file = load_space_file(hw)
        if not isinstance(hws_file, CategoricalSpace) or isinstance(hws_file, (NetworkSpaceBase, JointSpace)):
            raise ValueError(f"hw file {str(hw)!r} must define only [hardware] (a hardware space); got "
                             f"{type(hws_file).__name__}")
        hw = hws_file
    if net is None:
        from codesign.space.nas import NetworkSpace

        net = NetworkSpace()
    if not isinstance(net, NetworkSpaceBase):
        raise ValueError(f"space must be a network space name, file or object, got space={space!r}")
    if hw is None:
        hws: Any = HardwareSpace()
    elif isinstance(hw, str) and hw.lower() in HARDWARE_SPACES:
        hws = HARDWARE_SPACES[hw.lower()]()
    elif isinstance(hw, str):
        try:
            fixed = preset(hw)
        except ValueError:
            raise ValueError(f"hw={hw!r} is neither a hardware space ({', '.join(HARDWARE_SPACES)}) nor a preset") from None
        hws = EdgeTpuHardwareSpace() if isinstance(fixed, EdgeTpuConfig) else HardwareSpace()
    elif isinstance(hw, (EdgeTpuConfig, SystolicArray)):
        fixed = hw
        hws = EdgeTpuHardwareSpace() if isinstance(fixed, EdgeTpuConfig) else HardwareSpace()
    elif isinstance(hw, CategoricalSpace):
        hws = hw
    else:
        raise ValueError(f"hw must be a hardware space name or object, a preset name or a configuration, got hw={hw!r}")
    return JointSpace(net, hws, hw_mutation_prob=hw_mutation_prob), fixed


def fixed_networks(networks: Any, accuracies: Mapping[str, float] | None) -> FixedNetworks:
    """FixedNetworks from timm names / Workloads / a name -> Workload mapping."""
    if isinstance(networks, FixedNetworks):
        return networks
    if isinstance(networks, Mapping):
        return FixedNetworks(dict(networks), accuracies)
    if isinstance(networks, str):
        networks = [n for n in networks.split(",") if n.strip()]
    items: dict[str, Any] = {}
    for n in networks:
        if isinstance(n, str):
            from codesign.workload import from_timm

            items[n.strip()] = from_timm(n.strip())
        elif hasattr(n, "to_array"):
            items[n.name] = n
        else:
            raise ValueError(f"networks must be timm model names or Workloads, got {n!r}")
    return FixedNetworks(items, accuracies)


#: The accuracy signals :func:`resolve_accuracy` knows by name -> what each one is (shown in run outputs).
ACCURACY_SIGNALS: dict[str, str] = {
    "auto": "the space's own trained accuracies where it has them (nb201, accel-nasbench), else proxy",
    "accel-nasbench": "ImageNet top-1 predicted from Accel-NASBench's 4,138 trained networks (accel-nasbench space)",
    "nb201[:DATASET][@EPOCHS]": "NAS-Bench-201 trained test accuracy, table lookup (nb201 space; cifar10, cifar100, "
                                "imagenet16; 200 or 12 epochs)",
    "proxy": "Fashion-MNIST proxy: a short training of the network at half width (a ranking signal, not ImageNet)",
    "surrogate": "MACs/params fit (no training; not an accuracy)",
}


def _space_kind(net: Any) -> str:
    return getattr(net, "kind", "network")


def resolve_accuracy(accuracy: Any, joint: JointSpace, proxy_settings: Any, proxy_steps: int,
                     data_dir: Any) -> tuple[Any, Any]:
    """(evaluator, JSON description for the configuration) of ``accuracy``: a name of :data:`ACCURACY_SIGNALS`
    or an evaluator object with ``evaluate(arch)``, or ``"auto"``: the space's own trained accuracies where it has
    them (``nb201`` -> ``nb201:<its dataset>``, ``accel-nasbench`` -> ``accel-nasbench``), else ``"proxy"``. The
    table-backed signals need their own space: another space is a ValueError naming both."""
    if isinstance(joint.network, FixedNetworks):
        return None, {"kind": "fixed", "accuracies": joint.network.accuracies,
                      "signal": "fixed networks: accuracy not searched"}
    kind = _space_kind(joint.network)
    if accuracy == "auto":  # the space's own real signal where it has one
        accuracy = {"nb201": f"nb201:{getattr(joint.network, 'dataset', 'cifar10')}",
                    "accel-nasbench": "accel-nasbench"}.get(kind, "proxy")
    if isinstance(accuracy, str) and accuracy.lower().startswith("nb201"):
        from codesign.evaluation.nb201 import NB201Accuracy

        ev = NB201Accuracy.from_spec(accuracy.lower())
        if kind != "nb201":
            raise ValueError(f"accuracy={accuracy!r} (--accuracy) looks cells up in NAS-Bench-201's table; it needs "
                             f"space='nb201' (--space nb201), got {type(joint.network).__name__}")
        if joint.network.dataset != ev.dataset:
            raise ValueError(f"accuracy={accuracy!r} is for {ev.dataset}, but the nb201 space is built for "
                             f"dataset={joint.network.dataset!r} (its input size and classes)")
        return ev, ev.to_dict()
    if accuracy == "accel-nasbench":
        if kind != "accel-nasbench":
            raise ValueError(f"accuracy='accel-nasbench' (--accuracy) predicts Accel-NASBench networks; it needs "
                             f"space='accel-nasbench' (--space accel-nasbench), got {type(joint.network).__name__}")
        from codesign.evaluation.accel_nasbench import AccelNasBench

        ev = AccelNasBench()
        return ev, {**ev.to_dict(), "signal": ACCURACY_SIGNALS["accel-nasbench"]}
    if accuracy == "proxy":
        from codesign.evaluation.proxy import ProxyEvaluator, ProxySettings

        if proxy_settings is None:
            proxy_settings = ProxySettings(steps=positive_int("proxy_steps", proxy_steps))
        elif not isinstance(proxy_settings, ProxySettings):
            raise ValueError(f"proxy_settings must be a ProxySettings, got {proxy_settings!r}")
        return (ProxyEvaluator(proxy_settings, space=joint.network, data_dir=data_dir),
                {"kind": "proxy", **proxy_settings.to_dict()})
    if accuracy == "surrogate":
        ev = SurrogateAccuracy(joint.network)
        return ev, ev.to_dict()
    if isinstance(accuracy, str):
        raise ValueError(f"accuracy must be one of {', '.join(ACCURACY_SIGNALS)} or an evaluator object, got "
                         f"accuracy={accuracy!r}")
    if not (hasattr(accuracy, "evaluate") or callable(accuracy)):
        raise ValueError(f"accuracy must have an evaluate(arch) method, got accuracy={accuracy!r}")
    desc = accuracy.to_dict() if hasattr(accuracy, "to_dict") else {"kind": type(accuracy).__name__,
                                                                   "repr": repr(accuracy)}
    return accuracy, desc


def accuracy_label(desc: Mapping[str, Any]) -> str:
    """Short words for plots and tables: which accuracy signal a run's description names."""
    kind = desc.get("kind")
    if kind == "nb201":
        return f"NB201 {desc.get('dataset')} top-1 ({desc.get('epochs')} ep)"
    if kind == "accel-nasbench":
        return "ImageNet top-1 (Accel-NASBench predictor)"
    if kind == "proxy":
        return "Fashion-MNIST proxy accuracy"
    if kind == "surrogate":
        return "surrogate accuracy (MACs/params fit)"
    if kind == "fixed":
        return "accuracy (fixed networks)"
    return f"accuracy ({kind})"


def phases(strategy: str, budget: int, split: float) -> list[tuple[str, int]]:
    """[(phase kind, cumulative trial count at which it ends)]."""
    b1 = min(max(1, int(round(budget * split))), budget - 1) if budget > 1 else budget
    return {
        "joint": [("joint", budget)],
        "network-only": [("network", budget)],
        "hardware-only": [("hardware", budget)],
        "net-then-hw": [("network", b1), ("hardware", budget)],
        "hw-then-net": [("hardware", b1), ("network", budget)],
    }[strategy]
