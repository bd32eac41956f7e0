"""Beat jobs of the partners' books (subscriptions.books): the fold of the
customers whose shares a write marked pending. Idempotent: a rerun, or two
workers side by side, count each pending customer once (its mark is taken
under a lock and deleted in the fold's transaction)."""

from celery import shared_task

from subscriptions.books import books_compact, shares_fold_all

# A run folds for at most this long; what is left waits for the next run.
FOLD_SECONDS = 50.0


@shared_task
def fold_book_shares() -> int:
    folded = shares_fold_all(seconds=FOLD_SECONDS)
    books_compact()
    return folded
