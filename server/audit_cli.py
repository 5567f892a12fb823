"""`flask --app server audit ...`: verify the log chains and export their heads
(docs/security.md "Tamper-evident logs"). Registered by server/cli.py."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.db import db
from server.services import chain_export, chains

audit_group = AppGroup("audit", help="The audit log's and proof of play's hash chains.")


@audit_group.command("verify")
@click.option("--head", "head_file", type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path), default=None,
              help="An exported head (a file from export-head; its last line): also check "
                   "that no link was removed or rewritten since it was exported.")
def verify(head_file: Path | None) -> None:
    """Walk every chain and print its first break (exit code 1), or that all are intact."""
    exported = None
    if head_file is not None:
        try:
            exported = chain_export.read_head(head_file)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--head") from None
    report = chains.verify(db)
    breaks = list(report.breaks)
    if exported is not None:
        breaks += chains.check_heads(db, exported)
    db.rollback()
    for b in breaks:
        click.echo(f"BROKEN {b}")
    if breaks:
        raise SystemExit(1)
    against = f", and they still hold the heads exported at {exported['at']}" if exported else ""
    click.echo(f"{report.entries} entries in {report.chains} chains intact "
               f"({report.records} play records in the batches){against}.")


@audit_group.command("export-head")
@click.option("--to", "target", default=None,
              help="A file to append the head to, or an http(s):// URL to POST it to "
                   "(default: standard output).")
def export_head(target: str | None) -> None:
    """Print or send the chains' heads: {at, chains: {name: {seq, head}}} as one JSON line."""
    settings = current_app.config["SIGNAGE"]
    if target is None:
        click.echo(chain_export.line(db).decode())
        return
    is_url = target.startswith(("http://", "https://"))
    status = chain_export.export(db, to_file=None if is_url else Path(target),
                                 to_url=target if is_url else None,
                                 secret=settings.chain_export_secret)
    if status["error"]:
        raise click.ClickException(status["error"])
    click.echo(f"Heads of {status['chains']} chains exported to {target}.")
