"""Bulletin pages (namespace "bulletins"): staff pages under /staff/bulletins/, public under /bulletins/.

Mounted once at the site root by crm/urls.py.
"""

from django.urls import path

from bulletins import urls_sending, views, views_public

app_name = "bulletins"
urlpatterns = [
    # Staff: writing, checking, approving, sending
    path("staff/bulletins/", views.bulletin_list, name="list"),
    path("staff/bulletins/new/", views.bulletin_new, name="new"),
    path("staff/bulletins/invite/<uuid:public_id>/", views.invitation_new, name="new_invitation"),
    path("staff/bulletins/feedback/<int:pk>/", views.feedback_new, name="new_feedback"),
    path("staff/bulletins/comments/", views.comment_queue, name="comments"),
    path("staff/bulletins/comments/<int:comment_id>/", views.comment_moderate, name="comment_moderate"),
    path("staff/bulletins/<uuid:public_id>/", views.bulletin_detail, name="detail"),
    path("staff/bulletins/<uuid:public_id>/edit/", views.bulletin_edit, name="edit"),
    path("staff/bulletins/<uuid:public_id>/items/new/", views.item_add, name="item_add"),
    path("staff/bulletins/<uuid:public_id>/items/<int:item_id>/", views.item_edit, name="item_edit"),
    path("staff/bulletins/<uuid:public_id>/items/<int:item_id>/remove/", views.item_remove, name="item_remove"),
    path("staff/bulletins/<uuid:public_id>/items/<int:item_id>/move/", views.item_move, name="item_move"),
    path("staff/bulletins/<uuid:public_id>/preview/", views.preview, name="preview"),
    path("staff/bulletins/<uuid:public_id>/preview/email/", views.preview_email, name="preview_email"),
    path("staff/bulletins/<uuid:public_id>/test/", views.test_send, name="test_send"),
    path("staff/bulletins/<uuid:public_id>/approve/", views.approve, name="approve"),
    path("staff/bulletins/<uuid:public_id>/send/", views.send, name="send"),
    path("staff/bulletins/<uuid:public_id>/unschedule/", views.unschedule, name="unschedule"),
    # Public: archive, web version, comments through the recipient's signed link
    path("bulletins/", views_public.archive, name="archive"),
    path("bulletins/<uuid:public_id>/", views_public.web_version, name="web_version"),
    path("bulletins/<uuid:public_id>/comment/<str:token>/", views_public.web_version_comment,
         name="web_version_comment"),
]
# A send in progress: progress, pause, resume, cancel, report (bulletins/urls_sending.py).
urlpatterns += urls_sending.urlpatterns
