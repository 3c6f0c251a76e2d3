"""Extension instances, bound to the app in `create_app`."""
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from hall.database import HallSession
from hall.route_limiter import RouteLimiter
from hall.session_login import SessionLoginManager


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base, session_options={"class_": HallSession})
migrate = Migrate()
socketio = SocketIO()
login = SessionLoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = RouteLimiter(key_func=get_remote_address, default_limits=[])
