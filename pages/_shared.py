"""UI helpers shared by the pages: the page registry, query-parameter parsing, error display.

This is UI code (it imports streamlit); numerics live in `compression/`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
LOGGER = logging.getLogger("compression_lab")
T = TypeVar("T")


@dataclass(frozen=True)
class PageSpec:
    """One entry of the navigation: the file under pages/, its URL path, title, icon and a blurb."""

    file: str
    url_path: str
    title: str
    icon: str
    blurb: str

    @property
    def exists(self) -> bool:
        return (ROOT / self.file).is_file()


HOME = PageSpec("pages/home.py", "home", "Home", ":material/home:", "What model compression is, and where to start.")
FEATURE_PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/quiz.py",
        "quiz",
        "Concept quiz",
        ":material/quiz:",
        "The article's questions on quantization and distillation, graded with explanations, in English and Chinese.",
    ),
    PageSpec(
        "pages/quantization.py",
        "quantization",
        "Quantization playground",
        ":material/tune:",
        "Every value, every bitwidth: its integer code, dequantized value and rounding error, exact to PyTorch.",
    ),
    PageSpec(
        "pages/distillation.py",
        "distillation",
        "Distillation trainer",
        ":material/model_training:",
        "Train a teacher, distil a student from it, and compare with the same student trained alone, live.",
    ),
    PageSpec(
        "pages/sweep.py",
        "sweep",
        "Distillation sweep",
        ":material/grid_on:",
        "A temperature × alpha grid of students, filled by the room and trained as one batched job: which cells win?",
    ),
)


def require_router() -> None:
    """Make sure this page runs inside app.py's router, with its navigation and sidebar.

    Because app.py sits next to a `pages/` folder, a freshly started Streamlit server begins in its old
    "pages folder" mode: the first visit to a deep link such as /quiz runs pages/quiz.py alone (no
    router, no device panel, a navigation listing every file). Streamlit leaves that mode only when some
    run calls st.navigation. Every page calls this first: it switches the mode off and reruns, so the
    rerun executes app.py, whose st.navigation then resolves the same URL to this page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def existing_feature_pages() -> list[PageSpec]:
    """Feature pages whose file exists: navigation and home cards list only these."""
    return [spec for spec in FEATURE_PAGES if spec.exists]


def query_param(name: str, parse: Callable[[str], T], default: T) -> T:
    """Read ?name=... with `parse`; a missing value gives `default`, a bad one a warning and `default`.

    `parse` raises ValueError with a learner-readable message for a bad value.
    """
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        st.warning(f"The link's parameter `{name}={raw[:40]}` was ignored: {exc}", icon=":material/link_off:")
        return default


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a library error as a message (never a traceback)."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{exc}", icon=":material/error:")


def report_unexpected(exc: BaseException, where: str) -> None:
    """Log an unexpected exception with its traceback on the server; show the visitor a calm message."""
    LOGGER.exception("Unexpected error in %s", where, exc_info=exc)
    st.error(
        f"Something went wrong while showing this page ({type(exc).__name__}). "
        "Your inputs are kept: change a value or reload the page to try again. "
        "The error has been logged on the server.",
        icon=":material/error:",
    )


# --- Who is this visitor? -------------------------------------------------------------------------------
# The seam every page uses. `visitor_id()` names this browser's visitor (job ownership, per-visitor limits);
# `is_presenter()` says whether this session may reset the room, cancel any job and pin the room's run.


def visitor_id() -> str:
    """A random token naming this visitor; never derived from anything another visitor can see."""
    import secrets

    token = st.session_state.get("_visitor_id")
    if not token:
        token = secrets.token_urlsafe(16)
        st.session_state["_visitor_id"] = token
    return str(token)


def _settings_presenter_key() -> str | None:
    from compression.config import Settings

    try:
        return Settings.from_env().presenter_key
    except ValueError:
        return None


def is_presenter() -> bool:
    """True when this session typed the server's presenter key or, with no key configured, runs on localhost."""
    from compression.access import is_loopback, presenter_key_matches

    configured = _settings_presenter_key()
    if configured is None:
        return is_loopback(st.context.ip_address)
    return presenter_key_matches(st.session_state.get("_presenter_key"), configured)


def presenter_login(key: str) -> bool:
    """A password field that makes this session the presenter; returns is_presenter(). Never echoes the key."""
    if is_presenter():
        return True
    if _settings_presenter_key() is None:
        st.caption(
            "Presenter controls appear only on the server's own machine. "
            "Set COMPRESSION_LAB_PRESENTER_KEY on the server to let a presenter sign in from anywhere."
        )
        return False
    typed = st.text_input("Presenter key", type="password", key=f"presenter_key_{key}")
    if typed:
        st.session_state["_presenter_key"] = typed
        if is_presenter():
            st.rerun()
        st.error("That is not the presenter key.", icon=":material/key_off:")
    return False
