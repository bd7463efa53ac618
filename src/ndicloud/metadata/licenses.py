"""Dataset licenses: names as the NDI metadata editor offers them (openMINDS) and the URL Crossref gets (doi.md §3.5).

``license_url`` resolves, in order: the exact name; the name in any case; a folded form that ignores separators,
case, a leading "Creative Commons" and the spelled-out Creative Commons terms (``CC BY 4.0``,
``Creative Commons Attribution 4.0 International``, ``ccByNcSa4_0``); a value that already is a license URL.
"""

from __future__ import annotations

import re

LICENSE_URLS: dict[str, str] = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0",
    "CC-BY-NC-ND-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0",
    "CC-BY-NC-SA-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0",
    "CC-BY-ND-4.0": "https://creativecommons.org/licenses/by-nd/4.0",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0",
    "AGPL-3.0-only": "https://www.gnu.org/licenses/agpl-3.0.html",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "BSD-2-Clause": "https://opensource.org/licenses/BSD-2-Clause",
    "BSD-3-Clause": "https://opensource.org/licenses/BSD-3-Clause",
    "BSD-4-Clause": "https://spdx.org/licenses/BSD-4-Clause.html",
    "CECILL-2.1": "https://opensource.org/licenses/CECILL-2.1",
    "EBRAINS-DUA-4-HDG": "https://ebrains.eu/terms/#general-terms-of-use",
    "EBRAINS-DUA-4-HDG-NC": "https://ebrains.eu/terms/#general-terms-of-use",
    "GPL-1.0-only": "https://www.gnu.org/licenses/old-licenses/gpl-1.0.html",
    "GPL-1.0-or-later": "https://spdx.org/licenses/GPL-1.0-or-later.html",
    "GPL-2.0-only": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
    "GPL-2.0-or-later": "https://spdx.org/licenses/GPL-2.0-or-later.html",
    "GPL-3.0-only": "https://www.gnu.org/licenses/gpl-3.0.html",
    "GPL-3.0-or-later": "https://spdx.org/licenses/GPL-3.0-or-later.html",
    "LGPL-2.0-only": "https://www.gnu.org/licenses/old-licenses/lgpl-2.0.html",
    "LGPL-2.0-or-later": "https://spdx.org/licenses/LGPL-2.0-or-later.html",
    "LGPL-2.1-only": "https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html",
    "LGPL-2.1-or-later": "https://spdx.org/licenses/LGPL-2.1-or-later.html",
    "LGPL-3.0-only": "https://www.gnu.org/licenses/lgpl-3.0.html",
    "LGPL-3.0-or-later": "https://spdx.org/licenses/LGPL-3.0-or-later.html",
    "MIT": "https://opensource.org/licenses/MIT",
    "MPL-2.0": "https://www.mozilla.org/MPL/",
    "EUPL-1.2": "https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12",
}

# openMINDS licenses that have no web page: a deposit needs a URL, so the curator must give one.
LICENSES_WITHOUT_URL = frozenset({"DondersInstitute-DUA-RU-DI-HD-1-0", "youtube"})

_URL = re.compile(r"^(https?|ftp)://\S+$", re.IGNORECASE)
_MIN_URL_LENGTH = 10  # license_ref_t in AccessIndicators.xsd
_CC_TERMS = (("creativecommons", "cc"), ("attribution", "by"), ("noncommercial", "nc"), ("noderivatives", "nd"),
             ("noderivs", "nd"), ("sharealike", "sa"), ("international", ""), ("license", ""))


def _fold(name: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    for long, short in _CC_TERMS:
        key = key.replace(long, short)
    return key


_BY_LOWER = {name.lower(): name for name in [*LICENSE_URLS, *LICENSES_WITHOUT_URL]}
_BY_FOLD = {_fold(name): name for name in [*LICENSE_URLS, *LICENSES_WITHOUT_URL]}


def license_name(value: str) -> str | None:
    """The table name a license value stands for (exact, any case, or folded), or None."""
    text = value.strip()
    if text in LICENSE_URLS or text in LICENSES_WITHOUT_URL:
        return text
    return _BY_LOWER.get(text.lower()) or _BY_FOLD.get(_fold(text))


def is_license_url(value: str) -> bool:
    """True for an http(s) or ftp URL long enough for Crossref's ``license_ref``."""
    text = value.strip()
    return len(text) >= _MIN_URL_LENGTH and bool(_URL.match(text))


def license_url(name_or_url: object) -> str:
    """The license URL for a license name or URL; ``ValueError`` (saying what to give instead) otherwise."""
    if not isinstance(name_or_url, str) or not name_or_url.strip():
        raise ValueError("a license is a name such as CC-BY-4.0 or a license URL")
    name = license_name(name_or_url)
    if name in LICENSES_WITHOUT_URL:
        raise ValueError(f'"{name}" has no license URL; give the URL instead')
    if name is not None:
        return LICENSE_URLS[name]
    if is_license_url(name_or_url):
        return name_or_url.strip()
    raise ValueError(f'unknown license "{name_or_url}"; use a name such as CC-BY-4.0 or a license URL')
