"""Staff pages for invitation lists: exporting one from a segment, the record of each, the signed download."""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crm.audit import actor_from_request
from crm.forms import add_service_errors
from crm.staff.access import staff_view
from segments import exports
from segments.forms import ExportForm
from segments.models import InvitationExport
from segments.views_segments import VIEW, _segment

EXPORT, VIEW_EXPORTS = "segments.export_segment", "segments.view_invitationexport"


@staff_view(VIEW, EXPORT)
def segment_export(request, segment_id):
    segment = _segment(request, segment_id)
    form = ExportForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            export = exports.create_invitation_export(
                segment=segment, event=data["event"], stated_purpose=data["stated_purpose"], columns=data["columns"],
                file_format=data["file_format"], actor=actor_from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Invitation list ready: {export.row_count:,} "
                                      f"{'person' if export.row_count == 1 else 'people'}.")
            return redirect("segments:export_detail", public_id=export.public_id)
    return render(request, "segments/exports/new.html", {"segment": segment, "form": form})


@staff_view(VIEW_EXPORTS)
def export_list(request):
    rows = InvitationExport.objects.select_related("created_by", "event", "segment").order_by("-created_at")[:500]
    return render(request, "segments/exports/list.html", {"exports": rows, "now": timezone.now()})


@staff_view(VIEW_EXPORTS)
def export_detail(request, public_id):
    export = get_object_or_404(InvitationExport.objects.select_related("created_by", "event", "segment"),
                               public_id=public_id)
    available = exports.export_for_download(exports.download_token(export)) is not None
    link = None
    if available and request.user.has_perm(EXPORT):
        link = exports.download_token(export)
    return render(request, "segments/exports/detail.html", {
        "export": export, "available": available, "token": link,
        "column_labels": [exports.COLUMNS_BY_KEY[k].label for k in export.columns if k in exports.COLUMNS_BY_KEY],
    })


@never_cache
@staff_view(EXPORT)
@require_GET
def export_download(request, token):
    export = exports.export_for_download(token)
    if export is None:
        return _refused(request, token)
    if not (exports.exports_dir() / export.file_name).exists():
        return render(request, "segments/exports/expired.html", status=410)
    path = exports.record_download(export=export, actor=actor_from_request(request))
    name = f"invitation-list-{export.created_at:%Y-%m-%d}-{export.public_id.hex[:8]}.{export.file_format}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


def _refused(request, token: str):
    """A genuine link to a real export that has expired (or lost its file) is Gone; anything else Not Found.
    Both show the same styled page."""
    try:
        public_id = signing.TimestampSigner(salt=exports.LINK_SALT).unsign(token)
        known = InvitationExport.objects.filter(public_id=public_id).exists()
    except (signing.BadSignature, ValueError, ValidationError):
        known = False
    return render(request, "segments/exports/expired.html", status=410 if known else 404)
