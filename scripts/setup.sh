#!/usr/bin/env bash
# Set up codesign on a fresh machine (Debian/Ubuntu, Python 3.11, x86_64): the Fashion-MNIST package used by
# the search's accuracy proxy, a virtual environment in .venv, and the package with its search and test extras.
# Idempotent: a second run only reinstalls codesign.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch/torchvision are pinned in the extras to the builds on this project's machines (see README).
.venv/bin/python -m pip install -q ".[search,test]"
echo "codesign installed in .venv ($(.venv/bin/python -c 'import codesign; print(codesign.__version__)'))"
