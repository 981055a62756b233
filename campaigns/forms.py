"""The base of every form of the site."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import flask
from babel import support
from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.i18n import messages_path
from wtforms.validators import Length, StopValidation

from .config import Defaults
from .extensions import csrf

# Flask-WTF's marker for "read the request" (a form built without formdata).
_AUTO = FlaskForm.__init__.__defaults__[0]  # type: ignore[index]

# Control characters (C0 but the tab, DEL, C1): nobody types one, a NUL is
# refused by PostgreSQL (a 500), and the others end up in CSV files, emails and
# pages. A line break is text only where the field has several lines.
_CONTROLS_IN_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROLS_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROLS_IN_LINE = _l("Please remove the line breaks and control characters from this field.")
CONTROLS_IN_TEXT = _l("Please remove the control characters from this text.")


def refuse_control_characters(form: Any, field: Field) -> None:
    """Stop a text field's validation at a control character (see above)."""
    value = field.data
    if not isinstance(value, str):
        return
    if isinstance(field, TextAreaField):
        if _CONTROLS_IN_TEXT.search(value):
            raise StopValidation(CONTROLS_IN_TEXT)
    elif _CONTROLS_IN_LINE.search(value):
        raise StopValidation(CONTROLS_IN_LINE)


@cache
def _wtforms_catalog(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """WTForms' own messages (and the default label of a field given none) in
    the request's language, each catalog read once per process. Flask-WTF's
    reads and parses the catalog file again on every request that asks, which
    was most of a millisecond of each sign POST."""

    def gettext(self, string: str) -> str:
        return str(_wtforms_catalog(str(get_locale())).ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(_wtforms_catalog(str(get_locale())).ungettext(singular, plural, n))


_TRANSLATIONS = _WTFormsTranslations()


class Form(FlaskForm):  # type: ignore[misc]
    """A Flask-WTF form that reads only the posted form fields, and whose text
    fields refuse control characters.

    Flask-WTF also fills a form from uploaded file parts and from a JSON body;
    our forms are text fields, and a file where text is expected, or a number
    or a list from JSON, would reach code that expects a string (a 500). Such
    a request gets the form fields it sent, if any, and fails validation like
    any other bad submission. Uploads (paper signatures) are read from
    ``request.files`` by their view."""

    # Text fields left to their own validators (a form's honeypot, say).
    control_exempt: frozenset[str] = frozenset()

    class Meta:
        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return FlaskForm.Meta.get_translations(self, form)
            return _TRANSLATIONS

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is not _AUTO:
                return formdata  # the view chose what to read
            if request.method in SUBMIT_METHODS:
                return request.form
            return None

    def validate(self, extra_validators: dict[str, list[Any]] | None = None) -> bool:
        extra = dict(extra_validators or {})
        for name, field in self._fields.items():
            # Passwords are only hashed, never stored or shown: refusing a
            # character there would only lock someone out. The CSRF token has
            # its own check.
            if (
                isinstance(field, StringField)
                and not isinstance(field, PasswordField)
                and name != self.meta.csrf_field_name
                and name not in self.control_exempt
            ):
                extra[name] = [refuse_control_characters, *extra.get(name, ())]
        return bool(super().validate(extra))


# A character the Length validators count can take 4 bytes of UTF-8, and 12
# once percent-encoded (Arabic takes 2 and 6). Field names, separators, the
# CSRF token and the non-text fields fit in the margin.
_BYTES_PER_CHARACTER = 12
_MARGIN = 8 * 1024


def largest_body(form_class: type[FlaskForm]) -> int:
    """The size of the largest valid submission of ``form_class``: every text
    field at its maximum length, in the widest encoding."""
    total = _MARGIN
    for name in dir(form_class):
        field = getattr(form_class, name, None)
        if not isinstance(field, UnboundField):
            continue
        validators = field.kwargs.get("validators") or (field.args[1:2] or [()])[0]
        longest = max((v.max for v in validators if isinstance(v, Length)), default=0)
        total += len(name) + 2 + longest * _BYTES_PER_CHARACTER
    return total


View = TypeVar("View", bound=Callable[..., Any])
# Werkzeug's multipart reads (64 KiB) plus the part it holds back.
_MULTIPART_BUFFER = 2 * 64 * 1024


def accepts_form(
    form_class: Callable[[], type[FlaskForm]], files: int = 0
) -> Callable[[View], View]:
    """Let a view's requests be as large as its form's largest valid
    submission, rather than the site-wide limit (a sign form's few hundred
    bytes, with a margin): a long campaign text must not answer 413. A
    multipart body may also carry ``files`` bytes of uploads. Goes right under
    the route decorator."""

    def decorate(view: View) -> View:
        limit = largest_body(form_class())
        view.body_limit = max(limit, Defaults.MAX_CONTENT_LENGTH)  # type: ignore[attr-defined]
        view.upload_limit = files  # type: ignore[attr-defined]
        return view

    return decorate


def check_csrf_now() -> None:
    """The CSRF check, in a view exempt from the global one because it reads
    its (upload's) body itself, after checking who is asking: a body past its
    limit is then an error the view shows on its form."""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


class Request(flask.Request):
    """A request whose body limits are its view's (see accepts_form). They are
    read when the body is parsed, after the URL is matched and before any
    before-request function (the CSRF check) reads the form."""

    def _view_limit(self, uploads: bool = False) -> int | None:
        """The view's limit for text fields, plus with ``uploads`` what a
        multipart body may carry in files."""
        endpoint = self.endpoint
        if endpoint is None or not current_app:
            return None
        view = current_app.view_functions.get(endpoint)
        limit: int | None = getattr(view, "body_limit", None)
        if limit and uploads and self.mimetype == "multipart/form-data":
            limit += getattr(view, "upload_limit", 0)
        return limit

    @property  # type: ignore[override]
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and (limit := self._view_limit(uploads=True)):
            return limit
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property  # type: ignore[override]
    def max_form_memory_size(self) -> int | None:
        # For a url-encoded body this is the limit of the whole body; for a
        # multipart one, of its text fields (files are spooled to disk).
        if self._max_form_memory_size is None and (limit := self._view_limit()):
            if self.mimetype == "multipart/form-data":
                # Werkzeug checks each 64 KiB chunk read, with what it still
                # buffers, against this limit, file parts included: a form of
                # few short fields would refuse any upload at all.
                return max(limit, _MULTIPART_BUFFER)
            return limit
        return super().max_form_memory_size

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value
