"""Flask extensions, created here and bound in the app factory (no circular imports)."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()

# Self-hosted assets only: terminals and street offices may have no internet.
CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],
    "style-src": "'self'",
    "script-src": "'self'",
    "connect-src": ["'self'", "ws:", "wss:"],
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}
