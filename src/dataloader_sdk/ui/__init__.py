"""dl-app: the control-manager web UI (``pip install 'dataloader-sdk[ui]'``).

``create_app(settings | home)`` builds a Flask app for any WSGI server; ``dataloader ui``
serves it on 127.0.0.1. The core package never imports this one (nor Flask).

Conventions for view modules (read before adding a page):

* **Page groups.** One module per group under ``ui/views/`` with a module-level
  ``bp = Blueprint("<group>", __name__, url_prefix="/<group>")``; register it in
  ``app._register_blueprints``. Endpoints are ``<group>.<function>``; the
  dashboard is ``dashboard.index`` (``/``). Each group's landing page is
  ``<group>.index``; the header links ``bulk.index``, ``promotion.index`` and
  ``history.index`` once registered (``app.NAV_LINKS``).
* **Roles.** Decorate every view with ``@role_required("viewer" | "editor" |
  "approver")`` from :mod:`dataloader_sdk.ui.auth`, directly under ``@bp.route``. A view
  without it is refused with 403 (deny by default). Read-only pages: ``viewer``;
  anything that writes: ``editor``; approving a promotion: ``approver``. In templates,
  ``has_role(current_user, "editor")`` hides buttons (the server still checks).
* **Store and loader.** ``from dataloader_sdk.ui.context import loader, store,
  current_env``: ``store()`` / ``loader()`` are the selected environment's (never open
  one yourself); ``services().store("dataloader")`` reaches a named one (promotion).
  Edits go through ``loader()`` (it adds the strategy's checks) or the store's API
  functions, never SQL. The audit actor is ``auth.actor()`` (``ui:<username>``).
* **Templates.** Extend ``base.html`` and fill ``{% block title %}``,
  ``{% block content %}`` (inside ``<main>``) and optionally ``{% block scripts %}``
  (extra ``<script src=...>`` tags only: the CSP forbids inline script and style
  attributes/elements). Always present: ``current_env``, ``is_prod``, ``environments``,
  ``current_user``, ``csrf_token()``. Form helpers in ``_forms.html``:
  ``{% from "_forms.html" import field, form_errors %}``.
* **Forms and errors.** WTForms via ``flask_wtf.FlaskForm`` (CSRF included); every POST
  form carries ``{{ csrf_token() }}`` (FlaskForm's ``form.hidden_tag()`` does). Map a
  store :class:`~dataloader_sdk.errors.ValidationError` onto the form with
  :func:`dataloader_sdk.ui.forms.apply_problems` (errors shown inline next to their
  fields, ``fallback=`` for problems of no field, else at the top of the form, as
  :func:`~dataloader_sdk.ui.forms.add_form_error` does) and re-render with status 422.
  Other ``DataLoaderError``s: ``flash(redact(str(exc)), "error")``
  (:func:`dataloader_sdk.secrets.redact`). Flash categories: ``success``,
  ``info``, ``error``; base.html shows them in an ``aria-live`` region. After a
  successful POST, redirect (post/redirect/get).
* **Static files.** ``ui/static/``: ``css/app.css``, ``js/app.js`` (our own; add per-page
  scripts as ``js/<page>.js``), and vendored libraries in ``static/vendor/<name>/``
  (min file, LICENSE, VERSION): ``htmx`` and ``chartjs``. No CDN.
* **Environment.** The viewed environment is in the session; it changes only by
  ``POST /env`` (the switch in the header). Prod pages get ``body.env-prod`` and a red
  banner.
"""

from __future__ import annotations

from dataloader_sdk.ui.app import UiConfig, create_app

__all__ = ["UiConfig", "create_app"]
