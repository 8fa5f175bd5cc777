"""A protocol-level Streamlit session client: what a browser tab sends and receives, without the browser."""

from __future__ import annotations

import http.cookies
import ipaddress
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
# What the real frontend sends when it has no XSRF cookie (see getSessionTokens in Streamlit's frontend).
PLACEHOLDER_TOKEN = "PLACEHOLDER_AUTH_TOKEN"
STREAM_PATH = "/_stcore/stream"
WIDGET_ID_PREFIX = "$$ID-"
DONE = {ForwardMsg.FINISHED_SUCCESSFULLY: "full", ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
        ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile-error"}
TRIGGER_FIELDS = ("trigger_value", "string_trigger_value", "json_trigger_value")  # one-shot values (buttons)
# Element kinds whose proto carries an `id` the server knows the widget by.
WIDGET_KINDS = {"button", "button_group", "checkbox", "color_picker", "date_input", "download_button", "file_uploader",
                "multiselect", "number_input", "radio", "selectbox", "slider", "text_area", "text_input", "time_input"}


class LoadClientError(RuntimeError):
    """The server did not answer as a browser tab expects: a timeout, a dropped connection, a runaway run."""


@dataclass(frozen=True)
class ClientConfig:
    """Bounds that keep one session client from hanging or hoarding memory."""

    connect_timeout_s: float = 30.0  # HTTP cookie fetch and websocket handshake
    run_timeout_s: float = 120.0  # one run, from request to script_finished
    max_messages_per_run: int = 20_000  # ForwardMsgs accepted for one run before giving up
    max_bytes_per_run: int = 64 * 2**20  # bytes accepted for one run before giving up
    timezone: str = "UTC"  # browser context sent with each run, as the frontend does
    locale: str = "en-US"


@dataclass(frozen=True)
class Widget:
    """One widget as the page last drew it."""

    id: str  # the server's widget id, "$$ID-<hash>-<key>"
    key: str | None  # the user key given in the page code, None for unkeyed widgets
    kind: str  # Element oneof name: "number_input", "selectbox", ...
    label: str
    options: tuple[str, ...]  # formatted options of choice widgets, else ()
    fragment_id: str  # the st.fragment it lives in ("" for the full script)
    form_id: str  # the st.form it lives in ("" for none)
    proto: Any = field(repr=False, compare=False)  # the element's own protobuf message


@dataclass(frozen=True)
class RunResult:
    """How one requested run went."""

    page: str  # url path asked for
    cause: str  # what asked for it: "visit", "rerun", "widget" (a moved control or pressed button) or "submit"
    kind: str  # "full", "fragment" or "compile-error"
    seconds: float  # from sending the request to the final script_finished
    messages: int  # ForwardMsgs received for it
    bytes: int
    exceptions: tuple[str, ...]  # exception elements and compile errors seen during this run
    not_found: bool  # the server said "page not found" and ran the default page instead


@dataclass
class _Drawn:
    """One element or block the tab currently shows, at its delta path."""

    kind: str  # Element oneof name, or "block:<type>"
    proto: Any
    fragment_id: str
    run: int  # serial of the run that last drew it


def _require_loopback(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"expected an http:// URL, got {url!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the load client only talks to loopback servers, not {host!r}")
    return parts


def widget_key(widget_id: str) -> str | None:
    """The user key inside a widget id ("$$ID-<hash>-<key>"); None for a widget without a key."""
    if not widget_id.startswith(WIDGET_ID_PREFIX):
        return None
    key = widget_id[len(WIDGET_ID_PREFIX):].split("-", 1)[-1]
    return None if key == "None" else key


def element_texts(kind: str, proto: Any) -> list[str]:
    """The readable text of one element (empty for charts and widgets)."""
    if kind in ("markdown", "heading", "text"):
        return [proto.body]
    if kind == "alert":
        return [f"{proto.title} {proto.body}".strip()]
    if kind == "metric":
        return [f"{proto.label} {proto.body}"]
    if kind == "exception":
        return [f"{proto.type}: {proto.message}"]
    if kind == "imgs":
        return [image.caption for image in proto.imgs if image.caption]
    if kind == "code":
        return [proto.code_text]
    return []


class SessionClient:
    """One browser-tab-like session on a running Streamlit server, driven over its websocket.

    It authenticates the way Streamlit's frontend does: it fetches the `_streamlit_xsrf` cookie over HTTP and
    sends it back as a cookie plus the second websocket subprotocol entry, and as the X-Xsrftoken header of
    uploads (the request the server refuses without it). Like the frontend, it holds every drawn widget's value
    and sends them all with each rerun. It does not fetch media files or static assets. Every wait is bounded.
    """

    def __init__(self, base_url: str, config: ClientConfig | None = None) -> None:
        parts = _require_loopback(base_url)
        self.base_url = f"http://{parts.netloc}{parts.path.rstrip('/')}"
        self.config = config or ClientConfig()
        self.xsrf_token: str | None = None  # the cookie the server issued; None if XSRF protection is off
        self.query_string = ""  # the tab's current URL query, as the server last set it
        self.page = ""  # url path of the page currently shown
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash, learnt from the server
        self.exceptions: list[str] = []  # every exception seen in this session, never cleared
        self.not_found: list[str] = []  # url paths the server answered with "page not found" (it shows the default)
        self.runs: list[RunResult] = []
        self._ws: websocket.WebSocket | None = None
        self._drawn: dict[tuple[int, ...], _Drawn] = {}
        self._values: dict[str, WidgetState] = {}  # widget id -> value this tab holds (the frontend's WidgetMgr)
        self._run_serial = 0
        self._page_hash = ""  # script hash of the page the last run drew
        self._requested = ""  # url path of the run in flight
        self._last_size = 0  # bytes of the last message received
        self.session_id = ""  # the server's id for this session, from the first new_session

    # ------------------------------------------------------------ connection

    def open(self) -> SessionClient:
        self.xsrf_token = self._fetch_xsrf_cookie()
        token = self.xsrf_token or PLACEHOLDER_TOKEN
        url = "ws" + self.base_url[len("http"):] + STREAM_PATH
        try:
            self._ws = websocket.create_connection(
                url, timeout=self.config.connect_timeout_s, subprotocols=["streamlit", token],
                cookie=f"{XSRF_COOKIE}={self.xsrf_token}" if self.xsrf_token else None,
                origin=self.base_url, enable_multithread=True)
        except (OSError, websocket.WebSocketException) as exc:
            raise LoadClientError(f"websocket connection to {url} failed: {exc}") from exc
        return self

    def _fetch_xsrf_cookie(self) -> str | None:
        """Like the frontend's health check: the server sets the XSRF cookie on /_stcore/health."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/_stcore/health",
                                        timeout=self.config.connect_timeout_s) as response:
                headers = response.headers.get_all("Set-Cookie") or []
        except OSError as exc:
            raise LoadClientError(f"health check on {self.base_url} failed: {exc}") from exc
        cookies = http.cookies.SimpleCookie()
        for header in headers:
            cookies.load(header)
        return cookies[XSRF_COOKIE].value if XSRF_COOKIE in cookies else None

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close(timeout=2)
            except (OSError, websocket.WebSocketException):
                pass  # the server may already be gone; closing is best effort
            self._ws = None

    def __enter__(self) -> SessionClient:
        return self.open()

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------ runs

    def visit(self, url_path: str, query: str | dict[str, Any] | None = None,
              timeout_s: float | None = None) -> RunResult:
        """Open a page like a click in the menu (query=None keeps the current query) or a link (query given)."""
        if query is not None:
            self.query_string = query if isinstance(query, str) else urllib.parse.urlencode(query)
        page_hash = self.page_hashes.get(url_path, "")
        if page_hash:
            # A page switch drops widget values of the old page, as the frontend does.
            self._values = {k: v for k, v in self._values.items() if self._is_drawn(k) and self._in_sidebar(k)}
        return self._run("visit", url_path, page_hash=page_hash, page_name="" if page_hash else url_path,
                         timeout_s=timeout_s)

    def rerun(self, timeout_s: float | None = None) -> RunResult:
        """Rerun the current page in full, as the "Rerun" menu item (or key R) does."""
        return self._run("rerun", self.page, page_hash=self._page_hash, page_name="", timeout_s=timeout_s)

    def set_widget(self, key: str, value: Any, timeout_s: float | None = None) -> RunResult:
        """Give one widget a new value and rerun, the way the frontend does after a user moves it.

        Choice widgets take the option's label (or a list of labels); number inputs and sliders take numbers;
        buttons take True. Widgets inside an st.fragment rerun only their fragment.
        """
        widget = self.widget(key)
        state = _encode(widget.kind, widget.proto, value)
        trigger = state.WhichOneof("value") in TRIGGER_FIELDS
        if not trigger:
            self._values[widget.id] = state
        return self._run("widget", self.page, page_hash=self._page_hash, page_name="", fragment_id=widget.fragment_id,
                         timeout_s=timeout_s, extra=[state] if trigger else [])

    def upload(self, key: str, filename: str, payload: bytes, mime: str = "image/png",
               timeout_s: float | None = None) -> RunResult:
        """Upload one file into a file uploader and rerun, as the frontend does.

        It asks the server for an upload URL over the websocket, PUTs the file there with the XSRF header and
        cookie, then reruns with the uploader's state pointing at the stored file.
        """
        widget = self.widget(key)
        if widget.kind != "file_uploader":
            raise ValueError(f"{key!r} is a {widget.kind}, not a file uploader")
        urls = self.request_upload_url(filename, timeout_s or self.config.connect_timeout_s)
        status = self.put_file(urls.upload_url, filename, payload, mime)
        if status not in (200, 204):
            raise LoadClientError(f"the upload of {filename!r} was refused with HTTP {status}")
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = filename, len(payload), urls.file_id
        info.file_urls.CopyFrom(urls)
        self._values[widget.id] = state
        return self._run("widget", self.page, page_hash=self._page_hash, page_name="", fragment_id=widget.fragment_id,
                         timeout_s=timeout_s)

    def put_file(self, upload_url: str, filename: str, payload: bytes, mime: str, send_token: bool = True) -> int:
        """PUT one file as multipart form data; returns the HTTP status. send_token=False leaves out the XSRF header."""
        boundary = f"loadclient{uuid.uuid4().hex}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {mime}\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if self.xsrf_token:
            headers["Cookie"] = f"{XSRF_COOKIE}={self.xsrf_token}"
            if send_token:
                headers["X-Xsrftoken"] = self.xsrf_token
        url = upload_url if upload_url.startswith("http") else f"{self.base_url}{upload_url}"
        _require_loopback(url)
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.config.connect_timeout_s) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            raise LoadClientError(f"the upload to {url} failed: {exc}") from exc

    def request_upload_url(self, filename: str, timeout_s: float) -> FileURLs:
        request_id = uuid.uuid4().hex
        message = BackMsg()
        message.file_urls_request.request_id = request_id
        message.file_urls_request.file_names.append(filename)
        message.file_urls_request.session_id = self.session_id
        self._send(message.SerializeToString())
        deadline = time.monotonic() + timeout_s
        for _ in range(self.config.max_messages_per_run):
            try:
                msg = self._receive_one(deadline)
            except TimeoutError:
                raise LoadClientError(f"no upload URL for {filename!r} within {timeout_s:.0f} s") from None
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                response = msg.file_urls_response
                if response.error_msg or not response.file_urls:
                    raise LoadClientError(f"no upload URL for {filename!r}: {response.error_msg or 'empty answer'}")
                return response.file_urls[0]
            self._apply(msg, "")
        raise LoadClientError("too many messages while waiting for an upload URL")

    def click(self, key: str, timeout_s: float | None = None) -> RunResult:
        return self.set_widget(key, True, timeout_s)

    def stage(self, key: str, value: Any) -> None:
        """Change a widget inside an st.form without a rerun; the form's submit button sends it."""
        widget = self.widget(key)
        state = _encode(widget.kind, widget.proto, value)
        if state.WhichOneof("value") in TRIGGER_FIELDS:
            raise ValueError(f"{key!r} is a button; use click() or submit_form()")
        self._values[widget.id] = state

    def submit_form(self, form_id: str, timeout_s: float | None = None) -> RunResult:
        """Press the submit button of the st.form whose key is `form_id`."""
        buttons = [d.proto for d in self._drawn.values()
                   if d.kind == "button" and d.proto.is_form_submitter and d.proto.form_id == form_id]
        if not buttons:
            raise KeyError(f"no submit button for form {form_id!r} on {self.page!r}")
        fragment_id = next(d.fragment_id for d in self._drawn.values() if d.proto is buttons[0])
        return self._run("submit", self.page, page_hash=self._page_hash, page_name="", fragment_id=fragment_id,
                         timeout_s=timeout_s, extra=[WidgetState(id=buttons[0].id, trigger_value=True)])

    def _run(self, cause: str, url_path: str, page_hash: str, page_name: str, fragment_id: str = "",
             timeout_s: float | None = None, extra: list[WidgetState] | None = None) -> RunResult:
        if self._ws is None:
            raise LoadClientError("the session is not open")
        message = BackMsg()
        request = message.rerun_script
        request.query_string = self.query_string
        request.page_script_hash = page_hash
        request.page_name = page_name
        request.fragment_id = fragment_id
        active = [state for widget_id, state in self._values.items() if self._is_drawn(widget_id)]
        request.widget_states.widgets.extend(active + (extra or []))
        context = request.context_info
        context.timezone = self.config.timezone
        context.timezone_offset = 0
        context.locale = self.config.locale
        context.url = f"{self.base_url}/{url_path}" + (f"?{self.query_string}" if self.query_string else "")
        context.is_embedded = False
        context.color_scheme = "light"
        seen_before, missing_before = len(self.exceptions), len(self.not_found)
        self._requested = url_path
        started = time.perf_counter()
        self._send(message.SerializeToString())
        kind, messages, size = self._receive_until_done(fragment_id, timeout_s or self.config.run_timeout_s)
        seconds = time.perf_counter() - started
        not_found = len(self.not_found) > missing_before
        self.page = url_path
        if not fragment_id and self._page_hash and not not_found:
            self.page_hashes[url_path] = self._page_hash
        result = RunResult(url_path, cause, kind, seconds, messages, size, tuple(self.exceptions[seen_before:]),
                           not_found)
        self.runs.append(result)
        return result

    def _send(self, payload: bytes) -> None:
        try:
            self._ws.send_binary(payload)
        except (OSError, websocket.WebSocketException) as exc:
            raise LoadClientError(f"sending to the server failed: {exc}") from exc

    def _receive_one(self, deadline: float) -> ForwardMsg:
        """The next ForwardMsg, or LoadClientError once the deadline passes or the connection drops."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self._ws.settimeout(left)
        try:
            payload = self._ws.recv()
        except websocket.WebSocketTimeoutException as exc:
            raise TimeoutError from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise LoadClientError(f"the connection dropped: {exc}") from exc
        if not isinstance(payload, bytes):
            raise LoadClientError("the server sent a text frame; Streamlit only sends binary protobufs")
        self._last_size = len(payload)
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        return msg

    def _receive_until_done(self, fragment_id: str, timeout_s: float) -> tuple[str, int, int]:
        deadline = time.monotonic() + timeout_s
        messages = size = 0
        while True:
            try:
                msg = self._receive_one(deadline)
            except TimeoutError:
                raise LoadClientError(
                    f"no script_finished within {timeout_s:.0f} s ({messages} messages so far)") from None
            messages += 1
            size += self._last_size
            if messages > self.config.max_messages_per_run or size > self.config.max_bytes_per_run:
                raise LoadClientError(f"run exceeded its bounds: {messages} messages, {size / 2**20:.1f} MB")
            finished = self._apply(msg, fragment_id)
            if finished is not None:
                return finished, messages, size

    def _apply(self, msg: ForwardMsg, fragment_id: str) -> str | None:
        """Fold one ForwardMsg into this tab's view; returns the run kind once the run chain is over."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._run_serial += 1
            if msg.new_session.HasField("initialize"):
                self.session_id = msg.new_session.initialize.session_id
            self._page_hash = msg.new_session.page_script_hash
        elif kind == "navigation":
            self._page_hash = msg.navigation.page_script_hash
            for page in msg.navigation.app_pages:
                if page.url_pathname:
                    self.page_hashes[page.url_pathname] = page.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            self._apply_delta(msg)
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            error = msg.session_event.script_compilation_exception
            self.exceptions.append(f"{error.type}: {error.message}")
        elif kind == "page_not_found":
            self.not_found.append(self._requested)
        elif kind == "ref_hash":
            # Only sent for hashes a client says it caches; this client never does, so this is a protocol error.
            raise LoadClientError("the server sent a cached-message reference this client never asked for")
        elif kind == "script_finished" and msg.script_finished in DONE:
            self._drop_stale(fragment_id if msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                             else None)
            return DONE[msg.script_finished]
        return None

    def _apply_delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        path = tuple(msg.metadata.delta_path)
        which = delta.WhichOneof("type")
        if which == "new_element":
            element: Element = delta.new_element
            kind = element.WhichOneof("type") or ""
            proto = getattr(element, kind) if kind else None
            if kind == "exception":
                self.exceptions.append(element_texts(kind, proto)[0])
            if kind in WIDGET_KINDS:
                held = _held_value(kind, proto)
                if held is not None and (getattr(proto, "set_value", False) or proto.id not in self._values):
                    self._values[proto.id] = _encode(kind, proto, held)
            self._drawn[path] = _Drawn(kind, proto, delta.fragment_id, self._run_serial)
        elif which == "add_block":
            self._drawn[path] = _Drawn("block:" + (delta.add_block.WhichOneof("type") or ""), delta.add_block,
                                       delta.fragment_id, self._run_serial)

    def _drop_stale(self, fragment_id: str | None) -> None:
        """What the frontend does at script_finished: forget elements the finished run did not draw again."""
        self._drawn = {path: drawn for path, drawn in self._drawn.items()
                       if drawn.run == self._run_serial
                       or (fragment_id is not None and drawn.fragment_id != fragment_id)}

    def _is_drawn(self, widget_id: str) -> bool:
        return any(getattr(d.proto, "id", None) == widget_id for d in self._drawn.values() if d.kind in WIDGET_KINDS)

    def _in_sidebar(self, widget_id: str) -> bool:
        return any(path[0] == 1 for path, d in self._drawn.items()
                   if d.kind in WIDGET_KINDS and d.proto.id == widget_id)

    # ------------------------------------------------------------ what the tab shows

    def elements(self, main_only: bool = False) -> list[tuple[str, Any]]:
        """(kind, proto) of every element currently shown, in delta-path order (blocks left out)."""
        return [(d.kind, d.proto) for path, d in sorted(self._drawn.items())
                if not d.kind.startswith("block:") and d.kind and (not main_only or path[0] == 0)]

    def texts(self, main_only: bool = False) -> list[str]:
        return [text for kind, proto in self.elements(main_only) for text in element_texts(kind, proto)]

    def widgets(self) -> dict[str, Widget]:
        """Every keyed widget currently shown, by its user key."""
        found = {}
        for _, drawn in sorted(self._drawn.items()):
            if drawn.kind not in WIDGET_KINDS:
                continue
            proto = drawn.proto
            key = widget_key(proto.id)
            if key is None:
                continue
            options = tuple(getattr(proto, "options", ()))
            if drawn.kind == "button_group":
                options = tuple(option.content for option in proto.options)
            found[key] = Widget(proto.id, key, drawn.kind, getattr(proto, "label", ""),
                                tuple(str(o) for o in options), drawn.fragment_id, getattr(proto, "form_id", ""),
                                proto)
        return found

    def widget(self, key: str) -> Widget:
        shown = self.widgets()
        if key not in shown:
            raise KeyError(f"no widget with key {key!r} on {self.page!r}; shown: {', '.join(sorted(shown))}")
        return shown[key]

    def query_params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.query_string))


def _held_value(kind: str, proto: Any) -> Any:
    """The value the frontend holds for a widget it has just drawn: the server's forced value, else the default.

    None where the widget holds nothing (a button, a choice with no default).
    """
    forced = getattr(proto, "set_value", False)
    if kind in ("selectbox", "radio"):
        if forced and proto.HasField("raw_value"):
            return proto.raw_value
        if proto.HasField("default") and 0 <= proto.default < len(proto.options):
            return proto.options[proto.default]
    elif kind in ("number_input", "text_input", "text_area"):
        if forced and proto.HasField("value"):
            return proto.value
        if proto.HasField("default"):
            return proto.default
    elif kind == "checkbox":
        return proto.value if forced else proto.default
    elif kind == "slider":
        if proto.type == Slider.SELECT_SLIDER:
            if forced and proto.raw_value:
                return list(proto.raw_value)
            return [proto.options[int(i)] for i in proto.default if 0 <= int(i) < len(proto.options)]
        return list(proto.value) if forced and proto.value else list(proto.default)
    elif kind == "button_group":
        return list(proto.raw_values) if forced else [proto.options[i].content for i in proto.default
                                                         if 0 <= i < len(proto.options)]
    elif kind == "multiselect":
        return list(proto.raw_values) if forced else [proto.options[i] for i in proto.default
                                                         if 0 <= i < len(proto.options)]
    return None


def _encode(kind: str, proto: Any, value: Any) -> WidgetState:
    """The WidgetState the frontend would send for this widget holding `value`."""
    state = WidgetState(id=proto.id)
    if kind in ("button", "download_button"):
        state.trigger_value = bool(value)
    elif kind == "checkbox":
        state.bool_value = bool(value)
    elif kind == "number_input":
        if proto.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
    elif kind == "slider":
        values = value if isinstance(value, (list, tuple)) else [value]
        if proto.type == Slider.SELECT_SLIDER:
            state.string_array_value.data.extend(str(v) for v in values)
        else:
            state.double_array_value.data.extend(float(v) for v in values)
    elif kind in ("selectbox", "radio", "text_input", "text_area", "color_picker"):
        if kind in ("selectbox", "radio") and str(value) not in proto.options:
            raise ValueError(f"{widget_key(proto.id)!r} has no option {value!r}; options: {list(proto.options)}")
        state.string_value = str(value)
    elif kind in ("multiselect", "button_group"):
        values = value if isinstance(value, (list, tuple)) else [value]
        state.string_array_value.data.extend(str(v) for v in values)
    else:
        raise ValueError(f"setting a {kind} widget is not supported by the load client")
    return state
