"""/api/v1/content and /api/v1/topics: the content library."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import (
    ContentPatchSchema,
    ContentQuery,
    ContentSchema,
    NoticeCreateSchema,
    RejectSchema,
    TopicSchema,
    UploadArgs,
)
from server.db import db
from server.services import content as svc
from server.services import topics
from server.storage import blob_store, send_blob, settings, upload_limits

blp = blueprint("api_content", "", "Content library: uploads, notices and review")

RAW_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
NOTICE_TEXT = ("notice_title", "notice_body", "notice_footer", "notice_template")


@blp.route("/topics")
@blp.response(200, TopicSchema(many=True))
def list_topics():
    return topics.list_topics(db, actor())


@blp.route("/content")
class ContentList(MethodView):
    @blp.arguments(ContentQuery, location="query")
    @blp.response(200, ContentSchema(many=True))
    def get(self, args):
        return svc.list_items(db, actor(), status=args.get("status"),
                              topic_id=args.get("topic_id"), kind=args.get("kind"),
                              search=args.get("q"))


def _meta(args: dict) -> svc.Meta:
    tags = args.get("tags", [])
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    return svc.Meta(title=args["title"], topic_id=args["topic_id"],
                    community_id=args.get("community_id"), valid_from=args.get("valid_from"),
                    valid_until=args.get("valid_until"),
                    duration_s=args.get("duration_s", 10.0), tags=tags)


@blp.route("/content/upload", methods=["POST"])
@blp.arguments(UploadArgs, location="query")
@blp.response(201, ContentSchema)
@blp.doc(**RAW_BODY)
@blp.refuses(404, 413)
def upload(args):
    """Upload one image or clip as the raw request body; metadata in the query string."""
    item = svc.upload(db, actor(), blob_store(), request.stream, args["filename"], _meta(args),
                      upload_limits())
    db.commit()
    return item


@blp.route("/content/notices", methods=["POST"])
@blp.arguments(NoticeCreateSchema)
@blp.response(201, ContentSchema)
@blp.refuses(404)
def create_notice(data):
    """Create a notice, rendered at every screen size it reaches. A size its text cannot
    show legibly is a 422 whose `error.sizes` names the sizes: send them back as
    `notice_excluded_sizes` to leave those screens out."""
    text = svc.NoticeText(**{k.removeprefix("notice_"): data[k] for k in NOTICE_TEXT},
                          exclude=data["notice_excluded_sizes"])
    item = svc.create_notice(db, actor(), blob_store(), _meta(data), text, settings().font)
    db.commit()
    return item


@blp.route("/content/<int:item_id>")
class ContentItemView(MethodView):
    @blp.response(200, ContentSchema)
    def get(self, item_id: int):
        return svc.get_item(db, actor(), item_id)

    @blp.arguments(ContentPatchSchema)
    @blp.response(200, ContentSchema)
    @blp.refuses(409)
    def patch(self, data, item_id: int):
        """Change an item. A change to what approved content shows waits for review as its
        `pending` edit while the approved version keeps playing. A notice's
        `notice_excluded_sizes`, when given, replaces the sizes it leaves out."""
        item = svc.get_item(db, actor(), item_id)
        current = item.pending or item  # an edit waiting for review is what is changed
        text = None
        if any(k in data for k in (*NOTICE_TEXT, "notice_excluded_sizes")):
            text = svc.NoticeText(**{k.removeprefix("notice_"): data.get(k, getattr(current, k))
                                     for k in NOTICE_TEXT},
                                  exclude=data.get("notice_excluded_sizes"))  # None: keep
        meta = {k: v for k, v in data.items()
                if k not in NOTICE_TEXT and k != "notice_excluded_sizes"}
        item = svc.update(db, actor(), blob_store(), item_id, meta=meta or None, text=text,
                          font=settings().font)
        db.commit()
        return item


@blp.route("/content/<int:item_id>/file", methods=["PUT"])
@blp.response(200, ContentSchema)
@blp.doc(**RAW_BODY)
@blp.refuses(409, 413)
def replace_file(item_id: int):
    """Replace the file of an image or clip (of approved content: a pending edit that waits
    for review while the approved file keeps playing)."""
    item = svc.replace_file(db, actor(), blob_store(), item_id, request.stream,
                            request.args.get("filename", ""), upload_limits())
    db.commit()
    return item


def _simple(name: str, fn):
    @blp.route(f"/content/<int:item_id>/{name}", methods=["POST"], endpoint=name)
    @blp.response(200, ContentSchema)
    @blp.refuses(409)
    def view(item_id: int):
        item = fn(db, actor(), item_id)
        db.commit()
        return item

    view.__doc__ = f"{name.capitalize()} a content item."
    return view


submit = _simple("submit", svc.submit)
approve = _simple("approve", svc.approve)
archive = _simple("archive", svc.archive)


@blp.route("/content/<int:item_id>/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@blp.response(200, ContentSchema)
@blp.refuses(409)
def reject(data, item_id: int):
    """Reject a submitted item; the reason is required and shown to the editor."""
    item = svc.reject(db, actor(), item_id, data["reason"])
    db.commit()
    return item


@blp.route("/content/<int:item_id>/blobs/<string(length=64):sha>")
@blp.response(200, description="The file as stored (its own type: image, video or PNG)")
@blp.alt_response(206, description="The part a Range header asked for", success=True)
@blp.alt_response(304, description="Not modified (If-None-Match: the hash is the ETag)",
                  success=True)
@blp.refuses(416)
def download(item_id: int, sha: str):
    """Download the item's file, thumbnail or a rendition (range requests supported)."""
    b = svc.blob_for(db, actor(), item_id, sha)
    return send_blob(b.sha256, b.mime)
