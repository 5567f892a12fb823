"""Screening words: what staff text is checked for before review (street admins change
the list; community admins read it)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from server.db import db
from server.services import screening
from server.web.forms import DeleteForm
from server.web.helpers import actor, allowed, form_errors, require_login

bp = Blueprint("screening", __name__)
require_login(bp)

ACTION_CHOICES = [("block", _l("Block: refuse the text")),
                  ("flag", _l("Flag: show it to the reviewer"))]


# What each screened text is called on the review pages.
FIELD_LABELS = {"title": _l("Title"), "notice_title": _l("Heading on screen"),
                "notice_body": _l("Text"), "notice_footer": _l("Footer"), "file": _l("File"),
                "text": _l("Text")}
TEXTS = {"title": "title", "notice_title": "notice_title", "notice_body": "notice_body",
         "notice_footer": "notice_footer", "file": "original_name"}


@bp.app_template_global()
def screening_fields(item) -> list[tuple[str, list]]:
    """The item's texts that have hits, as (label, runs to highlight)."""
    out = []
    for field, attr in TEXTS.items():
        hits = screening.hits_of(item, field)
        if hits:
            out.append((FIELD_LABELS[field], screening.marked(getattr(item, attr) or "", hits)))
    return out


@bp.app_template_global()
def screening_ocr(item) -> list:
    """The recognised text as runs to highlight."""
    return screening.marked(item.ocr_text or "", screening.hits_of(item, screening.OCR_FIELD))


class WordForm(FlaskForm):
    word = StringField(_l("Word"), validators=[DataRequired(), Length(max=screening.MAX_WORD)])
    action = SelectField(_l("Action"), choices=ACTION_CHOICES)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=screening.MAX_NOTE)])


class ImportForm(FlaskForm):
    words = TextAreaField(_l("Words, one per line"), validators=[DataRequired()],
                          render_kw={"rows": 6, "placeholder": "诈骗 block\n代开发票 flag"})
    default = SelectField(_l("Action for lines without one"), choices=ACTION_CHOICES)


def _page(form: WordForm, import_form: ImportForm):
    words = screening.list_words(db, actor())
    return render_template("screening/words.html", words=words, form=form,
                           import_form=import_form, action_form=DeleteForm(),
                           may_manage=allowed(screening.require_manager),
                           blocks=sum(w.action == "block" for w in words))


@bp.route("/screening", methods=["GET", "POST"])
def words():
    form, import_form = WordForm(prefix="add"), ImportForm(prefix="import")
    if form.validate_on_submit():
        with form_errors(form):
            screening.add_word(db, actor(), form.word.data, form.action.data,
                               form.note.data or "")
            db.commit()
            flash(gettext("“%(word)s” added.", word=form.word.data.strip()), "ok")
            return redirect(url_for("screening.words"))
    return _page(form, import_form)


@bp.route("/screening/import", methods=["POST"])
def import_words():
    form, import_form = WordForm(prefix="add"), ImportForm(prefix="import")
    if import_form.validate_on_submit():
        with form_errors(import_form):
            added, changed = screening.import_words(db, actor(), import_form.words.data,
                                                    import_form.default.data)
            db.commit()
            flash(gettext("%(added)d words added, %(changed)d changed.", added=added,
                          changed=changed), "ok")
            return redirect(url_for("screening.words"))
    return _page(form, import_form)


@bp.route("/screening/<int:word_id>/delete", methods=["POST"])
def delete(word_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    screening.delete_word(db, actor(), word_id)
    db.commit()
    return redirect(url_for("screening.words"))
