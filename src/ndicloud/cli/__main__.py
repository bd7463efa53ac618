"""``python -m ndicloud.cli``: the same as the ``ndi-cloud`` command."""

from .main import main

main()
