"""Forms of the staff pages (Flask-WTF: CSRF token included)."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from hall.validation import CheckedForm


class LoginForm(CheckedForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))
