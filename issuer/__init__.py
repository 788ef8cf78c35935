"""Learning record and Open Badges 3.0 credential issuing service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from issuer.config import ROOT, cookie_settings, load_settings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. Settings come from the environment; ``config`` overrides them (tests pass a dict)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_mapping(load_settings(app.instance_path))
    app.config.update(config or {})
    app.config["ISSUER_BASE_URL"] = str(app.config["ISSUER_BASE_URL"]).rstrip("/")
    app.config.update(cookie_settings(app.config["ISSUER_BASE_URL"]))
    from issuer.platform.replay import Replay

    app.wsgi_app = Replay(app.wsgi_app, app)  # type: ignore[method-assign]
    proxies = int(app.config.get("ISSUER_TRUSTED_PROXIES", 0))
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    from issuer import api, cli, errors, web
    from issuer.platform import database, transactions
    from issuer.web.converters import DatabaseId

    app.url_map.converters["int"] = DatabaseId  # ids beyond the column's range are a 404, not an overflow
    from issuer.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    database.init_app(app)
    errors.register_error_handlers(app)
    web.init_app(app)
    api.init_app(app)
    transactions.init_app(app)  # after the last blueprint: every view gets the request's one commit
    cli.init_app(app)
    return app
