"""``gpt-sovits-server``: read settings, set up logging, serve HTTP."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gsv_common.logs import configure_logging
from gsv_common.settings_cli import load_settings_or_exit
from voice_server.logs import RequestIdFilter
from voice_server.settings import ServerSettings

PROG = "gpt-sovits-server"
# Libraries whose INFO lines would drown the request log.
_QUIET_LOGGERS = ("uvicorn.access", "httpx", "jieba", "urllib3")


def check_files_or_exit(settings: ServerSettings) -> None:
    """Refuse, at start and with exit code 2, text-frontend files that cannot work."""
    from gpt_sovits.errors import CheckpointError

    try:
        settings.text_settings().check()
    except CheckpointError as err:
        sys.stderr.write(f"{PROG}: invalid settings:\n{err}\n")
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    settings = load_settings_or_exit(ServerSettings, argv, prog=PROG)
    check_files_or_exit(settings)
    configure_logging(
        program=PROG,
        level=settings.log_level,
        fmt=settings.log_format,
        filters=[RequestIdFilter()],
        quiet=_QUIET_LOGGERS,
    )
    # Imported late so that `--help` and bad flags answer without loading FastAPI or torch.
    import uvicorn

    from gpt_sovits.device import set_torch_threads
    from voice_server.app import create_app
    from voice_server.serving import DrainingServer

    set_torch_threads(settings.torch_threads)
    app = create_app(settings)
    state = app.state.server
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_s),
    )
    server = DrainingServer(
        config,
        start_drain=state.drain,
        in_flight=lambda: int(state.synthesis.active),
        drain_delay_s=settings.drain_delay_s,
        drain_timeout_s=settings.graceful_shutdown_s,
    )
    state.request_exit = server.request_exit
    server.run()
    if state.failure is not None:
        # Last on stderr, so it is the pod's termination message (FallbackToLogsOnError).
        raise SystemExit(f"{PROG}: stopped after a failure: {state.failure}")
