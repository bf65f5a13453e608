from pathlib import Path

import pytest

import codesign

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "scalesim" / "topologies"


@pytest.fixture(scope="session")
def resnet50():
    """ResNet-50 at 224 px: from timm when torch is installed, else SCALE-Sim's topology file."""
    try:
        return codesign.from_timm("resnet50")
    except Exception:
        return codesign.from_scalesim_csv(DATA / "Resnet50.csv")
