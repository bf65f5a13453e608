"""``python -m codesign.cli``: the ``codesign`` command."""
from . import main

main()
