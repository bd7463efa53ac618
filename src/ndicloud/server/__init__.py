"""A local NDI Cloud server: the same REST API on this machine (offline work, CI, small deployments).

It shares nothing with the client package (``ndicloud.api``); tests talk to it over real HTTP.
"""

from .app import create_app
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
