"""Command-line tasks: `flask --app server <command>`."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from server import migrate
from server.audit_cli import audit_group
from server.db import db
from server.models import Community, Role, User
from server.services import accounts, demo, topics
from server.services.access import Actor


def register(app: Flask) -> None:
    app.cli.add_command(init)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(terminals_group)
    app.cli.add_command(report_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(signing_group)


def _password(env_name: str) -> tuple[str, bool]:
    """(password, generated?)"""
    given = os.environ.get(env_name)
    return (given, False) if given else (secrets.token_urlsafe(12), True)


@click.command("init")
@click.option("--street", default=demo.STREET, show_default=True, help="Name of the street.")
def init(street: str) -> None:
    """Apply migrations and create the first street administrator if none exists."""
    migrate.upgrade(current_app.config["SIGNAGE"].database_url)
    s = demo.ensure_street(db, street)
    topics.ensure_defaults(db, s.id)
    if db.scalar(select(User).where(User.role == Role.street_admin)) is None:
        password, generated = _password("SIGNAGE_ADMIN_PASSWORD")
        accounts.check_password_strength(password)
        admin = User(username="admin", display_name="街道管理员", role=Role.street_admin,
                     street_id=s.id, password_hash=accounts.hash_password(password))
        db.add(admin)
        db.flush()
        from server.services import audit

        audit.record(db, Actor.system(s.id), "create", "user", admin.id, label="admin")
        if generated:
            click.echo(f"Created street administrator 'admin' with password: {password}")
            click.echo("This password is shown once; change it under 'My account'.")
        else:
            click.echo("Created street administrator 'admin' (password from SIGNAGE_ADMIN_PASSWORD).")
    db.commit()
    click.echo("Database is up to date.")


@click.command("seed-demo")
@click.option("--content/--no-content", default=True, show_default=True,
              help="Also create approved demo notices and a clip scheduled to all of 东和.")
@click.option("--history", "history_days", type=click.IntRange(1, 30), default=None,
              metavar="DAYS",
              help="Also play DAYS of the demo schedule, ending now, through the player's "
                   "own playback loop on a simulated clock and the server's ingest of proof "
                   "of play (implies --content; needs a database without plays).")
def seed_demo(content: bool, history_days: int | None) -> None:
    """Create 沙头角街道, its four communities and 76 terminals in 东和, plus demo staff."""
    content = content or history_days is not None
    result = demo.seed(db)
    street = demo.ensure_street(db)
    system = Actor.system(street.id)
    password, generated = _password("SIGNAGE_DEMO_PASSWORD")
    made = []
    for username, role, community in (
        ("donghe_admin", Role.community_admin, "东和"),
        ("donghe_editor", Role.editor, "东和"),
        ("donghe_reviewer", Role.reviewer, "东和"),
        ("tianxin_editor", Role.editor, "田心"),
    ):
        if db.scalar(select(User).where(User.username == username)) is None:
            c = db.scalar(select(Community).where(Community.name == community,
                                                  Community.street_id == street.id))
            accounts.create_user(db, system, username=username, password=password,
                                 role=role.value, community_id=c.id)
            made.append(username)
    db.commit()
    from server.storage import blob_store

    made_content = {"created": 0}
    if content:
        made_content = demo.seed_content(db, blob_store(), current_app.config["SIGNAGE"].font)
        db.commit()
        # The demo's own clip and images are read now (seconds, once), not by the job of
        # every server started from a copy of this database.
        from server.services import screening

        screening.ocr_pending(db, str(blob_store().root), limit=100)
    if made_content["created"]:
        click.echo(f"{made_content['created']} approved demo items scheduled to all of 东和.")
    click.echo(f"{result['communities']} communities, {result['terminals']} terminals in 东和 "
               f"({result['terminals_created']} new).")
    if made:
        shown = password if generated else "(from SIGNAGE_DEMO_PASSWORD)"
        click.echo(f"Demo accounts {', '.join(made)} with password: {shown}")
    if history_days is not None:
        _seed_history(history_days)


def _seed_history(days: int) -> None:
    from server.services import demo_history

    if demo.ensure_rush_hours(db):
        db.commit()
    try:
        done = demo_history.run(db, days, progress=click.echo)
    except demo_history.HistoryRefused as err:
        db.rollback()
        click.echo(f"History not added: {err}. It needs a database without proof of play "
                   "(a new SIGNAGE_DATA_DIR or DATABASE_URL).")
        return
    click.echo(f"History: {done.terminals} terminals played {days} days "
               f"({done.start:%Y-%m-%d %H:%M} to {done.end:%Y-%m-%d %H:%M} UTC): "
               f"{done.records} proof-of-play records, {len(done.topics)} topics, "
               f"{done.seconds / 3600:,.1f} play hours, in {done.elapsed_s:.0f} s.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--community", default=None, help="Community name (not for street admins).")
@click.password_option()
def create_user(username: str, role: str, community: str | None, password: str) -> None:
    """Create a staff account."""
    street = demo.ensure_street(db)
    community_id = None
    if community:
        c = db.scalar(select(Community).where(Community.name == community))
        if c is None:
            raise click.BadParameter(f"no community named {community!r}")
        community_id = c.id
    accounts.create_user(db, Actor.system(street.id), username=username, password=password,
                         role=role, community_id=community_id)
    db.commit()
    click.echo(f"Created {username}.")


@click.command("provision")
@click.option("--community", default=None, help="Only this community's terminals.")
@click.option("--unpaired", is_flag=True, help="Only terminals without a credential.")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-",
              help="CSV file to write (default: standard output).")
def provision(community: str | None, unpaired: bool, output) -> None:
    """Issue terminal credentials in bulk: CSV terminal_id,name,credential,public_key (the
    street's signing key the player trusts: `--trust-key`)."""
    import csv

    from server.services import fleet, signing, tree

    street = demo.ensure_street(db)
    system = Actor.system(street.id)
    community_id = None
    if community:
        c = db.scalar(select(Community).where(Community.name == community,
                                              Community.street_id == street.id))
        if c is None:
            raise click.BadParameter(f"no community named {community!r}")
        community_id = c.id
    terminals = tree.list_terminals(db, system, community_id=community_id)
    if unpaired:
        terminals = [t for t in terminals if t.credential_hash is None]
    issued = fleet.provision(db, system, [t.id for t in terminals])
    public_key = signing.current(db, street.id).public_key
    db.commit()
    writer = csv.writer(output)
    writer.writerow(["terminal_id", "name", "credential", "public_key"])
    for t, credential in issued:
        writer.writerow([t.id, t.name, credential, public_key])
    click.echo(f"{len(issued)} credentials issued.", err=True)


terminals_group = AppGroup("terminals", help="Terminal credentials.")
terminals_group.add_command(provision)


@click.command("playback")
@click.option("--from", "first", required=True, help="First day, YYYY-MM-DD (Asia/Shanghai).")
@click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (inclusive).")
@click.option("--by", default="topic", type=click.Choice(
    ["topic", "content", "terminal", "building", "community", "day", "hour"]))
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "xlsx", "json"]))
@click.option("--as-user", "username", default=None,
              help="Scope the report to what this account may see (default: the whole street).")
@click.option("--community-id", type=int, default=None)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: standard output; required for xlsx).")
def report_playback(first, last, by, fmt, username, community_id, output) -> None:
    """Export play hours for scheduled reporting upward."""
    import json
    import sys

    from server import reporting
    from server.services import reports

    if username:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.BadParameter(f"no account named {username!r}", param_hint="--as-user")
        who = Actor.of(user)
    else:
        who = Actor.system(demo.ensure_street(db).id)
    req = reporting.parse({"from": first, "to": last, "by": by,
                           "community_id": community_id})
    if fmt == "json":
        rows = reports.playback(db, who, req.period, req.by, req.filters)
        body = json.dumps([{"key": r.key, "label": r.label, "seconds": r.seconds,
                            "plays": r.plays} for r in rows], ensure_ascii=False).encode()
    else:
        body, _mime, _name = reporting.export(who, req, fmt)
    if output:
        with open(output, "wb") as f:
            f.write(body)
    elif fmt == "xlsx":
        raise click.BadParameter("an Excel file needs --output", param_hint="--output")
    else:
        sys.stdout.buffer.write(body)


@click.command("purge")
@click.option("--days", type=int, default=None,
              help="Keep this many days of raw records (default: SIGNAGE_PLAY_RETENTION_DAYS, 180).")
def report_purge(days: int | None) -> None:
    """Delete raw proof-of-play records past the retention period (rollups stay)."""
    from server.services import plays

    keep = days if days is not None else current_app.config["SIGNAGE"].play_retention_days
    if keep < 1:
        raise click.BadParameter("keep at least one day", param_hint="--days")
    n = plays.purge(db, keep)
    db.commit()
    click.echo(f"{n} raw play records older than {keep} days deleted; hourly rollups kept.")


report_group = AppGroup("report", help="Reports for export.")
report_group.add_command(report_playback, "playback")
report_group.add_command(report_purge, "purge")


@click.command("scheduler")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def scheduler_command(log_level: str) -> None:
    """Run a dedicated scheduler candidate until SIGTERM or Ctrl-C.

    Any number may run (and web workers are candidates too unless SIGNAGE_SCHEDULER=off):
    a lease in the database lets exactly one of them run the jobs at a time.
    """
    import logging
    import signal
    import threading

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    import server.chores  # noqa: F401  (registers the jobs)
    from server.scheduler import Scheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    candidate = Scheduler(current_app._get_current_object()).start()
    click.echo(f"Scheduler candidate {candidate.holder} running; stop with Ctrl-C.")
    while not stop.wait(1.0):
        pass
    candidate.stop()


# --- signing (docs/security.md "Signed content") -----------------------------------------


def _street(name: str | None):
    from server.models import Street

    if name is None:
        return demo.ensure_street(db)
    street = db.scalar(select(Street).where(Street.name == name))
    if street is None:
        raise click.BadParameter(f"no street named {name!r}", param_hint="--street")
    return street


_street_option = click.option("--street", default=None,
                              help="Street name (default: the street of this server).")


@click.command("status")
@_street_option
def signing_status(street: str | None) -> None:
    """The street's signing keys and how many screens hold the current one."""
    from server.services import signing

    st = _street(street)
    signing.current(db, st.id)  # the first key, if none yet
    db.commit()
    for k in signing.keys(db, st.id):
        state = "retired" if k.retired_at else "active"
        endorsed = f" endorsed by {k.endorsed_by}" if k.endorsed_by else ""
        emergency = " (emergency)" if k.emergency else ""
        click.echo(f"{k.key_id} {state}{emergency} created {k.created_at:%Y-%m-%d %H:%M} UTC"
                   f"{endorsed} public {k.public_key}")
    h = signing.holding(db, st.id)
    click.echo(f"screens: {h.current} hold the current key, {h.older} an older one, "
               f"{h.none} none; enforced: {'on' if st.signatures_enforced else 'off'}")


@click.command("rotate")
@_street_option
def signing_rotate(street: str | None) -> None:
    """Planned rotation: a new key endorsed by the current one; every screen of the street
    is sent a manifest signed by it at once, and moves to it without a gap."""
    from server.services import signing

    new = signing.rotate(db, Actor.system(_street(street).id))
    db.commit()
    click.echo(f"New signing key {new.key_id}, endorsed by {new.endorsed_by}.")


@click.command("rekey")
@_street_option
@click.confirmation_option(prompt="Every screen will refuse new content until it is paired "
                                  "again. Make an emergency key?")
def signing_rekey(street: str | None) -> None:
    """Emergency re-key (the key lost or stolen): a new key nobody endorses."""
    from server.services import signing

    new = signing.rekey(db, Actor.system(_street(street).id))
    db.commit()
    click.echo(f"Emergency signing key {new.key_id}. Pair every screen again.")


@click.command("enforce")
@click.argument("state", type=click.Choice(["on", "off"]))
@_street_option
def signing_enforce(state: str, street: str | None) -> None:
    """Refuse (on) or accept (off) screens holding no signing key."""
    from server.services import signing

    st = _street(street)
    signing.set_enforced(db, Actor.system(st.id), state == "on")
    cut = signing.holding(db, st.id).none
    db.commit()
    click.echo(f"Signatures enforced: {state}." + (
        f" {cut} screens hold no key and are refused until paired again."
        if state == "on" and cut else ""))


@click.command("serve")
@click.option("--socket", "path", required=True, type=click.Path(dir_okay=False),
              help="Unix socket to listen on (the web workers' SIGNAGE_SIGNER_SOCKET).")
def signing_serve(path: str) -> None:
    """Run the signer: holds the private keys and signs for the web workers over PATH."""
    import signal
    import threading

    from server.signer import LocalSigner, SignerServer

    key_dir = current_app.config["SIGNAGE"].key_dir
    server = SignerServer(path, LocalSigner(key_dir))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    click.echo(f"Signer on {path}, keys in {key_dir}; stop with Ctrl-C.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if os.path.exists(path):
            os.unlink(path)


signing_group = AppGroup("signing", help="Street signing keys and the signer process.")
for _cmd in (signing_status, signing_rotate, signing_rekey, signing_enforce, signing_serve):
    signing_group.add_command(_cmd)
