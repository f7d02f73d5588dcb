from __future__ import annotations

import pytest

pytest.importorskip("symbolic", reason="native debug files need the 'symbolic' package (no wheel on this platform)")
