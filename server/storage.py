"""Where the server keeps files: the content-addressed blob store under the data dir."""

from __future__ import annotations

from flask import Response, abort, current_app, send_file

import content as lib
from server.config import Settings


def settings() -> Settings:
    return current_app.config["SIGNAGE"]


def blob_store() -> lib.BlobStore:
    store = current_app.extensions.get("signage_blobs")
    if store is None:
        store = lib.BlobStore(settings().blob_dir)
        current_app.extensions["signage_blobs"] = store
    return store


def upload_limits() -> lib.Limits:
    return lib.Limits(max_bytes=settings().max_upload_bytes)


def send_blob(sha256: str, mime: str, download_name: str | None = None):
    """Serve a blob with range requests and ETag (it never changes: its name is its hash).

    Behind nginx (SIGNAGE_BLOB_ACCEL_PATH set) the app only decides who may have it and
    hands the file itself to nginx with X-Accel-Redirect (deploy/nginx/signage.conf)."""
    accel = settings().blob_accel_path
    if accel:
        path = blob_store().path(sha256)
        if not path.is_file():
            abort(404)
        response = Response(mimetype=mime)
        response.headers["X-Accel-Redirect"] = accel + str(path.relative_to(blob_store().root))
        response.headers["Cache-Control"] = f"private, max-age={365 * 24 * 3600}, immutable"
        if download_name is not None:
            response.headers.set("Content-Disposition", "attachment", filename=download_name)
        return response
    return send_file(blob_store().path(sha256), mimetype=mime, conditional=True, etag=sha256,
                     max_age=365 * 24 * 3600, download_name=download_name,
                     as_attachment=download_name is not None)
