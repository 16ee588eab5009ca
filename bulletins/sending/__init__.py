"""The bulletin sending pipeline (DESIGN.md, "Sending bulletins"). The Delivery table is the ledger.

Public API: start_send, pause_send, resume_send, cancel_send (services, audited), send_batch (what a
Huey batch task runs) and sweep (the periodic task).
"""

from bulletins.sending.batch import BatchReport, send_batch
from bulletins.sending.lifecycle import (
    SendRefused,
    cancel_send,
    finish_if_done,
    pause_send,
    resume_send,
    start_send,
)
from bulletins.sending.sweeper import SweepReport, sweep

__all__ = [
    "BatchReport", "SendRefused", "SweepReport", "cancel_send", "finish_if_done", "pause_send", "resume_send",
    "send_batch", "start_send", "sweep",
]
