"""The queued part of a public sign-up (see ``consent.services.sign_up``): thin, safe to retry.

Its own module, imported by ``consent.services`` so the consumer knows the task whichever module
it loads first. It returns nothing: a result would keep the person's details in the result store.
"""

from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=30)
def complete_sign_up(**sign_up) -> None:
    from consent import services  # noqa: PLC0415 - services imports this module

    services.complete_sign_up(**sign_up)
