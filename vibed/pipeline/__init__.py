"""The pipeline's actors: one module, one class, one ``run(inbox, outbox, *, task_status)`` each."""
