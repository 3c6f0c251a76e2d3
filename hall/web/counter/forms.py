"""Form of the counter chooser (Flask-WTF: CSRF token included)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import DataRequired, NumberRange


class ChooseCounterForm(FlaskForm):
    number = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
    take_over = BooleanField()
