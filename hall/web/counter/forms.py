"""Form of the counter chooser (Flask-WTF: CSRF token included)."""
from wtforms import BooleanField, IntegerField
from wtforms.validators import DataRequired, NumberRange

from hall.validation import CheckedForm, MAX_INT


class ChooseCounterForm(CheckedForm):
    number = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=MAX_INT)])
    take_over = BooleanField()
