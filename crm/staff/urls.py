"""Staff pages for people, accounts, tokens, audit and the dashboard (mounted at /staff/)."""


app_name = "staff"
urlpatterns: list = []
