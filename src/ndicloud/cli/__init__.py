"""The ``ndi-cloud`` command line."""
