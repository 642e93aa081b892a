"""No frontend opens a network connection, at import or at run time (sockets blocked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[3]

# Installed before anything is imported: every way out to the network is refused and recorded.
_PROGRAM = """
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args)[:200])
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from pathlib import Path
from gpt_sovits.text.frontend import TextFrontend
from gpt_sovits.text.settings import TextSettings
frontend = TextFrontend(TextSettings(cache_dir=Path(sys.argv[1])))
texts = {
    "zh": "你好，今天是2024年3月15日。",
    "en": "Hello world, GitHub costs $12.",
    "ja": "今日はいい天気ですね。",
    "ko": "오늘 ChatGPT를 사용했어요.",
    "yue": "我哋今日去飲茶。",
    "auto": "これはペンです。这是笔。안녕하세요.",
    "auto_yue": "我今日用ChatGPT寫咗一段code。",
    "all_ja": "2024年に日本へ行きます。",
    "all_ko": "삼성 Galaxy S24",
}
counts = {code: len(frontend.text_to_phones(text, code).phone_ids) for code, text in texts.items()}
frontend.warm_up()
print(json.dumps({"attempts": attempts, "counts": counts}))
"""


def test_frontends_never_touch_the_network(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(_REPO_ROOT / "server"), "HOME": str(tmp_path)},
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert all(count > 5 for count in report["counts"].values()), report["counts"]
