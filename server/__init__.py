"""The server: staff web UI, REST API, Socket.IO hub and CLI in one Flask app.

`create_app` builds everything; it starts no background jobs (see DESIGN.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask, has_request_context, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _gettext
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from server.config import Settings
from server.db import PoolSize, bind, db, make_engine
from server.extensions import CSP, babel, csrf, limiter, login_manager, socketio, talisman
from server.hub import packets, queue

# Socket handlers are declared before any init_app: Flask-SocketIO keeps them for every
# app only when no server exists yet (tests build many apps in one process).
from server.hub import staff as _staff_handlers  # noqa: E402, F401
from server.hub import terminals as _terminal_handlers  # noqa: E402, F401
from server.services.errors import N_


class _SessionInterface(SecureCookieSessionInterface):
    """Flask builds a new signing serializer for every request, and Flask-SocketIO pushes a
    request context for every socket event: with 1,000 terminals that was 6 % of the
    worker's time. The key and settings are fixed once the app runs, so build it once."""

    _serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer


def create_app(env: Mapping[str, str] | None = None, **overrides: object) -> Flask:
    """`env` overrides environment variables (tests pass SIGNAGE_* here)."""
    settings = Settings.from_env({**os.environ, **(env or {})})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(settings.flask_config())
    app.config.update(overrides)
    app.json.ensure_ascii = False  # Chinese stays readable in API answers
    app.session_interface = _SessionInterface()

    engine = make_engine(settings.database_url, PoolSize(
        settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout_s,
        f"signage {settings.node_name}"))
    bind(engine)
    app.extensions["signage_engine"] = engine

    @app.teardown_appcontext
    def _release_session(_exc: BaseException | None) -> None:
        db.remove()

    _init_extensions(app, settings)
    _register_blueprints(app)
    # Whatever this process signs (manifests, broadcasts) goes through the configured signer.
    from server import signer
    from server.services import signing

    signing.use(signer.from_settings(settings))

    from server import cli

    cli.register(app)
    return app


def _init_extensions(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the reverse proxy; see docs/deploy
        session_cookie_secure=settings.cookie_secure,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    def select_locale() -> str:
        # Outside a request (CLI exports, jobs) the people's language is the default.
        lang = session.get("lang") if has_request_context() else None
        return lang or app.config["BABEL_DEFAULT_LOCALE"]

    babel.init_app(app, locale_selector=select_locale)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login flashes its own English sentence; it goes through gettext like ours.
    login_manager.login_message = N_("Please log in to access this page.")
    login_manager.localize_callback = _gettext
    login_manager.session_protection = "strong"

    from server.models import User
    from server.services import accounts

    @login_manager.user_loader
    def _load_user(login_key: str) -> User | None:
        # The cookie names a sign-in (User.get_id), not a user: ended sign-ins load no one.
        return accounts.user_for_session(db, login_key)

    # Explicit async mode: auto-detection would pick whatever happens to be installed.
    # The client manager is always given: Flask-SocketIO keeps init_app's options between
    # calls, so one built for an earlier app must not leak into the next.
    socketio.init_app(
        app,
        async_mode=os.environ.get("SIGNAGE_ASYNC_MODE", "gevent"),
        client_manager=queue.client_manager(settings.message_queue,
                                            settings.message_queue_channel,
                                            settings.node_name, settings.queue_heartbeat_s),
        cors_allowed_origins=[],
        json=packets,
        serializer=packets.Packet,
    )
    if settings.proxy_hops:
        # Behind nginx: the client's address (rate limits, audit) and scheme come from the
        # proxy's X-Forwarded-* headers, trusted from exactly this many proxies.
        n = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)


def _register_blueprints(app: Flask) -> None:
    from server import api, errors, hub, inputs, web

    # Before any rule is added: an <int:...> past what a column holds is a 404.
    app.url_map.converters["int"] = inputs.BoundedIntConverter
    errors.register(app)
    web.register(app)
    api.register(app)
    hub.register(app)
