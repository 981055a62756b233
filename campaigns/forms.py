"""The base of every form of the site."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS

# Flask-WTF's marker for "read the request" (a form built without formdata).
_AUTO = FlaskForm.__init__.__defaults__[0]  # type: ignore[index]


class Form(FlaskForm):  # type: ignore[misc]
    """A Flask-WTF form that reads only the posted form fields.

    Flask-WTF also fills a form from uploaded file parts and from a JSON body;
    our forms are text fields, and a file where text is expected, or a number
    or a list from JSON, would reach code that expects a string (a 500). Such
    a request gets the form fields it sent, if any, and fails validation like
    any other bad submission. Uploads (paper signatures) are read from
    ``request.files`` by their view."""

    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is not _AUTO:
                return formdata  # the view chose what to read
            if request.method in SUBMIT_METHODS:
                return request.form
            return None
