from django.urls import path

from monid_site.throttle import throttled

from . import oauth, views

# The pages and OAuth's endpoints, at the site's root.
urlpatterns = [
    path(".well-known/oauth-authorization-server", oauth.authorization_server_metadata, name="oauth-metadata"),
    path("oauth/register", oauth.register, name="oauth-register"),
    path("oauth/authorize", oauth.authorize, name="oauth-authorize"),
    path("oauth/token", oauth.token, name="oauth-token"),
    path("oauth/revoke", oauth.revoke, name="oauth-revoke"),
    path("signup/", throttled("sign-up", account_field="email")(views.sign_up), name="signup"),
    path("invite/<str:token>/", views.invitation_page, name="invitation"),
    path("workspace/", views.customer_workspace, name="customer-workspace"),
    path("workspace/invitations/withdraw/", views.invitation_withdraw, name="invitation-withdraw"),
    path("usage/", views.usage, name="usage"),
    path("keys/<path:label>/edit/", views.key_edit, name="key-edit"),
    path("keys/", views.key_list, name="key-list"),
    path("keys/<path:label>/revoke/", views.key_revoke, name="key-revoke"),
    path("costs/", views.cost_summary, name="cost-summary"),
    path("wallet/", views.customer_wallet, name="customer-wallet"),
    path("controls/", views.spend_controls, name="spend-controls"),
    path("controls/<str:control_id>/status/", views.spend_control_status, name="spend-control-status"),
    path("workspaces/", views.workspace_list, name="workspace-list"),
    path("workspaces/<slug:slug>/", views.workspace_detail, name="workspace-detail"),
    path("workspaces/<slug:slug>/wallet/", views.workspace_wallet, name="workspace-wallet"),
]
