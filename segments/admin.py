"""Django admin for the lists staff manage rarely: commissioning programmes (activities use them).

Activities themselves are edited on the staff pages, where the edit policy and the audit log apply;
the admin shows them read-only.
"""

from django.contrib import admin

from segments.models import Activity, Programme


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "description")
    list_filter = ("is_active",)
    search_fields = ("name",)


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("title", "programme", "kind", "status", "lead", "updated_at")
    list_filter = ("status", "kind", "programme")
    search_fields = ("title",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
