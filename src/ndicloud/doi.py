"""``ndicloud.doi``: the DOI names of doi.md §1.3, implemented in :mod:`ndicloud.admin` (NDI-matlab's module name).

Both spellings work: ``from ndicloud.doi import register_dataset_doi`` and
``from ndicloud.admin import register_dataset_doi`` give the same function.
"""

from .admin import *  # noqa: F403
from .admin import __all__ as __all__
