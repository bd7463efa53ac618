"""ndi-cloud: move NDI datasets between local disk and NDI Cloud."""

__version__ = "0.1.0"
