from django.urls import path

from . import api

urlpatterns = [
    path("api-keys", api.ApiKeyListApi.as_view()),
    path("api-keys/<path:label>", api.ApiKeyDetailApi.as_view()),
    path("wallet/balance", api.WalletBalanceApi.as_view()),
]
