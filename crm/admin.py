"""Django admin for crm: read-only views of the records, behind the same second factor as staff pages.

Every write to people, consent or staff goes through services that add an audit entry; the admin
would bypass them, so these models are shown read-only. Equality answers are not registered at all:
each read of them must be audited, which only the staff contact page does.
"""

from django.contrib import admin
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django_otp.admin import OTPAdminSite

from crm.models import (
    AuditEntry,
    AuditHead,
    Contact,
    Locality,
    Organisation,
    PostcodeDistrict,
    StaffApiToken,
    StaffRoleRequest,
    Topic,
)


class StaffOTPAdminSite(OTPAdminSite):
    """The default admin site, but only for a session verified with a second factor.

    Signing in happens on the staff sign-in page (password lockout, code throttling, enrolment),
    not on the admin's own form, so there is one way in to check.
    """

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and request.user.is_verified():
            # Signed in with a second factor but without admin rights: the staff sign-in page would
            # send them straight back here, a redirect loop. Say no, in the staff pages' look.
            return render(request, "staff/forbidden.html", {
                "reason": "The administration pages are only for people who look after the system itself. "
                          "Your roles do not include them.",
            }, status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('staff:login')}?{urlencode({'next': next_url})}")


# django-otp's documented way to protect the default site without replacing it in settings.
admin.site.__class__ = StaffOTPAdminSite
admin.site.site_header = "My NHS administration"
admin.site.site_title = "My NHS administration"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "actor_label", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action",)
    search_fields = ("action", "object_type", "object_id", "actor_label")
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log grows without limit: skip the second COUNT(*)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(None)


@admin.register(AuditHead)
class AuditHeadAdmin(ReadOnlyAdmin):
    list_display = ("entry_id", "entry_hash", "entry_count", "updated_at")


@admin.register(StaffApiToken)
class StaffApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    exclude = ("token_hash",)
    list_select_related = ("user",)


@admin.register(StaffRoleRequest)
class StaffRoleRequestAdmin(ReadOnlyAdmin):
    list_display = ("user", "change", "role", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status", "role")
    list_select_related = ("user", "requested_by", "decided_by")


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("id", "public_id", "kind", "source", "locality", "confirmed_at", "created_at")
    list_filter = ("kind", "source", "locality")
    exclude = ("email_hash",)
    show_full_result_count = False


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "is_active")


@admin.register(Locality)
class LocalityAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug")


@admin.register(PostcodeDistrict)
class PostcodeDistrictAdmin(ReadOnlyAdmin):
    list_display = ("code", "locality")
    list_select_related = ("locality",)
