"""Flask-WTF forms: every form carries a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from server.models import ColourMode, Role
from server.services.tree import MAX_PIXELS_SIDE

ROLE_LABELS = {
    Role.street_admin: _l("Street administrator"),
    Role.community_admin: _l("Community administrator"),
    Role.reviewer: _l("Reviewer"),
    Role.editor: _l("Editor"),
    Role.viewer: _l("Viewer"),
}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class BuildingForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    # For warnings whose area is a polygon or circle (street admins only)
    latitude = FloatField(_l("Latitude (WGS 84, e.g. 22.555)"),
                          validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude (WGS 84, e.g. 114.237)"),
                           validators=[Optional(), NumberRange(-180, 180)])


class TerminalForm(FlaskForm):
    building_id = SelectField(_l("Building"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    width = IntegerField(_l("Width (pixels)"),
                         validators=[DataRequired(), NumberRange(1, MAX_PIXELS_SIDE)])
    height = IntegerField(_l("Height (pixels)"),
                          validators=[DataRequired(), NumberRange(1, MAX_PIXELS_SIDE)])
    colour_mode = SelectField(_l("Colour"), choices=[
        SelectChoice(ColourMode.full.value, _l("Full colour")),
        SelectChoice(ColourMode.mono.value, _l("Single colour (no anti-aliasing)")),
    ])
    tags = StringField(_l("Tags (comma separated)"), validators=[Optional(), Length(max=400)])


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(3, 40)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=80)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])
    community_id = SelectField(_l("Community"), coerce=int)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active"), default=True)
    may_broadcast = BooleanField(_l("May send emergency broadcasts"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=80)])


class PasswordForm(FlaskForm):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class DeleteForm(FlaskForm):
    """Empty form: only the CSRF token, for delete buttons."""


TEMPLATE_LABELS = {
    "notice": _l("Notice"),
    "warning": _l("Warning"),
    "convenience": _l("Convenience information"),
    "event": _l("Event"),
}


class ContentMetaForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    topic_id = SelectField(_l("Topic"), coerce=int)
    community_id = SelectField(_l("Community"), coerce=int)
    valid_from = DateTimeLocalField(_l("Valid from"), validators=[Optional()])
    valid_until = DateTimeLocalField(_l("Valid until"), validators=[Optional()])
    duration_s = FloatField(_l("Seconds on screen (still items)"), default=10,
                            validators=[DataRequired(), NumberRange(1, 3600)])
    tags = StringField(_l("Tags (comma separated)"), validators=[Optional(), Length(max=400)])


class NoticeForm(ContentMetaForm):
    # The help texts say what a new editor cannot guess: which title shows where, and
    # that a notice on several pages shows each page for the set time.
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)],
                        description=_l("The name staff see in the library, playlists and "
                                       "reports. It is not shown on the screens."))
    notice_title = StringField(
        _l("Heading on screen"), validators=[Optional(), Length(max=80)],
        description=_l("Shown at the top of the notice on every screen. On a small screen "
                       "that needs several pages, each later page repeats it with the page "
                       "number, e.g. (2/3)."))
    notice_body = TextAreaField(
        _l("Text"), validators=[Length(max=2000)], render_kw={"rows": 8},
        description=_l("Start a new line for each paragraph. The text is set to fit each "
                       "screen size; the preview shows every size."))
    notice_footer = StringField(_l("Footer (e.g. hotline)"),
                                validators=[Optional(), Length(max=80)])
    notice_template = SelectField(_l("Template"), choices=[
        SelectChoice(k, v) for k, v in TEMPLATE_LABELS.items()])
    duration_s = FloatField(
        _l("Seconds on screen per page"), default=10,
        validators=[DataRequired(), NumberRange(1, 3600)],
        description=_l("Each page of the notice stays this long; a screen that needs 3 "
                       "pages shows the notice for 3 times as long. A scrolling strip "
                       "passes in this time."))
    # Screen sizes (server.services.content.size_key) left out; choices per community.
    exclude_sizes = SelectMultipleField(_l("Leave out these screens"), choices=[],
                                        validate_choice=False)


class StreetReviewForm(FlaskForm):
    street_review = BooleanField(
        _l("Also needs the street's approval"),
        description=_l("After the community approves it, a street administrator must "
                       "approve it too before it reaches any screen."))


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class TopicForm(FlaskForm):
    name = StringField(_l("Topic"), validators=[DataRequired(), Length(max=40)])


class PairForm(FlaskForm):
    code = StringField(_l("Code shown on the screen"), validators=[DataRequired(), Length(4, 12)])


class CommandForm(FlaskForm):
    kind = SelectField(_l("Command"), choices=[
        SelectChoice("screenshot", _l("Screenshot now")),
        SelectChoice("reload", _l("Reload")),
        SelectChoice("clear_cache", _l("Clear cache")),
        SelectChoice("screen_on", _l("Screen on")),
        SelectChoice("screen_off", _l("Screen off")),
        SelectChoice("brightness", _l("Brightness")),
    ])
    level = IntegerField(_l("Brightness (%)"), default=60, validators=[Optional(),
                                                                      NumberRange(0, 100)])
