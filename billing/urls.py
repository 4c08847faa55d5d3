from django.urls import path

from . import api

urlpatterns = [
    path("auth/whoami", api.WhoamiApi.as_view()),
    path("auth/workspaces", api.WorkspaceListApi.as_view()),
    path("api-keys", api.ApiKeyListApi.as_view()),
    path("api-keys/<path:label>", api.ApiKeyDetailApi.as_view()),
    path("wallet/balance", api.WalletBalanceApi.as_view()),
    path("controls/workspace/budgets", api.BudgetListApi.as_view()),
    path("controls/workspace/budgets/<str:control_id>", api.BudgetDetailApi.as_view()),
    path("controls/workspace/run-caps", api.RunCapListApi.as_view()),
    path("controls/workspace/run-caps/<str:control_id>", api.RunCapDetailApi.as_view()),
]
