"""UI helpers shared by the pages: the page registry, query-parameter parsing, error display.

This is UI code (it imports streamlit); numerics live in `compression/`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

if TYPE_CHECKING:
    from compression.config import Settings
    from compression.distillation.jobs import JobManager

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

    @property
    def title_key(self) -> str:
        """Catalogue key of the navigation title (compression/i18n/*.yaml): app.nav.<url_path>."""
        return f"app.nav.{self.url_path}"

    @property
    def blurb_key(self) -> str:
        return f"app.blurb.{self.url_path}"


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
    PageSpec(
        "pages/compress.py",
        "compress",
        "Compress a trained model",
        ":material/compress:",
        "Distil, then quantize: what int8, int4 and int2 cost each trained model in accuracy and bytes.",
    ),
)


def require_router() -> None:
    """Make sure this page runs inside app.py's router, with its navigation and sidebar.

    The one place the app touches Streamlit's legacy "pages folder" mode (checked against streamlit 1.67;
    tests/app/test_router.py fails loudly when an upgrade changes what this relies on):

    - Because app.py sits next to a `pages/` folder, a freshly started server begins in that mode
      (`PagesManager.uses_pages_directory`, a class attribute set when the first session starts): the first
      visit to a deep link such as /quiz runs pages/quiz.py alone, without app.py's router.
    - The public way out is `st.navigation`, which switches the mode off for the whole server; app.py
      calls it on every run, but the first deep-link run never reaches app.py.
    - So each page calls this first: in that mode it does what `st.navigation` does (one write of the
      same attribute) and reruns; the rerun executes app.py, whose `st.navigation` resolves the same URL
      to this page. Outside that mode it does nothing.

    Renaming `pages/` would avoid all this, but the project's layout names the folder.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not hasattr(PagesManager, "uses_pages_directory"):  # pragma: no cover - a Streamlit upgrade
        raise RuntimeError(
            "streamlit no longer has PagesManager.uses_pages_directory: re-check pages/_shared.require_router "
            "against this Streamlit version (see tests/app/test_router.py)."
        )
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def existing_feature_pages() -> list[PageSpec]:
    """Feature pages whose file exists: navigation and home cards list only these."""
    return [spec for spec in FEATURE_PAGES if spec.exists]


# --- Visitor-supplied text ------------------------------------------------------------------------------
# Streamlit renders st.warning/st.error/st.markdown bodies as Markdown (GitHub flavour, with autolinks,
# images and Streamlit's :color[...] and :material/...: directives). Text a visitor controls (a deep link's
# value, an upload, a typed list) goes through `escape_markdown` before it is shown, so a link cannot plant
# a clickable link or load an image in the app's own message boxes.
MAX_PARAM_CHARS = 4000
"""Longest deep-link value read; longer ones are refused (browsers and proxies cut URLs near 128 KB anyway)."""
ECHO_CHARS = 40
"""At most this many characters of a refused value are echoed back."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|{}#!])")
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")


def _plain(text: object, limit: int | None) -> str:
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    return "".join(" " if (ord(ch) < 32 or ord(ch) == 127) else ch for ch in value)


WORD_JOINER = "\u2060"


def _escape_autolink(match: re.Match[str]) -> str:
    """Break what GitHub Markdown turns into links *after* parsing (backslash escapes are gone by then):
    an invisible word joiner before "://", before the dot of "www." and before "@"."""
    found = match.group(1)
    if found == "@":
        return WORD_JOINER + "@"
    if found == "://":
        return WORD_JOINER + "://"
    return found[:3] + WORD_JOINER + found[3:]


def escape_markdown(text: object, limit: int | None = None) -> str:
    """`text` as literal Markdown prose: control characters and newlines become spaces, and every character
    that starts a link, image, HTML tag, code span, emphasis, math, table or directive is backslash-escaped,
    and bare URLs and e-mail addresses, which GitHub Markdown turns into links, get an invisible word joiner.
    With `limit`, the text is first cut to that many characters (and "…" added)."""
    value = _MARKDOWN_SPECIAL.sub(r"\\\1", _plain(text, limit))
    return _AUTOLINK.sub(_escape_autolink, value)


def markdown_code(text: object, limit: int | None = None) -> str:
    """`text` as a Markdown code span, shown literally: fenced by one more backtick than its longest run of
    backticks and padded with a space each side (CommonMark strips them), so the text cannot close it."""
    value = _plain(text, limit)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}"


def query_param(name: str, parse: Callable[[str], T], default: T, max_chars: int = MAX_PARAM_CHARS) -> T:
    """Read ?name=... with `parse`; a missing value gives `default`, a bad one a warning and `default`.

    `parse` raises ValueError with a learner-readable message for a bad value. A value longer than
    `max_chars` is refused before parsing. The warning echoes at most ECHO_CHARS characters of the value,
    escaped (see escape_markdown).
    """
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return default
    shown = markdown_code(f"{name}={raw}", len(name) + 1 + ECHO_CHARS)
    if len(raw) > max_chars:
        reason = t("app.error.link_too_long", length=len(raw), limit=max_chars)
        st.warning(t("app.error.link_ignored", param=shown, reason=reason), icon=":material/link_off:")
        return default
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        reason = escape_markdown(error_text(exc), 300)
        st.warning(t("app.error.link_ignored", param=shown, reason=reason), icon=":material/link_off:")
        return default


def error_text(exc: BaseException) -> str:
    """A library error's message in the visitor's language (LabError), else as the library wrote it."""
    from compression.i18n import LabError

    return exc.message(lang()) if isinstance(exc, LabError) else str(exc)


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a library error as a message (never a traceback); its text may quote visitor input, so it is escaped."""
    message = escape_markdown(error_text(exc), 2000)
    st.error(t("app.error.in_context", what=what, message=message) if what else message, icon=":material/error:")


def report_unexpected(exc: BaseException, where: str) -> None:
    """Log an unexpected exception with its traceback on the server; show the visitor a calm message."""
    LOGGER.exception("Unexpected error in %s", where, exc_info=exc)
    st.error(t("app.error.unexpected", error=type(exc).__name__), icon=":material/error:")


# --- Who is this visitor? -------------------------------------------------------------------------------
# The seam every page uses. `visitor_id()` names this browser's visitor (job ownership, per-visitor limits);
# `is_presenter()` says whether this session may reset the room, cancel any job and pin the room's run.


VISITOR_COOKIE = "compression_lab_visitor"
VISITOR_COOKIE_DAYS = 30
# Runs in the visitor's browser (st.html, not iframed): keep this session's secret in a first-party cookie
# unless the browser already has one, then hide the empty element it sits in.
_COOKIE_SCRIPT = """<script>
(function () {{
  var name = "{name}";
  if (!document.cookie.split("; ").some(function (c) {{ return c.indexOf(name + "=") === 0; }})) {{
    document.cookie = name + "={token}; path=/; max-age={max_age}; SameSite=Strict" +
      (location.protocol === "https:" ? "; Secure" : "");
  }}
  var box = document.currentScript && document.currentScript.closest('[data-testid="stElementContainer"]');
  if (box) {{ box.style.display = "none"; }}
}})();
</script>"""


def _visitor_token() -> str:
    """This browser's secret: the cookie's when the browser sent a valid one when this session connected,
    else a fresh random token kept in the session (and offered to the browser as the cookie)."""
    from compression.access import is_visitor_token, new_visitor_token

    token = st.session_state.get("_visitor_token")
    if not token:
        cookie = st.context.cookies.get(VISITOR_COOKIE)
        from_cookie = is_visitor_token(cookie)
        token = cookie if from_cookie else new_visitor_token()
        st.session_state["_visitor_token"] = token
        st.session_state["_visitor_from_cookie"] = from_cookie
    return str(token)


def _visitor_name() -> str:
    """visitor_id() without offering the cookie again (the page's own visitor_id() call does that once)."""
    from compression.access import visitor_name

    return visitor_name(_visitor_token())


def visitor_id() -> str:
    """The name of this browser's visitor: kept across reloads and tabs of the same browser (a cookie holds a
    random secret; this is a hash of it, see compression.access.visitor_name), never guessable from another
    visitor's page. Without the cookie (first visit, or cookies off) it names this session only, and the page
    asks the browser to keep the cookie, which the next session (a reload, a new tab) adopts."""
    from compression.access import visitor_name

    token = _visitor_token()
    if not st.session_state.get("_visitor_from_cookie"):
        st.html(
            _COOKIE_SCRIPT.format(name=VISITOR_COOKIE, token=token, max_age=VISITOR_COOKIE_DAYS * 86400),
            unsafe_allow_javascript=True,
        )
    return visitor_name(token)


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
    if presenter_key_matches(st.session_state.get("_presenter_key"), configured):
        return True
    # Kept across reloads and tabs of this browser (its visitor cookie) until it leaves presenter mode.
    return presenter_grants().holds(_visitor_name(), configured)


@st.cache_resource(show_spinner=False)
def presenter_grants():
    """One per server process (compression.access.PresenterGrants): which browsers typed the presenter key."""
    from compression.access import PresenterGrants

    return PresenterGrants()


def presenter_text(name: str) -> str:
    """The presenter controls' text `name` in this visitor's language (catalogue keys presenter.*)."""
    return t(f"presenter.{name}")


def presenter_login(key: str) -> bool:
    """A password field that makes this session the presenter; returns is_presenter(). Never echoes the key.

    `key` makes the widget keys unique per place (the quiz room, the trainer's queue)."""
    if _settings_presenter_key() is None:
        if is_presenter():
            st.caption(presenter_text("local_note"))
            return True
        st.caption(presenter_text("local_only"))
        return False
    if is_presenter():
        row = st.container(horizontal=True, vertical_alignment="center")
        row.caption(presenter_text("signed_in"))
        row.button(presenter_text("sign_out"), key=f"presenter_logout_{key}", on_click=presenter_logout)
        return True
    typed = st.text_input(
        presenter_text("key_label"), type="password", key=f"presenter_key_{key}", help=presenter_text("key_help")
    )
    if typed and typed != st.session_state.get("_presenter_tried"):  # a new guess: the right key always works
        check = key_guess_limiters().check(typed, _settings_presenter_key(), visitor_id(), st.context.ip_address)
        if check.message_key:  # a wrong key past the browser's (or the network's) limit
            st.error(t(check.message_key, seconds=math.ceil(check.wait_s)), icon=":material/key_off:")
            return False
        st.session_state["_presenter_tried"] = typed
        st.session_state["_presenter_key"] = typed
        if check.accepted:
            presenter_grants().grant(_visitor_name(), _settings_presenter_key())
            st.rerun()
    if typed:
        st.error(presenter_text("wrong_key"), icon=":material/key_off:")
    return False


@st.cache_resource(show_spinner=False)
def key_guess_limiters():
    """One per server process (compression.access.PresenterKeyGate): the right key always works; wrong keys are
    limited per visitor (5 per 5 minutes) and, as a backstop, per network address (200 per 5 minutes: a class
    behind one address shares it, while a script that drops its cookie is still slowed down)."""
    from compression.access import PresenterKeyGate

    return PresenterKeyGate(per_visitor=5, per_address=200)


# --- Language -----------------------------------------------------------------------------------------------
# One switch for every page. The visitor's language lives in st.session_state[LANG_STATE] and in the URL
# (?lang=zh), so a shared link opens in the sender's language. app.py calls sync_lang() once per run, before
# the page; pages call lang() and t(key, **fmt). The sidebar control (language_switch) and any in-page control
# change it through set_lang(), which writes both places.

LANG_STATE = "_lang"
LANG_PARAM = "lang"


def lang() -> str:
    """This visitor's language code ('en' or 'zh')."""
    from compression.i18n import DEFAULT_LANG

    return str(st.session_state.get(LANG_STATE, DEFAULT_LANG))


def t(key: str, /, **fmt: object) -> str:
    """The UI text `key` in this visitor's language, formatted with `fmt` (compression.i18n.t)."""
    from compression.i18n import t as lookup

    return lookup(key, lang(), **fmt)


def t_or(key: str, fallback: str, **fmt: object) -> str:
    """t(key) when the catalogues hold `key`, else `fallback` (datasets, presets and variants added to the
    library's registries without a translation keep their English title)."""
    from compression.i18n import CatalogueError

    try:
        return t(key, **fmt)
    except CatalogueError:
        return fallback


def model_title(role: str) -> str:
    """A run's model (teacher, student, a variant) in the visitor's language (`compress.role.*`); a role the
    catalogue does not know keeps its registered title (compression/distillation/variants.py)."""
    from compression.distillation.variants import title

    return t_or(f"compress.role.{role}", title(role))


def job_message(job) -> str:  # noqa: ANN001 - a compression.distillation.jobs.JobSnapshot
    """A job's live status line in the visitor's language (its message key), else as the library wrote it."""
    key = getattr(job, "message_key", "")
    return t_or(key, job.message, **getattr(job, "message_params", {})) if key else job.message


def dataset_title(name: str) -> str:
    """A dataset's title in the visitor's language (the trainer's and the sweep's dataset choice)."""
    from compression.distillation.data import DATASETS

    return t_or(f"distillation.datasets.{name.replace('-', '_')}.title", DATASETS[name].title)


def dataset_label(name: str, data_dir: Path) -> str:
    """dataset_title, marked when this server lacks the dataset's files."""
    from compression.distillation.data import dataset_available

    title = dataset_title(name)
    return title if dataset_available(name, data_dir) else t("distillation.form.not_on_server", title=title)


def _keep_lang_in_url(code: str) -> None:
    """Write the language into ?lang= (English is the default and needs none); a bad value is left alone in
    English, so the page that reads it can still say what was wrong."""
    from compression.i18n import DEFAULT_LANG, LANGUAGES

    current = st.query_params.get(LANG_PARAM)
    if code != DEFAULT_LANG and current != code:
        st.query_params[LANG_PARAM] = code
    elif code == DEFAULT_LANG and current in LANGUAGES and current != DEFAULT_LANG:
        del st.query_params[LANG_PARAM]


def set_lang(code: str) -> None:
    """Switch this visitor's language (session and URL). Callable from a widget callback."""
    from compression.i18n import parse_lang

    code = parse_lang(code)
    st.session_state[LANG_STATE] = code
    _keep_lang_in_url(code)


def sync_lang() -> str:
    """Once per run, in the router: ?lang= in the URL wins (a shared link), else the session's choice, else
    English. A bad value warns once per session and is ignored. The choice is written back to the URL,
    because Streamlit drops query parameters when the visitor moves to another page."""
    from compression.i18n import parse_lang

    raw = st.query_params.get(LANG_PARAM)
    if raw:
        try:
            st.session_state[LANG_STATE] = parse_lang(raw)
        except ValueError:
            if st.session_state.get("_lang_warned") != raw:
                st.session_state["_lang_warned"] = raw
                query_param(LANG_PARAM, parse_lang, None)  # the same escaped warning as every link parameter
    code = lang()
    _keep_lang_in_url(code)
    return code


def _on_language_switch(key: str) -> None:
    choice = st.session_state.get(key)
    if choice:
        set_lang(choice)


def language_switch(container: object = None, key: str = "lang_switch") -> None:
    """The language control: in the sidebar by default (app.py), or in `container` with its own `key` (a page
    that wants one beside its title). Every such control follows lang() and changes it through set_lang()."""
    from compression.i18n import LANGUAGE_NAMES, LANGUAGES

    where = container if container is not None else st.sidebar
    st.session_state[key] = lang()
    where.segmented_control(  # type: ignore[attr-defined]
        t("app.language"),
        list(LANGUAGES),
        format_func=LANGUAGE_NAMES.get,
        key=key,
        required=True,
        on_change=_on_language_switch,
        args=(key,),
    )


def page_title(spec: PageSpec) -> str:
    """A page's navigation title in this visitor's language."""
    return t(spec.title_key)


def page_blurb(spec: PageSpec) -> str:
    return t(spec.blurb_key)


def lang_query() -> dict[str, str]:
    """Query parameters that carry the language into a st.page_link: {} in English, {'lang': 'zh'} else."""
    from compression.i18n import DEFAULT_LANG

    code = lang()
    return {} if code == DEFAULT_LANG else {LANG_PARAM: code}


def start_job_manager() -> None:
    """At a server process's first page view: the shared job manager starts (`get_manager`), which marks jobs a
    previous server left queued or running "interrupted" before any page shows them as live. That is the one
    place it happens (`JobManager.__init__`); a store that cannot be opened is the training pages' message."""
    from compression.config import Settings

    try:
        get_manager(Settings.from_env())
    except (ValueError, OSError):  # bad settings or StorageError: the training pages say why
        LOGGER.exception("Could not start the job manager")


@st.cache_resource(show_spinner=False, on_release=lambda manager: manager.shutdown(timeout=2.0))
def get_manager(settings: Settings) -> JobManager:
    """One JobManager per server process (per settings), shared by every session and by both training pages
    (the trainer and the sweep: one queue). Training runs in a worker process, so it never holds the server's
    GIL (see compression/distillation/jobs.py)."""
    from compression.distillation.jobs import JobManager

    return JobManager.from_settings(settings, executor="process")


def presenter_logout() -> None:
    """Leave presenter mode: forget the typed key in this session and this browser's grant (every tab)."""
    st.session_state.pop("_presenter_key", None)
    st.session_state.pop("_presenter_tried", None)
    for field in [k for k in st.session_state if str(k).startswith("presenter_key_")]:
        st.session_state.pop(field)  # the typed key would sign this session straight back in
    presenter_grants().revoke(_visitor_name())
