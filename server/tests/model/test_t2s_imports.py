"""The model package stays free of the HTTP stack."""

from __future__ import annotations

import subprocess
import sys


def test_t2s_package_does_not_import_fastapi() -> None:
    code = "import sys, gpt_sovits.t2s, gpt_sovits.t2s.demo; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
